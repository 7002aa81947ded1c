"""Closed forms in SymPy: shapes, parameters, MACs and FLOPs of CNN layers (no JAX here).

Each layer kind is one module stating its formulas once (:mod:`symconv.algebra.layer` says
what a layer states); composites (chains, graphs, blocks) sum their parts in one place
(:mod:`symconv.algebra.composite`); architecture specs are in :mod:`symconv.algebra.nets`.
"""

from symconv.algebra import nets as nets
from symconv.algebra import receptive as receptive
from symconv.algebra import symbols as symbols
from symconv.algebra.attention import MultiHeadAttention as MultiHeadAttention
from symconv.algebra.blocks import DenseBlock as DenseBlock
from symconv.algebra.blocks import ResidualBlock as ResidualBlock
from symconv.algebra.composite import Composite as Composite
from symconv.algebra.composite import Graph as Graph
from symconv.algebra.composite import LayerRow as LayerRow
from symconv.algebra.composite import Part as Part
from symconv.algebra.composite import Repeated as Repeated
from symconv.algebra.composite import Stack as Stack
from symconv.algebra.composite import StackTable as StackTable
from symconv.algebra.conv import Conv2D as Conv2D
from symconv.algebra.darknet_layers import DarknetConv as DarknetConv
from symconv.algebra.darknet_layers import DarknetResidual as DarknetResidual
from symconv.algebra.darknet_layers import LeakyReLU as LeakyReLU
from symconv.algebra.darknet_layers import Reorg as Reorg
from symconv.algebra.darknet_layers import Upsample as Upsample
from symconv.algebra.dense import Dense as Dense
from symconv.algebra.dense import Flatten as Flatten
from symconv.algebra.elementwise import Activation as Activation
from symconv.algebra.elementwise import Add as Add
from symconv.algebra.elementwise import ReLU as ReLU
from symconv.algebra.elementwise import Softmax as Softmax
from symconv.algebra.embedding import Embedding as Embedding
from symconv.algebra.formula import Formula as Formula
from symconv.algebra.formula import Formulas as Formulas
from symconv.algebra.layer import CONVENTIONS as CONVENTIONS
from symconv.algebra.layer import Layer as Layer
from symconv.algebra.layer import Shape as Shape
from symconv.algebra.normalization import BatchNorm as BatchNorm
from symconv.algebra.normalization import LayerNorm as LayerNorm
from symconv.algebra.padding import same_pads as same_pads
from symconv.algebra.pixel_shuffle import PixelShuffle as PixelShuffle
from symconv.algebra.pooling import AvgPool2D as AvgPool2D
from symconv.algebra.pooling import GlobalAvgPool2D as GlobalAvgPool2D
from symconv.algebra.pooling import MaxPool2D as MaxPool2D
from symconv.algebra.separable import SeparableConv2D as SeparableConv2D
from symconv.algebra.separable import depthwise_conv2d as depthwise_conv2d
from symconv.algebra.separable import pointwise_conv2d as pointwise_conv2d
from symconv.algebra.taps import missed_taps as missed_taps
from symconv.algebra.transformer import TransformerTextEncoder as TransformerTextEncoder
from symconv.algebra.transposed import ConvTranspose2D as ConvTranspose2D
