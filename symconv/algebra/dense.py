r"""Fully connected layers and flattening.

``Dense(F, U)`` on a vector of $F$ features: $F U$ weights, $U$ biases, $F U$ MACs (no padding,
so dense = exact) and $B(2 F U + U)$ FLOPs on a batch of $B$. ``Flatten`` turns
$(H, W, C)$ into $(H W C,)$ at no cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim
from symconv.algebra.conv import check_bool
from symconv.algebra.elementwise import element_symbols
from symconv.algebra.formula import (
    BIASES,
    FLOPS_EXACT,
    MACS_DENSE,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, ParameterFree, dims_of, same_size
from symconv.algebra.symbols import B, F, U

DENSE_WEIGHTS = F * U
DENSE_MACS = F * U
DENSE_FLOPS = B * (2 * MACS_DENSE + U)


@dataclass(frozen=True, slots=True)
class Dense(Layer):
    r"""``nnx.Linear(in_features, out_features)``: $y = x W + b$.

    >>> Dense(65536, 200).param_count()
    13107400
    """

    in_features: Dim
    out_features: Dim
    use_bias: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_features", as_dim(self.in_features, "Dense: in_features"))
        object.__setattr__(self, "out_features", as_dim(self.out_features, "Dense: out_features"))
        check_bool(self.use_bias, "Dense: use_bias")

    def _fu(self) -> dict:
        return {F: self.in_features, U: self.out_features}

    def parameters(self) -> Formulas:
        r"""$F U$ weights, $U$ biases."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights", WEIGHTS, DENSE_WEIGHTS, self._fu())
        f.add("biases", "biases", BIASES, U if self.use_bias else sp.Integer(0),
              {U: self.out_features} if self.use_bias else {})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 1:
            from symconv.errors import ShapeMismatchError

            raise ShapeMismatchError(
                f"{self.label}: input shape {in_shape!r} must be (features,); add a Flatten or "
                f"GlobalAvgPool2D before it")
        (n,) = dims_of(self.label, in_shape, 1, ("features",))
        if isinstance(n, int) and isinstance(self.in_features, int) and n != self.in_features:
            from symconv.errors import ShapeMismatchError

            raise ShapeMismatchError(f"{self.label}: input has {n} features but "
                                     f"in_features={self.in_features}")
        same_size(self.label, "features", n, self.in_features, "in_features")
        f = FormulaBuilder(self.label)
        macs = f.add("macs", "MACs", MACS_DENSE, DENSE_MACS, self._fu())
        f.add("flops", "FLOPs" + (" (bias adds included)" if self.use_bias else ""),
              FLOPS_EXACT, DENSE_FLOPS if self.use_bias else 2 * B * MACS_DENSE,
              {B: batch, MACS_DENSE: macs, U: self.out_features})
        return f.build((self.out_features,))

    def windows(self, in_shape: Sequence[Dim]):
        return None


@dataclass(frozen=True, slots=True)
class Flatten(ParameterFree):
    r"""$(d_1, \dots, d_k) \mapsto (\prod_i d_i,)$: no parameters, no FLOPs (a reshape)."""

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        dims = dims_of(self.label, in_shape)
        syms = element_symbols(dims)
        f = FormulaBuilder(self.label)
        n = f.add("size", "flattened size", sp.Symbol("n"), sp.Mul(*syms),
                  dict(zip(syms, dims)))
        return f.build((n,))

    def windows(self, in_shape: Sequence[Dim]):
        return None
