"""DenseNet (Huang et al., 2017): ImageNet DenseNet-121/169/201/264 and DenseNet-BC for CIFAR.

Architecture: Table 1 of the paper (ImageNet, growth rate k = 32, bottleneck layers with
4k intermediate maps, compression 0.5): a 7x7/2 conv to 2k maps, BN-ReLU, 3x3/2 max pooling;
dense blocks of (6, 12, 24, 16) / (6, 12, 32, 32) / (6, 12, 48, 32) / (6, 12, 64, 48) layers
with transitions between them; BN-ReLU, global average pooling, a 1000-way FC, softmax.
DenseNet-BC for CIFAR (Section 4.1/Table 2): a 3x3 conv to 2k maps, three dense blocks of
(L - 4)/6 bottleneck layers each, compression 0.5, 10 classes.

``DenseNetConfig`` holds the hyper-parameters once; ``densenet_stack(cfg)`` is the algebra and
``DenseNet(cfg, rngs=...)`` the Flax NNX network (batch norm in inference mode unless
``train=True``; ``model.train()``/``model.eval()`` switch it).
"""

from __future__ import annotations

from dataclasses import dataclass

from symconv.algebra.blocks import DenseBlock, transition
from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.dense import Dense
from symconv.algebra.elementwise import ReLU, Softmax
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import GlobalAvgPool2D, MaxPool2D
from symconv.errors import SymconvError

PUBLISHED_PARAMS = {  # torchvision / the authors' Torch models, parameters incl. batch norm
    "densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928,
}


@dataclass(frozen=True, slots=True)
class DenseNetConfig:
    growth_rate: int = 32
    block_config: tuple[int, ...] = (6, 12, 24, 16)
    num_init_features: int = 64
    bn_size: int = 4
    compression: float = 0.5
    classes: int = 1000
    stem: str = "imagenet"  # or "cifar"
    bottleneck: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.growth_rate, int) or self.growth_rate < 1:
            raise SymconvError(f"DenseNetConfig: growth_rate={self.growth_rate!r} must be an "
                               f"int >= 1")
        if not self.block_config or any(not isinstance(n, int) or n < 1
                                        for n in self.block_config):
            raise SymconvError(f"DenseNetConfig: every block needs >= 1 layer, got "
                               f"{self.block_config!r}")
        if not (isinstance(self.compression, (int, float)) and 0 < self.compression <= 1):
            raise SymconvError(f"DenseNetConfig: compression={self.compression!r} must be in "
                               f"(0, 1]")
        if self.stem not in ("imagenet", "cifar"):
            raise SymconvError(f"DenseNetConfig: stem={self.stem!r} must be imagenet or cifar")

    @classmethod
    def densenet121(cls, **o):
        return cls(**{"block_config": (6, 12, 24, 16), **o})

    @classmethod
    def densenet169(cls, **o):
        return cls(**{"block_config": (6, 12, 32, 32), **o})

    @classmethod
    def densenet201(cls, **o):
        return cls(**{"block_config": (6, 12, 48, 32), **o})

    @classmethod
    def densenet264(cls, **o):
        return cls(**{"block_config": (6, 12, 64, 48), **o})

    @classmethod
    def bc_cifar(cls, depth: int = 100, growth_rate: int = 12, **o):
        """DenseNet-BC (L, k) for CIFAR: three blocks of (L - 4)/6 bottleneck layers."""
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise SymconvError(f"DenseNet-BC: depth L={depth!r} must satisfy (L - 4) % 6 == 0 "
                               f"and L >= 10 (e.g. 40, 100, 190)")
        n = (depth - 4) // 6
        return cls(**{"growth_rate": growth_rate, "block_config": (n, n, n),
                      "num_init_features": 2 * growth_rate, "classes": 10, "stem": "cifar",
                      **o})

    def channels(self) -> list[int]:
        """Channels entering each block, and at the end."""
        from fractions import Fraction

        c, out = self.num_init_features, []
        theta = Fraction(self.compression).limit_denominator(1000)
        for i, n in enumerate(self.block_config):
            out.append(c)
            c += n * self.growth_rate
            if i < len(self.block_config) - 1:
                c = c * theta.numerator // theta.denominator
        out.append(c)
        return out


def densenet_stack(cfg: DenseNetConfig = DenseNetConfig()) -> Stack:
    c0 = cfg.num_init_features
    if cfg.stem == "imagenet":
        layers = [Conv2D(3, c0, 7, 2, 3, use_bias=False), BatchNorm(c0), ReLU(),
                  MaxPool2D(3, 2, ((1, 1), (1, 1)))]
        names = ["conv0", "norm0", "relu0", "pool0"]
    else:
        layers, names = [Conv2D(3, c0, 3, 1, 1, use_bias=False)], ["conv0"]
    chans = cfg.channels()
    for i, n in enumerate(cfg.block_config):
        layers.append(DenseBlock(chans[i], n, cfg.growth_rate, cfg.bottleneck, cfg.bn_size))
        names.append(f"denseblock{i + 1}")
        if i < len(cfg.block_config) - 1:
            layers.append(transition(chans[i] + n * cfg.growth_rate, cfg.compression))
            names.append(f"transition{i + 1}")
    c = chans[-1]
    layers += [BatchNorm(c), ReLU(), GlobalAvgPool2D(), Dense(c, cfg.classes), Softmax()]
    names += ["norm5", "relu5", "gap", "classifier", "softmax"]
    return Stack(tuple(layers), tuple(names))
