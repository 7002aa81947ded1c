"""MobileNet v1 in Flax NNX; the architecture table and its algebra are in
:mod:`symconv.algebra.nets.mobilenet`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.nets.mobilenet import BLOCKS, STEM, MobileNetConfig


class MobileNetV1(nnx.Module):
    """MobileNet v1 in Flax NNX (NHWC), inference-mode batch norm by default."""

    def __init__(self, cfg: MobileNetConfig = MobileNetConfig(), *, rngs: nnx.Rngs):
        self.cfg = cfg
        m = cfg.width(STEM)

        def bn(c):
            return nnx.BatchNorm(c, use_running_average=True, rngs=rngs)

        self.stem = nnx.Conv(3, m, (3, 3), 2, padding="SAME", use_bias=False, rngs=rngs)
        self.stem_bn = bn(m)
        blocks = []
        for n, s in BLOCKS:
            n = cfg.width(n)
            blocks.append(nnx.List([
                nnx.Conv(m, m, (3, 3), s, padding="SAME", feature_group_count=m,
                         use_bias=False, rngs=rngs), bn(m),
                nnx.Conv(m, n, (1, 1), use_bias=False, rngs=rngs), bn(n)]))
            m = n
        self.blocks = nnx.List(blocks)
        self.fc = nnx.Linear(m, cfg.classes, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jax.nn.relu(self.stem_bn(self.stem(x)))
        for dw, dw_bn, pw, pw_bn in self.blocks:
            x = jax.nn.relu(dw_bn(dw(x)))
            x = jax.nn.relu(pw_bn(pw(x)))
        x = jnp.mean(x, axis=(1, 2))
        return jax.nn.softmax(self.fc(x))
