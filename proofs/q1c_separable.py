"""Q1 part C: depthwise separable convolutions — general formulas, the assignment's layers 2
and 3 replaced, and the reductions in parameters and cost.

The source's general formulas and its separable counts hold. Under "standard" it prints, for
layers 2 and 3, separable-like sums (and for layer 1 a cost without the 64 filters), and its
reductions (86, 91, 92, 94 %) are not those of its own numbers: the separable layers save
1 - 1/N - 1/K^2 = 95 % and 96 %, the same for parameters and cost.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx
from matplotlib.colors import TwoSlopeNorm

from symconv.algebra import Conv2D, SeparableConv2D, depthwise_conv2d, pointwise_conv2d
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.algebra.symbols import H, K, M, N, W
from symconv.checks import xla
from symconv.checks.measure import xla_macs
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step, sample_check

from ._q1_common import block, steps
from ._q1c_layers import layer_claims

Q, PART = "Q1", "c"
STD = AssignmentConfig.standard()
SEP = AssignmentConfig.mobilenet_style()
POINTS = [dict(H=h, W=w, M=m, N=n, K=k) for h, w, m, n, k in
          [(8, 8, 3, 4, 3), (7, 9, 2, 5, 5), (6, 6, 4, 2, 1), (10, 5, 3, 3, 3), (9, 9, 2, 6, 7)]]
NO_BIAS = ("Weights only: the formula has no bias term, a layer without bias (MobileNet's "
           "convolutions have none, batch norm follows them). With a bias per output channel "
           "add {extra}.")
SAME_STRIDE_ONE = ("Part (a)'s layer: stride 1, same padding, so the output is H x W; dense "
                   "convention (every tap counted).")

# The source's words (Q1 part C solution), verbatim.
QUOTE = {
    "dw.params": block("For the depthwise convolution:",
                       r"$$\text{Params (depthwise)} = M \cdot K^2$$"),
    "dw.cost": r"$$\text{Cost (depthwise)} = H \cdot W \cdot M \cdot K^2$$",
    "pw.params": block("For the pointwise convolution:",
                       r"$$\text{Params (pointwise)} = M \cdot N$$"),
    "pw.cost": r"$$\text{Cost (pointwise)} = H \cdot W \cdot M \cdot N$$",
    "sep.params": block("For the entire depthwise separable convolution:",
                        r"$$\text{Params (depthwise separable)} = M \cdot K^2 + M \cdot N$$"),
    "sep.cost": r"$$\text{Cost (depthwise separable)} = H \cdot W \cdot M \cdot K^2 + H \cdot "
                r"W \cdot M \cdot N$$",
    "reduces": "The depthwise separable convolution reduces both the number of parameters and "
               "computational cost.",
}


def _subs(pt):
    return {H: pt["H"], W: pt["W"], M: pt["M"], N: pt["N"], K: pt["K"]}


def _model_weights(make, pt) -> int:
    return xla.param_split(xla.abstract(lambda: make(pt)))[0]


def _dw(pt):
    return nnx.Conv(pt["M"], pt["M"], (pt["K"],) * 2, feature_group_count=pt["M"],
                    use_bias=False, rngs=nnx.Rngs(0))


def _pw(pt):
    return nnx.Conv(pt["M"], pt["N"], (1, 1), use_bias=False, rngs=nnx.Rngs(0))


def _sep_derivation(sep: SeparableConv2D, keys: tuple[str, ...]) -> Derivation:
    """Each stage's own formulas, then the separable layer's sum of them."""
    out: list[Step] = []
    for name, part, x in sep.named_parts((H, W, M)):
        own = tuple(k for k in keys if name == "depthwise" or not k.startswith("out_"))
        out += [Step(f"{name}: {s.label}", s.lhs, s.rhs, s.symbol_names)
                for s in steps(part, x, *own)]
    total = tuple(k for k in keys if not k.startswith("out_"))
    return Derivation((*out, *steps(sep, (H, W, M), *total)))


def _general_claims() -> list[Claim]:
    dw = depthwise_conv2d(M, K, padding="SAME", use_bias=False)
    pw = pointwise_conv2d(M, N, use_bias=False)
    sep = SeparableConv2D(M, N, K, padding="SAME", use_bias=False)
    x = (H, W, M)
    cost_keys = ("out_h", "macs_dense")
    rows = [
        ("dw.params", "Params (depthwise) = M * K^2", M * K**2, dw.weight_count(),
         Derivation(steps(dw, x, "weights")), _dw, "M"),
        ("dw.cost", "Cost (depthwise) = H * W * M * K^2", H * W * M * K**2, dw.macs((H, W)),
         Derivation(steps(dw, x, *cost_keys)),
         lambda pt: depthwise_conv2d(pt["M"], pt["K"], padding="SAME", use_bias=False), None),
        ("pw.params", "Params (pointwise) = M * N", M * N, pw.weight_count(),
         Derivation(steps(pw, x, "weights")), _pw, "N"),
        ("pw.cost", "Cost (pointwise) = H * W * M * N", H * W * M * N, pw.macs((H, W)),
         Derivation(steps(pw, x, *cost_keys)),
         lambda pt: pointwise_conv2d(pt["M"], pt["N"], use_bias=False), None),
        ("sep.params", "Params (depthwise separable) = M * K^2 + M * N", M * K**2 + M * N,
         sep.weight_count(), _sep_derivation(sep, ("weights",)),
         lambda pt: nnx.Sequential(_dw(pt), _pw(pt)), "M + N"),
        ("sep.cost", "Cost (depthwise separable) = H * W * M * K^2 + H * W * M * N",
         H * W * M * K**2 + H * W * M * N, sep.macs((H, W)),
         _sep_derivation(sep, ("out_h", "macs_dense")),
         lambda pt: SeparableConv2D(pt["M"], pt["N"], pt["K"], padding="SAME", use_bias=False),
         None),
    ]
    claims = []
    for key, statement, stated, derived, derivation, make, extra in rows:
        if extra is not None:
            check = sample_check("model", "weights in nnx.state of the equivalent Flax layer",
                                 POINTS, lambda pt, d=derived: int(d.subs(_subs(pt))),
                                 lambda pt, make=make: _model_weights(make, pt))
        else:
            check = sample_check("xla", "dense MACs XLA counts (zero-padded input, 'VALID')",
                                 POINTS, lambda pt, d=derived: int(d.subs(_subs(pt))),
                                 lambda pt, make=make: xla_macs(make(pt), (pt["H"], pt["W"],
                                                                          pt["M"]), "dense"))
        claims.append(Claim(
            id=f"q1c.{key}", statement=statement, quote=QUOTE[key], stated=stated,
            derived=derived, unit="weights" if extra else "MACs",
            reading=NO_BIAS.format(extra=extra) if extra else SAME_STRIDE_ONE,
            derivation=derivation, checks=(check,)))
    return claims + _ratio_claims(sep)


def _ratio_claims(sep: SeparableConv2D) -> list[Claim]:
    ratio = sep.ratio("macs", (H, W))
    ratio_params = sep.ratio("params")
    std = sep.standard()
    sep_macs, std_macs = sep.macs((H, W)), std.macs((H, W))
    a, b = sp.symbols("a b", integer=True, nonnegative=True)
    saving = sp.factor(1 - ratio)
    # K = 2 + a, N = 2 + b: every coefficient of the numerator positive proves it > 0.
    numerator = sp.expand(sp.numer(saving).subs({K: 2 + a, N: 2 + b}))
    positive = all(c > 0 for c in sp.Poly(numerator, a, b).coeffs()) and \
        numerator.subs({a: 0, b: 0}) > 0
    steps_ratio = (
        Step("separable over standard (dense MACs)",
             r"\frac{\mathrm{MACs}_{sep}}{\mathrm{MACs}_{std}}",
             sp.Mul(sep_macs, 1 / std_macs, evaluate=False)),
        Step("simplified (SymPy)", r"\frac{\mathrm{MACs}_{sep}}{\mathrm{MACs}_{std}}", ratio))
    paper = 1 / N + 1 / K**2  # Howard et al. 2017, Section 3.1, with D_K = K
    xla_ratio = sample_check(
        "xla", "ratio of XLA's dense MAC counts (separable / standard) equals 1/N + 1/K^2",
        POINTS, lambda pt: sp.Rational(1, pt["N"]) + sp.Rational(1, pt["K"] ** 2),
        lambda pt: sp.Rational(
            xla_macs(SeparableConv2D(pt["M"], pt["N"], pt["K"], padding="SAME", use_bias=False),
                     (pt["H"], pt["W"], pt["M"]), "dense"),
            xla_macs(Conv2D(pt["M"], pt["N"], pt["K"], padding="SAME", use_bias=False),
                     (pt["H"], pt["W"], pt["M"]), "dense")))
    return [
        Claim(
            id="q1c.reduces",
            statement="A depthwise separable convolution has fewer parameters and costs less "
                      "than the standard convolution it replaces.",
            quote=QUOTE["reduces"], stated=True, derived=bool(positive),
            reading="Against Part (a)'s standard K x K layer with the same M, N and K. True for "
                    "every K >= 2 and N >= 2; with a 1 x 1 kernel the 'separable' layer costs "
                    "1 + 1/N times the standard one (it adds a per-channel scaling).",
            derivation=Derivation((*steps_ratio,
                                   Step("weights: the same ratio", r"\frac{w_{sep}}{w_{std}}",
                                        ratio_params),
                                   Step("saving", r"1 - \frac{1}{N} - \frac{1}{K^2}", saving),
                                   Step("numerator at K = 2 + a, N = 2 + b (a, b >= 0)",
                                        r"K^2 N - K^2 - N", numerator))),
            checks=(Check("sympy", "the saving's numerator at K = 2 + a, N = 2 + b is a "
                          "polynomial with positive coefficients and constant term (so > 0)",
                          "symbolic a, b >= 0", bool(positive)),
                    Check("sympy", "the weights' ratio simplifies to the MACs' ratio",
                          "symbolic M, N, K", sp.simplify(ratio_params - ratio) == 0),
                    xla_ratio)),
        Claim(
            id="q1c.ratio",
            statement="By what factor: separable over standard, for MACs and for weights.",
            derived=ratio, cite=("howard2017", "Section 3.1"),
            derivation=Derivation(steps_ratio),
            checks=(Check("paper", "Howard et al. (2017) give the reduction in computation "
                          "1/N + 1/D_K^2 (D_K: kernel size)", "D_K = K",
                          sp.simplify(paper - ratio) == 0),
                    Check("sympy", "params ratio simplifies to the same expression",
                          "symbolic M, N, K", sp.simplify(ratio_params - ratio) == 0),
                    xla_ratio)),
    ]


def _reduction_figure() -> plt.Figure:
    ks = np.arange(1, 8)
    ns = np.array([8, 16, 32, 64, 128, 256, 512, 1024])
    grid = np.array([[100 * (1 - 1 / n - 1 / k**2) for n in ns] for k in ks])
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    norm = TwoSlopeNorm(vmin=min(grid.min(), -1.0), vcenter=0.0, vmax=100.0)
    im = ax.imshow(grid, aspect="auto", origin="lower", cmap="RdBu", norm=norm)
    for (i, j), v in np.ndenumerate(grid):
        shade = float(norm(v))
        ax.text(j, i, f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}", ha="center", va="center",
                fontsize=7, color="white" if shade < 0.15 or shade > 0.75 else "black")
    ax.set_xticks(range(len(ns)), [str(n) for n in ns])
    ax.set_yticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("filters N")
    ax.set_ylabel("kernel K")
    ax.set_title("Saving of a separable layer, 1 - 1/N - 1/K^2 (%); negative: it costs more")
    ax.grid(False)
    bar = fig.colorbar(im, ax=ax, label="% of MACs and weights saved")
    bar.set_ticks([round(norm.vmin), round(norm.vmin / 2), 0, 25, 50, 75, 100])
    return fig


def _resolution_figure() -> plt.Figure:
    sizes = np.array([32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024])
    fig, ax = plt.subplots()
    first = []
    for cfg, label, marker in ((STD, "standard", "o"), (SEP, "layers 2-3 separable", "s")):
        macs = np.array([assignment_stack(cfg.at(int(s), int(s))).macs((int(s), int(s), 3))
                         for s in sizes], dtype=float)
        slope = np.polyfit(np.log(sizes), np.log(macs), 1)[0]
        ax.loglog(sizes, macs, marker + "-", ms=3, label=f"{label} (fitted slope {slope:.2f})")
        first.append(macs[0])
    ref = np.sqrt(first[0] * first[1]) * (sizes / sizes[0]) ** 2  # between the two, not on one
    ax.loglog(sizes, ref, "k:", lw=1, label="slope 2: quadratic in the side")
    ax.set_xlabel("input side H = W (pixels, log scale)")
    ax.set_ylabel("dense MACs (log scale)")
    ax.set_title("Network MACs against input side (flatten + FC(200) head)")
    ax.legend(fontsize=7)
    return fig


def build() -> Proof:
    return Proof(Q, PART, "Depthwise separable convolutions",
                 tuple(_general_claims() + layer_claims()),
                 figures=(
                     Figure("q1c_reduction", "Saving of a depthwise separable convolution "
                            "against a standard one, over filters N and kernel K: 95-96 % for "
                            "the assignment's layers; negative (it costs more) for K = 1.",
                            _reduction_figure),
                     Figure("q1c_resolution", "Dense MACs of the whole network against the "
                            "input side, log-log: both networks grow with the square of the "
                            "side (slope 2).", _resolution_figure),
                 ))
