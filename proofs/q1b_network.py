"""Q1 part B: the three-layer network on 128x128x3 — output sizes, costs, receptive fields,
and how the number of final-layer neurons depends on the input resolution.

The source's formulas for the output size and the cost hold, and so do its sizes and costs per
layer. Its receptive-field recursion multiplies by the previous layer's stride alone, where the
product of all earlier strides belongs: R_3 is 29, not 21. Its final-layer neuron count grows
with the square of the input side, not linearly (its own fourfold-for-double example says so).
"""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, Stack
from symconv.algebra.conv import CONV_MACS_DENSE, axis_formulas
from symconv.algebra.formula import FormulaBuilder
from symconv.algebra.nets.assignment import AssignmentConfig, trunk_stack
from symconv.algebra.symbols import G, H, Hin, Ho, K, Kh, Kw, M, N, P, S, W, Wo
from symconv.algebra.tidy import tidy
from symconv.checks import xla
from symconv.checks.measure import gradient_support, xla_macs
from symconv.models.assignment import AssignmentCNN
from symconv.report.derive import formula_steps
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step, sample_check
from symconv.report.render.tables import stack_table

from ._q1_common import R_NOTE, block, brute_taps, mu_at, mu_definition, steps
from ._q1_receptive import rf_claims, rf_figure
from ._train_step import train_step_claim

Q, PART = "Q1", "b"
CFG = AssignmentConfig.standard()
IN = (*CFG.input_hw, CFG.in_features)
ORDINAL = {1: "first", 2: "second", 3: "third"}

# The source's words (Q1 part B solution), verbatim.
QUOTE_SIZE_FORMULA = block(
    "The output size for a convolutional layer is given by:",
    r"$$H' = \left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1,$$",
    r"$$W' = \left\lfloor \frac{W + 2P - K}{S} \right\rfloor + 1,$$")
QUOTE_COST_FORMULA = block(
    "The computational cost (number of multiply-accumulate operations) for a single "
    "convolutional layer is:",
    r"$$\text{Cost} = H' \cdot W' \cdot N \cdot K^2 \cdot M,$$")
QUOTE_SIZE = {
    layer: block(f"- For the {ORDINAL[layer]} convolutional layer:",
                 rf"$$H' = W' = \left\lfloor \frac{{{n} + 2 \cdot 2 - 5}}{{2}} \right\rfloor "
                 rf"+ 1 = {o}.$$", f"Number of output channels: $N = {c}$.")
    for layer, n, o, c in ((1, 128, 64, 64), (2, 64, 32, 128), (3, 32, 16, 256))}
QUOTE_COST = {1: r"$$\text{Cost} = 64 \times 64 \times 64 \times 5^2 \times 3$$",
              2: r"$$\text{Cost} = 32 \times 32 \times 128 \times 5^2 \times 64$$",
              3: r"$$\text{Cost} = 16 \times 16 \times 256 \times 5^2 \times 128$$"}
QUOTE_LARGER = ("As the input resolution increases, each convolutional layer produces larger "
                "feature maps.")
QUOTE_LINEAR = ("Because the stride reduces the spatial dimensions of the feature maps by a "
                "factor of 2 at each layer, the number of neurons in the final layer scales "
                "approximately linearly with the input resolution.")
QUOTE_FOURFOLD = ("For example, doubling the input resolution will roughly double the height "
                  "and width of the feature maps at every layer, leading to a fourfold increase "
                  "in the number of neurons in the final layer.")

# What the source states, transcribed (never used as an expected value in a check).
STATED_SIZE = {1: (64, 64, 64), 2: (32, 32, 128), 3: (16, 16, 256)}
STATED_COST = {1: 64 * 64 * 64 * 5**2 * 3, 2: 32 * 32 * 128 * 5**2 * 64,
               3: 16 * 16 * 256 * 5**2 * 128}
# Points for the general formulas: strides 1-3, paddings 0-3, odd and even kernels.
POINTS = [dict(H=h, W=w, M=m, N=n, K=k, S=s, P=pad) for h, w, m, n, k, s, pad in
          [(11, 9, 2, 3, 3, 2, 1), (12, 12, 3, 2, 5, 2, 2), (10, 7, 1, 4, 4, 3, 0),
           (9, 13, 2, 2, 3, 1, 3), (16, 15, 3, 3, 5, 3, 1)]]


def _conv(pt: dict) -> Conv2D:
    return Conv2D(pt["M"], pt["N"], pt["K"], strides=pt["S"], padding=pt["P"], use_bias=False)


def _at(expr, pt: dict) -> int:
    return int(expr.subs({H: pt["H"], W: pt["W"], M: pt["M"], N: pt["N"], K: pt["K"],
                          S: pt["S"], P: pt["P"]}))


def _general_axes() -> tuple:
    """The Conv2D layer's own output-size formulas for both axes, with symbolic K, S and P on
    each side (its axis formulas without the exact taps, which SymPy would sum symbolically)."""
    f = FormulaBuilder("Conv2D")
    gh = axis_formulas(f, "height", H, K, S, 1, (P, P), with_taps=False)
    gw = axis_formulas(f, "width", W, K, S, 1, (P, P), with_taps=False)
    built = f.build((gh.out, gw.out, N))
    return (gh.out, gw.out), tuple(s for item in built.items for s in formula_steps(item))


def _formula_claims() -> list[Claim]:
    (out_h, out_w), size_steps = _general_axes()
    stated_hw = (sp.floor((H + 2 * P - K) / S) + 1, sp.floor((W + 2 * P - K) / S) + 1)
    square = {Kh: K, Kw: K, G: 1}
    per_layer = CONV_MACS_DENSE.subs(square)
    stated_cost = Ho * Wo * N * K**2 * M
    return [
        Claim(
            id="q1b.size.formula",
            statement="Output size of a convolution with kernel K, stride S and padding P on "
                      "each side: floor((H + 2P - K)/S) + 1 (and the same for W).",
            quote=QUOTE_SIZE_FORMULA, stated=stated_hw, derived=(out_h, out_w),
            reading="P pixels of padding on each side, no dilation (as in the network).",
            derivation=Derivation(size_steps),
            checks=(
                Check("sympy", "the source's formula minus the layer's general formula "
                      "(P_lo = P_hi = P, D = 1) simplifies to 0", "symbolic H, W, K, S, P",
                      all(sp.simplify(a - b) == 0 for a, b in zip(stated_hw, (out_h, out_w)))),
                sample_check("model", "output height and width of jax.eval_shape of nnx.Conv "
                             "(explicit padding P) equal the formula", POINTS,
                             lambda pt: (_at(out_h, pt), _at(out_w, pt)),
                             lambda pt: tuple(xla.output_shape(
                                 xla.abstract(lambda: nnx.Conv(
                                     pt["M"], pt["N"], (pt["K"],) * 2, pt["S"], padding=pt["P"],
                                     use_bias=False, rngs=nnx.Rngs(0))),
                                 (1, pt["H"], pt["W"], pt["M"]), sympy=False)[1:3])),
            )),
        Claim(
            id="q1b.cost.formula",
            statement="A convolution costs H' * W' * N * K^2 * M multiply-accumulates.",
            quote=QUOTE_COST_FORMULA, stated=stated_cost, derived=per_layer, unit="MACs",
            reading="Dense convention: every tap counted, also those on padded zeros.",
            derivation=Derivation((
                Step("MACs (dense): general formula", r"\mathrm{MACs}_{dense}", CONV_MACS_DENSE),
                Step("square kernel K_h = K_w = K, no groups (G = 1)", r"\mathrm{MACs}_{dense}",
                     CONV_MACS_DENSE, square),
                Step("result", r"\mathrm{MACs}_{dense}", per_layer))),
            checks=(
                Check("sympy", "the source's formula minus the layer's (K_h = K_w = K, G = 1) "
                      "simplifies to 0", "symbolic H', W', N, K, M",
                      sp.simplify(stated_cost - per_layer) == 0),
                sample_check("xla", "MACs XLA counts on an explicitly zero-padded input "
                             "('VALID': every tap real) equal H' W' N K^2 M", POINTS,
                             lambda pt: int(per_layer.subs({
                                 Ho: _at(out_h, pt), Wo: _at(out_w, pt), N: pt["N"],
                                 K: pt["K"], M: pt["M"]})),
                             lambda pt: xla_macs(_conv(pt), (pt["H"], pt["W"], pt["M"]),
                                                 "dense")),
            )),
    ]


def _size_claims(table, stage_shapes) -> list[Claim]:
    claims = []
    for layer in (1, 2, 3):
        row = table.rows[2 * layer - 2]
        conv = trunk_stack(CFG).layers[2 * layer - 2]
        x = IN if layer == 1 else tuple(table.rows[2 * layer - 4].output_shape)
        claims.append(Claim(
            id=f"q1b.size.L{layer}",
            statement=f"Layer {layer} outputs {' x '.join(map(str, STATED_SIZE[layer]))}.",
            quote=QUOTE_SIZE[layer], stated=STATED_SIZE[layer], derived=tuple(row.output_shape),
            derivation=Derivation(steps(conv, x, "out_h", "shape")),
            checks=(Check("model", "jax.eval_shape of AssignmentCNN.features (Flax NNX), stage "
                          f"'conv{layer}'", "input 1x128x128x3",
                          stage_shapes[f"conv{layer}"] == tuple(row.output_shape),
                          f"eval_shape gave {stage_shapes[f'conv{layer}']}"),)))
    return claims


def _exact_steps(conv: Conv2D, shape: tuple, o: int, first: bool) -> tuple[Step, ...]:
    """Overshoot r, mu at both ends (defined and counted term by term for the first layer),
    real taps along the height (the width is the same), exact MACs."""
    (lo, hi), _ = conv.padding
    r = next(f.value for f in conv.derivation(shape).items if f.key == "overshoot_h")
    if first:
        lost = (mu_definition(), *mu_at(conv, 0, lo, o), *mu_at(conv, 0, hi - r, o))
    else:
        lost = tuple(Step(f"mu({v}), counted as for layer 1", rf"\mu({v})",
                          mu_at(conv, 0, v, o)[-1].rhs) for v in (lo, hi - r))
    return (*steps(conv, shape, "overshoot_h"), *lost,
            *steps(conv, shape, "taps_h", "macs_exact"))


def _cost_claims(table) -> list[Claim]:
    claims = []
    trunk = trunk_stack(CFG)
    shape = IN
    for layer in (1, 2, 3):
        conv = trunk.layers[2 * layer - 2]
        row = table.rows[2 * layer - 2]
        o = row.output_shape[0]
        dense_xla = xla_macs(conv, shape, "dense")
        exact_xla = xla_macs(conv, shape, "exact")
        claims.append(Claim(
            id=f"q1b.cost.L{layer}",
            statement=f"Layer {layer} costs {o} x {o} x {conv.out_features} x 5^2 x "
                      f"{conv.in_features} multiply-accumulates.",
            quote=QUOTE_COST[layer], stated=STATED_COST[layer], derived=row.macs_dense,
            unit="MACs", reading="Dense convention, as the formula of line 71.",
            derivation=Derivation(steps(conv, shape, "macs_dense")),
            checks=(Check("xla", "MACs XLA counts for the layer on an explicitly zero-padded "
                          "input with 'VALID' padding (every tap real)", f"input {shape}",
                          dense_xla == row.macs_dense, f"XLA: {dense_xla:,}"),)))
        (lo, _hi), _ = conv.padding
        taps = brute_taps(shape[0], 5, conv.strides[0], 1, lo, o)
        claims.append(_exact_claim(layer, conv, shape, row, exact_xla, taps))
        shape = tuple(row.output_shape)
    return claims


def _exact_claim(layer, conv, shape, row, exact_xla, taps) -> Claim:
    o = row.output_shape[0]
    k = conv.kernel_size[0]
    (lo, hi), _ = conv.padding
    wrong = o * k - lo * (lo + 1) // 2 - (hi - 1) * hi // 2
    lost = row.macs_dense - row.macs_exact
    return Claim(
        id=f"q1b.cost_exact.L{layer}",
        statement=f"Layer {layer} without the taps on zero padding (what XLA counts).",
        derived=row.macs_exact, unit="MACs",
        note=f"{R_NOTE} Here r = 1, so the high side loses mu(1), not mu(2). Per axis "
             f"{k} x {o} = {k * o} (output, tap) pairs lose mu(2) + mu(1) = 3, leaving "
             f"{k * o - 3}. Q1(A)'s shortcut mu(p) = p(p+1)/2 assumes stride 1: at stride 2 "
             "the outputs move 2 pixels at a time, so of the taps that fall short of 2 pixels "
             "only output 0's taps 0 and 1 remain (mu(2) = 2); p(p+1)/2 = 3 also counts "
             "output 1's tap 0, which at stride 2 reads pixel 0, real input. The shortcut "
             f"gives {k * o} - 3 - 1 = {wrong} taps per axis instead of {k * o - 3}. In all, "
             f"{lost:,} of the dense MACs ({100 * lost / row.macs_dense:.1f}%) multiply "
             "padded zeros.",
        derivation=Derivation(_exact_steps(conv, shape, o, layer == 1)),
        checks=(Check("xla", "MACs in the lowered HLO cost analysis of nnx.Conv",
                      f"input {shape}", exact_xla == row.macs_exact, f"XLA: {exact_xla:,}"),
                Check("numpy", "taps per axis counted by enumerating the (output, tap) pairs "
                      "that read a real pixel", f"input {shape}",
                      taps**2 * conv.in_features * conv.out_features == row.macs_exact,
                      f"{taps} taps per axis")))


def _neuron_claims() -> list[Claim]:
    trunk = trunk_stack(CFG)
    h, w, c = trunk.output_shape((H, W, 3))
    neurons = c * h * w
    model = xla.abstract(lambda: _TrunkModule(AssignmentCNN(CFG, rngs=nnx.Rngs(0))))
    jax_shape = xla.output_shapes(model, "B, H, W, 3")[-1]
    jax_neurons = sp.Mul(*jax_shape[1:])
    same = sp.simplify(tidy(jax_neurons) - neurons) == 0
    t = sp.Symbol("t", integer=True, positive=True)
    at_multiple = sp.expand(neurons.subs({H: 8 * t, W: 8 * t}))
    doubled = sp.simplify(neurons.subs({H: 16 * t, W: 16 * t}) / at_multiple)
    exponent = sp.degree(at_multiple, t)
    sides = {s: _stage_sides(model, s) for s in range(8, 41)}
    counts = {k: 256 * sides[8 * k][-1] ** 2 for k in range(1, 6)}
    per_layer = [sp.ceiling(H / 2**i) for i in (1, 2, 3)]
    monotone = all(sides[s + 1][i] >= sides[s][i] for s in range(8, 40) for i in range(3))
    strictly = all(sides[s + 8][i] > sides[s][i] for s in range(8, 33) for i in range(3))
    formula = Derivation((
        *steps(trunk.layers[0], (Hin, Hin, 3), "out_h"),
        Step("three layers: ceilings of ceilings", r"\lceil\lceil\lceil H/2\rceil/2\rceil/2"
             r"\rceil", h),
        Step("neurons of the final layer: N_3 H_3 W_3", "n(H, W)", neurons)))
    return [
        Claim(
            id="q1b.neurons.formula",
            statement="Number of neurons in the final layer as a function of the input size.",
            derived=neurons, derivation=formula,
            checks=(Check("model", "product of the dims of jax.eval_shape of the Flax trunk with "
                          "symbolic B, H, W (jax.export) equals the closed form (SymPy)",
                          "symbolic H, W", same, f"JAX: {jax_neurons}"),)),
        Claim(
            id="q1b.neurons.larger",
            statement="As the input grows, each layer's feature maps grow.",
            quote=QUOTE_LARGER, stated=True, derived=monotone and strictly,
            reading="'Larger' read as never smaller, and larger by a pixel for every 2^l more "
                    "input pixels: layer l outputs ceil(H/2^l) per axis, so 127 and 128 both "
                    "give 64 after layer 1.",
            derivation=Derivation(tuple(
                Step(f"layer {i} output side", f"H_{i}", e) for i, e in enumerate(per_layer, 1))),
            checks=(Check("model", "per-layer output sides from jax.eval_shape of the Flax "
                          "trunk never shrink as H = W grows by 1, and grow when it grows by 8",
                          "H = W = 8..40", monotone and strictly,
                          f"sides at 8, 9, 16: {sides[8]}, {sides[9]}, {sides[16]}"),)),
        Claim(
            id="q1b.neurons.growth",
            statement="The number of neurons in the final layer scales approximately linearly "
                      "with the input resolution (exponent of the side length).",
            quote=QUOTE_LINEAR, stated=1, derived=exponent,
            reading="'Resolution' as the side length H = W, the quantity the next sentence "
                    "doubles ('double the height and width').",
            correction="The source says the final-layer neuron count grows linearly with the "
                       "resolution. Each stride-2 layer halves both the height and the width, "
                       "so the count is 256 ceil(H/8) ceil(W/8): with H = W it grows with the "
                       "square of the side (exponent 2). Doubling the side multiplies it by 4, "
                       "as the source's own next sentence says. It is linear only in the number "
                       "of pixels H W.",
            derivation=Derivation((*formula.steps[-1:],
                                   Step("at H = W = 8t", "n", at_multiple),
                                   Step("degree in t", r"\deg_t n", exponent))),
            checks=(Check("model", "jax.eval_shape neuron counts n(8t) of the Flax trunk grow "
                          "as t**exponent: n(8t) / t**exponent is the same for every t",
                          "t = 1..5", len({sp.Rational(counts[t], t**exponent)
                                           for t in counts}) == 1,
                          f"neurons at 8t: {counts}"),)),
        Claim(
            id="q1b.neurons.doubling",
            statement="Doubling the input resolution gives a fourfold increase in the number of "
                      "neurons in the final layer.",
            quote=QUOTE_FOURFOLD, stated=4, derived=doubled,
            reading="Exact when H and W are multiples of 8; otherwise the ceilings make it "
                    "approximate (e.g. 100 -> 200 gives 625/169 = 3.70), which the source's "
                    "'roughly' allows.",
            derivation=Derivation((
                Step("at H = W = 8t", "n", at_multiple),
                Step("at H = W = 16t", "n", sp.expand(neurons.subs({H: 16 * t, W: 16 * t}))),
                Step("ratio", "n(16t)/n(8t)", doubled))),
            checks=(Check("model", "n(2H)/n(H) from jax.eval_shape of the Flax trunk at "
                          "concrete sizes equals the derived ratio", "H = W = 8, 16",
                          sp.Rational(counts[2], counts[1]) == doubled,
                          f"neurons at 8t: {counts}"),)),
    ]


def _stage_sides(model, side: int) -> tuple[int, ...]:
    """Output side of each layer of the Flax trunk (jax.eval_shape) on a side x side image."""
    return tuple(int(s[1]) for s in xla.output_shapes(model, (1, side, side, 3), sympy=False))


class _TrunkModule(nnx.Module):
    """The Flax trunk of AssignmentCNN as a callable on images: every stage's output."""

    def __init__(self, net):
        self.net = net

    def __call__(self, x):
        outs = []
        for conv in self.net.convs:
            x = jax.nn.relu(conv(x))
            outs.append(x)
        return tuple(outs)


def _neurons_figure() -> plt.Figure:
    t = trunk_stack(CFG)
    h, w, c = t.output_shape((H, W, 3))
    every = np.arange(8, 2049)
    count = sp.lambdify(H, (c * h * w).subs(W, H), "numpy")
    sides = np.unique(8 * np.round(np.geomspace(1, 256, 24)).astype(int))
    counts = np.array([int(np.prod(t.output_shape((int(s), int(s), 3)))) for s in sides])
    slope = np.polyfit(np.log(sides), np.log(counts), 1)[0]
    fig, ax = plt.subplots()
    ax.loglog(every, count(every), "-", lw=0.6, color="0.6",
              label="every side: 256 ceil(H/8)^2 (steps of the ceilings)")
    ax.loglog(sides, counts, "o", ms=3, label=f"H = 8t (fitted slope {slope:.2f})")
    ax.loglog(sides, counts[0] * sides / sides[0], "--", lw=1,
              label="slope 1: linear in the side")
    ax.loglog(sides, counts[0] * (sides / sides[0]) ** 2, ":", lw=1.2,
              label="slope 2: quadratic in the side")
    ax.set_xlabel("input side H = W (pixels, log scale)")
    ax.set_ylabel("neurons in the final layer (log scale)")
    ax.set_title("Final-layer neurons against the input side")
    ax.legend(fontsize=7)
    return fig


def build() -> Proof:
    table = trunk_stack(CFG).table(IN)
    model = xla.abstract(lambda: AssignmentCNN(CFG, rngs=nnx.Rngs(0)))
    stage_shapes = _model_stage_shapes(model)
    claims = (_formula_claims() + _size_claims(table, stage_shapes) + _cost_claims(table)
              + rf_claims(table, CFG, IN, _gradient_rows) + _neuron_claims()
              + [train_step_claim("q1b.train_step", "assignment")])
    return Proof(Q, PART, "The three-layer network: sizes, costs, receptive fields",
                 tuple(claims),
                 figures=(Figure("q1b_receptive_field", "Receptive field by layer: derived "
                                 "(r = 5, 13, 29) against the source's recursion (5, 13, 21).",
                                 lambda: rf_figure(table)),
                          Figure("q1b_neurons", "Final-layer neurons against the input side, "
                                 "log-log: the points follow the slope-2 line (quadratic), not "
                                 "the slope-1 line the source's 'linearly' would give.",
                                 _neurons_figure)),
                 tables=(stack_table(table, "Per-layer table at 128x128x3"),))


def _model_stage_shapes(model) -> dict:
    graphdef, state = nnx.split(model)
    x = jax.ShapeDtypeStruct((1, *IN), jax.numpy.float32)
    shapes = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x), state, x)
    return {k: tuple(v.shape[1:]) for k, v in shapes.items()}


def _gradient_rows(layer: int, unit: tuple[int, int]) -> tuple[int, int]:
    sub = Stack(trunk_stack(CFG).layers[: 2 * layer], trunk_stack(CFG).names[: 2 * layer])
    rows, _ = gradient_support(sub, IN, unit)
    return rows

