r"""Fusions of an image feature vector with a text encoding, as layer specs: concatenation,
a learned gate, cross-attention (the image as one query over the tokens).

With image features $x_{img} \in \mathbb{R}^{d_{img}}$ and text features $x_{txt} \in
\mathbb{R}^{d_{txt}}$:

- **concatenation** $z = [x_{img}; x_{txt}]$: width $d_{img} + d_{txt}$, no parameters;
- **gated** $g = \sigma(W_g [x_{img}; x_{txt}] + b_g)$,
  $z = g \odot (P_{img} x_{img} + b_{img}) + (1 - g) \odot (P_{txt} x_{txt} + b_{txt})$:
  width $d$, $2(d_{img} + d_{txt}) d + 3d$ parameters;
- **cross-attention** $z = [x_{img}; \text{MHA}(q = x_{img}, k = v = T)]$ with $T$ the
  $(L, d_{txt})$ token sequence (padded tokens zeroed and masked): width $d_{img} + d_{txt}$.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.algebra.attention import MultiHeadAttention, check_heads
from symconv.algebra.composite import Composite, Part
from symconv.algebra.elementwise import ACTIVATIONS
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
from symconv.algebra.layer import Layer, Shape, same_size
from symconv.algebra.symbols import B, L, d
from symconv.errors import ShapeMismatchError

D_IMG = sp.Symbol("d_img", integer=True, positive=True)
D_TXT = sp.Symbol("d_txt", integer=True, positive=True)


def _vector(layer: str, shape: object, features: Dim) -> Dim:
    if not isinstance(shape, (tuple, list)) or len(shape) != 1:
        raise ShapeMismatchError(f"{layer}: input {shape!r} must be a feature vector (d,)")
    width = as_dim(shape[0], f"{layer}: features")
    same_size(layer, "features", width, features)
    return width


def _pair(layer: str, in_shape: Sequence) -> tuple:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 2:
        raise ShapeMismatchError(f"{layer}: input {in_shape!r} must be (image features, text "
                                 f"features)")
    return tuple(in_shape[0]), tuple(in_shape[1])


@dataclass(frozen=True, slots=True)
class ConcatFusion(Layer):
    r"""$[x_{img}; x_{txt}]$: $((d_{img},), (d_{txt},)) \mapsto (d_{img} + d_{txt},)$, free."""

    image_features: Dim
    text_features: Dim

    def __post_init__(self) -> None:
        for name in ("image_features", "text_features"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"ConcatFusion: {name}"))

    def formulas(self, in_shape: Sequence, batch: Dim = 1) -> Formulas:
        img, txt = _pair(self.label, in_shape)
        _vector(self.label + " (image)", img, self.image_features)
        _vector(self.label + " (text)", txt, self.text_features)
        f = FormulaBuilder(self.label)
        width = f.add("width", "fused width", sp.Symbol("d'"), D_IMG + D_TXT,
                      {D_IMG: self.image_features, D_TXT: self.text_features})
        return f.build((width,))


@dataclass(frozen=True, slots=True)
class GatedFusion(Layer):
    r"""Gated mixture of the projected modalities, width $d$:

    .. math::  g = \sigma(W_g [x_{img}; x_{txt}] + b_g), \quad
               z = g \odot (P_{img} x_{img} + b_{img}) + (1 - g) \odot (P_{txt} x_{txt}
               + b_{txt}),

    $P = 2(d_{img} + d_{txt}) d + 3d$; FLOPs: the three matmuls and biases
    ($4(d_{img} + d_{txt}) d + 3d$), the sigmoid ($3d$, $d$ exponentials), $g \odot$,
    $1 - g$, $(1-g) \odot$, $+$ ($4d$): $B(4(d_{img} + d_{txt}) d + 10 d)$.
    """

    image_features: Dim
    text_features: Dim
    features: Dim

    def __post_init__(self) -> None:
        for name in ("image_features", "text_features", "features"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"GatedFusion: {name}"))

    def _widths(self) -> dict:
        return {D_IMG: self.image_features, D_TXT: self.text_features, d: self.features}

    def parameters(self) -> Formulas:
        r"""$W_g$, $P_{img}$, $P_{txt}$: $2(d_{img} + d_{txt}) d$ weights; $3d$ biases."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights (W_g, P_img, P_txt)", WEIGHTS, 2 * (D_IMG + D_TXT) * d,
              self._widths())
        f.add("biases", "biases (b_g, b_img, b_txt)", BIASES, 3 * d, {d: self.features})
        return f.build(())

    def formulas(self, in_shape: Sequence, batch: Dim = 1) -> Formulas:
        img, txt = _pair(self.label, in_shape)
        _vector(self.label + " (image)", img, self.image_features)
        _vector(self.label + " (text)", txt, self.text_features)
        sig_flops, sig_exp = ACTIVATIONS["sigmoid"]
        sizes = {**self._widths(), B: batch}
        f = FormulaBuilder(self.label)
        macs = f.add("macs", "MACs", MACS_DENSE, 2 * (D_IMG + D_TXT) * d, sizes)
        f.add("flops", "FLOPs (products, biases, sigmoid, mixing)", FLOPS_EXACT,
              B * (2 * MACS_DENSE + 3 * d + sig_flops * d + 4 * d), {**sizes, MACS_DENSE: macs})
        f.add("transcendentals", "exponentials (sigmoid)", TRANSCENDENTALS, sig_exp * B * d,
              sizes)
        return f.build((self.features,))


@dataclass(frozen=True, slots=True)
class CrossAttentionFusion(Composite):
    r"""The image vector as one query over the text tokens (padding masked), concatenated
    with the image vector: $((d_{img},), (L, d_{txt})) \mapsto (d_{img} + d_{txt},)$.

    Padded tokens are first set to zero (a select, $B L d_{txt}$ FLOPs), so that a text of
    padding only attends to zeros rather than to what the encoder left at padded positions.
    Then the costs of :class:`~symconv.algebra.attention.MultiHeadAttention` with $L_q = 1$,
    $d_q = d_{img}$, $d = d_{kv} = d_{txt}$; the concatenation is free.
    """

    image_features: Dim
    text_features: Dim
    heads: Dim

    def __post_init__(self) -> None:
        for name in ("image_features", "text_features", "heads"):
            object.__setattr__(self, name, as_dim(getattr(self, name),
                                                  f"CrossAttentionFusion: {name}"))
        check_heads(self.text_features, self.heads, "CrossAttentionFusion")

    def attention(self) -> MultiHeadAttention:
        return MultiHeadAttention(self.text_features, self.heads, self.image_features,
                                  self.text_features)

    def named_parts(self, in_shape: Sequence) -> list[Part]:
        img, txt = _pair(self.label, in_shape)
        _vector(self.label + " (image)", img, self.image_features)
        length, _ = sequence_of(self.label + " (text tokens)", txt, self.text_features)
        seq = (length, self.text_features)
        return [Part("zero_padding", ZeroPadded(), seq),
                Part("attention", self.attention(), ((1, self.image_features), seq))]

    def param_parts(self) -> list[Part]:
        return [Part("attention", self.attention(), ())]

    def outputs(self, in_shape: Sequence) -> tuple[Shape, ...]:
        self.named_parts(in_shape)
        return (Shape((out(self.image_features + self.text_features),)),)


@dataclass(frozen=True, slots=True)
class ZeroPadded(Layer):
    r"""Padded tokens set to zero: a select per element, $B L d$ FLOPs."""

    def formulas(self, in_shape: Sequence, batch: Dim = 1) -> Formulas:
        length, width = sequence_of(self.label, in_shape, None)
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (one select per element)", FLOPS_EXACT, B * L * d,
              {B: batch, L: length, d: width})
        return f.build((length, width))
