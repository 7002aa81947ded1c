"""Q1 part C: depthwise separable convolutions — general formulas, the assignment's layers 2
and 3 replaced, and the reductions in parameters and cost.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, SeparableConv2D, depthwise_conv2d, pointwise_conv2d
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack, trunk_stack
from symconv.algebra.symbols import H, K, M, N, W
from symconv.checks import xla
from symconv.checks.measure import xla_macs
from symconv.models.assignment import AssignmentCNN
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step, sample_check

Q, PART = "Q1", "c"
STD = AssignmentConfig.standard()
SEP = AssignmentConfig.mobilenet_style()
POINTS = [dict(H=h, W=w, M=m, N=n, K=k) for h, w, m, n, k in
          [(8, 8, 3, 4, 3), (7, 9, 2, 5, 5), (6, 6, 4, 2, 1), (10, 5, 3, 3, 3), (9, 9, 2, 6, 7)]]

# The source's numbers, transcribed as the products it prints (never used as expectations).
STATED = {
    "std.L1.params": 5**2 * 3 * 64,
    "std.L1.cost": 64 * 64 * 5**2 * 3,
    "std.L2.params": 5**2 * 64 + 64 * 128,
    "std.L2.cost": 32 * 32 * 64 * 5**2 * 3 + 32 * 32 * 128 * 64,
    "std.L3.params": 5**2 * 128 + 128 * 256,
    "std.L3.cost": 16 * 16 * 128 * 5**2 * 64 + 16 * 16 * 256 * 128,
    "sep.L2.params": 64 * 5**2 + 64 * 128,
    "sep.L2.cost": 32 * 32 * (64 * 5**2 + 64 * 128),
    "sep.L3.params": 128 * 5**2 + 128 * 256,
    "sep.L3.cost": 16 * 16 * (128 * 5**2 + 128 * 256),
    "reduction.L2.params": 86, "reduction.L2.cost": 91,
    "reduction.L3.params": 92, "reduction.L3.cost": 94,
}


def _subs(pt):
    return {H: pt["H"], W: pt["W"], M: pt["M"], N: pt["N"], K: pt["K"]}


def _model_weights(make, pt) -> int:
    return xla.param_split(xla.abstract(lambda: make(pt)))[0]


def _general_claims() -> list[Claim]:
    dw = depthwise_conv2d(M, K, padding="SAME", use_bias=False)
    pw = pointwise_conv2d(M, N, use_bias=False)
    sep = SeparableConv2D(M, N, K, padding="SAME", use_bias=False)
    rows = [
        ("dw.params", "Params (depthwise) = M * K^2", M * K**2, dw.weight_count(), "params",
         lambda pt: nnx.Conv(pt["M"], pt["M"], (pt["K"],) * 2, feature_group_count=pt["M"],
                             use_bias=False, rngs=nnx.Rngs(0))),
        ("dw.cost", "Cost (depthwise) = H * W * M * K^2", H * W * M * K**2, dw.macs((H, W)),
         "macs", lambda pt: depthwise_conv2d(pt["M"], pt["K"], padding="SAME", use_bias=False)),
        ("pw.params", "Params (pointwise) = M * N", M * N, pw.weight_count(), "params",
         lambda pt: nnx.Conv(pt["M"], pt["N"], (1, 1), use_bias=False, rngs=nnx.Rngs(0))),
        ("pw.cost", "Cost (pointwise) = H * W * M * N", H * W * M * N, pw.macs((H, W)), "macs",
         lambda pt: pointwise_conv2d(pt["M"], pt["N"], use_bias=False)),
        ("sep.params", "Params (depthwise separable) = M * K^2 + M * N", M * K**2 + M * N,
         sep.weight_count(), "params",
         lambda pt: nnx.Sequential(
             nnx.Conv(pt["M"], pt["M"], (pt["K"],) * 2, feature_group_count=pt["M"],
                      use_bias=False, rngs=nnx.Rngs(0)),
             nnx.Conv(pt["M"], pt["N"], (1, 1), use_bias=False, rngs=nnx.Rngs(0)))),
        ("sep.cost", "Cost (depthwise separable) = H * W * M * K^2 + H * W * M * N",
         H * W * M * K**2 + H * W * M * N, sep.macs((H, W)), "macs",
         lambda pt: SeparableConv2D(pt["M"], pt["N"], pt["K"], padding="SAME", use_bias=False)),
    ]
    claims = []
    for key, statement, stated, derived, kind, make in rows:
        if kind == "params":
            check = sample_check("model", "weights in nnx.state of the equivalent Flax layer",
                                 POINTS, lambda pt, d=derived: int(d.subs(_subs(pt))),
                                 lambda pt, make=make: _model_weights(make, pt))
        else:
            check = sample_check("xla", "dense MACs XLA counts (zero-padded input, 'VALID')",
                                 POINTS, lambda pt, d=derived: int(d.subs(_subs(pt))),
                                 lambda pt, make=make: xla_macs(make(pt), (pt["H"], pt["W"],
                                                                          pt["M"]), "dense"))
        claims.append(Claim(
            id=f"q1c.{key}", statement=statement, stated=stated,
            derived=derived, unit="MACs" if kind == "macs" else "weights",
            note="Stride 1 with 'same' padding, as in Part A; with stride S the output size "
                 "H' x W' replaces H x W." if kind == "macs" else "Weights only (no bias).",
            derivation=Derivation((Step("result", key.replace(".", r"\ "), derived),)),
            checks=(check,), quote="TODO", correction="TODO"))
    ratio = sep.ratio("macs", (H, W))
    ratio_params = sep.ratio("params")
    claims.append(Claim(
        id="q1c.ratio",
        statement="The depthwise separable convolution reduces both the number of parameters "
                  "and the computational cost (by what factor?).",
        stated=None, derived=ratio,
        derivation=Derivation((
            Step("ratio", r"\frac{\mathrm{MACs}_{sep}}{\mathrm{MACs}_{std}}",
                 (H * W * M * K**2 + H * W * M * N) / (H * W * K**2 * M * N)),
            Step("simplified (SymPy)", r"\frac{\mathrm{MACs}_{sep}}{\mathrm{MACs}_{std}}", ratio),
        )),
        checks=(
            Check("sympy", "params ratio simplifies to the same expression",
                  "symbolic M, N, K", sp.simplify(ratio_params - ratio) == 0),
            sample_check("xla", "ratio of XLA's dense MAC counts (separable / standard) equals "
                         "1/N + 1/K^2", POINTS,
                         lambda pt: sp.Rational(1, pt["N"]) + sp.Rational(1, pt["K"] ** 2),
                         lambda pt: sp.Rational(
                             xla_macs(SeparableConv2D(pt["M"], pt["N"], pt["K"], padding="SAME",
                                                      use_bias=False),
                                      (pt["H"], pt["W"], pt["M"]), "dense"),
                             xla_macs(Conv2D(pt["M"], pt["N"], pt["K"], padding="SAME",
                                             use_bias=False), (pt["H"], pt["W"], pt["M"]),
                                      "dense"))),
        ),
    ))
    return claims


def _by_parts(spec, shape: tuple, keys: tuple[str, ...]) -> Derivation:
    """The layer's formulas for ``keys``; a separable layer's per stage, then their sum."""
    if not isinstance(spec, SeparableConv2D):
        return derive(spec, shape, keys=keys)
    steps, assumptions = [], []
    for name, part, x in spec.named_parts(shape):
        d = derive(part, x, keys=tuple(k for k in keys if name == "depthwise" or
                                       not k.startswith("out_")))
        steps += [Step(f"{name}: {st.label}", st.lhs, st.rhs, st.symbol_names)
                  for st in d.steps]
        assumptions += d.assumptions
    total = derive(spec, shape, keys=tuple(k for k in keys if not k.startswith("out_")))
    return Derivation(tuple(steps) + total.steps, tuple(assumptions) + total.assumptions)


def _layer_claims() -> list[Claim]:
    claims = []
    std_rows = trunk_stack(STD).table((128, 128, 3)).rows
    sep_rows = trunk_stack(SEP).table((128, 128, 3)).rows
    std_model = xla.abstract(lambda: AssignmentCNN(STD, rngs=nnx.Rngs(0)))
    sep_model = xla.abstract(lambda: AssignmentCNN(SEP, rngs=nnx.Rngs(0)))
    shape = (128, 128, 3)
    values = {}
    for layer in (1, 2, 3):
        i = 2 * layer - 2
        spec_std = trunk_stack(STD).layers[i]
        spec_sep = trunk_stack(SEP).layers[i]
        w_std, _b_std = xla.param_split(std_model.convs[layer - 1])
        w_sep, _b_sep = xla.param_split(sep_model.convs[layer - 1])
        mac_std = xla_macs(spec_std, shape, "dense")
        mac_sep = xla_macs(spec_sep, shape, "dense")
        values[layer] = dict(std_params=std_rows[i].weights, std_cost=std_rows[i].macs_dense,
                             sep_params=sep_rows[i].weights, sep_cost=sep_rows[i].macs_dense,
                             xla_std=mac_std, xla_sep=mac_sep, w_std=w_std, w_sep=w_sep)
        for kind, rows, w_model, mac_model, tag in (
                ("std", std_rows, w_std, mac_std, "standard"),
                ("sep", sep_rows, w_sep, mac_sep, "depthwise separable")):
            key = f"{kind}.L{layer}"
            if f"{key}.params" not in STATED:
                continue
            row = rows[i]
            claims.append(Claim(
                id=f"q1c.{key}.params",
                statement=f"Layer {layer}, Params ({tag}) as printed in the source.",
                stated=STATED[f"{key}.params"], derived=row.weights, unit="weights",
                note=f"Weights only, like the source; with biases {row.params:,}." + (
                    " The source prints the separable count under 'standard'."
                    if kind == "std" and layer > 1 else ""),
                derivation=_by_parts(spec_std if kind == "std" else spec_sep, shape,
                                     ("weights",)),
                checks=(Check("model", f"kernel sizes in nnx.state of AssignmentCNN "
                              f"({'standard' if kind == 'std' else 'mobilenet_style'}) "
                              f"layer {layer}", "128x128x3 network", w_model == row.weights,
                              f"model: {w_model:,}"),), quote="TODO", correction="TODO"))
            stated_cost = STATED[f"{key}.cost"]
            claims.append(Claim(
                id=f"q1c.{key}.cost",
                statement=f"Layer {layer}, Cost ({tag}) as printed in the source.",
                stated=stated_cost, derived=row.macs_dense, unit="MACs",
                note=("The source's product omits the N = 64 filters." if key == "std.L1"
                      else "The source adds a depthwise term with the wrong channel count and "
                           "a pointwise term: neither is the standard layer's cost."
                      if kind == "std" else "Output size used, as it must be with stride 2."),
                derivation=_by_parts(spec_std if kind == "std" else spec_sep, shape,
                                     ("out_h", "out_w", "macs_dense")),
                checks=(Check("xla", "dense MACs XLA counts for the layer (zero-padded input)",
                              f"input {shape}", mac_model == row.macs_dense,
                              f"XLA: {mac_model:,}"),), quote="TODO", correction="TODO"))
        shape = tuple(std_rows[i].output_shape)
    for layer in (2, 3):
        v = values[layer]
        for what in ("params", "cost"):
            exact = 1 - sp.Rational(v[f"sep_{what}"], v[f"std_{what}"])
            pct = int(sp.floor(100 * exact + sp.Rational(1, 2)))
            if what == "params":
                measured = 1 - sp.Rational(v["w_sep"], v["w_std"])
            else:
                measured = 1 - sp.Rational(v["xla_sep"], v["xla_std"])
            n = STD.filters[layer - 1]
            claims.append(Claim(
                id=f"q1c.reduction.L{layer}.{what}",
                statement=f"About {STATED[f'reduction.L{layer}.{what}']}% reduction in "
                          f"{'the number of parameters' if what == 'params' else 'cost'} in "
                          f"layer {layer}.",
                stated=STATED[f"reduction.L{layer}.{what}"], derived=pct, unit="%",
                note=f"Exactly {float(100 * exact):.2f}% = 1 - (1/N + 1/K^2) with N = {n}, "
                     f"K = 5; compared after rounding to whole percent.",
                derivation=Derivation((
                    Step("reduction", r"1 - \frac{1}{N} - \frac{1}{K^2}", 1 - 1 / N - 1 / K**2),
                    Step("substitution", r"1 - \frac{1}{N} - \frac{1}{K^2}",
                         1 - 1 / N - 1 / K**2, {N: str(n), K: "5"}),
                    Step("result", r"\%", sp.Float(100 * exact, 4)))),
                checks=(Check("model" if what == "params" else "xla",
                              "the same reduction from the Flax models' kernel sizes" if
                              what == "params" else "the same reduction from XLA's dense MACs",
                              "standard vs mobilenet_style AssignmentCNN",
                              measured == exact, f"measured {float(100 * measured):.2f}%"),),
                                  quote="TODO", correction="TODO"))
    return claims


def _reduction_figure() -> plt.Figure:
    ks = np.arange(1, 8)
    ns = np.array([8, 16, 32, 64, 128, 256, 512, 1024])
    grid = np.array([[100 * (1 - 1 / n - 1 / k**2) for n in ns] for k in ks])
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=100)
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{round(v):d}", ha="center", va="center", fontsize=7,
                color="white" if v < 60 else "black")
    ax.set_xticks(range(len(ns)), [str(n) for n in ns])
    ax.set_yticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("filters N")
    ax.set_ylabel("kernel K")
    ax.set_title("Separable saves 1 - (1/N + 1/K²) of the MACs and weights (%)")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="%")
    return fig


def _resolution_figure() -> plt.Figure:
    sizes = list(range(32, 513, 32))
    fig, ax = plt.subplots()
    for cfg, label in ((STD, "standard"), (SEP, "layers 2-3 separable")):
        for conv, style in (("dense", "-"), ("exact", "--")):
            macs = [assignment_stack(cfg.at(s, s)).macs((s, s, 3), conv) / 1e6 for s in sizes]
            ax.plot(sizes, macs, style, label=f"{label} ({conv})")
    ax.set_xlabel("input side H = W (pixels)")
    ax.set_ylabel("MACs (millions)")
    ax.set_yscale("log")
    ax.set_title("Network MACs against input resolution (flatten + FC(200) head)")
    ax.legend(fontsize=7)
    return fig


def build() -> Proof:
    return Proof(Q, PART, "Depthwise separable convolutions",
                 tuple(_general_claims() + _layer_claims()),
                 figures=(
                     Figure("q1c_reduction", "Reduction of a depthwise separable convolution "
                            "against a standard one, over filters N and kernel K.",
                            _reduction_figure),
                     Figure("q1c_resolution", "MACs of the whole network against input side, "
                            "standard and separable, dense and exact conventions.",
                            _resolution_figure),
                 ))
