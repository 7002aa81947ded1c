r"""Darknet's layers in closed form (Redmon & Farhadi 2017, 2018): shapes, parameters, MACs and
FLOPs as XLA counts them, for :mod:`symconv.algebra.nets.darknet`'s networks.

Layer specs: :class:`LeakyReLU`, :class:`Dropout`, :class:`Reorg`, :class:`Upsample`,
:class:`Reshape`, :class:`DarknetConv`, :class:`DarknetResidual`. Each knows its receptive-field
windows (``windows(in_shape)``, :mod:`symconv.algebra.receptive`).

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
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, is_concrete, out
from symconv.algebra.composite import Composite, Part, Stack
from symconv.algebra.conv import Conv2D, check_bool
from symconv.algebra.elementwise import Add, _Elementwise
from symconv.algebra.formula import FormulaBuilder, Formulas
from symconv.algebra.layer import ParameterFree, dims_of
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import C, H, Ho, S, W, Wo
from symconv.errors import NonIntegerError, ShapeMismatchError, SymconvError


def check_int(value: object, what: str, minimum: int = 1) -> int:
    """A Python int ``>= minimum`` (booleans rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NonIntegerError(f"{what}={value!r} must be an int")
    if value < minimum:
        raise SymconvError(f"{what}={value!r} must be >= {minimum}")
    return int(value)


def check_real(value: object, what: str, lo: float, hi: float) -> float:
    """A real number in ``[lo, hi)``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value < hi:
        raise SymconvError(f"{what}={value!r} must be a number in [{lo}, {hi})")
    return value


# --- elementwise and data-movement layers -------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeakyReLU(_Elementwise):
    r"""``jax.nn.leaky_relu``: $x \ge 0 \,?\, x : a x$, lowered to a compare, a multiply and a
    select: $3$ FLOPs per element (XLA's count on $2 \times 3 \times 5 \times 7$: 630).

    >>> LeakyReLU().batch_flops((3, 5, 7), 2)
    630
    """

    negative_slope: float = 0.1
    _per_element = (3, 0)

    def __post_init__(self) -> None:
        check_real(self.negative_slope, "LeakyReLU: negative_slope", 0.0, 1.0)

    def _what(self) -> str:
        return "compare, multiply, select"


@dataclass(frozen=True, slots=True)
class Dropout(_Elementwise):
    r"""Dropout at inference: the identity, $0$ FLOPs (YOLOv1: rate 0.5 after the first FC)."""

    rate: float = 0.5
    _per_element = (0, 0)

    def __post_init__(self) -> None:
        check_real(self.rate, "Dropout: rate", 0.0, 1.0)


def exact_division(f: FormulaBuilder, key: str, label: str, lhs: sp.Symbol, n_sym: sp.Symbol,
                   n: Dim, s: int, what: str) -> Dim:
    r"""$n / S$ for an $n$ that $S$ must divide: an error naming the nearest valid sizes for a
    concrete $n$, a recorded condition $n \bmod S = 0$ for a symbolic one."""
    if is_concrete(n) and n % s:
        raise ShapeMismatchError(f"{what}: size {n} is not divisible by the stride {s}; "
                                 f"use a multiple of {s} (e.g. {n - n % s or s} or "
                                 f"{n - n % s + s})")
    f.require(sp.Eq(sp.Mod(n_sym, S), 0), {n_sym: n, S: s}, ShapeMismatchError,
              f"{what}: size {n} is never divisible by the stride {s}")
    q = sp.Integer(1) * n / s
    exact = is_concrete(n) or q.is_integer
    return f.add(key, label, lhs, n_sym / S if exact else sp.floor(n_sym / S), {n_sym: n, S: s})


@dataclass(frozen=True, slots=True)
class Reorg(ParameterFree):
    r"""YOLOv2's passthrough (space-to-depth): $(H, W, C) \mapsto (H/S, W/S, S^2 C)$, a reshape
    and a transpose: $0$ FLOPs. $S$ must divide $H$ and $W$. (Darknet's ``reorg`` orders the
    channels differently; the shape and the cost are the same.)

    >>> Reorg(2).output_shape((26, 26, 64)), Reorg(2).flops((26, 26, 64))
    ((13, 13, 256), 0)
    """

    stride: int = 2

    def __post_init__(self) -> None:
        check_int(self.stride, "Reorg: stride")

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        s, f = self.stride, FormulaBuilder(self.label)
        oh = exact_division(f, "out_h", "output height", Ho, H, h, s,
                            f"Reorg(stride={s}): input height")
        ow = exact_division(f, "out_w", "output width", Wo, W, w, s,
                            f"Reorg(stride={s}): input width")
        oc = f.add("out_c", "output channels", sp.Symbol("C'"), S**2 * C, {S: s, C: c})
        return f.build((oh, ow, oc))

    def windows(self, in_shape):
        w = Window(self.stride, self.stride, 1, 0)
        return [(w, w)]


@dataclass(frozen=True, slots=True)
class Upsample(ParameterFree):
    r"""Nearest-neighbour upsampling (YOLOv3): $(H, W, C) \mapsto (fH, fW, C)$, every pixel
    repeated (a broadcast and a reshape): $0$ FLOPs.

    >>> Upsample(2).output_shape((13, 13, 256))
    (26, 26, 256)
    """

    factor: int = 2

    def __post_init__(self) -> None:
        check_int(self.factor, "Upsample: factor")

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        f, r = FormulaBuilder(self.label), sp.Symbol("R", integer=True, positive=True)
        oh = f.add("out_h", "output height", Ho, r * H, {r: self.factor, H: h})
        ow = f.add("out_w", "output width", Wo, r * W, {r: self.factor, W: w})
        return f.build((oh, ow, c))

    def windows(self, in_shape):
        window = Window(1, 1, 1, 0, upsample=self.factor, mode="repeat")
        return [(window, window)]


@dataclass(frozen=True, slots=True)
class Reshape(ParameterFree):
    r"""$(d_1, \dots) \mapsto$ ``shape`` with the same number of elements: $0$ FLOPs. YOLOv1's
    last FC output viewed as $S \times S \times (5B + C)$ (Darknet's detection layer reads the
    vector as $S^2 C$ class scores, $S^2 B$ confidences, $4 S^2 B$ coordinates instead: the
    size and the cost are the same)."""

    shape: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not self.shape:
            raise SymconvError(f"Reshape: shape={self.shape!r} must be a non-empty tuple")
        object.__setattr__(self, "shape", tuple(as_dim(d, "Reshape: shape") for d in self.shape))

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        dims = dims_of(self.label, in_shape)
        n, m = sp.Mul(*dims), sp.Mul(*self.shape)
        if n.is_Integer and m.is_Integer and n != m:
            raise ShapeMismatchError(f"Reshape: cannot view {n} elements as {self.shape} "
                                     f"({m} elements)")
        return FormulaBuilder(self.label).build(self.shape)

    def windows(self, in_shape):
        return None


# --- composite units ----------------------------------------------------------------------


class _Chain(Composite):
    """A unit made of a fixed chain of parts (:meth:`stack`)."""

    __slots__ = ()

    def stack(self) -> Stack:
        raise NotImplementedError

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        return self.stack().named_parts(in_shape)

    def param_parts(self) -> list[Part]:
        return self.stack().param_parts()


@dataclass(frozen=True, slots=True)
class DarknetConv(_Chain):
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
        check_int(self.kernel_size, "DarknetConv: kernel_size")
        check_int(self.strides, "DarknetConv: strides")
        check_bool(self.batch_norm, "DarknetConv: batch_norm")
        if self.activation not in ("leaky", "linear"):
            raise SymconvError(f"DarknetConv: activation={self.activation!r} must be 'leaky' "
                               f"or 'linear'")
        check_real(self.negative_slope, "DarknetConv: negative_slope", 0.0, 1.0)

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
        return self.conv.windows(in_shape)


@dataclass(frozen=True, slots=True)
class DarknetResidual(Composite):
    r"""Darknet-53's residual block on $c$ channels: $1\times1$ unit to $c/2$, $3\times3$ unit
    back to $c$, added to the input (no activation after the sum, Darknet's linear
    ``[shortcut]``): $P = c^2/2 + 9c^2/2 + 3c$, FLOPs those of the two units $+\ B H W c$."""

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

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        parts = self.stack().named_parts(in_shape)
        y = tuple(parts[-1].layer.output_shape(parts[-1].in_shape))
        return [*parts, Part("add", Add(), y)]

    def param_parts(self) -> list[Part]:
        return self.stack().param_parts()

    def windows(self, in_shape):
        one, three = Window(1, 1, 1, 0), Window(3, 1, 1, 1)
        return [(one, one), (three, three)]
