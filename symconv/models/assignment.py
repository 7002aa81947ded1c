"""The assignment's network (Q1 B-D): three 5x5 stride-2 convolutions and a classifier head.

``AssignmentConfig`` holds the hyper-parameters once. ``assignment_stack(cfg)`` is the algebra's
description (``symconv.algebra.Stack``) and ``AssignmentCNN(cfg, rngs=...)`` the Flax NNX
network, written independently with ``nnx.Conv``/``nnx.Linear``: tests prove the two agree on
shapes (symbolic too), parameters and XLA's FLOPs. Only the flatten width comes from the algebra.

Variants: each conv may be standard or depthwise separable (MobileNet style: a depthwise KxK
conv straight into a pointwise 1x1 conv, one ReLU after the pair, as Keras' ``SeparableConv2D``);
heads ``'flatten'`` (flatten, FC, softmax), ``'gap'`` (global average pooling, FC, softmax) and
``'reduce'`` (1x1 conv to ``reduce_to`` channels + ReLU, flatten, FC, softmax).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra import (
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    ReLU,
    SeparableConv2D,
    Softmax,
    Stack,
)
from symconv.algebra._arith import Dim
from symconv.errors import SymconvError

HEADS = ("flatten", "gap", "reduce")


@dataclass(frozen=True, slots=True)
class AssignmentConfig:
    """Q1(B): 128x128x3 input, three 5x5 convs (padding 2, stride 2) with 64/128/256 filters."""

    input_hw: tuple[Dim, Dim] = (128, 128)
    in_features: int = 3
    filters: tuple[int, ...] = (64, 128, 256)
    kernel_size: int = 5
    strides: int = 2
    padding: int = 2
    separable: tuple[bool, ...] = (False, False, False)
    head: str = "flatten"
    classes: int = 200
    reduce_to: int = 32
    use_bias: bool = True

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise SymconvError(f"AssignmentConfig: head={self.head!r} must be one of {HEADS}")
        if len(self.separable) != len(self.filters):
            raise SymconvError(
                f"AssignmentConfig: separable has {len(self.separable)} entries for "
                f"{len(self.filters)} conv layers")
        if self.separable and self.separable[0] and self.in_features < 1:
            raise SymconvError("AssignmentConfig: in_features must be >= 1")

    @classmethod
    def standard(cls, **override) -> "AssignmentConfig":
        """Q1(B): all three convolutions standard."""
        return cls(**override)

    @classmethod
    def mobilenet_style(cls, **override) -> "AssignmentConfig":
        """Q1(C): layers 2 and 3 depthwise separable."""
        return cls(**{"separable": (False, True, True), **override})

    def at(self, h: Dim, w: Dim) -> "AssignmentConfig":
        return replace(self, input_hw=(h, w))


def trunk_stack(cfg: AssignmentConfig) -> Stack:
    """The convolutional part: conv (or separable conv) + ReLU, three times."""
    layers, names, m = [], [], cfg.in_features
    for i, (n, sep) in enumerate(zip(cfg.filters, cfg.separable), 1):
        kind = SeparableConv2D if sep else Conv2D
        layers += [kind(m, n, cfg.kernel_size, cfg.strides, cfg.padding, use_bias=cfg.use_bias),
                   ReLU()]
        names += [f"{'sep' if sep else ''}conv{i}", f"relu{i}"]
        m = n
    return Stack(tuple(layers), tuple(names))


def assignment_stack(cfg: AssignmentConfig) -> Stack:
    """Trunk and head as one ``Stack`` (the algebra side)."""
    trunk = trunk_stack(cfg)
    h, w, c = trunk.output_shape((*cfg.input_hw, cfg.in_features))
    layers, names = list(trunk.layers), list(trunk.names)
    if cfg.head == "flatten":
        layers += [Flatten(), Dense(h * w * c, cfg.classes)]
        names += ["flatten", "fc"]
    elif cfg.head == "gap":
        layers += [GlobalAvgPool2D(), Dense(c, cfg.classes)]
        names += ["gap", "fc"]
    else:
        layers += [Conv2D(c, cfg.reduce_to, 1), ReLU(), Flatten(),
                   Dense(h * w * cfg.reduce_to, cfg.classes)]
        names += ["reduce", "relu_reduce", "flatten", "fc"]
    layers.append(Softmax())
    names.append("softmax")
    return Stack(tuple(layers), tuple(names))


class AssignmentCNN(nnx.Module):
    """The network in Flax NNX (NHWC). ``__call__`` returns class probabilities."""

    def __init__(self, cfg: AssignmentConfig = AssignmentConfig(), *, rngs: nnx.Rngs):
        self.cfg = cfg
        convs, m = [], cfg.in_features
        k, s, p = (cfg.kernel_size,) * 2, cfg.strides, ((cfg.padding,) * 2,) * 2
        for n, sep in zip(cfg.filters, cfg.separable):
            if sep:
                convs.append(nnx.Sequential(
                    nnx.Conv(m, m, k, s, padding=p, feature_group_count=m,
                             use_bias=cfg.use_bias, rngs=rngs),
                    nnx.Conv(m, n, (1, 1), use_bias=cfg.use_bias, rngs=rngs)))
            else:
                convs.append(nnx.Conv(m, n, k, s, padding=p, use_bias=cfg.use_bias, rngs=rngs))
            m = n
        self.convs = nnx.List(convs)
        if cfg.head == "reduce":
            self.reduce = nnx.Conv(m, cfg.reduce_to, (1, 1), rngs=rngs)
        # The one size the network cannot compute for itself: the flatten width (algebra).
        fc_in = assignment_stack(cfg).layers[-2].in_features
        if not isinstance(fc_in, int):
            raise SymconvError(
                f"AssignmentCNN: head={cfg.head!r} needs a concrete input size to size its FC "
                f"layer, got input_hw={cfg.input_hw}")
        self.fc = nnx.Linear(fc_in, cfg.classes, rngs=rngs)

    def features(self, x: jax.Array) -> dict[str, jax.Array]:
        """Every named stage's output (names as in ``assignment_stack``)."""
        out = {}
        for i, (conv, sep) in enumerate(zip(self.convs, self.cfg.separable), 1):
            x = jax.nn.relu(conv(x))
            out[f"{'sep' if sep else ''}conv{i}"] = x
        if self.cfg.head == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif self.cfg.head == "gap":
            x = jnp.mean(x, axis=(1, 2))
        else:
            x = jax.nn.relu(self.reduce(x))
            out["reduce"] = x
            x = x.reshape(x.shape[0], -1)
        out["fc"] = self.fc(x)
        out["softmax"] = jax.nn.softmax(out["fc"])
        return out

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.features(x)["softmax"]
