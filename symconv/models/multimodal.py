"""A multi-modal DenseNet (assignment Q2(d)): a DenseNet image branch, a Transformer text
encoder, a fusion (concatenation, gated or cross-attention) and a fully connected classifier.

``MultiModalConfig`` holds the hyper-parameters once; ``cfg.spec()`` is the algebra
(:class:`symconv.algebra.nets.multimodal.MultiModalDenseNet`) and
``MultiModalDenseNet(cfg, rngs=...)`` the Flax NNX network. Inputs: an NHWC image batch and
int token ids ``(B, L)``; padding tokens (``pad_id``, or ``mask=False`` where a mask is passed)
are masked out of attention and of the mean pooling, so they do not change the output.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.embedding import SequenceTooLongError
from symconv.algebra.nets.densenet import DenseNetConfig
from symconv.algebra.nets.multimodal import MultiModalConfig
from symconv.errors import ShapeMismatchError, SymconvError
from symconv.models.densenet import DenseNet
from symconv.models.layers import ACTIVATION_FUNCTIONS

__all__ = ["DenseNetFeatures", "MultiModalDenseNet", "TextEncoder", "masked_mean"]



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
        self.act = ACTIVATION_FUNCTIONS[cfg.activation]
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
