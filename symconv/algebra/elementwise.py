r"""Activations, costed as XLA counts them (one FLOP per elementary op, exp kept apart).

.. math::  \text{FLOPs}_{ReLU} = \prod_i d_i, \qquad
           \text{FLOPs}_{softmax}(n) = r\,(4n - 1), \quad \text{transcendentals} = r\,n,

for softmax over the last axis of length $n$ with $r$ rows: a max-reduction ($n - 1$), a max
with $-\infty$ (1), a subtraction ($n$), a sum-reduction ($n - 1$) and a division ($n$), as
``jax.nn.softmax`` lowers; the $n$ exponentials are transcendentals, not FLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from symconv.algebra.arith import Dim, as_dim, out, prod
from symconv.algebra.layer import ParameterFree, Shape, check_convention
from symconv.errors import ShapeMismatchError


def _dims(layer: str, in_shape: Sequence[Dim]) -> list[Dim]:
    if not isinstance(in_shape, (tuple, list)) or not in_shape:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be a non-empty tuple")
    return [as_dim(d, f"{layer}: input dim {i}") for i, d in enumerate(in_shape)]


class _Elementwise(ParameterFree):
    __slots__ = ()

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return Shape(_dims(self.label, in_shape))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        _dims(self.label, in_shape)
        return 0


@dataclass(frozen=True, slots=True)
class ReLU(_Elementwise):
    r"""$\max(x, 0)$: one FLOP per element."""

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        return prod(_dims(self.label, in_shape))


@dataclass(frozen=True, slots=True)
class Softmax(_Elementwise):
    r"""``jax.nn.softmax`` over the last axis: $r(4n - 1)$ FLOPs and $r n$ exponentials."""

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        dims = _dims(self.label, in_shape)
        return out(prod(dims[:-1]) * (4 * dims[-1] - 1))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return out(batch * prod(_dims(self.label, in_shape)))
