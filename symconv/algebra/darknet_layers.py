r"""Darknet's layers in closed form (Redmon & Farhadi 2017, 2018): shapes, parameters, MACs and
FLOPs as XLA counts them, for :mod:`symconv.algebra.nets.darknet`'s networks.

Layer specs: :class:`LeakyReLU`, :class:`Dropout`, :class:`Reorg`, :class:`Upsample`,
:class:`Reshape`, :class:`DarknetConv`, :class:`DarknetResidual`. Each knows its receptive-field
windows (``windows(in_shape)``, read by :func:`symconv.algebra.receptive.windows`).

Costs (one example of $H \times W \times C$; batch-norm's per-channel terms once per call):

.. math::  F_{leaky} = 3HWC \ (\text{compare, multiply, select}), \qquad
           F_{reorg} = F_{upsample} = F_{concat} = 0 \ (\text{reshape, transpose, broadcast}),

.. math::  F_{unit} = 2\,\text{MACs} + 3HWN + 2N + 3HWN, \qquad
           F_{res}(c) = F_{unit}(c \to \tfrac{c}{2}, 1\times1) + F_{unit}(\tfrac{c}{2} \to c,
           3\times3) + HWc \ (\text{the addition}).

A Darknet unit is convolution (no bias) + batch norm + leaky ReLU (slope 0.1), padding
$\lfloor K/2 \rfloor$ on every side (Darknet's ``pad=1``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra import receptive  # noqa: I001
from symconv.algebra.arith import Conditions, Dim, as_dim, floordiv, is_concrete, out, prod
from symconv.algebra.conv import Conv2D, check_bool
from symconv.algebra.elementwise import _Elementwise, _dims
from symconv.algebra.layer import Layer, ParameterFree, Shape, check_convention
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.receptive import Window
from symconv.algebra.stack import Stack
from symconv.errors import NonIntegerError, ShapeMismatchError, SymconvError

def _int(value: object, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NonIntegerError(f"{what}={value!r} must be an int")
    if value < minimum:
        raise SymconvError(f"{what}={value!r} must be >= {minimum}")
    return int(value)


def _real(value: object, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value < hi:
        raise SymconvError(f"{what}={value!r} must be a number in [{lo}, {hi})")
    return value


def _hwc(layer: str, in_shape: Sequence[Dim]) -> tuple[Dim, Dim, Dim]:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 3:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (H, W, C)")
    return tuple(as_dim(d, f"{layer}: input {n}") for d, n in zip(in_shape, "HWC"))  # type: ignore


def _zero_macs(layer: Layer, in_shape, convention: str) -> int:
    check_convention(convention)
    layer.output_shape(in_shape)
    return 0


class _Movement(ParameterFree):
    """Moves data without arithmetic: no parameters, no MACs, no FLOPs."""

    __slots__ = ()

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return _zero_macs(self, in_shape, convention)


# --- elementwise and data-movement layers -------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeakyReLU(_Elementwise):
    r"""``jax.nn.leaky_relu``: $x \ge 0 \,?\, x : a x$, lowered to a compare, a multiply and a
    select: $3$ FLOPs per element (XLA's count on $2 \times 3 \times 5 \times 7$: 630).

    >>> LeakyReLU().batch_flops((3, 5, 7), 2)
    630
    """

    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        _real(self.negative_slope, "LeakyReLU: negative_slope", 0.0, 1.0)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        return out(3 * prod(_dims(self.label, in_shape)))

    def windows(self, in_shape):
        return []


@dataclass(frozen=True, slots=True)
class Dropout(_Elementwise):
    r"""Dropout at inference: the identity, $0$ FLOPs (YOLOv1: rate 0.5 after the first FC)."""

    rate: float = 0.5

    def __post_init__(self) -> None:
        _real(self.rate, "Dropout: rate", 0.0, 1.0)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return _zero_macs(self, in_shape, convention)

    def windows(self, in_shape):
        return []


def _exact_div(n: Dim, s: int, what: str, conds: Conditions) -> Dim:
    """``n / s``, an error for a concrete ``n`` that ``s`` does not divide, a recorded
    condition ``n mod s = 0`` (and the floor) for a symbolic one SymPy cannot decide."""
    if is_concrete(n):
        if n % s:
            raise ShapeMismatchError(f"{what}: size {n} is not divisible by the stride {s}; "
                                     f"use a multiple of {s} (e.g. {n - n % s or s} or "
                                     f"{n - n % s + s})")
        return n // s
    conds.require(sp.Eq(sp.Mod(n, s), 0), ShapeMismatchError,
                  f"{what}: size {n} is never divisible by the stride {s}")
    q = sp.Integer(1) * n / s
    return out(q) if q.is_integer else floordiv(n, s)


@dataclass(frozen=True, slots=True)
class Reorg(_Movement):
    r"""YOLOv2's passthrough (space-to-depth): $(H, W, C) \mapsto (H/s, W/s, s^2 C)$, a reshape
    and a transpose: $0$ FLOPs. $s$ must divide $H$ and $W$. (Darknet's ``reorg`` orders the
    channels differently; the shape and the cost are the same.)

    >>> Reorg(2).output_shape((26, 26, 64)), Reorg(2).flops((26, 26, 64))
    ((13, 13, 256), 0)
    """

    stride: int = 2

    def __post_init__(self) -> None:
        _int(self.stride, "Reorg: stride")

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        h, w, c = _hwc(self.label, in_shape)
        conds, s = Conditions(), self.stride
        ho = _exact_div(h, s, f"Reorg(stride={s}): input height", conds)
        wo = _exact_div(w, s, f"Reorg(stride={s}): input width", conds)
        return Shape((ho, wo, out(s * s * c)), conds.items)

    def windows(self, in_shape):
        w = Window(self.stride, self.stride, 1, 0)
        return [(w, w)]


@dataclass(frozen=True, slots=True)
class Upsample(_Movement):
    r"""Nearest-neighbour upsampling (YOLOv3): $(H, W, C) \mapsto (fH, fW, C)$, every pixel
    repeated (a broadcast and a reshape): $0$ FLOPs.

    >>> Upsample(2).output_shape((13, 13, 256))
    (26, 26, 256)
    """

    factor: int = 2

    def __post_init__(self) -> None:
        _int(self.factor, "Upsample: factor")

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        h, w, c = _hwc(self.label, in_shape)
        return Shape((out(self.factor * h), out(self.factor * w), c))

    def windows(self, in_shape):
        raise SymconvError("Upsample: receptive fields through an upsampling are not tracked")


@dataclass(frozen=True, slots=True)
class Reshape(_Movement):
    r"""$(d_1, \dots) \mapsto$ ``shape`` with the same number of elements: $0$ FLOPs. YOLOv1's
    last FC output viewed as $S \times S \times (5B + C)$ (Darknet's detection layer reads the
    vector as $S^2 C$ class scores, $S^2 B$ confidences, $4 S^2 B$ coordinates instead: the
    size and the cost are the same)."""

    shape: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not self.shape:
            raise SymconvError(f"Reshape: shape={self.shape!r} must be a non-empty tuple")
        object.__setattr__(self, "shape", tuple(as_dim(d, "Reshape: shape") for d in self.shape))

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        n = prod(_dims(self.label, in_shape))
        m = prod(self.shape)
        if is_concrete(n, m) and n != m:
            raise ShapeMismatchError(f"Reshape: cannot view {n} elements as {self.shape} "
                                     f"({m} elements)")
        return Shape(self.shape)

    def windows(self, in_shape):
        return None


# --- composite units ----------------------------------------------------------------------


class _Composite(Layer):
    """A layer made of a fixed stack of parts; every count is the stack's."""

    __slots__ = ()

    def stack(self) -> Stack:
        raise NotImplementedError

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return self.stack().output_shape(in_shape)

    def weight_count(self) -> Dim:
        return self.stack().weight_count()

    def bias_count(self) -> Dim:
        return self.stack().bias_count()

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.stack().macs(in_shape, convention)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        return self.stack().batch_flops(in_shape, batch, convention)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return self.stack().transcendentals(in_shape, batch)


@dataclass(frozen=True, slots=True)
class DarknetConv(_Composite):
    r"""Darknet's ``[convolutional]``: $K \times K$ conv, stride $S$, padding $\lfloor K/2
    \rfloor$, then batch norm (``batch_norm``; the conv then has no bias) and a leaky ReLU
    (``activation='leaky'``) or nothing (``'linear'``):

    .. math::  P = K^2 M N + 2N \ (\text{BN}) \text{ or } K^2 M N + N, \qquad
               F = 2\,\text{MACs} + [3HWN + 2N]_{BN} \text{ or } [HWN]_{bias}
               + [3HWN]_{leaky}.

    >>> DarknetConv(3, 32, 3).param_count(), DarknetConv(3, 32, 3).output_shape((416, 416, 3))
    (928, (416, 416, 32))
    """

    in_features: Dim
    out_features: Dim
    kernel_size: int
    strides: int = 1
    batch_norm: bool = True
    activation: str = "leaky"
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        for name in ("in_features", "out_features"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"DarknetConv: {name}"))
        _int(self.kernel_size, "DarknetConv: kernel_size")
        _int(self.strides, "DarknetConv: strides")
        check_bool(self.batch_norm, "DarknetConv: batch_norm")
        if self.activation not in ("leaky", "linear"):
            raise SymconvError(f"DarknetConv: activation={self.activation!r} must be 'leaky' "
                               f"or 'linear'")
        _real(self.negative_slope, "DarknetConv: negative_slope", 0.0, 1.0)

    @property
    def conv(self) -> Conv2D:
        return Conv2D(self.in_features, self.out_features, self.kernel_size, self.strides,
                      self.kernel_size // 2, use_bias=not self.batch_norm)

    def stack(self) -> Stack:
        layers, names = [self.conv], ["conv"]
        if self.batch_norm:
            layers.append(BatchNorm(self.out_features))
            names.append("bn")
        if self.activation == "leaky":
            layers.append(LeakyReLU(self.negative_slope))
            names.append("leaky")
        return Stack(tuple(layers), tuple(names))

    def windows(self, in_shape):
        return receptive.windows(self.conv, in_shape)


@dataclass(frozen=True, slots=True)
class DarknetResidual(_Composite):
    r"""Darknet-53's residual block on $c$ channels: $1\times1$ unit to $c/2$, $3\times3$ unit
    back to $c$, added to the input (no activation after the sum, Darknet's linear
    ``[shortcut]``): $P = c^2/2 + 9c^2/2 + 3c$, FLOPs those of the two units $+\ HWc$."""

    channels: Dim
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        c = as_dim(self.channels, "DarknetResidual: channels")
        if is_concrete(c) and c % 2:
            raise SymconvError(f"DarknetResidual: channels={c} must be even (the 1x1 conv "
                               f"halves them)")
        object.__setattr__(self, "channels", c)

    def stack(self) -> Stack:
        c = self.channels
        half = c // 2 if is_concrete(c) else out(c / 2)
        return Stack((DarknetConv(c, half, 1, negative_slope=self.negative_slope),
                      DarknetConv(half, c, 3, negative_slope=self.negative_slope)),
                     ("reduce", "expand"))

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        r"""The two units, then the addition: $B H W c$ more."""
        shape = self.output_shape(in_shape)
        return out(self.stack().batch_flops(in_shape, batch, convention) + batch * prod(shape))

    def windows(self, in_shape):
        one, three = Window(1, 1, 1, 0), Window(3, 1, 1, 1)
        return [(one, one), (three, three)]
