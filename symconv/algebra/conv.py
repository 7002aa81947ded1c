r"""Standard (grouped, strided, dilated, padded) 2-D convolution: ``Conv2D``.

Argument names mirror Flax NNX's ``nnx.Conv``; layout NHWC activations, HWIO kernels. Per axis
of input length $H$, with padding $(P_{lo}, P_{hi})$ and kernel extent $D(K-1)+1$:

.. math::  O = \left\lfloor \frac{H + P_{lo} + P_{hi} - D(K-1) - 1}{S} \right\rfloor + 1,
           \qquad H + P_{lo} + P_{hi} \ge D(K-1) + 1

(for 'SAME', $O = \lceil H/S \rceil$ and the padding follows, :mod:`symconv.algebra.padding`).
With $M$ input channels, $N$ filters and $G$ groups:

.. math::  \text{weights} = K_h K_w \tfrac{M}{G} N, \qquad
           \text{MACs}_{dense} = H' W' K_h K_w \tfrac{M}{G} N, \qquad
           \text{MACs}_{exact} = T_h T_w \tfrac{M}{G} N,

where $T = O K - \mu(P_{lo}) - \mu(P_{hi} - r)$ counts the (output, tap) pairs on real input,
$r = (H + P_{lo} + P_{hi} - D(K-1) - 1) \bmod S$ and $\mu$ is
:func:`symconv.algebra.taps.missed_taps`. FLOPs $= B(2\,\text{MACs} + H' W' N)$ (the second
term with a bias).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, as_dim, is_concrete, out
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
from symconv.algebra.padding import PaddingLike, normalize_padding
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import (
    B,
    D,
    G,
    H,
    Ho,
    K,
    Kh,
    Kw,
    M,
    N,
    O,
    P_hi,
    P_lo,
    P_tot,
    S,
    T,
    Th,
    Tw,
    W,
    Wo,
    r,
)
from symconv.algebra.taps import by_residue, missed_taps, missed_taps_mod, mu
from symconv.errors import (
    GroupsDoNotDivideChannelsError,
    KernelLargerThanInputError,
    NonIntegerError,
    SymconvError,
)

# --- the general formulas of one axis (input length H, output length O), stated once --------
OUT_SIZE = sp.floor((H + P_lo + P_hi - D * (K - 1) - 1) / S) + 1
FITS = sp.Ge(H + P_lo + P_hi, D * (K - 1) + 1)
SAME_OUT = sp.ceiling(H / S)
SAME_TOTAL = sp.Max(0, (O - 1) * S + D * (K - 1) + 1 - H)
SAME_LO = sp.floor(P_tot / 2)
SAME_HI = P_tot - P_lo
OVERSHOOT = sp.Mod(H + P_lo + P_hi - D * (K - 1) - 1, S, evaluate=False)
TAPS = O * K - mu(P_lo, K, S, D, O) - mu(P_hi - r, K, S, D, O)
# --- the layer's -----------------------------------------------------------------------------
CONV_WEIGHTS = Kh * Kw * M / G * N
CONV_MACS_DENSE = Ho * Wo * Kh * Kw * M / G * N
CONV_MACS_EXACT = Th * Tw * M / G * N
BIAS_ADDS = Ho * Wo * N


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


_AXES = {"height": (H, Ho, Th, "h"), "width": (W, Wo, Tw, "w")}


def on_axis(general: sp.Basic, rule: dict) -> sp.Basic:
    """A general formula written for the height axis, rewritten for another axis's symbols
    (without SymPy re-evaluating it, so it reads as stated)."""
    return _on_axis(general, tuple(rule.items()))


@functools.lru_cache(maxsize=256)
def _on_axis(general: sp.Basic, rule: tuple) -> sp.Basic:
    with sp.evaluate(False):
        return general.xreplace(dict(rule))


def axis_formulas(f: FormulaBuilder, axis: str, n: Dim, k: Dim, s: Dim, d: Dim, pads,
                  with_taps: bool = True) -> AxisGeometry:
    r"""Add one axis's output size, padding and real taps to ``f``; return their values.

    ``pads`` is ``'SAME'``, ``'VALID'`` or ``(lo, hi)``. Special paths (each checked against the
    general formula by the property tests): 'SAME' padding of a symbolic length with stride
    $S > 1$ is a function of $H \bmod S$; the lost taps $\mu$ of a symbolic length use the closed
    forms of :func:`symconv.algebra.taps.missed_taps`.
    """
    n_sym, o_sym, t_sym, tag = _AXES.get(axis, (H, O, T, axis))
    on = {H: n_sym}
    base = {n_sym: n, K: k, S: s, D: d}
    if pads == "SAME":
        o = f.add(f"out_{tag}", f"output {axis} ('SAME')", o_sym, on_axis(SAME_OUT, on), base)
        residue = not is_concrete(n) and is_concrete(k, s, d) and s > 1
        special = _same_by_residue(n, k, s, d, o, f.conds) if residue else None
        total = f.add(f"pad_total_{tag}", f"'SAME' padding along the {axis}", P_tot,
                      on_axis(SAME_TOTAL, on), {**base, O: o},
                      **_via(special, "total", f"a function of {n_sym} mod {s}"))
        lo = f.add(f"pad_lo_{tag}", f"padding before, {axis}", P_lo, SAME_LO, {P_tot: total},
                   **_via(special, "lo", f"a function of {n_sym} mod {s}"))
        hi = f.add(f"pad_hi_{tag}", f"padding after, {axis}", P_hi, SAME_HI,
                   {P_tot: total, P_lo: lo},
                   **_via(special, "hi", f"a function of {n_sym} mod {s}"))
    else:
        special = None
        lo, hi = (0, 0) if pads == "VALID" else pads
        f.require(on_axis(FITS, on), {**base, P_lo: lo, P_hi: hi}, KernelLargerThanInputError,
                  f"{f.layer}: kernel extent D(K-1)+1 = {out(d * (k - 1) + 1)} exceeds the "
                  f"padded input along {axis}: {n} + {lo} + {hi} = {out(n + lo + hi)}; use a "
                  f"smaller kernel or dilation, more padding, or a larger input")
        o = f.add(f"out_{tag}", f"output {axis}", o_sym, on_axis(OUT_SIZE, on),
                  {**base, P_lo: lo, P_hi: hi})
    if not with_taps:
        return AxisGeometry(n, o, lo, hi, 0)
    special = special if pads == "SAME" else None
    how = f"a function of {n_sym} mod {s}"
    rem = f.add(f"overshoot_{tag}", f"overshoot of the last window, {axis}", r,
                on_axis(OVERSHOOT, on), {**base, P_lo: lo, P_hi: hi},
                **_via(special, "r", how))
    subs = {O: o, K: k, S: s, D: d, P_lo: lo, P_hi: hi, r: rem}
    general = on_axis(TAPS, {T: t_sym})
    if special is not None:
        value = {"value": special["taps"], "via": how}
    else:
        taps_value = _taps_value(general, subs, lo, hi, rem, k, s, d, o, f.conds)
        value = {} if taps_value is None else {"value": taps_value, "via": "closed form of μ"}
    taps = f.add(f"taps_{tag}", f"real taps along the {axis}", t_sym, general, subs, **value)
    return AxisGeometry(n, o, lo, hi, taps)


def _via(special: dict | None, key: str, how: str) -> dict:
    return {} if special is None else {"value": special[key], "via": how}


def _taps_value(general, subs, lo, hi, rem, k, s, d, o, conds: Conditions):
    """``None`` when substituting into the general formula gives the value (every argument of
    μ concrete); else the closed form of the lost taps (:mod:`symconv.algebra.taps`)."""
    from symconv.algebra.formula import evaluate

    value = evaluate(general, subs)
    if not (isinstance(value, sp.Basic) and value.has(mu)):
        return None
    if not isinstance(rem, int) and is_concrete(hi, k, s, d):
        high = missed_taps_mod(hi, rem, k, s, d, o, conds)
    else:
        high = missed_taps(hi - rem, k, s, d, o, conds)
    taps = o * k - missed_taps(lo, k, s, d, o, conds) - high
    return taps if isinstance(taps, int) else out(sp.expand(taps))


def _same_by_residue(n, k: int, s: int, d: int, o, conds: Conditions) -> dict:
    r"""'SAME' with symbolic $n$ and stride $S > 1$: with $n = S m + q$ the total padding is
    $\max(0, D(K-1)+1 - S)$ for $q = 0$, else $\max(0, D(K-1)+1 - q)$, so the padding, the
    overshoot $r$ and the lost taps are exact functions of $q = n \bmod S$ (linear in $q$, or a
    ``Piecewise``)."""
    extent = d * (k - 1) + 1
    q = sp.Mod(n, s)
    cols: dict[str, list] = {"total": [], "lo": [], "hi": [], "r": [], "lost": []}
    for res in range(s):
        total = max(0, extent - (s if res == 0 else res))
        lo, hi = total // 2, total - total // 2
        rem = (res + total - extent) % s
        for key, v in (("total", total), ("lo", lo), ("hi", hi), ("r", rem)):
            cols[key].append(v)
        cols["lost"].append(missed_taps(lo, k, s, d, o, conds)
                            + missed_taps(hi - rem, k, s, d, o, conds))
    found = {key: by_residue(v, q) for key, v in cols.items()}
    found["taps"] = out(sp.expand(o * k - found.pop("lost")))
    return found


def conv_axis(layer: str, axis: str, n: Dim, k: Dim, s: Dim, d: Dim, pads,
              conds: Conditions) -> AxisGeometry:
    """Output length, applied padding and real taps of one convolution axis (conditions go to
    ``conds``): the formulas of :func:`axis_formulas` without keeping them."""
    f = FormulaBuilder(layer)
    geometry = axis_formulas(f, axis, n, k, s, d, pads)
    for c in f.conds.items:
        if c not in conds.items:
            conds.items.append(c)
    return geometry


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
        self._groups(FormulaBuilder(name))

    def _groups(self, f: FormulaBuilder) -> None:
        g = self.feature_group_count
        for what, c in (("in_features", self.in_features), ("out_features", self.out_features)):
            f.conds.require(divides(g, c), GroupsDoNotDivideChannelsError,
                            f"{self.label}: {what}={c} is not divisible by "
                            f"feature_group_count={g}")

    def _channels(self) -> dict:
        return {M: self.in_features, N: self.out_features, G: self.feature_group_count}

    def parameters(self) -> Formulas:
        r"""$K_h K_w \frac{M}{G} N$ weights; $N$ biases with a bias."""
        f = FormulaBuilder(self.label)
        kh, kw = self.kernel_size
        f.add("weights", "weights", WEIGHTS, CONV_WEIGHTS, {Kh: kh, Kw: kw, **self._channels()})
        f.add("biases", "biases", BIASES, N if self.use_bias else sp.Integer(0),
              {N: self.out_features} if self.use_bias else {})
        return f.build(())

    def axes(self, f: FormulaBuilder, in_shape: Sequence[Dim]) -> tuple[AxisGeometry, ...]:
        """Both axes' formulas, added to ``f``."""
        h, w = spatial_input(self.label, in_shape, self.in_features)
        self._groups(f)
        pads = self.padding
        ph, pw = (pads, pads) if isinstance(pads, str) else pads
        return tuple(axis_formulas(f, axis, n, self.kernel_size[i], self.strides[i],
                                   self.kernel_dilation[i], pad)
                     for i, (axis, n, pad) in enumerate((("height", h, ph), ("width", w, pw))))

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        f = FormulaBuilder(self.label)
        gh, gw = self.axes(f, in_shape)
        kh, kw = self.kernel_size
        ch = self._channels()
        dense = f.add("macs_dense", "MACs (dense: every tap)", MACS_DENSE, CONV_MACS_DENSE,
                      {Ho: gh.out, Wo: gw.out, Kh: kh, Kw: kw, **ch})
        exact = f.add("macs_exact", "MACs (exact: taps on real input)", MACS_EXACT,
                      CONV_MACS_EXACT, {Th: gh.taps, Tw: gw.taps, **ch})
        bias = BIAS_ADDS if self.use_bias else 0
        for key, lhs, macs, value in (("flops_dense", FLOPS_DENSE, MACS_DENSE, dense),
                                      ("flops_exact", FLOPS_EXACT, MACS_EXACT, exact)):
            f.add(key, f"FLOPs ({key[6:]}{', bias adds' if self.use_bias else ''})", lhs,
                  B * (2 * macs + bias), {B: batch, macs: value, Ho: gh.out, Wo: gw.out,
                                          N: self.out_features})
        return f.build((gh.out, gw.out, self.out_features))

    def windows(self, in_shape: Sequence[Dim]):
        f = FormulaBuilder(self.label)
        gh, gw = self.axes(f, in_shape)
        return [tuple(Window(self.kernel_size[i], self.strides[i], self.kernel_dilation[i],
                             g.lo) for i, g in enumerate((gh, gw)))]
