"""ResNet-18 and ResNet-50 (He et al., 2016, Table 1), for comparison with DenseNet.

A 7x7/2 conv to 64 maps, BN-ReLU, 3x3/2 max pooling (padding 1); four stages of basic (18:
2, 2, 2, 2) or bottleneck (50: 3, 4, 6, 3) residual blocks with 64, 128, 256, 512 planes, the
first block of stages 2-4 striding by 2 (in the 3x3 conv, as torchvision does) with a 1x1
projection; global average pooling, a 1000-way FC, softmax. Published parameter counts
(torchvision): ResNet-18 11,689,512; ResNet-50 25,557,032.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra import (BatchNorm, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D, ReLU,
                             Softmax, Stack)
from symconv.algebra.blocks import ResidualBlock
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


class _Block(nnx.Module):
    def __init__(self, c: int, p: int, s: int, kind: str, train: bool, rngs: nnx.Rngs):
        bn = lambda n: nnx.BatchNorm(n, use_running_average=not train, rngs=rngs)  # noqa: E731
        self.kind = kind
        out = p * (4 if kind == "bottleneck" else 1)
        if kind == "basic":
            self.convs = nnx.List([nnx.Conv(c, p, (3, 3), s, padding=((1, 1), (1, 1)),
                                            use_bias=False, rngs=rngs),
                                   nnx.Conv(p, p, (3, 3), 1, padding=((1, 1), (1, 1)),
                                            use_bias=False, rngs=rngs)])
            self.norms = nnx.List([bn(p), bn(p)])
        else:
            self.convs = nnx.List([nnx.Conv(c, p, (1, 1), use_bias=False, rngs=rngs),
                                   nnx.Conv(p, p, (3, 3), s, padding=((1, 1), (1, 1)),
                                            use_bias=False, rngs=rngs),
                                   nnx.Conv(p, out, (1, 1), use_bias=False, rngs=rngs)])
            self.norms = nnx.List([bn(p), bn(p), bn(out)])
        self.projected = s != 1 or c != out
        if self.projected:
            self.project = nnx.Conv(c, out, (1, 1), s, use_bias=False, rngs=rngs)
            self.project_bn = bn(out)

    def __call__(self, x):
        y = x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            y = norm(conv(y))
            if i < len(self.convs) - 1:
                y = jax.nn.relu(y)
        shortcut = self.project_bn(self.project(x)) if self.projected else x
        return jax.nn.relu(y + shortcut)


class ResNet(nnx.Module):
    def __init__(self, cfg: ResNetConfig = ResNetConfig(), *, train: bool = False,
                 rngs: nnx.Rngs):
        self.cfg = cfg
        self.conv1 = nnx.Conv(3, 64, (7, 7), 2, padding=((3, 3), (3, 3)), use_bias=False,
                              rngs=rngs)
        self.bn1 = nnx.BatchNorm(64, use_running_average=not train, rngs=rngs)
        self.blocks = nnx.List([_Block(c, p, s, cfg.kind, train, rngs)
                                for c, p, s in cfg.blocks()])
        out = 512 * (4 if cfg.kind == "bottleneck" else 1)
        self.fc = nnx.Linear(out, cfg.classes, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.bn1(self.conv1(x)))
        x = nnx.max_pool(x, (3, 3), (2, 2), ((1, 1), (1, 1)))
        for block in self.blocks:
            x = block(x)
        return jax.nn.softmax(self.fc(jnp.mean(x, axis=(1, 2))))
