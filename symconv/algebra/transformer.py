r"""A Transformer text encoder as layer specs, costed exactly as XLA counts the Flax layers.

Shapes are per example (batch excluded): token ids $(L,)$, sequences $(L, d)$. Every count is
linear in the batch $B$ (no per-call terms). The token inputs are in
:mod:`symconv.algebra.embedding`, attention in :mod:`symconv.algebra.attention`, layer norm in
:mod:`symconv.algebra.normalization`; here the feed-forward block, masked mean pooling, an
encoder layer and the whole encoder. Per-op costs (``cost_analysis()`` of the lowered layers):

=========================================  =================================  ===============
op (as the Flax layer lowers it)            FLOPs                              transcendentals
=========================================  =================================  ===============
``x @ W`` ($m \times k$ by $k \times n$)    $2 m k n$                          0
bias add, residual add, ``x != pad``,       1 per element                      0
cast, select, ``x * y``, ``x / y``          (``x * 1`` and ``x + 0``: 0, folded)
sum over an axis of length $n$              $n - 1$ per output                 0
mean over an axis of length $n$             $n$ per output                     0
``jax.nn.softmax`` over $n$                 $4n - 1$ per row                   $n$ per row
``jax.nn.gelu`` (tanh form, Flax default)   8 per element                      1 (tanh)
``jax.nn.gelu(approximate=False)``          66 per element (62 in ``erfc``)    1 (exp)
``jax.nn.relu``                             1 per element                      0
``jax.nn.sigmoid``                          3 per element ($1/(1+e^{-x})$)     1 (exp)
``jnp.take`` (embedding lookup)             $6$ per index $+ 1$ per element    0
=========================================  =================================  ===============
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from symconv.algebra.arith import Dim, as_dim, is_concrete
from symconv.algebra.attention import MultiHeadAttention, check_heads
from symconv.algebra.composite import Graph, Part
from symconv.algebra.conv import check_bool
from symconv.algebra.elementwise import ACTIVATIONS, Add, check_activation
from symconv.algebra.embedding import (
    Embedding,
    PaddingMask,
    PositionalEmbedding,
    sequence_of,
    tokens_of,
)
from symconv.algebra.formula import (
    BIASES,
    FLOPS_EXACT,
    MACS_DENSE,
    TRANSCENDENTALS,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, ParameterFree, Shape
from symconv.algebra.normalization import LayerNorm
from symconv.algebra.symbols import B, L, d, dff
from symconv.errors import SymconvError

FFN_MACS = 2 * L * d * dff


@dataclass(frozen=True, slots=True)
class FeedForward(Layer):
    r"""Position-wise $\text{Linear}(d, d_{ff})$, activation, $\text{Linear}(d_{ff}, d)$.

    .. math::  P = 2 d d_{ff} + d_{ff} + d, \qquad
               \text{FLOPs} = B(4 L d d_{ff} + L d_{ff} + L d + a L d_{ff}),

    with $a$ the activation's FLOPs per element (:data:`~symconv.algebra.elementwise.ACTIVATIONS`;
    GELU, Flax's default, also costs $B L d_{ff}$ transcendentals).
    """

    features: Dim
    hidden: Dim
    activation: str = "gelu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "FeedForward: d_model"))
        object.__setattr__(self, "hidden", as_dim(self.hidden, "FeedForward: d_ff"))
        check_activation(self.activation, "FeedForward")

    def parameters(self) -> Formulas:
        r"""$2 d d_{ff}$ weights, $d_{ff} + d$ biases."""
        f = FormulaBuilder(self.label)
        widths = {d: self.features, dff: self.hidden}
        f.add("weights", "weights", WEIGHTS, 2 * d * dff, widths)
        f.add("biases", "biases", BIASES, dff + d, widths)
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        length, _ = sequence_of(self.label, in_shape, self.features)
        a, t = ACTIVATIONS[self.activation]
        sizes = {B: batch, L: length, d: self.features, dff: self.hidden}
        f = FormulaBuilder(self.label)
        macs = f.add("macs", "MACs", MACS_DENSE, FFN_MACS, sizes)
        f.add("flops", f"FLOPs (products, biases, {self.activation})", FLOPS_EXACT,
              B * (2 * MACS_DENSE + L * dff + L * d + a * L * dff), {**sizes, MACS_DENSE: macs})
        if t:
            f.add("transcendentals", f"transcendentals ({self.activation})", TRANSCENDENTALS,
                  t * B * L * dff, sizes)
        return f.build((length, self.features))


@dataclass(frozen=True, slots=True)
class MaskedMeanPool(ParameterFree):
    r"""Mean over the real (unmasked) tokens: $(L, d) \mapsto (d,)$,
    $\bar{x} = \sum_t m_t x_t / \max(1, \sum_t m_t)$.

    FLOPs: mask to float ($L$), $m_t x_t$ ($L d$), sum over $t$ ($(L - 1) d$), count
    ($L - 1$), $\max(1, \cdot)$ (1), division ($d$): $B(2 L d + 2L)$. An all-padding text gives 0.
    """

    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "MaskedMeanPool: d_model"))

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        length, width = sequence_of(self.label, in_shape, self.features)
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (weights, sums, count, division)", FLOPS_EXACT,
              B * (2 * L * d + 2 * L), {B: batch, L: length, d: width})
        return f.build((self.features,))


@dataclass(frozen=True, slots=True)
class TransformerEncoderLayer(Graph):
    r"""One encoder layer on $(L, d)$ with a key-padding mask.

    Pre-LN (``norm_first=True``): $x \leftarrow x + \text{MHA}(\text{LN}_1(x))$,
    $x \leftarrow x + \text{FFN}(\text{LN}_2(x))$; post-LN (Vaswani et al.):
    $x \leftarrow \text{LN}_1(x + \text{MHA}(x))$, $x \leftarrow \text{LN}_2(x + \text{FFN}(x))$.
    Both cost the same: $P = 4d^2 + 2 d d_{ff} + d_{ff} + 9d$ and
    FLOPs $=$ MHA $+$ FFN $+ 2$ LN $+ 2 B L d$ (the residual adds).

    >>> import sympy as sp
    >>> d, f = sp.symbols("d d_ff", integer=True, positive=True)
    >>> TransformerEncoderLayer(d, 1, f).param_count()
    4*d**2 + 2*d*d_ff + 9*d + d_ff
    """

    features: Dim
    heads: Dim
    hidden: Dim
    activation: str = "gelu"
    norm_first: bool = True

    def __post_init__(self) -> None:
        w = "TransformerEncoderLayer"
        object.__setattr__(self, "features", as_dim(self.features, f"{w}: d_model"))
        object.__setattr__(self, "heads", as_dim(self.heads, f"{w}: heads"))
        object.__setattr__(self, "hidden", as_dim(self.hidden, f"{w}: d_ff"))
        check_heads(self.features, self.heads, w)
        check_activation(self.activation, w)
        check_bool(self.norm_first, f"{w}: norm_first")

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        x = tuple(sequence_of(self.label, in_shape, self.features))
        width = self.features
        attn = Part("attn", MultiHeadAttention(width, self.heads), x)
        ffn = Part("ffn", FeedForward(width, self.hidden, self.activation), x)
        n1, n2 = Part("norm1", LayerNorm(width), x), Part("norm2", LayerNorm(width), x)
        a1, a2 = Part("add1", Add(), x), Part("add2", Add(), x)
        if self.norm_first:
            return [n1, attn, a1, n2, ffn, a2]
        return [attn, a1, n1, ffn, a2, n2]

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        return (Shape(sequence_of(self.label, in_shape, self.features)),)

    def example_input(self) -> tuple:
        return (2, self.features)


@dataclass(frozen=True, slots=True)
class TransformerTextEncoder(Graph):
    r"""Token ids $(L,)$ to a text vector $(d,)$ (or the sequence $(L, d)$ with
    ``pool=False``): padding mask, token embedding, learned positions, ``layers`` encoder
    layers, a final LayerNorm when pre-LN, masked mean pooling.

    .. math::  P = V d + L_{max} d + N\,(4d^2 + 2 d d_{ff} + d_{ff} + 9d)
               + [\text{pre-LN}]\, 2d .
    """

    vocab_size: Dim
    max_len: Dim
    features: Dim
    heads: Dim
    layers: int
    hidden: Dim
    activation: str = "gelu"
    norm_first: bool = True
    pool: bool = True

    def __post_init__(self) -> None:
        w = "TransformerTextEncoder"
        for name in ("vocab_size", "max_len", "features", "heads", "hidden"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"{w}: {name}"))
        if not is_concrete(self.layers):
            raise SymconvError(f"{w}: layers={self.layers!r} must be a concrete int >= 1")
        as_dim(self.layers, f"{w}: layers")
        check_heads(self.features, self.heads, w)
        check_activation(self.activation, w)
        check_bool(self.norm_first, f"{w}: norm_first")
        check_bool(self.pool, f"{w}: pool")

    def layer(self) -> TransformerEncoderLayer:
        return TransformerEncoderLayer(self.features, self.heads, self.hidden, self.activation,
                                       self.norm_first)

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        length = tokens_of(self.label, in_shape)
        tokens, seq = (length,), (length, self.features)
        pos = PositionalEmbedding(self.max_len, self.features)
        pos.output_shape(seq)  # the length check, before anything else
        parts = [Part("mask", PaddingMask(), tokens),
                 Part("embed", Embedding(self.vocab_size, self.features), tokens),
                 Part("pos", pos, seq)]
        layer = self.layer()
        parts += [Part(f"layer{i + 1}", layer, seq) for i in range(self.layers)]
        if self.norm_first:
            parts.append(Part("norm", LayerNorm(self.features), seq))
        if self.pool:
            parts.append(Part("pool", MaskedMeanPool(self.features), seq))
        return parts

    def example_input(self) -> tuple:
        return (1,)
