r"""Transposed convolution with PyTorch's meaning of padding: ``ConvTranspose2D``.

Per axis, input length $H$, kernel $K$, stride $S$, padding $P$, output padding $P_o$ and
dilation $D$:

.. math::  H' = (H - 1) S - 2P + D(K - 1) + P_o + 1 \ (\ge 1).

It equals a direct convolution of the input dilated by $S$ (holes of $S-1$ zeros), padded by
$(D(K-1) - P,\ D(K-1) - P + P_o)$, with the spatially flipped kernel. That is what
``lax.conv_transpose(..., padding=lax_padding(), transpose_kernel=True)`` and
``nnx.ConvTranspose(..., padding=lax_padding(), transpose_kernel=True)`` compute; Flax's default
``transpose_kernel=False`` does not flip the kernel and gives a different result.

Costs (scatter view: every input pixel adds $K_h K_w$ scaled copies of the kernel):

.. math::  \text{MACs}_{dense} = H W K_h K_w M N, \qquad
           \text{MACs}_{exact} = T_h T_w M N, \quad T = H K - \mu(P) - \mu(P - P_o),

where $\mu(q) = \mu(q; K, S, D, H)$ (:func:`symconv.algebra.taps.missed_taps`) counts the
scattered taps cropped away by the padding; the exact count is what XLA's cost analysis reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, is_concrete, out, smax
from symconv.algebra.conv import BIAS_ADDS, check_bool, on_axis, pair
from symconv.algebra.formula import (
    BIASES,
    FLOPS_DENSE,
    FLOPS_EXACT,
    MACS_DENSE,
    MACS_EXACT,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, spatial_input
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import B, D, H, Ho, K, Kh, Kw, M, N, P, P_o, S, T, Th, Tw, W, Wo
from symconv.algebra.taps import mu
from symconv.errors import (
    InvalidPaddingError,
    KernelLargerThanInputError,
    OutputPaddingTooLargeError,
    SymconvError,
)

OUT_SIZE = (H - 1) * S - 2 * P + D * (K - 1) + P_o + 1
TAPS = H * K - mu(P, K, S, D, H) - mu(P - P_o, K, S, D, H)
WEIGHTS_T = Kh * Kw * M * N
MACS_DENSE_T = H * W * Kh * Kw * M * N
MACS_EXACT_T = Th * Tw * M * N


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
        f = FormulaBuilder(name)
        for i, axis in enumerate(("height", "width")):
            op, s, d = self.output_padding[i], self.strides[i], self.kernel_dilation[i]
            limit = smax(s, d)
            f.conds.require(
                op < limit if is_concrete(op, limit) else sp.Lt(op, limit),
                OutputPaddingTooLargeError,
                f"{name}: output_padding={op} along {axis} must be smaller than "
                f"max(stride, dilation) = {limit}",
            )

    def lax_padding(self) -> tuple[tuple[Dim, Dim], tuple[Dim, Dim]]:
        r"""Padding for ``lax.conv_transpose``/``nnx.ConvTranspose``:
        $(D(K-1)-P,\ D(K-1)-P+P_o)$."""
        pads = []
        for i in range(2):
            k, d = self.kernel_size[i], self.kernel_dilation[i]
            p, op = self.padding[i], self.output_padding[i]
            pads.append((out(d * (k - 1) - p), out(d * (k - 1) - p + op)))
        return tuple(pads)  # type: ignore[return-value]

    def parameters(self) -> Formulas:
        r"""$K_h K_w M N$ weights; $N$ biases with a bias."""
        f = FormulaBuilder(self.label)
        f.add("weights", "weights", WEIGHTS, WEIGHTS_T,
              {Kh: self.kernel_size[0], Kw: self.kernel_size[1], M: self.in_features,
               N: self.out_features})
        f.add("biases", "biases", BIASES, N if self.use_bias else sp.Integer(0),
              {N: self.out_features} if self.use_bias else {})
        return f.build(())

    def _axis(self, f: FormulaBuilder, i: int, n: Dim) -> tuple[Dim, Dim]:
        axis, n_sym, o_sym, t_sym = (("height", H, Ho, Th), ("width", W, Wo, Tw))[i]
        k, s, d = self.kernel_size[i], self.strides[i], self.kernel_dilation[i]
        p, op = self.padding[i], self.output_padding[i]
        subs = {n_sym: n, S: s, P: p, D: d, K: k, P_o: op}
        o = f.add(f"out_{axis[0]}", f"output {axis}", o_sym, on_axis(OUT_SIZE, {H: n_sym}), subs)
        f.require(sp.Ge(on_axis(OUT_SIZE, {H: n_sym}), 1), subs, KernelLargerThanInputError,
                  f"{self.label}: output {axis} (n-1)S - 2P + D(K-1) + P_o + 1 = {o} < 1; "
                  f"reduce the padding P={p}")
        general = on_axis(TAPS, {H: n_sym, T: t_sym})
        tsubs = {n_sym: n, K: k, S: s, D: d, P: p, P_o: op}
        special = _scatter_taps(general, tsubs, n, k, s, d, p, op, f)
        taps = f.add(f"taps_{axis[0]}", f"real taps along the {axis}", t_sym, general, tsubs,
                     **special)
        return o, taps

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        h, w = spatial_input(self.label, in_shape, self.in_features)
        f = FormulaBuilder(self.label)
        (oh, th), (ow, tw) = self._axis(f, 0, h), self._axis(f, 1, w)
        ch = {M: self.in_features, N: self.out_features}
        kk = {Kh: self.kernel_size[0], Kw: self.kernel_size[1]}
        dense = f.add("macs_dense", "MACs (dense: every scattered tap)", MACS_DENSE,
                      MACS_DENSE_T, {H: h, W: w, **kk, **ch})
        exact = f.add("macs_exact", "MACs (exact: cropped taps excluded)", MACS_EXACT,
                      MACS_EXACT_T, {Th: th, Tw: tw, **ch})
        bias = BIAS_ADDS if self.use_bias else 0
        for key, lhs, macs, value in (("flops_dense", FLOPS_DENSE, MACS_DENSE, dense),
                                      ("flops_exact", FLOPS_EXACT, MACS_EXACT, exact)):
            f.add(key, f"FLOPs ({key[6:]}{', bias adds' if self.use_bias else ''})", lhs,
                  B * (2 * macs + bias), {B: batch, macs: value, Ho: oh, Wo: ow,
                                          N: self.out_features})
        return f.build((oh, ow, self.out_features))

    def windows(self, in_shape: Sequence[Dim]):
        r"""A stride-1 window over the input with $S - 1$ zeros inserted between pixels, low
        padding $D(K-1) - P$."""
        pads = self.lax_padding()
        return [tuple(Window(self.kernel_size[i], 1, self.kernel_dilation[i], pads[i][0],
                             upsample=self.strides[i], mode="zeros") for i in range(2))]


def _scatter_taps(general, subs, n, k, s, d, p, op, f: FormulaBuilder) -> dict:
    """The general formula's value, or the closed form of μ for a symbolic input length."""
    from symconv.algebra.formula import evaluate
    from symconv.algebra.taps import missed_taps

    value = evaluate(general, subs)
    if not (isinstance(value, sp.Basic) and value.has(mu)):
        return {}
    taps = n * k - missed_taps(p, k, s, d, n, f.conds) - missed_taps(p - op, k, s, d, n, f.conds)
    return {"value": taps if isinstance(taps, int) else out(sp.expand(taps)),
            "via": "closed form of μ"}
