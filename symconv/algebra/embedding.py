r"""Token inputs of a Transformer: the padding mask, the token embedding and learned positions.

Shapes are per example (batch excluded): token ids $(L,)$, sequences $(L, d)$. Costs as XLA
counts the Flax layers (read off ``cost_analysis()`` on tiny examples, checked against whole
models in ``tests/test_multimodal.py``):

- ``tokens != pad_id``: $B L$ comparisons;
- ``nnx.Embed`` (``jnp.take``, fill mode): $6$ integer ops per id (``i < 0``, ``i + V``, select,
  ``i >= 0``, ``i <= V - 1``, and) plus one select per element: $B L (d + 6)$ (0 for $V = 1$,
  which Flax broadcasts);
- learned positions $x_t + p_t$ for $t < L$: $B L d$ additions (the slice is free); the table
  holds $L_{max}$ positions, so $L \le L_{max}$ (:class:`SequenceTooLongError`; for a symbolic
  $L$ the condition is returned with the shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, as_dim, is_concrete
from symconv.algebra.formula import FLOPS_EXACT, WEIGHTS, FormulaBuilder, Formulas
from symconv.algebra.layer import Layer, ParameterFree, same_size
from symconv.algebra.symbols import B, L, Lmax, V, d
from symconv.errors import ShapeMismatchError


class SequenceTooLongError(ShapeMismatchError):
    """A text has more tokens than the model's positional table (``max_len``) holds."""


def check_length(length: Dim, max_len: Dim, where: str, conds: Conditions) -> None:
    """$L \\le L_{max}$, or :class:`SequenceTooLongError` naming both and the fix."""
    conds.require(length <= max_len, SequenceTooLongError,
                  f"{where}: the text has L={length} tokens but the model's maximum length is "
                  f"max_len={max_len}; truncate the tokens to at most {max_len} or build the "
                  f"model with max_len >= {length}")


def tokens_of(layer: str, in_shape: Sequence[Dim]) -> Dim:
    """$L$ of a token-id input $(L,)$."""
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 1:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (L,): token ids, "
                                 f"batch excluded")
    return as_dim(in_shape[0], f"{layer}: sequence length L")


def sequence_of(layer: str, in_shape: Sequence[Dim], features: Dim | None) -> tuple[Dim, Dim]:
    """$(L, d)$ of a sequence input, $d$ checked against ``features``."""
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 2 or any(
            isinstance(x, (tuple, list)) for x in in_shape):
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (L, d): a "
                                 f"sequence of L vectors, batch excluded")
    length = as_dim(in_shape[0], f"{layer}: sequence length L")
    width = as_dim(in_shape[1], f"{layer}: features d")
    if features is not None:
        same_size(layer, "features", width, features)
    return length, width


@dataclass(frozen=True, slots=True)
class PaddingMask(ParameterFree):
    r"""``tokens != pad_id``: $(L,) \mapsto (L,)$ booleans, $B L$ FLOPs (one comparison each)."""

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        n = tokens_of(self.label, in_shape)
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (one comparison per token)", FLOPS_EXACT, B * L, {B: batch, L: n})
        return f.build((n,))


@dataclass(frozen=True, slots=True)
class Embedding(Layer):
    r"""``nnx.Embed(V, d)``: token ids $(L,) \mapsto (L, d)$; $V d$ parameters, $B L (d + 6)$
    FLOPs ($V \ge 2$; a one-word vocabulary is a broadcast, 0)."""

    vocab_size: Dim
    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab_size", as_dim(self.vocab_size, "Embedding: vocab_size"))
        object.__setattr__(self, "features", as_dim(self.features, "Embedding: d_model"))

    def parameters(self) -> Formulas:
        r"""$V d$ weights."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (the table)", WEIGHTS, V * d,
              {V: self.vocab_size, d: self.features})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        n = tokens_of(self.label, in_shape)
        f = FormulaBuilder(self.label)
        general = sp.Piecewise((0, sp.Eq(V, 1)), (B * L * (d + 6), True))
        subs = {V: self.vocab_size, B: batch, L: n, d: self.features}
        if is_concrete(self.vocab_size):
            general = 0 * B if self.vocab_size == 1 else B * L * (d + 6)
            del subs[V]
        f.add("flops", "FLOPs (6 per index, 1 per element)", FLOPS_EXACT, sp.sympify(general),
              subs)
        return f.build((n, self.features))


@dataclass(frozen=True, slots=True)
class PositionalEmbedding(Layer):
    r"""Learned positions: $x_t + p_t$ for $t < L$ from a table $p \in \mathbb{R}^{L_{max}
    \times d}$; $L_{max} d$ parameters, $B L d$ FLOPs. Needs $L \le L_{max}$."""

    max_len: Dim
    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_len", as_dim(self.max_len, "PositionalEmbedding: max_len"))
        object.__setattr__(self, "features", as_dim(self.features,
                                                    "PositionalEmbedding: d_model"))

    def parameters(self) -> Formulas:
        r"""$L_{max} d$ weights."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (the table)", WEIGHTS, Lmax * d,
              {Lmax: self.max_len, d: self.features})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        length, width = sequence_of(self.label, in_shape, self.features)
        f = FormulaBuilder(self.label)
        check_length(length, self.max_len, self.label, f.conds)
        f.add("flops", "FLOPs (one addition per element)", FLOPS_EXACT, B * L * d,
              {B: batch, L: length, d: width})
        return f.build((length, width))
