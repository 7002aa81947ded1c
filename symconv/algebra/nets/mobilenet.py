"""MobileNet v1 (Howard et al., 2017), with width multiplier alpha and input resolution.

Architecture: Table 1 of the paper ("MobileNet Body Architecture"): a standard 3x3 stride-2
conv to 32 channels, then 13 depthwise separable blocks (3x3 depthwise, 1x1 pointwise, each
followed by batch norm and ReLU), 7x7 average pooling (global at 224x224), a 1000-way FC and
softmax. Table 1 prints the 13th depthwise layer as "Conv dw / s2" although its input and output
are both 7x7; it is stride 1, as in the reference implementations. Convolutions use 'SAME'
padding and no bias (batch norm follows). The width multiplier scales every channel count:
``int(c * alpha)``.

Published figures (paper, Table 14, 1.0 MobileNet-224): 569 million mult-adds, 4.2 million
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.dense import Dense
from symconv.algebra.elementwise import ReLU, Softmax
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import GlobalAvgPool2D
from symconv.errors import SymconvError

#: (pointwise output channels, depthwise stride) of the 13 separable blocks (Table 1).
BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)
STEM = 32
PAPER_MULT_ADDS = 569_000_000  # Table 14, 1.0 MobileNet-224 (rounded to millions)
PAPER_PARAMS = 4_200_000  # Table 14 (rounded to 0.1 million)


@dataclass(frozen=True, slots=True)
class MobileNetConfig:
    alpha: float = 1.0
    resolution: int = 224
    classes: int = 1000

    def __post_init__(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha <= 4):
            raise SymconvError(f"MobileNetConfig: alpha={self.alpha!r} must be in (0, 4]")
        if not isinstance(self.resolution, int) or self.resolution < 32:
            raise SymconvError(f"MobileNetConfig: resolution={self.resolution!r} must be an "
                               f"int >= 32 (five stride-2 stages)")

    def width(self, c: int) -> int:
        return max(1, int(c * self.alpha))


def mobilenet_stack(cfg: MobileNetConfig = MobileNetConfig()) -> Stack:
    """The algebra's description: one row per conv, batch norm and ReLU."""
    layers, names = [], []
    m = cfg.width(STEM)
    layers += [Conv2D(3, m, 3, 2, "SAME", use_bias=False), BatchNorm(m), ReLU()]
    names += ["conv1", "bn1", "relu1"]
    for i, (n, s) in enumerate(BLOCKS, 2):
        n = cfg.width(n)
        layers += [Conv2D(m, m, 3, s, "SAME", feature_group_count=m, use_bias=False),
                   BatchNorm(m), ReLU(), Conv2D(m, n, 1, use_bias=False), BatchNorm(n), ReLU()]
        names += [f"dw{i}", f"dw{i}_bn", f"dw{i}_relu", f"pw{i}", f"pw{i}_bn", f"pw{i}_relu"]
        m = n
    layers += [GlobalAvgPool2D(), Dense(m, cfg.classes), Softmax()]
    names += ["avgpool", "fc", "softmax"]
    return Stack(tuple(layers), tuple(names))
