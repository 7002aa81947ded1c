r"""Transposed convolution with PyTorch's meaning of padding: ``ConvTranspose2D``.

Per axis, input length $n$, kernel $K$, stride $S$, padding $P$, output padding $P_o$ and
dilation $D$:

.. math::  O = (n - 1) S - 2P + D(K - 1) + P_o + 1 .

It equals a direct convolution of the input dilated by $S$ (holes of $S-1$ zeros), padded by
$(D(K-1) - P,\ D(K-1) - P + P_o)$, with the spatially flipped kernel. That is what
``lax.conv_transpose(..., padding=lax_padding(), transpose_kernel=True)`` and
``nnx.ConvTranspose(..., padding=lax_padding(), transpose_kernel=True)`` compute; Flax's default
``transpose_kernel=False`` does not flip the kernel and gives a different result.

Costs (scatter view: every input pixel adds $K_h K_w$ scaled copies of the kernel):

.. math::  \text{MACs}_{dense} = n_h n_w K_h K_w M N, \qquad
           \text{MACs}_{exact} = T_h T_w M N, \quad T = nK - \mu(P) - \mu(P - P_o),

where $\mu(q) = \mu(q; K, S, D, n)$ (:func:`symconv.algebra.taps.missed_taps`) counts the
scattered taps cropped away by the padding; the exact count is what XLA's cost analysis reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, is_concrete, out, smax
from symconv.algebra.conv import check_bool, pair
from symconv.algebra.layer import Layer, Shape, check_convention, spatial_input
from symconv.algebra.taps import missed_taps
from symconv.errors import (
    InvalidPaddingError,
    KernelLargerThanInputError,
    OutputPaddingTooLargeError,
    SymconvError,
)
from symconv.algebra.arith import as_dim


def _nonneg_pair(value: object, what: str) -> tuple[Dim, Dim]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidPaddingError(f"{what}={value!r} must be an int or a (height, width) pair")
        return as_dim(value[0], f"{what}[0]", allow_zero=True), as_dim(
            value[1], f"{what}[1]", allow_zero=True
        )
    v = as_dim(value, what, allow_zero=True)
    return v, v


@dataclass(frozen=True, slots=True)
class ConvTranspose2D(Layer):
    r"""A 2-D transposed convolution, ``torch.nn.ConvTranspose2d`` semantics (no groups).

    >>> ct = ConvTranspose2D(1, 1, 2)
    >>> ct.output_shape((2, 2)), ct.macs((2, 2)), ct.lax_padding()
    ((3, 3, 1), 16, ((1, 1), (1, 1)))
    """

    in_features: Dim
    out_features: Dim
    kernel_size: Dim | tuple[Dim, Dim]
    strides: Dim | tuple[Dim, Dim] = 1
    padding: Dim | tuple[Dim, Dim] = 0
    output_padding: Dim | tuple[Dim, Dim] = 0
    kernel_dilation: Dim | tuple[Dim, Dim] = 1
    use_bias: bool = True

    def __post_init__(self) -> None:
        name = self.label
        set_ = object.__setattr__
        set_(self, "in_features", as_dim(self.in_features, f"{name}: in_features"))
        set_(self, "out_features", as_dim(self.out_features, f"{name}: out_features"))
        set_(self, "kernel_size", pair(self.kernel_size, f"{name}: kernel_size"))
        set_(self, "strides", pair(self.strides, f"{name}: strides"))
        set_(self, "kernel_dilation", pair(self.kernel_dilation, f"{name}: kernel_dilation"))
        try:
            set_(self, "padding", _nonneg_pair(self.padding, f"{name}: padding"))
        except SymconvError as e:
            raise InvalidPaddingError(str(e)) from None
        set_(self, "output_padding", _nonneg_pair(self.output_padding, f"{name}: output_padding"))
        check_bool(self.use_bias, f"{name}: use_bias")
        conds = Conditions()
        for i, axis in enumerate(("height", "width")):
            op, s, d = self.output_padding[i], self.strides[i], self.kernel_dilation[i]
            limit = smax(s, d)
            conds.require(
                op < limit if is_concrete(op, limit) else sp.Lt(op, limit),
                OutputPaddingTooLargeError,
                f"{name}: output_padding={op} along {axis} must be smaller than "
                f"max(stride, dilation) = {limit}",
            )

    def lax_padding(self) -> tuple[tuple[Dim, Dim], tuple[Dim, Dim]]:
        r"""Padding for ``lax.conv_transpose``/``nnx.ConvTranspose``: $(D(K-1)-P,\ D(K-1)-P+P_o)$."""
        pads = []
        for i in range(2):
            k, d = self.kernel_size[i], self.kernel_dilation[i]
            p, op = self.padding[i], self.output_padding[i]
            pads.append((out(d * (k - 1) - p), out(d * (k - 1) - p + op)))
        return tuple(pads)  # type: ignore[return-value]

    def _axes(self, in_shape: Sequence[Dim]):
        h, w = spatial_input(self.label, in_shape, self.in_features)
        conds = Conditions()
        axes = []
        for i, (n, axis) in enumerate(((h, "height"), (w, "width"))):
            k, s, d = self.kernel_size[i], self.strides[i], self.kernel_dilation[i]
            p, op = self.padding[i], self.output_padding[i]
            o = out((n - 1) * s - 2 * p + d * (k - 1) + op + 1)
            conds.require(
                o >= 1 if isinstance(o, int) else sp.Ge(o, 1),
                KernelLargerThanInputError,
                f"{self.label}: output {axis} (n-1)S - 2P + D(K-1) + P_o + 1 = {o} < 1; "
                f"reduce the padding P={p}",
            )
            taps = n * k - missed_taps(p, k, s, d, n, conds) - missed_taps(p - op, k, s, d, n,
                                                                           conds)
            axes.append((n, o, taps if isinstance(taps, int) else out(sp.expand(taps))))
        return axes, conds

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        r"""$(O_h, O_w, N)$ with $O = (n-1)S - 2P + D(K-1) + P_o + 1$."""
        (h, w), conds = self._axes(in_shape)
        return Shape((h[1], w[1], self.out_features), conds.items)

    def weight_count(self) -> Dim:
        r"""$K_h K_w M N$."""
        return out(self.kernel_size[0] * self.kernel_size[1] * self.in_features
                   * self.out_features)

    def bias_count(self) -> Dim:
        return self.out_features if self.use_bias else 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""Dense $n_h n_w K_h K_w M N$ (every scattered tap) or exact $T_h T_w M N$."""
        check_convention(convention)
        (h, w), _ = self._axes(in_shape)
        mn = self.in_features * self.out_features
        if convention == "dense":
            return out(h[0] * w[0] * self.kernel_size[0] * self.kernel_size[1] * mn)
        return out(h[2] * w[2] * mn)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$2\,\text{MACs} + O_h O_w N$ (bias adds)."""
        (h, w), _ = self._axes(in_shape)
        bias = h[1] * w[1] * self.out_features if self.use_bias else 0
        return out(2 * self.macs(in_shape, convention) + bias)
