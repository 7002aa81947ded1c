r"""Depthwise, pointwise and depthwise separable convolutions (MobileNet).

A depthwise separable convolution replaces a standard $K \times K$ convolution from $M$ to $N$
channels by a depthwise $K \times K$ convolution ($G = M$ groups, one filter per channel, times a
depth multiplier $\alpha_d$) followed by a pointwise $1 \times 1$ convolution:

.. math::  \text{params} = K^2 M \alpha_d + M \alpha_d N, \qquad
           \text{MACs} = O_h O_w (K^2 M \alpha_d + M \alpha_d N),

where $O_h \times O_w$ is the *output* size of the depthwise stage (stride applies there). Against
the standard convolution ($K^2 M N$ weights, $O_h O_w K^2 M N$ MACs), without biases and with
$\alpha_d = 1$, SymPy derives the ratio $\frac{1}{N} + \frac{1}{K^2}$
(:meth:`SeparableConv2D.ratio`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.algebra.composite import Composite, Part
from symconv.algebra.conv import Conv2D, check_bool
from symconv.algebra.padding import PaddingLike
from symconv.errors import SymconvError


def depthwise_conv2d(
    in_features: Dim,
    kernel_size: Dim | tuple[Dim, Dim],
    strides: Dim | tuple[Dim, Dim] = 1,
    padding: PaddingLike = 0,
    kernel_dilation: Dim | tuple[Dim, Dim] = 1,
    depth_multiplier: Dim = 1,
    use_bias: bool = True,
) -> Conv2D:
    r"""The depthwise stage: ``Conv2D(M, M·α_d, K, ..., feature_group_count=M)``."""
    m = as_dim(in_features, "depthwise: in_features")
    mult = as_dim(depth_multiplier, "depthwise: depth_multiplier")
    return Conv2D(m, out(m * mult), kernel_size, strides, padding, kernel_dilation, m, use_bias)


def pointwise_conv2d(in_features: Dim, out_features: Dim, use_bias: bool = True) -> Conv2D:
    r"""The pointwise stage: a $1 \times 1$ ``Conv2D(M, N, 1)``."""
    return Conv2D(in_features, out_features, 1, use_bias=use_bias)


@dataclass(frozen=True, slots=True)
class SeparableConv2D(Composite):
    r"""Depthwise $K \times K$ (stride, padding, dilation) then pointwise $1 \times 1$: a chain
    of two :class:`Conv2D` parts, every quantity their sum.

    >>> sep = SeparableConv2D(64, 128, 5, strides=2, padding=2, use_bias=False)
    >>> sep.param_count(), sep.macs((64, 64))
    (9792, 10027008)
    """

    in_features: Dim
    out_features: Dim
    kernel_size: Dim | tuple[Dim, Dim]
    strides: Dim | tuple[Dim, Dim] = 1
    padding: PaddingLike = 0
    kernel_dilation: Dim | tuple[Dim, Dim] = 1
    depth_multiplier: Dim = 1
    use_bias: bool = True

    def __post_init__(self) -> None:
        check_bool(self.use_bias, f"{self.label}: use_bias")
        self.depthwise  # noqa: B018 (building it validates every argument, naming this layer)
        self.pointwise  # noqa: B018

    def _named(self, stage: str, build):
        """Run ``build``; a SymconvError from a stage is re-raised naming this layer."""
        try:
            return build()
        except SymconvError as e:
            raise type(e)(f"SeparableConv2D ({stage} stage): {e}") from None

    @property
    def depthwise(self) -> Conv2D:
        return self._named("depthwise", lambda: depthwise_conv2d(
            self.in_features, self.kernel_size, self.strides, self.padding,
            self.kernel_dilation, self.depth_multiplier, self.use_bias))

    @property
    def pointwise(self) -> Conv2D:
        return self._named("pointwise", lambda: pointwise_conv2d(
            self.depthwise.out_features, self.out_features, self.use_bias))

    def standard(self) -> Conv2D:
        """The standard convolution this layer replaces (same K, stride, padding, dilation)."""
        return Conv2D(self.in_features, self.out_features, self.kernel_size, self.strides,
                      self.padding, self.kernel_dilation, 1, self.use_bias)

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        mid = self._named("depthwise", lambda: self.depthwise.output_shape(in_shape))
        self._named("pointwise", lambda: self.pointwise.output_shape(mid))
        return [Part("depthwise", self.depthwise, tuple(in_shape)),
                Part("pointwise", self.pointwise, tuple(mid))]

    def param_parts(self) -> list[Part]:
        return [Part("depthwise", self.depthwise, ()), Part("pointwise", self.pointwise, ())]

    def windows(self, in_shape: Sequence[Dim]):
        return self.depthwise.windows(in_shape)  # the pointwise stage adds nothing

    def ratio(self, quantity: str = "macs", in_shape: Sequence[Dim] | None = None,
              convention: str = "dense") -> sp.Expr:
        r"""Separable over standard, simplified by SymPy: ``quantity`` is 'macs' or 'params'.

        >>> from symconv.algebra.symbols import M, N, K, H, W
        >>> SeparableConv2D(M, N, K, padding='SAME', use_bias=False).ratio('macs', (H, W))
        1/N + K**(-2)
        """
        std = self.standard()
        if quantity == "params":
            r = sp.Rational(1) * self.param_count() / std.param_count()
        elif quantity == "macs":
            if in_shape is None:
                raise SymconvError("SeparableConv2D.ratio('macs') needs in_shape=(H, W)")
            r = sp.Rational(1) * self.macs(in_shape, convention) / std.macs(in_shape, convention)
        else:
            raise SymconvError(f"quantity={quantity!r} must be 'macs' or 'params'")
        return sp.expand(sp.simplify(r))
