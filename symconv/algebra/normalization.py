r"""Normalisation layers at inference, as ``nnx.BatchNorm`` and ``nnx.LayerNorm`` lower.

**Batch norm** (running statistics) over the last axis of $C$ channels,
$y = (x - \mu)\,\gamma / \sqrt{\sigma^2 + \epsilon} + \beta$: parameters $\gamma, \beta$ ($2C$;
the running $\mu, \sigma^2$ are batch statistics, not parameters). XLA counts a subtraction, a
multiplication and an addition per element, plus $\sigma^2 + \epsilon$ and the product with
$\gamma$ once per channel per call (not per example), and $C$ reciprocal square roots:

.. math::  \text{FLOPs} = 3 B n + 2C, \qquad \text{transcendentals} = C,

for $n$ elements per example ($n = H W C$ for a map).

**Layer norm** over the last axis of $d$ (fast variance, Flax's default), $2d$ parameters:
per row, $\mu$ ($d$), $\overline{x^2}$ ($2d$), variance and $+\epsilon$ (4), $x - \mu$,
$\cdot\gamma$ on the reciprocal, the product and $+\beta$ ($4d$), one ``rsqrt``:

.. math::  \text{FLOPs} = B\,\tfrac{n}{d}\,(7d + 4), \qquad
           \text{transcendentals} = B\,\tfrac{n}{d} .
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim
from symconv.algebra.elementwise import element_symbols
from symconv.algebra.formula import (
    BIASES,
    FLOPS_EXACT,
    TRANSCENDENTALS,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, dims_of, same_size
from symconv.algebra.symbols import B, C, d


@dataclass(frozen=True, slots=True)
class BatchNorm(Layer):
    r"""``nnx.BatchNorm(num_features, use_running_average=True)`` over the last axis."""

    num_features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_features",
                           as_dim(self.num_features, "BatchNorm: num_features"))

    def parameters(self) -> Formulas:
        r"""$\gamma$: $C$ weights; $\beta$: $C$ biases."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (γ)", WEIGHTS, C, {C: self.num_features})
        f.add("biases", "biases (β)", BIASES, C, {C: self.num_features})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        r"""$3 B n + 2C$ FLOPs: the per-channel terms are paid once per call."""
        dims = dims_of(self.label, in_shape)
        same_size(self.label, "channels", dims[-1], self.num_features, "num_features")
        syms = element_symbols(dims)
        subs = {B: batch, **dict(zip(syms, dims)), C: self.num_features}
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (3 per element, 2 per channel)", FLOPS_EXACT,
              3 * B * sp.Mul(*syms) + 2 * C, subs)
        f.add("transcendentals", "reciprocal square roots", TRANSCENDENTALS, C,
              {C: self.num_features})
        return f.build(dims)

    def windows(self, in_shape: Sequence[Dim]):
        return []


@dataclass(frozen=True, slots=True)
class LayerNorm(Layer):
    r"""``nnx.LayerNorm(d)`` over the last axis; $2d$ parameters, $B\frac{n}{d}(7d + 4)$ FLOPs."""

    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "LayerNorm: features"))

    def parameters(self) -> Formulas:
        r"""$\gamma$: $d$ weights; $\beta$: $d$ biases."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (γ)", WEIGHTS, d, {d: self.features})
        f.add("biases", "biases (β)", BIASES, d, {d: self.features})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        dims = dims_of(self.label, in_shape)
        same_size(self.label, "features", dims[-1], self.features)
        syms = element_symbols(dims)[:-1]
        rows = sp.Mul(*syms)
        subs = {B: batch, **dict(zip(syms, dims)), d: self.features}
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (7 per element, 4 per row)", FLOPS_EXACT, B * rows * (7 * d + 4),
              subs)
        f.add("transcendentals", "rsqrt per row", TRANSCENDENTALS, B * rows, subs)
        return f.build(dims)

    def windows(self, in_shape: Sequence[Dim]):
        return []
