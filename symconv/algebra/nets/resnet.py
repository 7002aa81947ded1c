"""ResNet-18 and ResNet-50 (He et al., 2016, Table 1), for comparison with DenseNet.

A 7x7/2 conv to 64 maps, BN-ReLU, 3x3/2 max pooling (padding 1); four stages of basic (18:
2, 2, 2, 2) or bottleneck (50: 3, 4, 6, 3) residual blocks with 64, 128, 256, 512 planes, the
first block of stages 2-4 striding by 2 (in the 3x3 conv, as torchvision does) with a 1x1
projection; global average pooling, a 1000-way FC, softmax. Published parameter counts
(torchvision): ResNet-18 11,689,512; ResNet-50 25,557,032.
"""

from __future__ import annotations

from dataclasses import dataclass

from symconv.algebra.blocks import ResidualBlock
from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.dense import Dense
from symconv.algebra.elementwise import ReLU, Softmax
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import GlobalAvgPool2D, MaxPool2D
from symconv.errors import SymconvError

PUBLISHED_PARAMS = {"resnet18": 11_689_512, "resnet50": 25_557_032}


@dataclass(frozen=True, slots=True)
class ResNetConfig:
    layers: tuple[int, ...] = (2, 2, 2, 2)
    kind: str = "basic"
    classes: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in ("basic", "bottleneck"):
            raise SymconvError(f"ResNetConfig: kind={self.kind!r} must be basic or bottleneck")
        if len(self.layers) != 4 or any(not isinstance(n, int) or n < 1 for n in self.layers):
            raise SymconvError(f"ResNetConfig: layers={self.layers!r} must be 4 ints >= 1")

    @classmethod
    def resnet18(cls, **o):
        return cls(**{"layers": (2, 2, 2, 2), "kind": "basic", **o})

    @classmethod
    def resnet50(cls, **o):
        return cls(**{"layers": (3, 4, 6, 3), "kind": "bottleneck", **o})

    def blocks(self) -> list[tuple[int, int, int]]:
        """(in_features, planes, stride) of every block, in order."""
        exp = 4 if self.kind == "bottleneck" else 1
        c, out = 64, []
        for stage, (n, planes) in enumerate(zip(self.layers, (64, 128, 256, 512))):
            for i in range(n):
                out.append((c, planes, 2 if stage > 0 and i == 0 else 1))
                c = planes * exp
        return out


def resnet_stack(cfg: ResNetConfig = ResNetConfig()) -> Stack:
    layers = [Conv2D(3, 64, 7, 2, 3, use_bias=False), BatchNorm(64), ReLU(),
              MaxPool2D(3, 2, ((1, 1), (1, 1)))]
    names = ["conv1", "bn1", "relu", "maxpool"]
    for j, (c, p, s) in enumerate(cfg.blocks()):
        layers.append(ResidualBlock(c, p, s, cfg.kind))
        names.append(f"block{j + 1}")
    c = layers[-1].out_features
    layers += [GlobalAvgPool2D(), Dense(c, cfg.classes), Softmax()]
    names += ["avgpool", "fc", "softmax"]
    return Stack(tuple(layers), tuple(names))
