r"""Elementwise layers, costed as XLA counts them (one FLOP per elementary op, exponentials and
friends kept apart as *transcendentals*).

For an input of $n$ elements per example (e.g. $n = H W C$) and a batch of $B$:

.. math::  \text{FLOPs}_{ReLU} = B n, \qquad \text{FLOPs}_{add} = B n, \qquad
           \text{FLOPs}_{softmax} = B\,\tfrac{n}{C}\,(4C - 1), \quad
           \text{transcendentals}_{softmax} = B n,

for softmax over the last axis of length $C$: a max-reduction ($C - 1$), a max with $-\infty$
(1), a subtraction ($C$), a sum-reduction ($C - 1$) and a division ($C$) per row, as
``jax.nn.softmax`` lowers; the $C$ exponentials are transcendentals. :class:`Activation` covers
the activations of :data:`ACTIVATIONS` ($a$ FLOPs and $t$ transcendentals per element).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim
from symconv.algebra.formula import FLOPS_EXACT, TRANSCENDENTALS, FormulaBuilder, Formulas
from symconv.algebra.layer import ParameterFree, dims_of
from symconv.algebra.symbols import B, C, F, H, L, W, d
from symconv.errors import SymconvError

#: per element: (FLOPs, transcendentals) as XLA counts the lowered activation
ACTIVATIONS: dict[str, tuple[int, int]] = {
    "relu": (1, 0),         # max(x, 0)
    "gelu": (8, 1),         # x*x*x, *0.044715, +x, *sqrt(2/pi), tanh, +1, *0.5, *x
    "gelu_exact": (66, 1),  # 0.5x, -x, /sqrt 2, erfc (62 FLOPs + 1 exp), product
    "sigmoid": (3, 1),      # -x, exp, 1 + ., 1 / .
    "tanh": (0, 1),         # one tanh, a transcendental
}

_RANK_SYMBOLS = {1: (F,), 2: (L, d), 3: (H, W, C)}


def element_symbols(dims: Sequence[Dim]) -> tuple[sp.Symbol, ...]:
    """The symbols a general formula uses for an input of this rank: $(F)$, $(L, d)$,
    $(H, W, C)$, else $n_0, n_1, \\dots$."""
    return _RANK_SYMBOLS.get(len(dims)) or tuple(
        sp.Symbol(f"n_{i}", integer=True, positive=True) for i in range(len(dims)))


def per_element(f: FormulaBuilder, dims: Sequence[Dim], batch: Dim, flops: int,
                transcendentals: int = 0, label: str = "") -> None:
    r"""$\text{FLOPs} = a B \prod_i n_i$ and $\text{transcendentals} = t B \prod_i n_i$."""
    syms = element_symbols(dims)
    subs = {B: batch, **dict(zip(syms, dims))}
    size = sp.Mul(*syms)
    what = f" ({label})" if label else ""
    f.add("flops", f"FLOPs{what}", FLOPS_EXACT, flops * B * size, subs)
    if transcendentals:
        f.add("transcendentals", f"transcendentals{what}", TRANSCENDENTALS,
              transcendentals * B * size, subs)


class _Elementwise(ParameterFree):
    """Output shape = input shape; subclasses state their per-element costs."""

    __slots__ = ()
    _per_element: tuple[int, int] = (1, 0)

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        dims = dims_of(self.label, in_shape)
        f = FormulaBuilder(self.label)
        a, t = self._per_element
        if a or t:
            per_element(f, dims, batch, a, t, self._what())
        return f.build(dims)

    def _what(self) -> str:
        return ""

    def windows(self, in_shape: Sequence[Dim]):
        return []


@dataclass(frozen=True, slots=True)
class ReLU(_Elementwise):
    r"""$\max(x, 0)$: one FLOP per element."""

    def _what(self) -> str:
        return "max(x, 0)"


@dataclass(frozen=True, slots=True)
class Add(_Elementwise):
    r"""$x + F(x)$ (a residual connection): one FLOP per element of the shared shape."""


@dataclass(frozen=True, slots=True)
class Activation(_Elementwise):
    r"""An elementwise activation of :data:`ACTIVATIONS`: $a$ FLOPs and $t$ transcendentals per
    element (e.g. sigmoid: $-x$, $e^{\cdot}$, $1 + \cdot$, $1/\cdot$: 3 FLOPs, 1 exp)."""

    kind: str = "relu"

    def __post_init__(self) -> None:
        check_activation(self.kind, "Activation")

    @property
    def _per_element(self) -> tuple[int, int]:  # type: ignore[override]
        return ACTIVATIONS[self.kind]

    @property
    def label(self) -> str:
        return self.kind.capitalize()


def check_activation(name: object, where: str) -> str:
    if name not in ACTIVATIONS:
        raise SymconvError(f"{where}: activation={name!r} is not one of "
                           f"{tuple(ACTIVATIONS)}; pick one of them")
    return name  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Softmax(ParameterFree):
    r"""``jax.nn.softmax`` over the last axis: $B\,\tfrac{n}{C}(4C - 1)$ FLOPs and $B n$
    exponentials."""

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        dims = dims_of(self.label, in_shape)
        syms = element_symbols(dims)
        subs = {B: batch, **dict(zip(syms, dims))}
        rows, last = sp.Mul(*syms[:-1]), syms[-1]
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (max, subtract, sum, divide per row)", FLOPS_EXACT,
              B * rows * (4 * last - 1), subs)
        f.add("transcendentals", "exponentials", TRANSCENDENTALS, B * rows * last, subs)
        return f.build(dims)

    def windows(self, in_shape: Sequence[Dim]):
        return []
