"""The Flax NNX layer that computes what an algebra layer spec describes.

``flax_layer(spec, rngs=...)`` is the model side of the verification triangle for single layers
and sequential stacks: the same hyper-parameters, NHWC activations and HWIO kernels.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    ConvTranspose2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    SeparableConv2D,
    Softmax,
    Stack,
)
from symconv.algebra.layer import Layer
from symconv.errors import SymconvError


def _static(value) -> int:
    return int(value)


def _pads(padding):
    if isinstance(padding, str):
        return padding
    return tuple((_static(lo), _static(hi)) for lo, hi in padding)


class Lambda(nnx.Module):
    """A parameter-free layer (pooling, activation, reshape) wrapping a pure function."""

    def __init__(self, fn: Callable[[jax.Array], jax.Array], name: str):
        self.fn = fn
        self.name = name

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fn(x)


def _concrete(spec: Layer) -> None:
    if isinstance(spec, Stack):
        return  # every member is checked when it is built
    for name in getattr(spec, "__dataclass_fields__", {}):
        value = getattr(spec, name)
        flat = value if isinstance(value, tuple) else (value,)
        flat = [v for item in flat for v in (item if isinstance(item, tuple) else (item,))]
        if any(not isinstance(v, (int, str, bool, type(None))) for v in flat):
            raise SymconvError(
                f"{spec.label}: {name}={value} is symbolic; a Flax layer needs concrete "
                f"hyper-parameters (symbolic input sizes are fine)"
            )


def flax_layer(spec: Layer, *, rngs: nnx.Rngs) -> nnx.Module:
    """Build the Flax NNX module equivalent to ``spec`` (batch-first NHWC input)."""
    _concrete(spec)
    if isinstance(spec, Conv2D):
        return nnx.Conv(
            spec.in_features, spec.out_features, tuple(spec.kernel_size),
            strides=tuple(spec.strides), padding=_pads(spec.padding),
            kernel_dilation=tuple(spec.kernel_dilation),
            feature_group_count=spec.feature_group_count, use_bias=spec.use_bias, rngs=rngs,
        )
    if isinstance(spec, ConvTranspose2D):
        return nnx.ConvTranspose(
            spec.in_features, spec.out_features, tuple(spec.kernel_size),
            strides=tuple(spec.strides), padding=_pads(spec.lax_padding()),
            kernel_dilation=tuple(spec.kernel_dilation), use_bias=spec.use_bias,
            transpose_kernel=True, rngs=rngs,
        )
    if isinstance(spec, SeparableConv2D):
        return nnx.Sequential(flax_layer(spec.depthwise, rngs=rngs),
                              flax_layer(spec.pointwise, rngs=rngs))
    if isinstance(spec, Dense):
        return nnx.Linear(spec.in_features, spec.out_features, use_bias=spec.use_bias, rngs=rngs)
    if isinstance(spec, Flatten):
        return Lambda(lambda x: x.reshape(x.shape[0], -1), "flatten")
    if isinstance(spec, (MaxPool2D, AvgPool2D)):
        pool = nnx.max_pool if isinstance(spec, MaxPool2D) else nnx.avg_pool
        window, strides, pads = tuple(spec.window_shape), tuple(spec.strides), _pads(spec.padding)
        return Lambda(lambda x: pool(x, window, strides, pads), type(spec).__name__)
    if isinstance(spec, GlobalAvgPool2D):
        return Lambda(lambda x: jnp.mean(x, axis=(1, 2)), "global_avg_pool")
    if isinstance(spec, BatchNorm):
        return nnx.BatchNorm(spec.num_features, use_running_average=True, rngs=rngs)
    if isinstance(spec, Stack):
        return nnx.Sequential(*[flax_layer(layer, rngs=rngs) for layer in spec.layers])
    if isinstance(spec, ReLU):
        return Lambda(jax.nn.relu, "relu")
    if isinstance(spec, Softmax):
        return Lambda(jax.nn.softmax, "softmax")
    raise SymconvError(f"no Flax layer is known for {type(spec).__name__}")
