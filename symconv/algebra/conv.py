r"""Standard (grouped, strided, dilated, padded) 2-D convolution: ``Conv2D``.

Argument names mirror Flax NNX's ``nnx.Conv``; layout NHWC activations, HWIO kernels. Per axis,
with padding $(P_{lo}, P_{hi})$ and kernel extent $D(K-1)+1$:

.. math::  O = \left\lfloor \frac{n + P_{lo} + P_{hi} - D(K-1) - 1}{S} \right\rfloor + 1

(for 'SAME', $O = \lceil n/S \rceil$). With $M$ input channels, $N$ filters and $G$ groups:

.. math::  \text{params} = K_h K_w \tfrac{M}{G} N + N, \qquad
           \text{MACs}_{dense} = O_h O_w K_h K_w \tfrac{M}{G} N, \qquad
           \text{MACs}_{exact} = T_h T_w \tfrac{M}{G} N,

where $T = O K - \mu(P_{lo}) - \mu(P_{hi} - r)$ counts the taps on real input,
$r = (n + P_{lo} + P_{hi} - D(K-1) - 1) \bmod S$ and $\mu$ is
:func:`symconv.algebra.taps.missed_taps`. FLOPs $= 2\,\text{MACs} + O_h O_w N$ (bias adds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import (
    Conditions,
    Dim,
    as_dim,
    ceildiv,
    floordiv,
    is_concrete,
    mod,
    out,
)
from symconv.algebra.tidy import tidy
from symconv.algebra.layer import Layer, Shape, check_convention, spatial_input
from symconv.algebra.padding import PaddingLike, normalize_padding, same_pads
from symconv.algebra.taps import by_residue, missed_taps, missed_taps_mod
from symconv.errors import (
    GroupsDoNotDivideChannelsError,
    KernelLargerThanInputError,
    NonIntegerError,
    SymconvError,
)


def pair(value: object, what: str) -> tuple[Dim, Dim]:
    """An int (both axes) or a 2-sequence, each entry a positive integer."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise SymconvError(f"{what}={value!r} must be an int or a pair (height, width)")
        return as_dim(value[0], f"{what}[0]"), as_dim(value[1], f"{what}[1]")
    v = as_dim(value, what)
    return v, v


def check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise NonIntegerError(f"{what}={value!r} must be True or False")
    return value


@dataclass(frozen=True)
class AxisGeometry:
    """One spatial axis of a convolution: input, output, padding actually applied, real taps."""

    size: Dim
    out: Dim
    lo: Dim
    hi: Dim
    taps: Dim  # (output position, kernel tap) pairs that read real input


def conv_axis(layer: str, axis: str, n: Dim, k: Dim, s: Dim, d: Dim, pads, conds: Conditions):
    """Output length, applied padding and exact tap count of one convolution axis."""
    extent = d * (k - 1) + 1
    if pads == "SAME" and not isinstance(n, int) and is_concrete(k, s, d) and s > 1:
        return _same_axis_by_residue(n, k, s, d, extent, conds)
    if pads == "SAME":
        lo, hi = same_pads(n, k, s, d)
        o = tidy(ceildiv(n, s))
    else:
        lo, hi = (0, 0) if pads == "VALID" else pads
        conds.require(
            n + lo + hi >= extent if is_concrete(n, lo, hi, extent) else sp.Ge(n + lo + hi, extent),
            KernelLargerThanInputError,
            f"{layer}: kernel extent D(K-1)+1 = {extent} exceeds the padded input along {axis}: "
            f"{n} + {lo} + {hi} = {out(n + lo + hi)}; use a smaller kernel or dilation, more "
            f"padding, or a larger input",
        )
        o = floordiv(n + lo + hi - extent, s) + 1
    o = tidy(o)
    r = mod(n + lo + hi - extent, s)
    if not isinstance(r, int) and is_concrete(hi, k, s, d):
        high = missed_taps_mod(hi, r, k, s, d, o, conds)
    else:
        high = missed_taps(hi - r, k, s, d, o, conds)
    taps = o * k - missed_taps(lo, k, s, d, o, conds) - high
    taps = taps if isinstance(taps, int) else out(sp.expand(taps))
    return AxisGeometry(size=n, out=out(o), lo=lo, hi=hi, taps=taps)


def _same_axis_by_residue(n, k: int, s: int, d: int, extent: int, conds: Conditions):
    r"""'SAME' with symbolic $n$ and stride $S > 1$: the padding depends on $q = n \bmod S$.

    With $n = S m + q$: $P_{tot} = \max(0, D(K-1)+1 - S)$ for $q = 0$, else
    $\max(0, D(K-1)+1 - q)$; everything else follows per residue, so the lost taps are an
    exact function of $n \bmod S$ (linear in it, or a ``Piecewise``).
    """
    o = tidy(ceildiv(n, s))
    q = sp.Mod(n, s)
    los, his, lost = [], [], []
    for res in range(s):
        total = max(0, extent - (s if res == 0 else res))
        lo, hi = total // 2, total - total // 2
        r = (res + total - extent) % s
        los.append(lo)
        his.append(hi)
        lost.append(missed_taps(lo, k, s, d, o, conds) + missed_taps(hi - r, k, s, d, o, conds))
    taps = out(sp.expand(o * k - by_residue(lost, q)))
    return AxisGeometry(size=n, out=o, lo=by_residue(los, q), hi=by_residue(his, q), taps=taps)


def divides(g: Dim, c: Dim) -> object:
    if is_concrete(g, c):
        return c % g == 0
    return sp.Eq(sp.Mod(c, g), 0)


@dataclass(frozen=True, slots=True)
class Conv2D(Layer):
    r"""A 2-D convolution, as ``nnx.Conv`` computes it.

    Args:
      in_features: input channels $M$.
      out_features: filters $N$.
      kernel_size: $K$ or $(K_h, K_w)$.
      strides: $S$ or $(S_h, S_w)$.
      padding: int, ``(ph, pw)``, ``((top, bottom), (left, right))``, ``'SAME'`` or ``'VALID'``.
      kernel_dilation: $D$ or $(D_h, D_w)$.
      feature_group_count: groups $G$; must divide $M$ and $N$.
      use_bias: whether a bias of $N$ values is added.

    >>> conv = Conv2D(3, 64, 5, strides=2, padding=2)
    >>> conv.output_shape((128, 128)), conv.param_count(), conv.macs((128, 128))
    ((64, 64, 64), 4864, 19660800)
    """

    in_features: Dim
    out_features: Dim
    kernel_size: Dim | tuple[Dim, Dim]
    strides: Dim | tuple[Dim, Dim] = 1
    padding: PaddingLike = 0
    kernel_dilation: Dim | tuple[Dim, Dim] = 1
    feature_group_count: Dim = 1
    use_bias: bool = True

    def __post_init__(self) -> None:
        name = self.label
        set_ = object.__setattr__
        set_(self, "in_features", as_dim(self.in_features, f"{name}: in_features"))
        set_(self, "out_features", as_dim(self.out_features, f"{name}: out_features"))
        set_(self, "kernel_size", pair(self.kernel_size, f"{name}: kernel_size"))
        set_(self, "strides", pair(self.strides, f"{name}: strides"))
        set_(self, "kernel_dilation", pair(self.kernel_dilation, f"{name}: kernel_dilation"))
        set_(self, "feature_group_count", as_dim(self.feature_group_count,
                                                 f"{name}: feature_group_count"))
        set_(self, "padding", normalize_padding(self.padding, name))
        check_bool(self.use_bias, f"{name}: use_bias")
        self._group_conditions(Conditions())

    def _group_conditions(self, conds: Conditions) -> None:
        g = self.feature_group_count
        for what, c in (("in_features", self.in_features), ("out_features", self.out_features)):
            conds.require(
                divides(g, c),
                GroupsDoNotDivideChannelsError,
                f"{self.label}: {what}={c} is not divisible by feature_group_count={g}",
            )

    def geometry(self, in_shape: Sequence[Dim]) -> tuple[AxisGeometry, AxisGeometry, Conditions]:
        """Per-axis geometry and the undecided validity conditions for this input."""
        h, w = spatial_input(self.label, in_shape, self.in_features)
        conds = Conditions()
        self._group_conditions(conds)
        pads = self.padding
        ph, pw = (pads, pads) if isinstance(pads, str) else pads
        gh = conv_axis(self.label, "height", h, self.kernel_size[0], self.strides[0],
                       self.kernel_dilation[0], ph, conds)
        gw = conv_axis(self.label, "width", w, self.kernel_size[1], self.strides[1],
                       self.kernel_dilation[1], pw, conds)
        return gh, gw, conds

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        r"""$(O_h, O_w, N)$."""
        gh, gw, conds = self.geometry(in_shape)
        return Shape((gh.out, gw.out, self.out_features), conds.items)

    def _per_group_in(self) -> Dim:
        m, g = self.in_features, self.feature_group_count
        return m // g if is_concrete(m, g) else out(m / g)

    def weight_count(self) -> Dim:
        r"""$K_h K_w \frac{M}{G} N$."""
        kh, kw = self.kernel_size
        return out(kh * kw * self._per_group_in() * self.out_features)

    def bias_count(self) -> Dim:
        r"""$N$ with a bias, else 0."""
        return self.out_features if self.use_bias else 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""Dense $O_h O_w K_h K_w \frac{M}{G} N$ or exact $T_h T_w \frac{M}{G} N$."""
        check_convention(convention)
        gh, gw, _ = self.geometry(in_shape)
        per_tap = self._per_group_in() * self.out_features
        if convention == "dense":
            return out(gh.out * gw.out * self.kernel_size[0] * self.kernel_size[1] * per_tap)
        return out(gh.taps * gw.taps * per_tap)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$2\,\text{MACs} + O_h O_w N$ (the second term only with a bias)."""
        gh, gw, _ = self.geometry(in_shape)
        bias = gh.out * gw.out * self.out_features if self.use_bias else 0
        return out(2 * self.macs(in_shape, convention) + bias)
