"""Q1(C) on the assignment's network: each layer's parameters and cost as the source prints
them under "standard" and "depthwise separable", and the reductions it states."""

from __future__ import annotations

import sympy as sp
from flax import nnx

from symconv.algebra import SeparableConv2D
from symconv.algebra.nets.assignment import AssignmentConfig, trunk_stack
from symconv.algebra.symbols import K, N
from symconv.checks import xla
from symconv.checks.measure import xla_macs
from symconv.models.assignment import AssignmentCNN
from symconv.report.proof import Check, Claim, Derivation, Step, decimal

from ._q1_common import block, steps

STD = AssignmentConfig.standard()
SEP = AssignmentConfig.mobilenet_style()
IN = (128, 128, 3)
_HEAD = {1: "- For the first convolutional layer:", 2: "- For the second convolutional layer:",
         3: "- For the third convolutional layer:"}

# The source's words (Q1 part C solution), verbatim, and the values they state (transcribed,
# never used as an expected value in a check).
QUOTE = {
    "std.L1.params": block(_HEAD[1], r"$$\text{Params (standard)} = 5^2 \cdot 3 \cdot 64$$"),
    "std.L1.cost": r"$$\text{Cost (standard)} = 64 \times 64 \times 5^2 \times 3$$",
    "std.L2.params": block(_HEAD[2], r"$$\text{Params (standard)} = 5^2 \cdot 64 + 64 \cdot "
                                     r"128$$"),
    "std.L2.cost": r"$$\text{Cost (standard)} = 32 \times 32 \times 64 \times 5^2 \times 3 + "
                   r"32 \times 32 \times 128 \times 64$$",
    "std.L3.params": block(_HEAD[3], r"$$\text{Params (standard)} = 5^2 \cdot 128 + 128 \cdot "
                                     r"256$$"),
    "std.L3.cost": r"$$\text{Cost (standard)} = 16 \times 16 \times 128 \times 5^2 \times 64 + "
                   r"16 \times 16 \times 256 \times 128$$",
    "sep.L2.params": block("- Parameters:", r"$$\text{Params (depthwise separable)} = 64 \cdot "
                                            r"5^2 + 64 \cdot 128$$"),
    "sep.L2.cost": block("- Computational cost:", r"$$\text{Cost (depthwise separable)} = 32 "
                         r"\cdot 32 \cdot (64 \cdot 5^2 + 64 \cdot 128)$$"),
    "sep.L3.params": block("- Parameters:", r"$$\text{Params (depthwise separable)} = 128 "
                                            r"\cdot 5^2 + 128 \cdot 256$$"),
    "sep.L3.cost": block("- Computational cost:", r"$$\text{Cost (depthwise separable)} = 16 "
                         r"\cdot 16 \cdot (128 \cdot 5^2 + 128 \cdot 256)$$"),
    "reduction.L2.params": "about 86% reduction in the number of parameters",
    "reduction.L2.cost": "91% reduction in computational cost in second layer",
    "reduction.L3.params": "92% reduction in the number of parameters",
    "reduction.L3.cost": "94% reduction in computational cost in the third layer",
}
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
CORRECTION = {
    "std.L1.cost": "The source's product 64 x 64 x 5^2 x 3 = 307,200 has the output size and "
                   "the work of one output (5^2 x 3 taps) but not the N = 64 filters. Each of "
                   "the 64 x 64 x 64 outputs costs 5^2 x 3 MACs: 64 x 64 x 64 x 5^2 x 3 = "
                   "19,660,800, as the source itself writes in Part (b).",
    "std.L2.params": "Under 'Params (standard)' the source adds 5^2 x 64 (one 5 x 5 filter per "
                     "input channel: a depthwise stage) and 64 x 128 (a 1 x 1 pointwise stage): "
                     "9,792 is the depthwise separable count. A standard 5 x 5 convolution from "
                     "64 to 128 channels has one 5 x 5 x 64 filter per output channel: "
                     "5^2 x 64 x 128 = 204,800 weights, the number Part (d) uses.",
    "std.L2.cost": "The source adds 32 x 32 x 64 x 5^2 x 3 (a depthwise term with a stray "
                   "factor 3, layer 1's input channels) and 32 x 32 x 128 x 64 (a pointwise "
                   "term): 13,303,808 is neither layer's cost. The standard layer computes "
                   "32 x 32 x 128 outputs of 5^2 x 64 MACs each: 209,715,200, as in Part (b).",
    "std.L3.params": "Under 'Params (standard)' the source adds 5^2 x 128 (depthwise) and "
                     "128 x 256 (pointwise): 35,968 is the depthwise separable count. A "
                     "standard 5 x 5 convolution from 128 to 256 channels has 5^2 x 128 x 256 = "
                     "819,200 weights, the number Part (d) uses.",
    "std.L3.cost": "The source adds 16 x 16 x 128 x 5^2 x 64 (a depthwise term with a stray "
                   "factor 64, layer 2's input channels) and 16 x 16 x 256 x 128 (a pointwise "
                   "term): 60,817,408 is neither layer's cost. The standard layer computes "
                   "16 x 16 x 256 outputs of 5^2 x 128 MACs each: 209,715,200, as in Part (b).",
}
_XS, _XD = sp.symbols("x_{sep} x_{std}", integer=True, positive=True)


def _by_parts(spec, shape: tuple, keys: tuple[str, ...]) -> Derivation:
    """The layer's formulas for ``keys``; a separable layer's per stage, then their sum."""
    if not isinstance(spec, SeparableConv2D):
        return Derivation(steps(spec, shape, *keys))
    out: list[Step] = []
    for name, part, x in spec.named_parts(shape):
        own = tuple(k for k in keys if name == "depthwise" or not k.startswith("out_"))
        out += [Step(f"{name}: {s.label}", s.lhs, s.rhs, s.symbol_names)
                for s in steps(part, x, *own)]
    return Derivation((*out, *steps(spec, shape, *(k for k in keys if not k.startswith("out_")))))


def _values(layer: int, shape: tuple) -> dict:
    i = 2 * layer - 2
    std_spec, sep_spec = trunk_stack(STD).layers[i], trunk_stack(SEP).layers[i]
    std_row = trunk_stack(STD).table(IN).rows[i]
    sep_row = trunk_stack(SEP).table(IN).rows[i]
    return dict(std=(std_spec, std_row), sep=(sep_spec, sep_row),
                xla=dict(std=xla_macs(std_spec, shape, "dense"),
                         sep=xla_macs(sep_spec, shape, "dense")))


def layer_claims() -> list[Claim]:
    models = {k: xla.abstract(lambda c=c: AssignmentCNN(c, rngs=nnx.Rngs(0)))
              for k, c in (("std", STD), ("sep", SEP))}
    claims, shape, values = [], IN, {}
    for layer in (1, 2, 3):
        v = values[layer] = _values(layer, shape)
        v["w"] = {k: xla.param_split(m.convs[layer - 1])[0] for k, m in models.items()}
        for kind, tag in (("std", "standard"), ("sep", "depthwise separable")):
            key = f"{kind}.L{layer}"
            if f"{key}.params" not in STATED:
                continue
            spec, row = v[kind]
            net = "standard" if kind == "std" else "mobilenet_style"
            claims.append(Claim(
                id=f"q1c.{key}.params",
                statement=f"Layer {layer}, Params ({tag}) as printed in the source.",
                quote=QUOTE[f"{key}.params"], stated=STATED[f"{key}.params"],
                derived=row.weights, unit="weights",
                reading=f"The {tag} layer {layer} of the network; weights only, as the source's "
                        f"formulas (lines 136-148) count them. With a bias per filter: "
                        f"{row.params:,}.",
                correction=CORRECTION.get(f"{key}.params", ""),
                derivation=_by_parts(spec, shape, ("weights",)),
                checks=(Check("model", f"kernel sizes in nnx.state of AssignmentCNN ({net}) "
                              f"layer {layer}", "128x128x3 network",
                              v["w"][kind] == row.weights, f"model: {v['w'][kind]:,}"),)))
            claims.append(Claim(
                id=f"q1c.{key}.cost",
                statement=f"Layer {layer}, Cost ({tag}) as printed in the source.",
                quote=QUOTE[f"{key}.cost"], stated=STATED[f"{key}.cost"],
                derived=row.macs_dense, unit="MACs",
                reading=f"The {tag} layer {layer} in the dense convention (every tap counted), "
                        "as Part (b)."
                        + (" The stride-2 depthwise stage outputs "
                           f"{row.output_shape[0]} x {row.output_shape[1]}." if kind == "sep"
                           else ""),
                correction=CORRECTION.get(f"{key}.cost", ""),
                derivation=_by_parts(spec, shape, ("macs_dense",)),
                checks=(Check("xla", "dense MACs XLA counts for the layer (zero-padded input)",
                              f"input {shape}", v["xla"][kind] == row.macs_dense,
                              f"XLA: {v['xla'][kind]:,}"),)))
        shape = tuple(v["std"][1].output_shape)
    return claims + [_reduction(layer, what, values[layer]) for layer in (2, 3)
                     for what in ("params", "cost")]


def _reduction(layer: int, what: str, v: dict) -> Claim:
    field = "weights" if what == "params" else "macs_dense"
    sep, std = getattr(v["sep"][1], field), getattr(v["std"][1], field)
    exact = 1 - sp.Rational(sep, std)
    pct = int(sp.floor(100 * exact + sp.Rational(1, 2)))
    measured = (1 - sp.Rational(v["w"]["sep"], v["w"]["std"]) if what == "params"
                else 1 - sp.Rational(v["xla"]["sep"], v["xla"]["std"]))
    n, k = v["std"][0].out_features, v["std"][0].kernel_size[0]
    key = f"reduction.L{layer}.{what}"
    noun = "weights" if what == "params" else "dense MACs"
    lhs = r"1 - x_{sep} / x_{std}"
    return Claim(
        id=f"q1c.{key}",
        statement=f"About {STATED[key]}% reduction in "
                  f"{'the number of parameters' if what == 'params' else 'cost'} in layer "
                  f"{layer}.",
        quote=QUOTE[key], stated=STATED[key], derived=pct, unit="%",
        reading="The separable layer against the standard layer of Part (b), "
                f"{noun}; compared after rounding to a whole percent.",
        correction=f"The source says about {STATED[key]}%. The separable layer {layer} has "
                   f"{sep:,} {noun} against the standard layer's {std:,}: 1 - {sep:,}/{std:,} "
                   f"= 1 - 1/{n} - 1/{k}^2 = {float(100 * exact):.2f}% fewer, {pct}% rounded. "
                   "Weights and MACs fall by the same factor 1/N + 1/K^2, so the source's "
                   "different figures for parameters and cost cannot both hold.",
        derivation=Derivation((
            Step(f"reduction: one minus separable over standard {noun}", lhs, 1 - _XS / _XD),
            Step("substitution", lhs, 1 - _XS / _XD, {_XS: sep, _XD: std}),
            Step("exact", lhs, exact),
            Step("the same from the layers' formulas (1/N + 1/K^2 of the standard layer)",
                 r"1 - \frac{1}{N} - \frac{1}{K^2}", 1 - 1 / N - 1 / K**2, {N: n, K: k}),
            Step("in percent", r"100 \cdot (1 - x_{sep} / x_{std})",
                 decimal(float(100 * exact), 2)),
            Step("rounded to a whole percent", r"\%", pct))),
        checks=(Check("sympy", "1 - separable/standard from the algebra equals 1 - 1/N - "
                      "1/K^2 at the layer's N and K", f"N = {n}, K = {k}",
                      exact == 1 - sp.Rational(1, n) - sp.Rational(1, k**2)),
                Check("model" if what == "params" else "xla",
                      "the same reduction from the Flax models' kernel sizes" if
                      what == "params" else "the same reduction from XLA's dense MACs",
                      "standard vs mobilenet_style AssignmentCNN",
                      measured == exact, f"measured {float(100 * measured):.2f}%")))
