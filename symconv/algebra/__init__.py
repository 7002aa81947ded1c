"""Closed forms in SymPy: shapes, parameters, MACs and FLOPs of CNN layers (no JAX here)."""

from symconv.algebra import symbols as symbols
from symconv.algebra.conv import Conv2D as Conv2D
from symconv.algebra.dense import Dense as Dense
from symconv.algebra.dense import Flatten as Flatten
from symconv.algebra.elementwise import ReLU as ReLU
from symconv.algebra.elementwise import Softmax as Softmax
from symconv.algebra import receptive as receptive
from symconv.algebra.layer import CONVENTIONS as CONVENTIONS
from symconv.algebra.layer import Layer as Layer
from symconv.algebra.layer import Shape as Shape
from symconv.algebra.normalization import BatchNorm as BatchNorm
from symconv.algebra.padding import same_pads as same_pads
from symconv.algebra.pooling import AvgPool2D as AvgPool2D
from symconv.algebra.pooling import GlobalAvgPool2D as GlobalAvgPool2D
from symconv.algebra.pooling import MaxPool2D as MaxPool2D
from symconv.algebra.separable import SeparableConv2D as SeparableConv2D
from symconv.algebra.separable import depthwise_conv2d as depthwise_conv2d
from symconv.algebra.separable import pointwise_conv2d as pointwise_conv2d
from symconv.algebra.stack import LayerRow as LayerRow
from symconv.algebra.stack import Stack as Stack
from symconv.algebra.stack import StackTable as StackTable
from symconv.algebra.taps import missed_taps as missed_taps
from symconv.algebra.transposed import ConvTranspose2D as ConvTranspose2D
