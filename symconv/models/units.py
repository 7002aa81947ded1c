"""Flax NNX building blocks that several networks share: Darknet's conv unit and residual,
space-to-depth (YOLOv2's reorg), depth-to-space (pixel shuffle), nearest upsampling, and a
parameter-free layer wrapping a pure function."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.darknet_layers import DarknetConv, DarknetResidual


class Lambda(nnx.Module):
    """A parameter-free layer (pooling, activation, reshape) wrapping a pure function."""

    def __init__(self, fn: Callable[[jax.Array], jax.Array], name: str):
        self.fn = fn
        self.name = name

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fn(x)


def reorg(x: jax.Array, stride: int = 2) -> jax.Array:
    """Space-to-depth: ``(B, H, W, C) -> (B, H/s, W/s, s*s*C)`` by a reshape and a transpose."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // stride, stride, w // stride, stride, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // stride, w // stride, stride ** 2 * c)


def pixel_shuffle(x: jax.Array, factor: int) -> jax.Array:
    """Depth-to-space in PyTorch's ``nn.PixelShuffle`` order, NHWC:
    ``y[b, h*r + i, w*r + j, c] = x[b, h, w, c*r*r + i*r + j]``."""
    b, h, w, c = x.shape
    x = x.reshape(b, h, w, c // factor ** 2, factor, factor)
    return x.transpose(0, 1, 4, 2, 5, 3).reshape(b, h * factor, w * factor, c // factor ** 2)


def upsample(x: jax.Array, factor: int = 2) -> jax.Array:
    """Nearest-neighbour upsampling by repetition (a broadcast and a reshape)."""
    b, h, w, c = x.shape
    x = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, factor, w, factor, c))
    return x.reshape(b, h * factor, w * factor, c)


class ConvUnit(nnx.Module):
    """A :class:`~symconv.algebra.darknet_layers.DarknetConv`: conv (padding K//2), batch norm
    (then no bias), leaky ReLU."""

    def __init__(self, spec: DarknetConv, *, train: bool = False, rngs: nnx.Rngs):
        k, p = spec.kernel_size, spec.kernel_size // 2
        self.conv = nnx.Conv(int(spec.in_features), int(spec.out_features), (k, k),
                             strides=(spec.strides, spec.strides), padding=((p, p), (p, p)),
                             use_bias=not spec.batch_norm, rngs=rngs)
        self.norm = (nnx.BatchNorm(int(spec.out_features), use_running_average=not train,
                                   rngs=rngs) if spec.batch_norm else None)
        self.slope = spec.negative_slope if spec.activation == "leaky" else None

    def __call__(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return x if self.slope is None else jax.nn.leaky_relu(x, self.slope)


class ResidualUnit(nnx.Module):
    """A :class:`~symconv.algebra.darknet_layers.DarknetResidual`: ``x + expand(reduce(x))``."""

    def __init__(self, spec: DarknetResidual, *, train: bool = False, rngs: nnx.Rngs):
        reduce, expand = spec.stack().layers
        self.reduce = ConvUnit(reduce, train=train, rngs=rngs)
        self.expand = ConvUnit(expand, train=train, rngs=rngs)

    def __call__(self, x):
        return x + self.expand(self.reduce(x))
