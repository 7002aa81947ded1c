r"""A Transformer text encoder as layer specs, costed exactly as XLA counts the Flax layers.

Shapes are per example (batch excluded): token ids $(L,)$, sequences $(L, d)$. Every count is
linear in the batch $B$ (no per-call terms), so ``batch_flops`` $= B \cdot$ ``flops``. The
per-op costs below were read off ``jax.jit(f).lower(...).cost_analysis()`` on tiny examples and
are checked against whole models in ``tests/test_multimodal.py``:

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

Out-of-range sequence lengths are rejected: a text longer than the positional table raises
:class:`SequenceTooLongError` (for a symbolic $L$ the condition $L \le L_{max}$ is returned with
the shape instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, as_dim, is_concrete, mod, out, prod, simplify
from symconv.algebra.conv import check_bool
from symconv.algebra.graph import Graph
from symconv.algebra.layer import Layer, ParameterFree, Shape, check_convention
from symconv.errors import ShapeMismatchError, SymconvError


class SequenceTooLongError(ShapeMismatchError):
    """A text has more tokens than the model's positional table (``max_len``) holds."""


class HeadsDoNotDivideError(SymconvError):
    """The number of attention heads does not divide the model width ``d_model``."""


#: per element: (FLOPs, transcendentals) as XLA counts the lowered activation
ACTIVATIONS: dict[str, tuple[int, int]] = {
    "relu": (1, 0),         # max(x, 0)
    "gelu": (8, 1),         # x*x*x, *0.044715, +x, *sqrt(2/pi), tanh, +1, *0.5, *x
    "gelu_exact": (66, 1),  # 0.5x, -x, /sqrt 2, erfc (62 FLOPs + 1 exp), product
    "sigmoid": (3, 1),      # -x, exp, 1 + ., 1 / .
}


def check_activation(name: object, where: str) -> str:
    if name not in ACTIVATIONS:
        raise SymconvError(f"{where}: activation={name!r} is not one of "
                           f"{tuple(ACTIVATIONS)}; pick one of them")
    return name  # type: ignore[return-value]


def check_heads(features: Dim, heads: Dim, where: str) -> None:
    """``heads`` must divide ``features`` (each head gets $d / h$ of them)."""
    r = mod(features, heads)
    if (isinstance(r, int) and r != 0) or (isinstance(r, sp.Expr) and r.is_zero is False):
        near = [h for h in range(1, int(features) + 1) if int(features) % h == 0] \
            if is_concrete(features) else []
        hint = f" (divisors of {features}: {near})" if near else ""
        raise HeadsDoNotDivideError(
            f"{where}: heads={heads} does not divide d_model={features}; choose a number of "
            f"heads that divides d_model{hint}")


def check_length(length: Dim, max_len: Dim, where: str, conds: Conditions) -> None:
    """$L \\le L_{max}$, or :class:`SequenceTooLongError` naming both and the fix."""
    ok = length <= max_len
    conds.require(ok, SequenceTooLongError,
                  f"{where}: the text has L={length} tokens but the model's maximum length is "
                  f"max_len={max_len}; truncate the tokens to at most {max_len} or build the "
                  f"model with max_len >= {length}")


def _tokens(layer: str, in_shape: Sequence[Dim]) -> Dim:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 1:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (L,): token ids, "
                                 f"batch excluded")
    return as_dim(in_shape[0], f"{layer}: sequence length L")


def _features(layer: str, got: Dim, expected: Dim) -> None:
    same = (got == expected) if is_concrete(got, expected) else sp.Eq(got, expected)
    if same is False or same == sp.false:
        raise ShapeMismatchError(f"{layer}: input has {got} features but the layer expects "
                                 f"{expected}")


def _sequence(layer: str, in_shape: Sequence[Dim], features: Dim | None) -> tuple[Dim, Dim]:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 2 or any(
            isinstance(d, (tuple, list)) for d in in_shape):
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (L, d): a "
                                 f"sequence of L vectors, batch excluded")
    length = as_dim(in_shape[0], f"{layer}: sequence length L")
    d = as_dim(in_shape[1], f"{layer}: features d")
    if features is not None:
        _features(layer, d, features)
    return length, d


@dataclass(frozen=True, slots=True)
class PaddingMask(ParameterFree):
    r"""``tokens != pad_id``: $(L,) \mapsto (L,)$ booleans, $L$ FLOPs (one comparison each)."""

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return Shape((_tokens(self.label, in_shape),))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        return _tokens(self.label, in_shape)


@dataclass(frozen=True, slots=True)
class Embedding(Layer):
    r"""``nnx.Embed(V, d)``: token ids $(L,) \mapsto (L, d)$; $V d$ parameters.

    ``jnp.take`` (fill mode) costs $6$ integer ops per id (``i < 0``, ``i + V``, select,
    ``i >= 0``, ``i <= V - 1``, and) plus one select per element (NaN for ids out of range):

    .. math::  \text{FLOPs} = L\,(d + 6) \quad (V \ge 2;\ V = 1 \text{ is a broadcast, } 0).
    """

    vocab_size: Dim
    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab_size", as_dim(self.vocab_size, "Embedding: vocab_size"))
        object.__setattr__(self, "features", as_dim(self.features, "Embedding: d_model"))

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return Shape((_tokens(self.label, in_shape), self.features))

    def weight_count(self) -> Dim:
        r"""$V d$."""
        return out(self.vocab_size * self.features)

    def bias_count(self) -> Dim:
        return 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        _tokens(self.label, in_shape)
        return 0

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$L(d + 6)$; 0 for a one-word vocabulary (Flax broadcasts it)."""
        check_convention(convention)
        length = _tokens(self.label, in_shape)
        lookup = length * (self.features + 6)
        if is_concrete(self.vocab_size):
            return 0 if self.vocab_size == 1 else out(lookup)
        return sp.Piecewise((0, sp.Eq(self.vocab_size, 1)), (lookup, True))


@dataclass(frozen=True, slots=True)
class PositionalEmbedding(Layer):
    r"""Learned positions: $x_t + p_t$ for $t < L$ from a table $p \in \mathbb{R}^{L_{max}
    \times d}$; $L_{max} d$ parameters, $L d$ FLOPs (the slice is free). Needs $L \le L_{max}$."""

    max_len: Dim
    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_len", as_dim(self.max_len, "PositionalEmbedding: max_len"))
        object.__setattr__(self, "features", as_dim(self.features,
                                                    "PositionalEmbedding: d_model"))

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        length, d = _sequence(self.label, in_shape, self.features)
        conds = Conditions()
        check_length(length, self.max_len, self.label, conds)
        return Shape((length, d), conds.items)

    def weight_count(self) -> Dim:
        r"""$L_{max} d$."""
        return out(self.max_len * self.features)

    def bias_count(self) -> Dim:
        return 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        self.output_shape(in_shape)
        return 0

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$L d$ additions."""
        check_convention(convention)
        return prod(self.output_shape(in_shape))


@dataclass(frozen=True, slots=True)
class LayerNorm(Layer):
    r"""``nnx.LayerNorm(d)`` over the last axis (fast variance, Flax's default); $2d$ parameters.

    .. math::  y = \frac{x - \mu}{\sqrt{\max(0, \overline{x^2} - \mu^2) + \epsilon}}\,\gamma
               + \beta

    Per row of $d$: $\mu$ ($d$: $d - 1$ adds, a division), $\overline{x^2}$ ($2d$), variance and
    $+\epsilon$ (4), $x - \mu$, $\cdot\gamma$ on the reciprocal, the product and $+\beta$ ($4d$),
    one ``rsqrt`` (transcendental). With $r$ rows: $\text{FLOPs} = r(7d + 4)$.
    """

    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "LayerNorm: features"))

    def _rows(self, in_shape: Sequence[Dim]) -> Dim:
        if not isinstance(in_shape, (tuple, list)) or not in_shape or any(
                isinstance(d, (tuple, list)) for d in in_shape):
            raise ShapeMismatchError(f"LayerNorm: input shape {in_shape!r} must be a tuple of "
                                     f"sizes ending in d")
        dims = [as_dim(d, f"LayerNorm: input dim {i}") for i, d in enumerate(in_shape)]
        _features(self.label, dims[-1], self.features)
        return prod(dims[:-1])

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        self._rows(in_shape)
        return Shape(tuple(in_shape))

    def weight_count(self) -> Dim:
        r"""$\gamma$: $d$."""
        return self.features

    def bias_count(self) -> Dim:
        r"""$\beta$: $d$."""
        return self.features

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        self._rows(in_shape)
        return 0

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$r(7d + 4)$."""
        check_convention(convention)
        return out(self._rows(in_shape) * (7 * self.features + 4))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        r"""One ``rsqrt`` per row: $B r$."""
        return out(batch * self._rows(in_shape))


@dataclass(frozen=True, slots=True)
class MultiHeadAttention(Layer):
    r"""``nnx.MultiHeadAttention(h, d_q, qkv_features=d, out_features=d, in_kv_features=d_kv)``
    with a key-padding mask; self-attention when $d_q = d_{kv}$ and the input is one sequence.

    Input $(L, d_q)$ (self) or $((L_q, d_q), (L_k, d_{kv}))$ (cross); output $(L_q, d)$.
    Parameters: $W_Q \in \mathbb{R}^{d_q \times d}$, $W_K, W_V \in \mathbb{R}^{d_{kv} \times d}$,
    $W_O \in \mathbb{R}^{d \times d}$, four bias vectors of $d$:

    .. math::  P = d_q d + 2 d_{kv} d + d^2 + 4d .

    FLOPs (``jax.nn.dot_product_attention``, XLA path), for $h$ heads:

    .. math::  2(L_q d_q d + 2 L_k d_{kv} d + L_q d^2) + 2 L_q d + 2 L_k d
               \ (\text{projections, biases}) + [d \ne h]\, h L_q L_k\ (\text{scale})
               + 4 L_q L_k d
               \ (QK^\top, AV) + h L_q L_k\ (\text{mask select}) + h L_q (4 L_k - 1)
               \ (\text{softmax}),

    and $h L_q L_k$ exponentials. XLA folds multiplications by 1 and ``and`` with true: the
    scale $1/\sqrt{d/h}$ is free with one feature per head ($d = h$), and the mask's ``and``
    with JAX's all-true base mask always is; without a mask the select term is absent.
    """

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
            lq, _ = _sequence(self.label + " (queries)", in_shape[0], self.in_features)
            lk, _ = _sequence(self.label + " (keys)", in_shape[1], self.in_kv_features)
            return lq, lk
        length, _ = _sequence(self.label, in_shape, self.in_features)
        _features(self.label + " (self-attention: keys are the queries)",
                  self.in_kv_features, self.in_features)
        return length, length

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        lq, _ = self._lengths(in_shape)
        return Shape((lq, self.features))

    def weight_count(self) -> Dim:
        r"""$d_q d + 2 d_{kv} d + d^2$."""
        d = self.features
        return out(self.in_features * d + 2 * self.in_kv_features * d + d * d)

    def bias_count(self) -> Dim:
        r"""$4d$."""
        return out(4 * self.features)

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""Projections and the two attention products:
        $L_q d_q d + 2 L_k d_{kv} d + L_q d^2 + 2 L_q L_k d$."""
        check_convention(convention)
        lq, lk = self._lengths(in_shape)
        d = self.features
        return out(lq * self.in_features * d + 2 * lk * self.in_kv_features * d + lq * d * d
                   + 2 * lq * lk * d)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        lq, lk = self._lengths(in_shape)
        d, h = self.features, self.heads
        biases = 2 * lq * d + 2 * lk * d
        scores = h * lq * lk
        if is_concrete(d, h):
            scale = 0 if d == h else scores
        else:
            scale = sp.Piecewise((0, sp.Eq(d, h)), (scores, True))
        select = scores if self.masked else 0
        softmax = h * lq * (4 * lk - 1)
        return simplify(2 * self.macs(in_shape, convention) + biases + scale + select
                        + softmax)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        r"""$B h L_q L_k$ exponentials (softmax)."""
        lq, lk = self._lengths(in_shape)
        return out(batch * self.heads * lq * lk)


@dataclass(frozen=True, slots=True)
class FeedForward(Layer):
    r"""Position-wise $\text{Linear}(d, d_{ff})$, activation, $\text{Linear}(d_{ff}, d)$.

    .. math::  P = 2 d d_{ff} + d_{ff} + d, \qquad
               \text{FLOPs} = 4 L d d_{ff} + L d_{ff} + L d + a L d_{ff},

    with $a$ the activation's FLOPs per element (:data:`ACTIVATIONS`; GELU, Flax's default,
    also costs $L d_{ff}$ transcendentals).
    """

    features: Dim
    hidden: Dim
    activation: str = "gelu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "FeedForward: d_model"))
        object.__setattr__(self, "hidden", as_dim(self.hidden, "FeedForward: d_ff"))
        check_activation(self.activation, "FeedForward")

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return Shape(_sequence(self.label, in_shape, self.features))

    def weight_count(self) -> Dim:
        r"""$2 d d_{ff}$."""
        return out(2 * self.features * self.hidden)

    def bias_count(self) -> Dim:
        r"""$d_{ff} + d$."""
        return out(self.hidden + self.features)

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$2 L d d_{ff}$."""
        check_convention(convention)
        length, _ = _sequence(self.label, in_shape, self.features)
        return out(2 * length * self.features * self.hidden)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        length, _ = _sequence(self.label, in_shape, self.features)
        per = ACTIVATIONS[self.activation][0]
        return out(2 * self.macs(in_shape, convention) + length * self.hidden
                   + length * self.features + per * length * self.hidden)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        length, _ = _sequence(self.label, in_shape, self.features)
        return out(batch * ACTIVATIONS[self.activation][1] * length * self.hidden)


@dataclass(frozen=True, slots=True)
class Activation(ParameterFree):
    r"""An elementwise activation of :data:`ACTIVATIONS`: $a$ FLOPs and $t$ transcendentals per
    element (e.g. sigmoid: $-x$, $e^{\cdot}$, $1 + \cdot$, $1/\cdot$: 3 FLOPs, 1 exp)."""

    kind: str = "relu"

    def __post_init__(self) -> None:
        check_activation(self.kind, "Activation")

    @property
    def label(self) -> str:
        return self.kind.capitalize()

    def _size(self, in_shape: Sequence[Dim]) -> Dim:
        if not isinstance(in_shape, (tuple, list)) or not in_shape:
            raise ShapeMismatchError(f"{self.label}: input shape {in_shape!r} must be a tuple")
        return prod(as_dim(d, f"{self.label}: input dim {i}") for i, d in enumerate(in_shape))

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        self._size(in_shape)
        return Shape(tuple(in_shape))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        return out(ACTIVATIONS[self.kind][0] * self._size(in_shape))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return out(batch * ACTIVATIONS[self.kind][1] * self._size(in_shape))


@dataclass(frozen=True, slots=True)
class ResidualAdd(ParameterFree):
    r"""$x + F(x)$: one FLOP per element of the (shared) shape given as input."""

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        if not isinstance(in_shape, (tuple, list)) or not in_shape:
            raise ShapeMismatchError(f"ResidualAdd: input shape {in_shape!r} must be a tuple")
        return Shape(tuple(as_dim(d, f"ResidualAdd: input dim {i}")
                           for i, d in enumerate(in_shape)))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        return prod(self.output_shape(in_shape))


@dataclass(frozen=True, slots=True)
class MaskedMeanPool(ParameterFree):
    r"""Mean over the real (unmasked) tokens: $(L, d) \mapsto (d,)$,
    $\bar{x} = \sum_t m_t x_t / \max(1, \sum_t m_t)$.

    FLOPs: mask to float ($L$), $m_t x_t$ ($L d$), sum over $t$ ($(L - 1) d$), count
    ($L - 1$), $\max(1, \cdot)$ (1), division ($d$): $2 L d + 2L$. An all-padding text gives 0.
    """

    features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", as_dim(self.features, "MaskedMeanPool: d_model"))

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        _sequence(self.label, in_shape, self.features)
        return Shape((self.features,))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        length, d = _sequence(self.label, in_shape, self.features)
        return out(2 * length * d + 2 * length)


def _merge_conditions(*shapes: Shape) -> list:
    conds: list = []
    for s in shapes:
        conds += [c for c in getattr(s, "conditions", ()) if c not in conds]
    return conds


@dataclass(frozen=True, slots=True)
class TransformerEncoderLayer(Graph):
    r"""One encoder layer on $(L, d)$ with a key-padding mask.

    Pre-LN (``norm_first=True``): $x \leftarrow x + \text{MHA}(\text{LN}_1(x))$,
    $x \leftarrow x + \text{FFN}(\text{LN}_2(x))$; post-LN (Vaswani et al.):
    $x \leftarrow \text{LN}_1(x + \text{MHA}(x))$, $x \leftarrow \text{LN}_2(x + \text{FFN}(x))$.
    Both cost the same: $P = 4d^2 + 2 d d_{ff} + d_{ff} + 9d$ and
    FLOPs $=$ MHA $+$ FFN $+ 2$ LN $+ 2 L d$ (the residual adds).

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
        object.__setattr__(self, "features", as_dim(self.features,
                                                    "TransformerEncoderLayer: d_model"))
        object.__setattr__(self, "heads", as_dim(self.heads, "TransformerEncoderLayer: heads"))
        object.__setattr__(self, "hidden", as_dim(self.hidden, "TransformerEncoderLayer: d_ff"))
        check_heads(self.features, self.heads, "TransformerEncoderLayer")
        check_activation(self.activation, "TransformerEncoderLayer")
        check_bool(self.norm_first, "TransformerEncoderLayer: norm_first")

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        x = tuple(_sequence(self.label, in_shape, self.features))
        d = self.features
        attn = ("attn", MultiHeadAttention(d, self.heads), x)
        ffn = ("ffn", FeedForward(d, self.hidden, self.activation), x)
        n1, n2 = ("norm1", LayerNorm(d), x), ("norm2", LayerNorm(d), x)
        a1, a2 = ("add1", ResidualAdd(), x), ("add2", ResidualAdd(), x)
        if self.norm_first:
            return [n1, attn, a1, n2, ffn, a2]
        return [attn, a1, n1, ffn, a2, n2]

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        return (Shape(_sequence(self.label, in_shape, self.features)),)

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

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        length = _tokens(self.label, in_shape)
        tokens, seq = (length,), (length, self.features)
        pos = PositionalEmbedding(self.max_len, self.features)
        pos.output_shape(seq)  # the length check, before anything else
        parts: list[tuple[str, Layer, tuple]] = [
            ("mask", PaddingMask(), tokens),
            ("embed", Embedding(self.vocab_size, self.features), tokens),
            ("pos", pos, seq)]
        layer = self.layer()
        parts += [(f"layer{i + 1}", layer, seq) for i in range(self.layers)]
        if self.norm_first:
            parts.append(("norm", LayerNorm(self.features), seq))
        if self.pool:
            parts.append(("pool", MaskedMeanPool(self.features), seq))
        return parts

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        parts = self.named_parts(in_shape)
        shapes = [spec.output_shape(x) for _, spec, x in parts]
        return (Shape(tuple(shapes[-1]), _merge_conditions(*shapes)),)

    def example_input(self) -> tuple:
        return (1,)
