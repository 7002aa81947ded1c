"""Q1 part B: the three-layer network on 128x128x3 — output sizes, costs, receptive fields,
and how the number of final-layer neurons depends on the input resolution.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import sympy as sp
from flax import nnx

from symconv.algebra import Stack, receptive
from symconv.algebra.nets.assignment import AssignmentConfig, trunk_stack
from symconv.algebra.symbols import H, W
from symconv.algebra.tidy import tidy
from symconv.checks import xla
from symconv.checks.measure import gradient_support, predicted_window, xla_macs
from symconv.models.assignment import AssignmentCNN
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step
from symconv.report.render.tables import stack_table

Q, PART = "Q1", "b"
CFG = AssignmentConfig.standard()
IN = (*CFG.input_hw, CFG.in_features)
K_, S_, P_, N_, M_ = (sp.Symbol(s, integer=True, positive=True) for s in "KSPNM")
Hin = sp.Symbol("H_{in}", integer=True, positive=True)

# What the source states, transcribed (never used as an expected value in a check).
STATED_SIZE = {1: 64, 2: 32, 3: 16}
STATED_COST = {1: 64 * 64 * 64 * 5**2 * 3, 2: 32 * 32 * 128 * 5**2 * 64,
               3: 16 * 16 * 256 * 5**2 * 128}
STATED_RF = {1: 5, 2: 13, 3: 21}


def _model_stage_shapes(cfg: AssignmentConfig) -> dict:
    model = xla.abstract(lambda: AssignmentCNN(cfg, rngs=nnx.Rngs(0)))
    import jax
    import jax.numpy as jnp

    graphdef, state = nnx.split(model)
    x = jax.ShapeDtypeStruct((1, *cfg.input_hw, cfg.in_features), jnp.float32)
    shapes = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x), state, x)
    return {k: tuple(v.shape[1:]) for k, v in shapes.items()}


def _size_claims(table, stage_shapes) -> list[Claim]:
    claims = []
    for layer in (1, 2, 3):
        row = table.rows[2 * layer - 2]
        conv = trunk_stack(CFG).layers[2 * layer - 2]
        x = IN if layer == 1 else tuple(table.rows[2 * layer - 4].output_shape)
        claims.append(Claim(
            id=f"q1b.size.L{layer}",
            statement=f"Layer {layer}: H' = W' = {STATED_SIZE[layer]} (output "
                      f"{STATED_SIZE[layer]} x {STATED_SIZE[layer]} x {conv.out_features}).",
            stated=STATED_SIZE[layer], derived=row.output_shape[0],
            derivation=derive(conv, x, keys=("out_h",)),
            checks=(Check("model", "jax.eval_shape of AssignmentCNN.features (Flax NNX), stage "
                          f"'conv{layer}'", "input 1x128x128x3",
                          stage_shapes[f"conv{layer}"] == tuple(row.output_shape),
                          f"eval_shape gave {stage_shapes[f'conv{layer}']}"),),
        quote="TODO", correction="TODO"))
    return claims


def _cost_claims(table) -> list[Claim]:
    claims = []
    trunk = trunk_stack(CFG)
    shape = IN
    for layer in (1, 2, 3):
        conv = trunk.layers[2 * layer - 2]
        row = table.rows[2 * layer - 2]
        oh = row.output_shape[0]
        dense_xla = xla_macs(conv, shape, "dense")
        exact_xla = xla_macs(conv, shape, "exact")
        claims.append(Claim(
            id=f"q1b.cost.L{layer}",
            statement=f"Layer {layer} costs {oh} x {oh} x {conv.out_features} x 5^2 x "
                      f"{conv.in_features} multiply-accumulates.",
            stated=STATED_COST[layer], derived=row.macs_dense, unit="MACs",
            derivation=derive(conv, shape, keys=("out_h", "out_w", "macs_dense")),
            checks=(Check("xla", "MACs XLA counts for the layer on an explicitly zero-padded "
                          "input with 'VALID' padding (every tap real)", f"input {shape}",
                          dense_xla == row.macs_dense, f"XLA: {dense_xla:,}"),),
        quote="TODO", correction="TODO"))
        claims.append(Claim(
            id=f"q1b.cost_exact.L{layer}",
            statement=f"Layer {layer} without the taps on zero padding (what XLA counts).",
            stated=None, derived=row.macs_exact, unit="MACs",
            note=f"{row.macs_dense - row.macs_exact:,} of the dense MACs "
                 f"({100 * (row.macs_dense - row.macs_exact) / row.macs_dense:.1f}%) "
                 "multiply padded zeros.",
            derivation=derive(conv, shape, keys=("overshoot_h", "taps_h", "overshoot_w", "taps_w",
                                                 "macs_exact")),
            checks=(Check("xla", "MACs in the lowered HLO cost analysis of nnx.Conv",
                          f"input {shape}", exact_xla == row.macs_exact,
                          f"XLA: {exact_xla:,}"),),
        ))
        shape = tuple(row.output_shape)
    return claims


def _rf_claims(table) -> list[Claim]:
    fields = [table.rows[2 * i].field_h for i in range(3)]
    # The source's recursion uses the stride of the previous layer only; the correct one uses
    # the product of all earlier strides (the jump).
    ks = sp.symbols("K_1:4", integer=True, positive=True)
    ss = sp.symbols("S_1:4", integer=True, positive=True)
    source_r, right_r = 1, receptive.closed_form(ks, ss)
    prev_s = 1
    for k, s in zip(ks, ss):
        source_r = source_r + (k - 1) * prev_s
        prev_s = s
    sym_stack = [receptive.Window(k, s, 1, 0) for k, s in zip(ks, ss)]
    f = receptive.IDENTITY
    for wdw in sym_stack:
        f = receptive.step(f, wdw)
    recursion_is_closed_form = sp.expand(f.size - right_r) == 0
    claims = [Claim(
        id="q1b.rf.formula",
        statement="R_l = R_{l-1} + (K - 1) * S_{l-1}, S_{l-1} the stride of the previous layer.",
        stated=sp.expand(source_r), derived=right_r,
        note="The increment is (K_l - 1) times the product of *all* earlier strides (the jump "
             "j_{l-1}), not the previous stride alone; the two agree for the first two layers "
             "only.",
        derivation=Derivation((
            Step("recursion", "R_l", sp.Symbol("R_{l-1}") + (sp.Symbol("K_l") - 1)
                 * sp.Symbol("j_{l-1}")),
            Step("jump", "j_{l}", sp.Symbol("j_{l-1}") * sp.Symbol("S_l")),
            Step("unrolled, 3 layers", "R_3", right_r),
        )),
        checks=(Check("sympy", "the recursion (symconv.algebra.receptive.step) expands to the "
                      "closed form 1 + sum (K_l - 1) prod_{i<l} S_i", "symbolic K_1..3, S_1..3",
                      recursion_is_closed_form),),
    quote="TODO", correction="TODO")]
    n = IN[0]
    for layer, fld in enumerate(fields, 1):
        unit = (min(3, table.rows[2 * layer - 2].output_shape[0] - 1),) * 2
        sub = Stack(trunk_stack(CFG).layers[: 2 * layer], trunk_stack(CFG).names[: 2 * layer])
        (r0, r1), _ = gradient_support(sub, IN, unit)
        p0, p1 = predicted_window(fld.size, fld.jump, fld.start, unit[0], n)
        claims.append(Claim(
            id=f"q1b.rf.L{layer}",
            statement=f"Receptive field of layer {layer}: R_{layer} = {STATED_RF[layer]}.",
            stated=STATED_RF[layer], derived=fld.size, unit="pixels",
            derivation=Derivation((
                Step("closed form", "R_L", sp.Symbol(r"1 + \sum_l (K_l - 1) \prod_{i<l} S_i")),
                Step("result", f"R_{layer}", receptive.closed_form([5] * layer, [2] * layer)),
            )),
            checks=(Check("model", "rows where d y[0, i, j, 0] / d x != 0 in the Flax network "
                          "(positive weights, ones input) equal the predicted window",
                          f"unit {unit}, input 128x128", (r0, r1) == (p0, p1),
                          f"gradient rows {r0}..{r1}, predicted {p0}..{p1}"),),
        quote="TODO", correction="TODO"))
    return claims


def _neuron_claims() -> list[Claim]:
    trunk = trunk_stack(CFG)
    h, w, c = trunk.output_shape((H, W, 3))
    neurons = c * h * w
    model = xla.abstract(lambda: _Trunk(CFG))
    jax_shape = xla.output_shape(model, "B, H, W, 3")
    jax_neurons = sp.Mul(*jax_shape[1:])
    same = sp.simplify(tidy(jax_neurons) - neurons) == 0
    t = sp.Symbol("t", integer=True, positive=True)
    at_multiple = sp.expand(neurons.subs({H: 8 * t, W: 8 * t}))
    doubled = sp.simplify(neurons.subs({H: 16 * t, W: 16 * t}) / at_multiple)
    exponent = sp.degree(at_multiple, t)
    counts = {k: _concrete_neurons(model, 8 * k) for k in range(1, 13)}
    return [
        Claim(
            id="q1b.neurons.formula",
            statement="Number of neurons in the final layer as a function of the input size.",
            stated=None, derived=neurons,
            derivation=Derivation((
                Step("per layer", "H'", sp.floor((Hin - 1) / 2) + 1),
                Step("identity", "H'", sp.ceiling(Hin / 2)),
                Step("three layers", r"\lceil\lceil\lceil H/2\rceil/2\rceil/2\rceil", h),
                Step("result", "n(H, W)", neurons),
            )),
            checks=(Check("model", "product of the dims of jax.eval_shape of the Flax trunk with "
                          "symbolic B, H, W (jax.export) equals the closed form (SymPy)",
                          "symbolic H, W", same, f"JAX: {jax_neurons}"),),
        ),
        Claim(
            id="q1b.neurons.doubling",
            statement="Doubling the input resolution gives a fourfold increase in the number of "
                      "neurons in the final layer.",
            stated=4, derived=doubled,
            note="Exact when H and W are multiples of 8; otherwise the ceilings make it "
                 "approximate (e.g. 100 -> 200 gives 625/169 = 3.70).",
            derivation=Derivation((
                Step("at H = W = 8t", "n", at_multiple),
                Step("ratio", "n(16t)/n(8t)", doubled),
            )),
            checks=(Check("model", "n(2H)/n(H) from jax.eval_shape of the Flax trunk at "
                          "concrete sizes equals the derived ratio",
                          "H = W = 8t, t = 1..6", all(
                              sp.Rational(counts[2 * t], counts[t]) == doubled
                              for t in range(1, 7)), f"neurons at 8t: {counts}"),),
        quote="TODO", correction="TODO"),
        Claim(
            id="q1b.neurons.growth",
            statement="The number of neurons in the final layer scales approximately linearly "
                      "with the input resolution (exponent of the side length).",
            stated=1, derived=exponent,
            note="Linear in the number of pixels H*W, quadratic in the side length — as the "
                 "source's own 'fourfold for double the resolution' shows. The statement holds "
                 "only if 'resolution' means pixel count.",
            derivation=Derivation((Step("at H = W = 8t", "n", at_multiple),
                                   Step("degree in t", r"\deg_t n", exponent))),
            checks=(Check("model", "jax.eval_shape neuron counts n(8t) of the Flax trunk grow "
                          "as t**exponent: n(8t) / t**exponent is the same for every t",
                          "t = 1..12", len({sp.Rational(counts[t], t**exponent)
                                            for t in range(1, 13)}) == 1,
                          f"neurons at 8t: {counts}"),),
        quote="TODO", correction="TODO"),
    ]


def _concrete_neurons(model, side: int) -> int:
    shape = xla.output_shape(model, (1, side, side, 3), sympy=False)
    return int(shape[1] * shape[2] * shape[3])


class _Trunk:
    """The Flax trunk of AssignmentCNN as a callable on images (for symbolic eval_shape)."""

    def __new__(cls, cfg):
        net = AssignmentCNN(cfg, rngs=nnx.Rngs(0))
        return _TrunkModule(net)


class _TrunkModule(nnx.Module):
    def __init__(self, net):
        self.net = net

    def __call__(self, x):
        import jax

        for conv in self.net.convs:
            x = jax.nn.relu(conv(x))
        return x


def _rf_figure() -> plt.Figure:
    table = trunk_stack(CFG).table(IN)
    rows = [r for r in table.rows if r.kind != "ReLU"]
    fig, ax = plt.subplots()
    layers = range(1, len(rows) + 1)
    ax.plot(layers, [r.field_h.size for r in rows], "o-", label="receptive field r (derived)")
    ax.plot(layers, [STATED_RF[i] for i in layers], "s--", label="source's R_l")
    ax.plot(layers, [r.field_h.jump for r in rows], "^:", label="jump j (effective stride)")
    ax.set_xticks(list(layers))
    ax.set_xlabel("conv layer")
    ax.set_ylabel("input pixels")
    ax.legend()
    ax.set_title("Receptive field growth, three 5x5 stride-2 convs")
    return fig


def build() -> Proof:
    table = trunk_stack(CFG).table(IN)
    stage_shapes = _model_stage_shapes(CFG)
    claims = _size_claims(table, stage_shapes) + _cost_claims(table) + _rf_claims(table) \
        + _neuron_claims()
    return Proof(Q, PART, "The three-layer network: sizes, costs, receptive fields",
                 tuple(claims),
                 figures=(Figure("q1b_receptive_field", "Receptive field by layer: derived "
                                 "(r = 5, 13, 29) against the source's recursion (5, 13, 21).",
                                 _rf_figure),),
                 tables=(stack_table(table, "Per-layer table at 128x128x3"),))
