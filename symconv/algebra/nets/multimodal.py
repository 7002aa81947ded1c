r"""Multi-modal (image + text) classification as one spec: an image branch (a DenseNet without
its classifier), a Transformer text encoder, a fusion and a fully connected classifier.

Inputs are ``((H, W, C), (L,))``: an image and $L$ token ids (batch excluded). With image
features $x_{img} \in \mathbb{R}^{d_{img}}$ and text features $x_{txt} \in \mathbb{R}^{d_{txt}}$:

- **concatenation** $z = [x_{img}; x_{txt}]$: width $d_{img} + d_{txt}$, no parameters;
- **gated** $g = \sigma(W_g [x_{img}; x_{txt}] + b_g)$,
  $z = g \odot (P_{img} x_{img} + b_{img}) + (1 - g) \odot (P_{txt} x_{txt} + b_{txt})$:
  width $d$, $2(d_{img} + d_{txt}) d + 3d$ parameters;
- **cross-attention** $z = [x_{img}; \text{MHA}(q = x_{img}, k = v = T)]$ with $T$ the
  $(L, d_{txt})$ token sequence (padded tokens zeroed and masked): width $d_{img} + d_{txt}$.

Then $\text{softmax}(W_c z + b_c)$. Every total is the sum over the parts
(:class:`symconv.algebra.composite.Graph`); ``wiring()`` says which group of parts feeds which, for
:mod:`symconv.report.render.diagram`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.algebra.attention import MultiHeadAttention, check_heads
from symconv.algebra.composite import Composite, Graph, Part, Stack, merge_conditions
from symconv.algebra.dense import Dense
from symconv.algebra.elementwise import ACTIVATIONS, Softmax, check_activation
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
from symconv.algebra.nets.densenet import DenseNetConfig, densenet_stack
from symconv.algebra.symbols import B, L, d
from symconv.algebra.transformer import TransformerTextEncoder
from symconv.errors import NonIntegerError, NonPositiveSizeError, ShapeMismatchError, SymconvError

D_IMG = sp.Symbol("d_img", integer=True, positive=True)
D_TXT = sp.Symbol("d_txt", integer=True, positive=True)

FUSIONS = ("concat", "gated", "cross")


def check_fusion(fusion: object, where: str) -> str:
    if fusion not in FUSIONS:
        raise SymconvError(f"{where}: fusion={fusion!r} is not one of {FUSIONS}: 'concat' "
                           f"joins the two feature vectors, 'gated' mixes them through a "
                           f"learned sigmoid gate, 'cross' lets the image attend to the tokens")
    return fusion  # type: ignore[return-value]


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


def _expand(prefix: str, spec: Layer, in_shape: tuple) -> list[tuple[str, Layer, tuple]]:
    """A branch's parts as ``prefix.name`` (a Stack's layers or a Graph's parts)."""
    if isinstance(spec, (Stack, Graph)):
        return [Part(f"{prefix}.{name}", layer, tuple(x)) for name, layer, x in
                spec.named_parts(in_shape)]
    return [Part(prefix, spec, tuple(in_shape))]


@dataclass(frozen=True, slots=True)
class MultiModalGraph(Graph):
    r"""Image branch + text encoder + fusion + classifier, as one spec.

    ``image`` maps $(H, W, C)$ to a vector $(d_{img},)$ (e.g. a DenseNet's layers up to global
    average pooling, see ``symconv.models.multimodal.image_stack``); ``text`` is a
    :class:`~symconv.algebra.transformer.TransformerTextEncoder` (its pooling is left out for
    cross-attention fusion, which needs the tokens). ``fusion_features`` is the gated fusion's
    width (default $d_{txt}$); ``heads`` for cross-attention default to the encoder's.
    """

    image: Layer
    text: TransformerTextEncoder
    fusion: str = "concat"
    classes: Dim = 10
    fusion_features: Dim | None = None
    image_channels: Dim = 3

    def __post_init__(self) -> None:
        if not isinstance(self.image, Layer):
            raise SymconvError(f"MultiModalDenseNet: image={self.image!r} must be a layer spec "
                               f"(e.g. a Stack ending in GlobalAvgPool2D)")
        if not isinstance(self.text, TransformerTextEncoder):
            raise SymconvError("MultiModalDenseNet: text must be a TransformerTextEncoder")
        check_fusion(self.fusion, "MultiModalDenseNet")
        object.__setattr__(self, "classes", as_dim(self.classes, "MultiModalDenseNet: classes"))
        object.__setattr__(self, "image_channels",
                           as_dim(self.image_channels, "MultiModalDenseNet: image_channels"))
        width = self.text.features if self.fusion_features is None else self.fusion_features
        object.__setattr__(self, "fusion_features",
                           as_dim(width, "MultiModalDenseNet: fusion_features"))
        pooled = self.fusion != "cross"
        if self.text.pool != pooled:
            from dataclasses import replace

            object.__setattr__(self, "text", replace(self.text, pool=pooled))

    # --- the pieces -------------------------------------------------------------------------

    def image_features(self) -> Dim:
        """$d_{img}$: the width of the image branch's output vector."""
        shape = self.image.output_shape(self.example_input()[0])
        if len(shape) != 1:
            raise ShapeMismatchError(f"MultiModalDenseNet: the image branch outputs {shape}, "
                                     f"not a vector; end it with GlobalAvgPool2D")
        return shape[0]

    def fusion_layer(self) -> Layer:
        di, dt = self.image_features(), self.text.features
        if self.fusion == "concat":
            return ConcatFusion(di, dt)
        if self.fusion == "gated":
            return GatedFusion(di, dt, self.fusion_features)
        return CrossAttentionFusion(di, dt, self.text.heads)

    def fused_features(self) -> Dim:
        """Width at the classifier's input."""
        return self.fusion_layer().output_shape(self._fusion_input((1,)))[0]

    def _fusion_input(self, tokens: tuple) -> tuple:
        txt = self.text.outputs(tokens)[0]
        return ((self.image_features(),), tuple(txt))

    def widths(self) -> dict[str, Dim]:
        """Feature widths at the fusion: image, text, fused."""
        return {"image": self.image_features(), "text": self.text.features,
                "fused": self.fused_features()}

    # --- Graph ------------------------------------------------------------------------------

    def _inputs(self, in_shape: Sequence) -> tuple[tuple, tuple]:
        if not (isinstance(in_shape, (tuple, list)) and len(in_shape) == 2
                and all(isinstance(s, (tuple, list)) for s in in_shape)
                and len(in_shape[0]) == 3 and len(in_shape[1]) == 1):
            raise ShapeMismatchError(
                f"MultiModalDenseNet: input {in_shape!r} must be ((H, W, C), (L,)): an image "
                f"and L token ids, batch excluded")
        return tuple(in_shape[0]), tuple(in_shape[1])

    def named_parts(self, in_shape: Sequence) -> list[tuple[str, Layer, tuple]]:
        image_in, tokens = self._inputs(in_shape)
        parts = _expand("image", self.image, image_in)
        img = tuple(self.image.output_shape(image_in))
        parts += _expand("text", self.text, tokens)
        txt = tuple(self.text.outputs(tokens)[0])
        fusion = self.fusion_layer()
        parts.append(("fusion", fusion, (img, txt)))
        fused = tuple(fusion.output_shape((img, txt)))
        parts.append(("classifier", Dense(fused[0], self.classes), fused))
        parts.append(("softmax", Softmax(), (self.classes,)))
        return parts

    def outputs(self, in_shape: Sequence) -> tuple[Shape, ...]:
        image_in, tokens = self._inputs(in_shape)
        shapes = [self.image.output_shape(image_in), self.text.outputs(tokens)[0]]
        self.named_parts(in_shape)
        return (Shape((self.classes,), merge_conditions(*shapes)),)

    def example_input(self) -> tuple:
        return ((224, 224, self.image_channels), (1,))

    def wiring(self) -> dict[str, tuple[str, ...]]:
        """What feeds what, for diagrams: a group or part name -> its sources (a group stands
        for its last part, ``input:`` for a graph input, ``~`` marks the padding mask)."""
        w: dict[str, tuple[str, ...]] = {
            "image": ("input:image",), "text.mask": ("input:tokens",),
            "text.embed": ("input:tokens",),
            "fusion": ("image", "text") + (("~text.mask",) if self.fusion == "cross" else ()),
            "classifier": ("fusion",), "softmax": ("classifier",)}
        prev = "text.pos"
        for i in range(self.text.layers):
            w[f"text.layer{i + 1}"] = (prev, "~text.mask")
            prev = f"text.layer{i + 1}"
        if self.text.pool:
            w["text.pool"] = ("text.norm" if self.text.norm_first else prev, "~text.mask")
        return w

    def branch_params(self) -> dict[str, Dim]:
        """Parameters per group: image branch, text encoder, fusion, classifier."""
        totals: dict[str, Dim] = {}
        for name, layer, _ in self.param_parts():
            group = name.split(".")[0]
            totals[group] = out(totals.get(group, 0) + layer.param_count())
        return totals


def _positive(value: object, what: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NonIntegerError(f"MultiModalConfig: {what}={value!r} must be an int")
    if value < (0 if allow_zero else 1):
        raise NonPositiveSizeError(f"MultiModalConfig: {what}={value} must be >= "
                                   f"{0 if allow_zero else 1}")
    return value


#: the default image branch: DenseNet-BC (L = 40, k = 12) for 32x32 images, 132 features
DEFAULT_IMAGE = DenseNetConfig.bc_cifar(depth=40, growth_rate=12)


@dataclass(frozen=True, slots=True)
class MultiModalConfig:
    """Image branch (a DenseNet config, or a mapping of overrides of the default small
    DenseNet-BC), text encoder sizes, fusion and classes."""

    image: DenseNetConfig = DEFAULT_IMAGE
    vocab_size: int = 1000
    max_len: int = 32
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    d_ff: int = 128
    fusion: str = "concat"
    classes: int = 10
    pad_id: int = 0
    activation: str = "gelu"
    norm_first: bool = True
    fusion_features: int | None = None  # gated fusion's width; default d_model

    def __post_init__(self) -> None:
        if isinstance(self.image, Mapping):
            object.__setattr__(self, "image", replace(DEFAULT_IMAGE, **self.image))
        if not isinstance(self.image, DenseNetConfig):
            raise SymconvError(f"MultiModalConfig: image={self.image!r} must be a "
                               f"DenseNetConfig or a mapping of its fields")
        for name in ("vocab_size", "max_len", "d_model", "heads", "layers", "d_ff", "classes"):
            _positive(getattr(self, name), name)
        _positive(self.pad_id, "pad_id", allow_zero=True)
        if self.pad_id >= self.vocab_size:
            raise SymconvError(f"MultiModalConfig: pad_id={self.pad_id} must be a token id "
                               f"< vocab_size={self.vocab_size}")
        if self.fusion_features is not None:
            _positive(self.fusion_features, "fusion_features")
        check_heads(self.d_model, self.heads, "MultiModalConfig")
        check_fusion(self.fusion, "MultiModalConfig")
        check_activation(self.activation, "MultiModalConfig")
        if not isinstance(self.norm_first, bool):
            raise SymconvError(f"MultiModalConfig: norm_first={self.norm_first!r} must be a bool")

    @classmethod
    def densenet121(cls, **overrides) -> MultiModalConfig:
        """DenseNet-121 image branch (1024 features) with a 4-layer, 256-wide text encoder over
        a BERT-sized vocabulary (30,522 tokens, up to 128 of them)."""
        return cls(**{"image": DenseNetConfig.densenet121(), "vocab_size": 30522,
                      "max_len": 128, "d_model": 256, "heads": 8, "layers": 4, "d_ff": 1024,
                      **overrides})

    @property
    def image_features(self) -> int:
        return self.image.channels()[-1]

    def text_spec(self) -> TransformerTextEncoder:
        return TransformerTextEncoder(self.vocab_size, self.max_len, self.d_model, self.heads,
                                      self.layers, self.d_ff, self.activation, self.norm_first,
                                      pool=self.fusion != "cross")

    def spec(self) -> MultiModalGraph:
        """The algebra of this network (inputs ``((H, W, 3), (L,))``)."""
        return MultiModalGraph(image_stack(self.image), self.text_spec(), self.fusion,
                              self.classes, self.fusion_features)


def image_stack(cfg: DenseNetConfig) -> Stack:
    """``densenet_stack(cfg)`` without its classifier and softmax: features after global
    average pooling, ``(H, W, 3) -> (c,)``."""
    full = densenet_stack(cfg)
    keep = [i for i, n in enumerate(full.names) if n not in ("classifier", "softmax")]
    return Stack(tuple(full.layers[i] for i in keep), tuple(full.names[i] for i in keep))
