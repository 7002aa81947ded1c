r"""Max, average and global average pooling, as XLA counts them.

A pooling window is a ``reduce_window``: output size as for a convolution with kernel
$k_h \times k_w$ (dilation 1), and XLA charges $k_h k_w - 1$ FLOPs per output element for the
reduction (padded positions included), plus one division per element for average pooling
(Flax's ``avg_pool`` with ``count_include_pad=True``):

.. math::  \text{FLOPs}_{max} = O_h O_w C (k_h k_w - 1), \qquad
           \text{FLOPs}_{avg} = O_h O_w C\, k_h k_w, \qquad
           \text{FLOPs}_{GAP} = (H W - 1) C + C = H W C .
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from symconv.algebra.arith import Conditions, Dim, as_dim, is_concrete, out, prod
from symconv.algebra.conv import conv_axis, pair
from symconv.algebra.layer import ParameterFree, Shape, check_convention
from symconv.algebra.padding import PaddingLike, normalize_padding
from symconv.errors import ShapeMismatchError


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


def _hwc(layer: str, in_shape: Sequence[Dim]) -> tuple[Dim, Dim, Dim]:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 3:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (H, W, C)")
    return tuple(as_dim(d, f"{layer}: input {n}") for d, n in zip(in_shape, "HWC"))  # type: ignore


@dataclass(frozen=True, slots=True)
class _Pool2D(ParameterFree):
    window_shape: Dim | tuple[Dim, Dim]
    strides: Dim | tuple[Dim, Dim] | None = None
    padding: PaddingLike = "VALID"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "window_shape", pair(self.window_shape, f"{self.label}: window_shape"))
        strides = self.window_shape if self.strides is None else self.strides
        set_(self, "strides", pair(strides, f"{self.label}: strides"))
        set_(self, "padding", normalize_padding(self.padding, self.label))

    def _geometry(self, in_shape: Sequence[Dim]):
        h, w, c = _hwc(self.label, in_shape)
        conds = Conditions()
        pads = self.padding
        ph, pw = (pads, pads) if isinstance(pads, str) else pads
        gh = conv_axis(self.label, "height", h, self.window_shape[0], self.strides[0], 1, ph, conds)
        gw = conv_axis(self.label, "width", w, self.window_shape[1], self.strides[1], 1, pw, conds)
        return gh, gw, c, conds

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        gh, gw, c, conds = self._geometry(in_shape)
        return Shape((gh.out, gw.out, c), conds.items)

    _divides = False  # average pooling adds one division per output

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        r"""$B O_h O_w C (k_h k_w - 1)$ (+ $B O_h O_w C$ divisions for average pooling); see
        :func:`reduce_window_flops` for XLA's one exception."""
        check_convention(convention)
        gh, gw, c, _ = self._geometry(in_shape)
        dims = (batch, gh.out, gw.out, c)
        reduce = reduce_window_flops(dims, (1, *self.window_shape, 1),
                                     ((0, 0), (gh.lo, gh.hi), (gw.lo, gw.hi), (0, 0)))
        return out(reduce + (prod(dims) if self._divides else 0))


class MaxPool2D(_Pool2D):
    r"""``nnx.max_pool``: $k_h k_w - 1$ comparisons per output element.

    >>> MaxPool2D(2).output_shape((8, 8, 3)), MaxPool2D(2).flops((8, 8, 3))
    ((4, 4, 3), 144)
    """

    __slots__ = ()


class AvgPool2D(_Pool2D):
    r"""``nnx.avg_pool`` (padded zeros counted): $k_h k_w - 1$ adds and one division per output."""

    __slots__ = ()
    _divides = True


@dataclass(frozen=True, slots=True)
class GlobalAvgPool2D(ParameterFree):
    r"""Mean over $H$ and $W$: $(H, W, C) \mapsto (C,)$ with $H W C$ FLOPs."""

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        _, _, c = _hwc(self.label, in_shape)
        return Shape((c,))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$(H W - 1) C$ adds and $C$ divisions."""
        check_convention(convention)
        h, w, c = _hwc(self.label, in_shape)
        return out(h * w * c)
