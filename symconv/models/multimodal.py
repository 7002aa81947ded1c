"""A multi-modal DenseNet (assignment Q2(d)): a DenseNet image branch, a Transformer text
encoder, a fusion (concatenation, gated or cross-attention) and a fully connected classifier.

``MultiModalConfig`` holds the hyper-parameters once; ``cfg.spec()`` is the algebra
(:class:`symconv.algebra.multimodal.MultiModalDenseNet`) and
``MultiModalDenseNet(cfg, rngs=...)`` the Flax NNX network. Inputs: an NHWC image batch and
int token ids ``(B, L)``; padding tokens (``pad_id``, or ``mask=False`` where a mask is passed)
are masked out of attention and of the mean pooling, so they do not change the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra import Stack
from symconv.algebra.multimodal import FUSIONS, check_fusion
from symconv.algebra.multimodal import MultiModalDenseNet as MultiModalSpec
from symconv.algebra.transformer import (
    ACTIVATIONS,
    SequenceTooLongError,
    TransformerTextEncoder,
    check_activation,
    check_heads,
)
from symconv.errors import NonIntegerError, NonPositiveSizeError, ShapeMismatchError, SymconvError
from symconv.models.densenet import DenseNet, DenseNetConfig, densenet_stack

__all__ = [
    "DEFAULT_IMAGE",
    "FUSIONS",
    "DenseNetFeatures",
    "MultiModalConfig",
    "MultiModalDenseNet",
    "TextEncoder",
    "image_stack",
    "masked_mean",
]

_ACT = {"relu": jax.nn.relu, "gelu": jax.nn.gelu,
        "gelu_exact": partial(jax.nn.gelu, approximate=False), "sigmoid": jax.nn.sigmoid}
assert set(_ACT) == set(ACTIVATIONS)


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

    def spec(self) -> MultiModalSpec:
        """The algebra of this network (inputs ``((H, W, 3), (L,))``)."""
        return MultiModalSpec(image_stack(self.image), self.text_spec(), self.fusion,
                              self.classes, self.fusion_features)


def image_stack(cfg: DenseNetConfig) -> Stack:
    """``densenet_stack(cfg)`` without its classifier and softmax: features after global
    average pooling, ``(H, W, 3) -> (c,)``."""
    full = densenet_stack(cfg)
    keep = [i for i, n in enumerate(full.names) if n not in ("classifier", "softmax")]
    return Stack(tuple(full.layers[i] for i in keep), tuple(full.names[i] for i in keep))


class DenseNetFeatures(DenseNet):
    """``DenseNet`` up to global average pooling (its classifier removed): ``(B, c)``."""

    def __init__(self, cfg: DenseNetConfig, *, train: bool = False, rngs: nnx.Rngs):
        super().__init__(cfg, train=train, rngs=rngs)
        del self.classifier

    def __call__(self, x):
        return jnp.mean(self.features(x), axis=(1, 2))


def masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``x`` (B, L, d) over the positions where ``mask`` (B, L) is True (0 if none)."""
    m = mask.astype(x.dtype)
    total = jnp.sum(x * m[..., None], axis=1)
    count = jnp.maximum(jnp.sum(m, axis=1, keepdims=True), 1.0)
    return total / count


class _EncoderLayer(nnx.Module):
    def __init__(self, cfg: MultiModalConfig, rngs: nnx.Rngs):
        d = cfg.d_model
        self.norm_first = cfg.norm_first
        self.act = _ACT[cfg.activation]
        self.norm1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(cfg.heads, d, decode=False, keep_rngs=False,
                                           rngs=rngs)  # no dropout: no RNG state
        self.norm2 = nnx.LayerNorm(d, rngs=rngs)
        self.ff1 = nnx.Linear(d, cfg.d_ff, rngs=rngs)
        self.ff2 = nnx.Linear(cfg.d_ff, d, rngs=rngs)

    def _ffn(self, x):
        return self.ff2(self.act(self.ff1(x)))

    def __call__(self, x, mask):
        if self.norm_first:
            x = x + self.attn(self.norm1(x), mask=mask)
            return x + self._ffn(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask=mask))
        return self.norm2(x + self._ffn(x))


def check_tokens(tokens, max_len: int) -> None:
    """``(B, L)`` integer ids with ``L <= max_len`` (shapes are static at trace time)."""
    if tokens.ndim != 2:
        raise ShapeMismatchError(f"tokens of shape {tokens.shape} must be (B, L) token ids")
    if not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise SymconvError(f"tokens have dtype {tokens.dtype}; pass integer token ids")
    length = tokens.shape[1]
    try:
        too_long = bool(length > max_len)
    except jax.errors.InconclusiveDimensionOperation:  # symbolic, unconstrained
        raise SequenceTooLongError(
            f"the text length L={length} is symbolic and not known to be <= max_len={max_len}; "
            f"declare it with jax.export.symbolic_shape(..., constraints=('{length} <= "
            f"{max_len}',)) or truncate the tokens") from None
    if too_long:
        raise SequenceTooLongError(
            f"the text has L={length} tokens but the model's maximum length is "
            f"max_len={max_len}; truncate the tokens to at most {max_len} or build the model "
            f"with max_len >= {length}")


class TextEncoder(nnx.Module):
    """Token ids (B, L) and a mask (B, L) to the encoded sequence (B, L, d)."""

    def __init__(self, cfg: MultiModalConfig, rngs: nnx.Rngs):
        self.max_len = cfg.max_len
        self.embed = nnx.Embed(cfg.vocab_size, cfg.d_model, rngs=rngs)
        self.pos = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(),
                                                           (cfg.max_len, cfg.d_model)))
        self.layers = nnx.List([_EncoderLayer(cfg, rngs) for _ in range(cfg.layers)])
        self.norm = nnx.LayerNorm(cfg.d_model, rngs=rngs) if cfg.norm_first else None

    def __call__(self, tokens, mask):
        check_tokens(tokens, self.max_len)
        x = self.embed(tokens) + self.pos[...][: tokens.shape[1]]
        attn_mask = mask[:, None, None, :]  # keys only: padded tokens get no attention
        for layer in self.layers:
            x = layer(x, attn_mask)
        return self.norm(x) if self.norm is not None else x


class MultiModalDenseNet(nnx.Module):
    """Image (B, H, W, 3) + token ids (B, L) -> class probabilities (B, classes)."""

    def __init__(self, cfg: MultiModalConfig = MultiModalConfig(), *, train: bool = False,
                 rngs: nnx.Rngs):
        self.cfg = cfg
        di, d = cfg.image_features, cfg.d_model
        self.image = DenseNetFeatures(cfg.image, train=train, rngs=rngs)
        self.text = TextEncoder(cfg, rngs)
        if cfg.fusion == "gated":
            w = cfg.fusion_features or d
            self.gate = nnx.Linear(di + d, w, rngs=rngs)
            self.proj_image = nnx.Linear(di, w, rngs=rngs)
            self.proj_text = nnx.Linear(d, w, rngs=rngs)
            fused = w
        elif cfg.fusion == "cross":
            self.cross = nnx.MultiHeadAttention(cfg.heads, di, qkv_features=d, out_features=d,
                                                in_kv_features=d, decode=False,
                                                keep_rngs=False, rngs=rngs)
            fused = di + d
        else:
            fused = di + d
        self.classifier = nnx.Linear(fused, cfg.classes, rngs=rngs)

    def mask(self, tokens):
        """True for real tokens, False for ``pad_id``."""
        return tokens != self.cfg.pad_id

    def fused(self, image, tokens, mask=None):
        """The classifier's input: the fused feature vector (B, width)."""
        if mask is None:
            mask = self.mask(tokens)
        elif mask.shape != tokens.shape:
            raise ShapeMismatchError(f"mask of shape {mask.shape} must match tokens "
                                     f"{tokens.shape}")
        mask = mask.astype(jnp.bool_)
        x_img = self.image(image)
        seq = self.text(tokens, mask)
        if self.cfg.fusion == "cross":
            # zero the padded tokens: a text of padding only then attends to zeros, not to
            # whatever the encoder left at padded positions (which depends on their ids)
            seq = jnp.where(mask[..., None], seq, 0.0)
            att = self.cross(x_img[:, None, :], seq, mask=mask[:, None, None, :])[:, 0, :]
            return jnp.concatenate([x_img, att], axis=-1)
        x_txt = masked_mean(seq, mask)
        if self.cfg.fusion == "gated":
            g = jax.nn.sigmoid(self.gate(jnp.concatenate([x_img, x_txt], axis=-1)))
            return g * self.proj_image(x_img) + (1 - g) * self.proj_text(x_txt)
        return jnp.concatenate([x_img, x_txt], axis=-1)

    def logits(self, image, tokens, mask=None):
        return self.classifier(self.fused(image, tokens, mask))

    def __call__(self, image, tokens, mask=None):
        return jax.nn.softmax(self.logits(image, tokens, mask))
