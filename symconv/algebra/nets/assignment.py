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

from symconv.algebra.arith import Dim
from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.dense import Dense, Flatten
from symconv.algebra.elementwise import ReLU, Softmax
from symconv.algebra.pooling import GlobalAvgPool2D
from symconv.algebra.separable import SeparableConv2D
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
    def standard(cls, **override) -> AssignmentConfig:
        """Q1(B): all three convolutions standard."""
        return cls(**override)

    @classmethod
    def mobilenet_style(cls, **override) -> AssignmentConfig:
        """Q1(C): layers 2 and 3 depthwise separable."""
        return cls(**{"separable": (False, True, True), **override})

    def at(self, h: Dim, w: Dim) -> AssignmentConfig:
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
