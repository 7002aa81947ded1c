r"""Max, average and global average pooling, as XLA counts them.

A pooling window is a ``reduce_window``: output size as for a convolution with kernel
$K_h \times K_w$ (dilation 1, :mod:`symconv.algebra.conv`), and XLA charges $K_h K_w - 1$ FLOPs
per output element for the reduction (padded positions included), plus one division per element
for average pooling (Flax's ``avg_pool`` with ``count_include_pad=True``):

.. math::  \text{FLOPs}_{max} = B H' W' C (K_h K_w - 1), \qquad
           \text{FLOPs}_{avg} = B H' W' C\, K_h K_w, \qquad
           \text{FLOPs}_{GAP} = B H W C .
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, is_concrete, out, prod
from symconv.algebra.conv import axis_formulas, pair
from symconv.algebra.formula import FLOPS_EXACT, FormulaBuilder, Formulas, evaluate
from symconv.algebra.layer import ParameterFree, dims_of
from symconv.algebra.padding import PaddingLike, normalize_padding
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import B, C, H, Ho, Kh, Kw, W, Wo

MAX_POOL_FLOPS = B * Ho * Wo * C * (Kh * Kw - 1)
AVG_POOL_FLOPS = B * Ho * Wo * C * Kh * Kw
GAP_FLOPS = B * H * W * C


def reduce_window_flops(out_shape: Sequence[Dim], window: Sequence[Dim],
                        pads: Sequence[tuple[Dim, Dim]]) -> Dim:
    r"""FLOPs XLA's cost analysis charges a ``reduce_window`` (all dimensions, batch included).

    Normally $(\prod_i k_i - 1)$ per output element. XLA prices one corner differently: when a
    single dimension has a window larger than 1 and is the only padded one, with
    $k = 2p + 1$ and $p_{lo} = p_{hi} = n - 1$ ($n$ its output length) — every output sees the
    whole axis — it is a reduce followed by a broadcast: $\text{outputs}/n + (n - 1)$ (checked
    against ``HloCostAnalysis::HandleReduceWindow``; decided only for concrete sizes).
    """
    outputs = prod(out_shape)
    wide = [i for i, k in enumerate(window) if k != 1]
    padded = [i for i, (lo, hi) in enumerate(pads) if not (lo == 0 and hi == 0)]
    if len(wide) == 1 and padded == wide and is_concrete(out_shape[wide[0]], *pads[wide[0]]):
        i = wide[0]
        n, (lo, hi) = out_shape[i], pads[i]
        if window[i] == 2 * lo + 1 and lo == hi == n - 1 and is_concrete(outputs):
            return outputs // n + (n - 1)
    return out(outputs * (prod(window) - 1))


@dataclass(frozen=True, slots=True)
class _Pool2D(ParameterFree):
    window_shape: Dim | tuple[Dim, Dim]
    strides: Dim | tuple[Dim, Dim] | None = None
    padding: PaddingLike = "VALID"

    _divides = False  # average pooling adds one division per output

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "window_shape", pair(self.window_shape, f"{self.label}: window_shape"))
        strides = self.window_shape if self.strides is None else self.strides
        set_(self, "strides", pair(strides, f"{self.label}: strides"))
        set_(self, "padding", normalize_padding(self.padding, self.label))

    def _axes(self, f: FormulaBuilder, in_shape: Sequence[Dim]):
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        pads = self.padding
        ph, pw = (pads, pads) if isinstance(pads, str) else pads
        gh = axis_formulas(f, "height", h, self.window_shape[0], self.strides[0], 1, ph, False)
        gw = axis_formulas(f, "width", w, self.window_shape[1], self.strides[1], 1, pw, False)
        return gh, gw, c

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        r"""$B H' W' C (K_h K_w - 1)$ (+ $B H' W' C$ divisions for average pooling); see
        :func:`reduce_window_flops` for XLA's one exception."""
        f = FormulaBuilder(self.label)
        gh, gw, c = self._axes(f, in_shape)
        kh, kw = self.window_shape
        dims = (batch, gh.out, gw.out, c)
        xla = reduce_window_flops(dims, (1, kh, kw, 1),
                                  ((0, 0), (gh.lo, gh.hi), (gw.lo, gw.hi), (0, 0)))
        xla = out(xla + (prod(dims) if self._divides else 0))
        general = AVG_POOL_FLOPS if self._divides else MAX_POOL_FLOPS
        subs = {B: batch, Ho: gh.out, Wo: gw.out, C: c, Kh: kh, Kw: kw}
        differs = sp.expand(xla - evaluate(general, subs)) != 0
        special = {"value": xla, "via": "XLA prices a window over a whole padded axis as a "
                                        "reduce and a broadcast"} if differs else {}
        what = "window sums and a division per output" if self._divides else "comparisons"
        f.add("flops", f"FLOPs ({what})", FLOPS_EXACT, general, subs, **special)
        return f.build((gh.out, gw.out, c))

    def windows(self, in_shape: Sequence[Dim]):
        f = FormulaBuilder(self.label)
        gh, gw, _ = self._axes(f, in_shape)
        return [tuple(Window(self.window_shape[i], self.strides[i], 1, g.lo)
                      for i, g in enumerate((gh, gw)))]


class MaxPool2D(_Pool2D):
    r"""``nnx.max_pool``: $K_h K_w - 1$ comparisons per output element.

    >>> MaxPool2D(2).output_shape((8, 8, 3)), MaxPool2D(2).flops((8, 8, 3))
    ((4, 4, 3), 144)
    """

    __slots__ = ()


class AvgPool2D(_Pool2D):
    r"""``nnx.avg_pool`` (padded zeros counted): $K_h K_w - 1$ adds and one division per output."""

    __slots__ = ()
    _divides = True


@dataclass(frozen=True, slots=True)
class GlobalAvgPool2D(ParameterFree):
    r"""Mean over $H$ and $W$: $(H, W, C) \mapsto (C,)$ with $B H W C$ FLOPs ($(HW - 1)C$ adds
    and $C$ divisions per example)."""

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        f = FormulaBuilder(self.label)
        f.add("flops", "FLOPs (sums and a division per channel)", FLOPS_EXACT, GAP_FLOPS,
              {B: batch, H: h, W: w, C: c})
        return f.build((c,))

    def windows(self, in_shape: Sequence[Dim]):
        return None
