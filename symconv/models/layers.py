"""The one registry from an algebra layer spec to the Flax NNX module that computes it.

``flax_layer(spec, rngs=..., train=False)`` is a :func:`functools.singledispatch` function:
each layer kind registers its module once, below, and every model that builds from specs
(single layers and stacks in the triangle, the Darknet/YOLO networks) goes through it. The
same hyper-parameters, NHWC activations and HWIO kernels; ``train`` switches batch norm to
batch statistics and dropout on. The hand-written networks (DenseNet, ResNet, U-Net, MobileNet,
the assignment's CNN) are written independently with ``nnx`` layers on purpose: they are the
model side that the algebra is checked against.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.darknet_layers import (
    DarknetConv,
    DarknetResidual,
    Dropout,
    LeakyReLU,
    Reorg,
    Reshape,
    Upsample,
)
from symconv.algebra.dense import Dense, Flatten
from symconv.algebra.elementwise import Activation, ReLU, Softmax
from symconv.algebra.layer import Layer
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pixel_shuffle import PixelShuffle
from symconv.algebra.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from symconv.algebra.separable import SeparableConv2D
from symconv.algebra.transposed import ConvTranspose2D
from symconv.errors import SymconvError
from symconv.models.units import ConvUnit, Lambda, ResidualUnit, pixel_shuffle, reorg, upsample


def _concrete(spec: Layer) -> None:
    for name in getattr(spec, "__dataclass_fields__", {}):
        value = getattr(spec, name)
        if isinstance(value, (Layer, tuple)) and any(isinstance(v, Layer) for v in (
                value if isinstance(value, tuple) else (value,))):
            continue  # members are checked when they are built
        flat = value if isinstance(value, tuple) else (value,)
        flat = [v for item in flat for v in (item if isinstance(item, tuple) else (item,))]
        if any(not isinstance(v, (int, float, str, bool, type(None))) for v in flat):
            raise SymconvError(
                f"{spec.label}: {name}={value} is symbolic; a Flax layer needs concrete "
                f"hyper-parameters (symbolic input sizes are fine)")


def _pads(padding) -> Any:
    if isinstance(padding, str):
        return padding
    return tuple((int(lo), int(hi)) for lo, hi in padding)


@functools.singledispatch
def flax_layer(spec: Layer, *, rngs: nnx.Rngs, train: bool = False) -> nnx.Module:
    """Build the Flax NNX module equivalent to ``spec`` (batch-first NHWC input)."""
    raise SymconvError(f"no Flax layer is registered for {type(spec).__name__}; register one "
                       f"with @symconv.models.layers.flax_layer.register")


def _module(cls):
    """Register ``build(spec, rngs, train)`` for ``cls``, checking the spec is concrete."""
    def register(build):
        @flax_layer.register(cls)
        def _(spec, *, rngs: nnx.Rngs, train: bool = False) -> nnx.Module:
            _concrete(spec)
            return build(spec, rngs, train)
        return build
    return register


def _bn(n: int, rngs: nnx.Rngs, train: bool) -> nnx.BatchNorm:
    return nnx.BatchNorm(int(n), use_running_average=not train, rngs=rngs)


@_module(Conv2D)
def _conv(spec: Conv2D, rngs, train):
    return nnx.Conv(spec.in_features, spec.out_features, tuple(spec.kernel_size),
                    strides=tuple(spec.strides), padding=_pads(spec.padding),
                    kernel_dilation=tuple(spec.kernel_dilation),
                    feature_group_count=spec.feature_group_count, use_bias=spec.use_bias,
                    rngs=rngs)


@_module(ConvTranspose2D)
def _conv_transpose(spec: ConvTranspose2D, rngs, train):
    return nnx.ConvTranspose(spec.in_features, spec.out_features, tuple(spec.kernel_size),
                             strides=tuple(spec.strides), padding=_pads(spec.lax_padding()),
                             kernel_dilation=tuple(spec.kernel_dilation),
                             use_bias=spec.use_bias, transpose_kernel=True, rngs=rngs)


@_module(SeparableConv2D)
def _separable(spec: SeparableConv2D, rngs, train):
    return nnx.Sequential(flax_layer(spec.depthwise, rngs=rngs, train=train),
                          flax_layer(spec.pointwise, rngs=rngs, train=train))


@_module(Stack)
def _stack(spec: Stack, rngs, train):
    return nnx.Sequential(*[flax_layer(layer, rngs=rngs, train=train) for layer in spec.layers])


@_module(Dense)
def _dense(spec: Dense, rngs, train):
    return nnx.Linear(spec.in_features, spec.out_features, use_bias=spec.use_bias, rngs=rngs)


@_module(BatchNorm)
def _batch_norm(spec: BatchNorm, rngs, train):
    return _bn(spec.num_features, rngs, train)


@_module(MaxPool2D)
def _max_pool(spec: MaxPool2D, rngs, train):
    window, strides, pads = tuple(spec.window_shape), tuple(spec.strides), _pads(spec.padding)
    return Lambda(lambda x: nnx.max_pool(x, window, strides, pads), "MaxPool2D")


@_module(AvgPool2D)
def _avg_pool(spec: AvgPool2D, rngs, train):
    window, strides, pads = tuple(spec.window_shape), tuple(spec.strides), _pads(spec.padding)
    return Lambda(lambda x: nnx.avg_pool(x, window, strides, pads), "AvgPool2D")


@_module(GlobalAvgPool2D)
def _global_avg_pool(spec, rngs, train):
    return Lambda(lambda x: jnp.mean(x, axis=(1, 2)), "global_avg_pool")


@_module(Flatten)
def _flatten(spec, rngs, train):
    return Lambda(lambda x: x.reshape(x.shape[0], -1), "flatten")


@_module(ReLU)
def _relu(spec, rngs, train):
    return Lambda(jax.nn.relu, "relu")


ACTIVATION_FUNCTIONS = {"relu": jax.nn.relu, "gelu": jax.nn.gelu,
                        "gelu_exact": functools.partial(jax.nn.gelu, approximate=False),
                        "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}


@_module(Activation)
def _activation(spec: Activation, rngs, train):
    return Lambda(ACTIVATION_FUNCTIONS[spec.kind], spec.kind)


@_module(Softmax)
def _softmax(spec, rngs, train):
    return Lambda(jax.nn.softmax, "softmax")


@_module(LeakyReLU)
def _leaky_relu(spec: LeakyReLU, rngs, train):
    slope = spec.negative_slope
    return Lambda(lambda x: jax.nn.leaky_relu(x, slope), "leaky_relu")


@_module(Dropout)
def _dropout(spec: Dropout, rngs, train):
    return nnx.Dropout(spec.rate, deterministic=not train, rngs=rngs)


@_module(Reshape)
def _reshape(spec: Reshape, rngs, train):
    shape = tuple(int(d) for d in spec.shape)
    return Lambda(lambda x: x.reshape(x.shape[0], *shape), "reshape")


@_module(Reorg)
def _reorg(spec: Reorg, rngs, train):
    return Lambda(lambda x: reorg(x, spec.stride), "reorg")


@_module(Upsample)
def _upsample(spec: Upsample, rngs, train):
    return Lambda(lambda x: upsample(x, spec.factor), "upsample")


@_module(PixelShuffle)
def _pixel_shuffle(spec: PixelShuffle, rngs, train):
    return Lambda(lambda x: pixel_shuffle(x, int(spec.upscale_factor)), "pixel_shuffle")


@_module(DarknetConv)
def _darknet_conv(spec: DarknetConv, rngs, train):
    return ConvUnit(spec, train=train, rngs=rngs)


@_module(DarknetResidual)
def _darknet_residual(spec: DarknetResidual, rngs, train):
    return ResidualUnit(spec, train=train, rngs=rngs)

