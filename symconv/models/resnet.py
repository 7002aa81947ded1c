"""ResNet-18/50 in Flax NNX; the configs and the algebra are in
:mod:`symconv.algebra.nets.resnet`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.nets.resnet import ResNetConfig


class ResidualBlockModule(nnx.Module):
    """A basic or bottleneck residual block (projection when the shape changes)."""

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
        self.blocks = nnx.List([ResidualBlockModule(c, p, s, cfg.kind, train, rngs)
                                for c, p, s in cfg.blocks()])
        out = 512 * (4 if cfg.kind == "bottleneck" else 1)
        self.fc = nnx.Linear(out, cfg.classes, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.bn1(self.conv1(x)))
        x = nnx.max_pool(x, (3, 3), (2, 2), ((1, 1), (1, 1)))
        for block in self.blocks:
            x = block(x)
        return jax.nn.softmax(self.fc(jnp.mean(x, axis=(1, 2))))
