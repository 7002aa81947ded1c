r"""Multi-head attention with a key-padding mask, costed as XLA counts ``nnx.MultiHeadAttention``.

Input $(L, d_q)$ (self-attention) or $((L_q, d_q), (L_k, d_{kv}))$ (cross-attention); output
$(L_q, d)$. Parameters: $W_Q \in \mathbb{R}^{d_q \times d}$, $W_K, W_V \in \mathbb{R}^{d_{kv}
\times d}$, $W_O \in \mathbb{R}^{d \times d}$ and four bias vectors of $d$:

.. math::  P = d_q d + 2 d_{kv} d + d^2 + 4d .

MACs: the projections and the two attention products,
$L_q d_q d + 2 L_k d_{kv} d + L_q d^2 + 2 L_q L_k d$. FLOPs (``jax.nn.dot_product_attention``,
XLA path), for $h$ heads:

.. math::  B\bigl(2\,\text{MACs} + 2 L_q d + 2 L_k d\ (\text{biases})
           + [d \ne h]\, h L_q L_k\ (\text{scale}) + h L_q L_k\ (\text{mask select})
           + h L_q (4 L_k - 1)\ (\text{softmax})\bigr),

and $B h L_q L_k$ exponentials. XLA folds multiplications by 1 and ``and`` with true: the
scale $1/\sqrt{d/h}$ is free with one feature per head ($d = h$), and the mask's ``and``
with JAX's all-true base mask always is; without a mask the select term is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, is_concrete, mod
from symconv.algebra.conv import check_bool
from symconv.algebra.embedding import sequence_of
from symconv.algebra.formula import (
    BIASES,
    FLOPS_EXACT,
    MACS_DENSE,
    TRANSCENDENTALS,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, same_size
from symconv.algebra.symbols import B, Lk, Lq, d, dkv, dq, h
from symconv.errors import SymconvError

ATTENTION_WEIGHTS = dq * d + 2 * dkv * d + d**2
ATTENTION_MACS = Lq * dq * d + 2 * Lk * dkv * d + Lq * d**2 + 2 * Lq * Lk * d
SCALE = sp.Piecewise((0, sp.Eq(d, h)), (h * Lq * Lk, True))


class HeadsDoNotDivideError(SymconvError):
    """The number of attention heads does not divide the model width ``d_model``."""


def check_heads(features: Dim, heads: Dim, where: str) -> None:
    """``heads`` must divide ``features`` (each head gets $d / h$ of them)."""
    rem = mod(features, heads)
    if (isinstance(rem, int) and rem != 0) or (isinstance(rem, sp.Expr) and rem.is_zero is False):
        near = [n for n in range(1, int(features) + 1) if int(features) % n == 0] \
            if is_concrete(features) else []
        hint = f" (divisors of {features}: {near})" if near else ""
        raise HeadsDoNotDivideError(
            f"{where}: heads={heads} does not divide d_model={features}; choose a number of "
            f"heads that divides d_model{hint}")


@dataclass(frozen=True, slots=True)
class MultiHeadAttention(Layer):
    r"""``nnx.MultiHeadAttention(h, d_q, qkv_features=d, out_features=d, in_kv_features=d_kv)``
    with a key-padding mask; self-attention when the input is one sequence."""

    features: Dim
    heads: Dim
    in_features: Dim | None = None
    in_kv_features: Dim | None = None
    masked: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "features", as_dim(self.features, "MultiHeadAttention: d_model"))
        set_(self, "heads", as_dim(self.heads, "MultiHeadAttention: heads"))
        q = self.features if self.in_features is None else self.in_features
        set_(self, "in_features", as_dim(q, "MultiHeadAttention: in_features"))
        kv = self.in_features if self.in_kv_features is None else self.in_kv_features
        set_(self, "in_kv_features", as_dim(kv, "MultiHeadAttention: in_kv_features"))
        check_bool(self.masked, "MultiHeadAttention: masked")
        check_heads(self.features, self.heads, "MultiHeadAttention")

    def _lengths(self, in_shape: Sequence[Dim]) -> tuple[Dim, Dim]:
        if isinstance(in_shape, (tuple, list)) and len(in_shape) == 2 and all(
                isinstance(s, (tuple, list)) for s in in_shape):
            lq, _ = sequence_of(self.label + " (queries)", in_shape[0], self.in_features)
            lk, _ = sequence_of(self.label + " (keys)", in_shape[1], self.in_kv_features)
            return lq, lk
        length, _ = sequence_of(self.label, in_shape, self.in_features)
        same_size(self.label + " (self-attention: keys are the queries)", "features",
                  self.in_kv_features, self.in_features)
        return length, length

    def _widths(self) -> dict:
        return {d: self.features, dq: self.in_features, dkv: self.in_kv_features}

    def parameters(self) -> Formulas:
        r"""$d_q d + 2 d_{kv} d + d^2$ weights, $4d$ biases."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (W_Q, W_K, W_V, W_O)", WEIGHTS, ATTENTION_WEIGHTS,
              self._widths())
        f.add("biases", "biases", BIASES, 4 * d, {d: self.features})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        lq, lk = self._lengths(in_shape)
        sizes = {**self._widths(), Lq: lq, Lk: lk, h: self.heads, B: batch}
        f = FormulaBuilder(self.label)
        macs = f.add("macs", "MACs (projections, QKᵀ and AV)", MACS_DENSE, ATTENTION_MACS, sizes)
        scale = SCALE
        if is_concrete(self.features, self.heads):
            scale = 0 if self.features == self.heads else h * Lq * Lk
        select = h * Lq * Lk if self.masked else 0
        general = B * (2 * MACS_DENSE + 2 * Lq * d + 2 * Lk * d + scale + select
                       + h * Lq * (4 * Lk - 1))
        f.add("flops", "FLOPs (products, biases, scale, mask, softmax)", FLOPS_EXACT, general,
              {**sizes, MACS_DENSE: macs})
        f.add("transcendentals", "exponentials (softmax)", TRANSCENDENTALS, B * h * Lq * Lk, sizes)
        return f.build((lq, self.features))
