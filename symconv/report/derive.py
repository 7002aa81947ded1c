r"""Step-by-step derivations of any layer spec or stack, for users' own reports.

``derive(layer, in_shape)`` (also ``layer.derive(in_shape)``) returns a
:class:`~symconv.report.proof.Derivation`: each quantity as general formula, substitution and result,
rendered with ``.latex()``, ``.markdown()`` or in Jupyter (``_repr_latex_``). Values left
symbolic stay symbolic.
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from symconv.algebra import Conv2D, ConvTranspose2D, Dense, SeparableConv2D, Stack
from symconv.algebra.arith import Dim
from symconv.algebra.layer import Layer
from symconv.errors import SymconvError
from symconv.report.proof import Derivation, Step

_g = {n: sp.Symbol(n) for n in ("H", "W", "M", "N", "K", "S", "D", "G", "P", "F", "U")}
H_, W_, M_, N_, K_, S_, D_, G_, P_, F_, U_ = _g.values()
Plo, Phi, Po = sp.Symbol("P_{lo}"), sp.Symbol("P_{hi}"), sp.Symbol("P_o")
Ho, Wo = sp.Symbol("H'"), sp.Symbol("W'")


def _name(value: Dim) -> str:
    if isinstance(value, int):
        return str(value)
    text = sp.latex(value)
    return text if isinstance(value, sp.Symbol) else f"\\left({text}\\right)"


def _names(mapping: dict) -> dict:
    return {sym: _name(v) for sym, v in mapping.items()}


def _triple(label: str, lhs: str, general, values: dict, result) -> list[Step]:
    return [Step(f"{label}: general formula", lhs, general),
            Step(f"{label}: substitution", lhs, general, _names(values)),
            Step(f"{label}: result", lhs, result)]


def _conv(layer: Conv2D, in_shape: Sequence[Dim]) -> Derivation:
    h, w = in_shape[:2]
    gh, gw, conds = layer.geometry(in_shape)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.kernel_dilation
    m, n, g = layer.in_features, layer.out_features, layer.feature_group_count
    size = sp.floor((H_ + Plo + Phi - D_ * (K_ - 1) - 1) / S_) + 1
    steps = []
    if layer.padding == "SAME":
        steps.append(Step("'SAME' padding (XLA), height", r"(P_{lo}, P_{hi})",
                          sp.Tuple(gh.lo, gh.hi)))
    steps += _triple("output height", "H'", size,
                     {H_: h, Plo: gh.lo, Phi: gh.hi, D_: dh, K_: kh, S_: sh}, gh.out)
    steps += _triple("output width", "W'", size.subs(H_, W_),
                     {W_: w, Plo: gw.lo, Phi: gw.hi, D_: dw, K_: kw, S_: sw}, gw.out)
    kk = sp.Symbol("K_h") * sp.Symbol("K_w")
    kvals = {sp.Symbol("K_h"): kh, sp.Symbol("K_w"): kw, M_: m, N_: n, G_: g}
    steps += _triple("weights", r"\mathrm{weights}", kk * M_ / G_ * N_, kvals,
                     layer.weight_count())
    if layer.use_bias:
        steps.append(Step("biases", r"\mathrm{biases}", n))
    steps += _triple("MACs (dense)", r"\mathrm{MACs}_{dense}", Ho * Wo * kk * M_ / G_ * N_,
                     {**kvals, Ho: gh.out, Wo: gw.out}, layer.macs(in_shape, "dense"))
    steps.append(Step("MACs (exact: taps on real input)", r"\mathrm{MACs}_{exact}",
                      layer.macs(in_shape, "exact")))
    steps.append(Step("FLOPs (exact, bias adds included)", r"\mathrm{FLOPs}",
                      layer.flops(in_shape, "exact")))
    return Derivation(tuple(steps), tuple(str(c) for c in conds.items))


def _transpose(layer: ConvTranspose2D, in_shape) -> Derivation:
    h, w = in_shape[:2]
    shape = layer.output_shape(in_shape)
    size = (H_ - 1) * S_ - 2 * P_ + D_ * (K_ - 1) + Po + 1
    steps = []
    for i, (sym, n, lhs) in enumerate(((H_, h, "H'"), (W_, w, "W'"))):
        general = size.subs(H_, sym)
        steps += _triple(f"output {'height' if i == 0 else 'width'}", lhs, general,
                         {sym: n, S_: layer.strides[i], P_: layer.padding[i],
                          D_: layer.kernel_dilation[i], K_: layer.kernel_size[i],
                          Po: layer.output_padding[i]}, shape[i])
    steps += _triple("weights", r"\mathrm{weights}", K_**2 * M_ * N_,
                     {K_: layer.kernel_size[0], M_: layer.in_features, N_: layer.out_features},
                     layer.weight_count()) if layer.kernel_size[0] == layer.kernel_size[1] else [
        Step("weights", r"\mathrm{weights}", layer.weight_count())]
    steps += [Step("MACs (dense, every scattered tap)", r"\mathrm{MACs}_{dense}",
                   layer.macs(in_shape, "dense")),
              Step("MACs (exact, cropped taps excluded)", r"\mathrm{MACs}_{exact}",
                   layer.macs(in_shape, "exact"))]
    return Derivation(tuple(steps), tuple(str(c) for c in shape.conditions))


def _dense(layer: Dense, in_shape) -> Derivation:
    f, u = layer.in_features, layer.out_features
    steps = _triple("weights", r"\mathrm{weights}", F_ * U_, {F_: f, U_: u}, layer.weight_count())
    steps += [Step("biases", r"\mathrm{biases}", layer.bias_count()),
              Step("MACs", r"\mathrm{MACs}", layer.macs(in_shape)),
              Step("FLOPs", r"\mathrm{FLOPs}", layer.flops(in_shape))]
    return Derivation(tuple(steps))


def _generic(layer: Layer, in_shape) -> Derivation:
    shape = layer.output_shape(in_shape)
    steps = [Step("output shape", r"\mathrm{output}", tuple(shape)),
             Step("parameters", r"\mathrm{params}", layer.param_count()),
             Step("MACs (dense)", r"\mathrm{MACs}_{dense}", layer.macs(in_shape, "dense")),
             Step("FLOPs (exact)", r"\mathrm{FLOPs}", layer.flops(in_shape, "exact"))]
    return Derivation(tuple(steps), tuple(str(c) for c in shape.conditions))


def _separable(layer: SeparableConv2D, in_shape) -> Derivation:
    dw = _conv(layer.depthwise, in_shape)
    mid = layer.depthwise.output_shape(in_shape)
    pw = _conv(layer.pointwise, mid)
    steps = tuple(Step("depthwise " + s.label, s.lhs, s.rhs, s.symbol_names) for s in dw.steps)
    steps += tuple(Step("pointwise " + s.label, s.lhs, s.rhs, s.symbol_names) for s in pw.steps
                   if "MACs" in s.label or "weights" in s.label)
    steps += (Step("total MACs (dense)", r"\mathrm{MACs}_{dense}", layer.macs(in_shape)),
              Step("ratio to a standard conv (MACs)", r"\rho",
                   layer.ratio("macs", in_shape)))
    return Derivation(steps, dw.assumptions + pw.assumptions)


def _stack(stack: Stack, in_shape) -> Derivation:
    table = stack.table(in_shape)
    steps = [Step(f"{r.name} ({r.kind})", r"\text{" + r.name.replace("_", r"\_") + "}",
                  tuple(r.output_shape)) for r in table.rows]
    totals = table.totals
    steps += [Step("total parameters", r"\mathrm{params}", totals["params"]),
              Step("total MACs (dense)", r"\mathrm{MACs}_{dense}", totals["macs_dense"]),
              Step("total MACs (exact)", r"\mathrm{MACs}_{exact}", totals["macs_exact"]),
              Step("total FLOPs (exact)", r"\mathrm{FLOPs}", totals["flops"])]
    return Derivation(tuple(steps), tuple(str(c) for c in table.conditions))


def derive(layer: Layer, in_shape: Sequence[Dim]) -> Derivation:
    """General formula, substitution and result for every quantity of ``layer``.

    >>> from symconv.algebra import Conv2D
    >>> d = derive(Conv2D(3, 64, 5, strides=2, padding=2), (128, 128))
    >>> [s.rhs for s in d.steps if s.label == "output height: result"]
    [64]
    """
    if not isinstance(layer, Layer):
        raise SymconvError(f"derive: {type(layer).__name__} is not a layer spec")
    if isinstance(layer, Conv2D):
        return _conv(layer, in_shape)
    if isinstance(layer, ConvTranspose2D):
        return _transpose(layer, in_shape)
    if isinstance(layer, SeparableConv2D):
        return _separable(layer, in_shape)
    if isinstance(layer, Dense):
        return _dense(layer, in_shape)
    if isinstance(layer, Stack):
        return _stack(layer, in_shape)
    return _generic(layer, in_shape)  # pooling, activations, normalisation, flatten
