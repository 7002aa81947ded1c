"""symconv: closed-form shapes, parameters and costs of CNNs, verified against Flax NNX and XLA.

The public surface is re-exported here; see the README for a runnable tour.
"""

from symconv import algebra as algebra
from symconv.algebra import (
    AvgPool2D as AvgPool2D,
    BatchNorm as BatchNorm,
    Conv2D as Conv2D,
    ConvTranspose2D as ConvTranspose2D,
    Dense as Dense,
    Flatten as Flatten,
    GlobalAvgPool2D as GlobalAvgPool2D,
    MaxPool2D as MaxPool2D,
    ReLU as ReLU,
    SeparableConv2D as SeparableConv2D,
    Softmax as Softmax,
    Stack as Stack,
    depthwise_conv2d as depthwise_conv2d,
    pointwise_conv2d as pointwise_conv2d,
)
from symconv.errors import SymconvError as SymconvError
from symconv.report.proof import Check as Check
from symconv.report.proof import Claim as Claim
from symconv.report.proof import Derivation as Derivation
from symconv.report.proof import Proof as Proof
from symconv.report.proof import Step as Step
from symconv.report.proof import Verdict as Verdict

__version__ = "0.1.0"
