"""Q1 part D: a flatten + FC(200) + softmax head — its parameters against the convolutions',
and how global average pooling or a 1x1 reduction shrink it.

The source's FC count holds (13,107,400). Its "total number of parameters" of each approach
adds layers 2-3 and the FC layer only: layer 1 is left out. The source counts its convolutions
without bias (its formulas in Part (c) have no bias term) and the FC layer with; the toolkit
counts the same network (``use_bias=False`` for the convolutions) and says what a bias per
filter would add.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import Flatten
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.checks import xla
from symconv.models.assignment import AssignmentCNN
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step
from symconv.report.render.tables import stack_table

from ._q1_common import block, steps
from ._q1d_heads import head_claims

Q, PART = "Q1", "d"
IN = (128, 128, 3)
# The convolutions without bias, as the source counts them; the FC layer has its biases.
VARIANTS = {
    "standard": AssignmentConfig.standard(use_bias=False),
    "separable": AssignmentConfig.mobilenet_style(use_bias=False),
    "gap": AssignmentConfig.standard(head="gap", use_bias=False),
    "reduce": AssignmentConfig.standard(head="reduce", use_bias=False),
}
WITH_BIAS = {"standard": AssignmentConfig.standard(),
             "separable": AssignmentConfig.mobilenet_style()}
CONV_READING = ("Convolutions without bias, as the source counts them (its formulas in Part (c) "
                "have no bias term); a bias per filter would add {extra}.")

# The source's words (Q1 part D solution), verbatim, and the values they state.
QUOTE = {
    "conv3_out": block("The output of the third convolutional layer is:",
                       r"$$16 \times 16 \times 256$$"),
    "flatten": block("After the Flatten layer, this becomes a vector of size:",
                     r"$$16 \cdot 16 \cdot 256 = 65,536$$"),
    "fc.outputs": "The Fully Connected (FC) layer maps this vector to 200 output neurons.",
    "fc.weights": r"$$\text{Params (weights)} = 65,536 \cdot 200 = 13,107,200$$",
    "fc.biases": r"$$\text{Params (biases)} = 200$$",
    "fc.params": r"$$\text{Params (FC)} = 13,107,200 + 200 = 13,107,400$$",
    "std23": block("From Part (b), the number of parameters in the second and third "
                   "convolutional layers with standard convolutions is:",
                   r"$$\text{Params (standard)} = 204,800 (\text{second layer}) + 819,200 "
                   r"(\text{third layer}) = 1,024,000$$"),
    "sep23": block("From Part (c), the number of parameters in the second and third "
                   "convolutional layers with depthwise separable convolutions is:",
                   r"$$\text{Params (depthwise separable)} = 9,792 (\text{second layer}) + "
                   r"35,968 (\text{third layer}) = 45,760$$"),
    "total.standard": block("so the total number of parameters in the first approach is:",
                            "$$1,024,000 + 13,107,400 = 14,131,400$$"),
    "total.separable": block("and in the second approach is:",
                             "$$45,760 + 13,107,400 = 13,153,160$$"),
}
STATED = {
    "conv3_out": (16, 16, 256), "flatten": 16 * 16 * 256, "fc.outputs": 200,
    "fc.weights": 13_107_200, "fc.biases": 200, "fc.params": 13_107_400,
    "std23": 1_024_000, "sep23": 45_760, "total.standard": 14_131_400,
    "total.separable": 13_153_160,
}


def _rows(name, cfg=None):
    return {r.name: r for r in assignment_stack(cfg or VARIANTS[name]).table(IN).rows}


def _layers(name):
    stack = assignment_stack(VARIANTS[name])
    return dict(zip(stack.names, stack.layers))


def _inputs(name) -> dict:
    """Each layer's input shape in the network."""
    shapes, x = {}, IN
    for row in assignment_stack(VARIANTS[name]).table(IN).rows:
        shapes[row.name], x = x, tuple(row.output_shape)
    return shapes


def _model(cfg):
    return xla.abstract(lambda: AssignmentCNN(cfg, rngs=nnx.Rngs(0)))


def _sum_steps(label: str, lhs: str, parts: dict[str, int]) -> tuple[Step, ...]:
    """A total as the sum of its named parts: the symbols, the numbers, the result."""
    symbols = [sp.Symbol(f"P_{{{name}}}", integer=True, nonnegative=True) for name in parts]
    total = sp.Add(*symbols, evaluate=False)
    return (Step(f"{label}: the parts", lhs, total),
            Step(f"{label}: substitution", lhs, total, dict(zip(symbols, parts.values()))),
            Step(f"{label}: result", lhs, sum(parts.values())))


def _fc_claims(rows, models) -> list[Claim]:
    layers = _layers("standard")
    fc, fc_spec, conv3 = rows["standard"]["fc"], layers["fc"], layers["conv3"]
    fc_w, fc_b = xla.param_split(models["standard"].fc)
    conv_in = rows["standard"]["relu2"].output_shape
    conv_out = rows["standard"]["conv3"].output_shape
    trunk_shape = xla.output_shape(models["standard"].convs[2], (1, *conv_in), sympy=False)
    fc_out = xla.output_shape(models["standard"].fc, (1, fc_spec.in_features), sympy=False)
    model_check = Check("model", "jax.eval_shape of the Flax layer-3 conv on layer 2's output",
                        "128x128x3 input", tuple(trunk_shape[1:]) == tuple(conv_out),
                        f"eval_shape: {trunk_shape}")
    fc_parts = {"w": fc.weights, "b": fc.biases}
    return [
        Claim(id="q1d.conv3_out", statement="Layer 3 outputs 16 x 16 x 256.",
              quote=QUOTE["conv3_out"], stated=STATED["conv3_out"], derived=tuple(conv_out),
              derivation=Derivation(steps(conv3, conv_in, "out_h", "shape")),
              checks=(model_check,)),
        Claim(id="q1d.flatten", statement="The flattened output of layer 3 has 16 * 16 * 256 = "
              "65,536 entries.", quote=QUOTE["flatten"], stated=STATED["flatten"],
              derived=int(np.prod(conv_out)), unit="entries",
              derivation=derive(Flatten(), conv_out),
              checks=(Check("model", "size of jax.eval_shape of the Flax layer-3 conv",
                            "128x128x3 input",
                            int(np.prod(trunk_shape[1:])) == int(np.prod(conv_out)),
                            f"eval_shape: {trunk_shape}"),)),
        Claim(id="q1d.fc.outputs", statement="The FC layer has 200 outputs, one per class.",
              quote=QUOTE["fc.outputs"], stated=STATED["fc.outputs"],
              derived=fc.output_shape[0], unit="neurons",
              derivation=Derivation(steps(fc_spec, (fc_spec.in_features,), "shape")),
              checks=(Check("model", "jax.eval_shape of the Flax FC layer (nnx.Linear)",
                            "flatten head", tuple(fc_out[1:]) == tuple(fc.output_shape),
                            f"eval_shape: {fc_out}"),)),
        Claim(id="q1d.fc.weights", statement="FC weights: 65,536 * 200 = 13,107,200.",
              quote=QUOTE["fc.weights"], stated=STATED["fc.weights"], derived=fc.weights,
              derivation=Derivation(steps(fc_spec, (fc_spec.in_features,), "weights")),
              checks=(Check("model", "kernel size of nnx.Linear in AssignmentCNN",
                            "flatten head", fc_w == fc.weights, f"model: {fc_w:,}"),),
              unit="weights"),
        Claim(id="q1d.fc.biases", statement="FC biases: 200.", quote=QUOTE["fc.biases"],
              stated=STATED["fc.biases"], derived=fc.biases,
              derivation=Derivation(steps(fc_spec, (fc_spec.in_features,), "biases")),
              checks=(Check("model", "bias size of nnx.Linear", "flatten head",
                            fc_b == fc.biases, f"model: {fc_b}"),), unit="biases"),
        Claim(id="q1d.fc.params", statement="FC parameters: 13,107,200 + 200 = 13,107,400.",
              quote=QUOTE["fc.params"], stated=STATED["fc.params"], derived=fc.params,
              derivation=Derivation(_sum_steps("FC parameters: weights (q1d.fc.weights) and "
                                               "biases (q1d.fc.biases)", r"P_{FC}", fc_parts)),
              checks=(Check("model", "all nnx.Param of the FC layer", "flatten head",
                            fc_w + fc_b == fc.params, f"model: {fc_w + fc_b:,}"),),
              unit="params"),
    ]


def _conv_claims(rows, models) -> list[Claim]:
    claims = []
    for key, variant, label in (("std23", "standard", "standard"),
                                ("sep23", "separable", "depthwise separable")):
        r, layers = rows[variant], _layers(variant)
        names = [n for n in r if n.endswith(("conv2", "conv3"))]
        parts = {n: r[n].params for n in names}
        model_p = sum(xla.param_count(models[variant].convs[i]) for i in (1, 2))
        biased = _rows(variant, WITH_BIAS[variant])
        extra = sum(biased[n].params for n in names) - sum(parts.values())
        inputs = _inputs(variant)
        derivation = [Step(f"{n}: {s.label}", s.lhs, s.rhs, s.symbol_names)
                      for n in names for s in steps(layers[n], inputs[n], "weights")]
        claims.append(Claim(
            id=f"q1d.{key}", statement=f"Parameters of layers 2 and 3 ({label}): "
            f"{STATED[key]:,}.", quote=QUOTE[key], stated=STATED[key],
            derived=sum(parts.values()), unit="params",
            reading=CONV_READING.format(extra=f"{extra:,} here"),
            note="Borderline: the source's own FC count includes biases, so 'parameters' could "
                 "include the convolutions' biases too; its convolutions never have one, and the "
                 "count is verified under that reading.",
            derivation=Derivation((*derivation,
                                   *_sum_steps("layers 2 and 3", r"P_{2,3}", parts))),
            checks=(Check("model", "all nnx.Param of layers 2 and 3 of the Flax network "
                          "(convolutions without bias)", f"{variant} model",
                          model_p == sum(parts.values()), f"model: {model_p:,}"),)))
    return claims


def _total_claims(rows, models) -> list[Claim]:
    claims = []
    for key, variant, left_out in (("total.standard", "standard", "1,024,000"),
                                   ("total.separable", "separable", "45,760")):
        r = rows[variant]
        parts = {n[-1] if "conv" in n else "FC": r[n].params for n in r if r[n].params}
        full = assignment_stack(VARIANTS[variant]).param_count()
        biased = assignment_stack(WITH_BIAS[variant]).param_count()
        model_full = xla.param_count(models[variant])
        model_biased = xla.param_count(_model(WITH_BIAS[variant]))
        claims.append(Claim(
            id=f"q1d.{key}", statement=f"Total parameters of the {variant} approach: "
            f"{STATED[key]:,}.", quote=QUOTE[key], stated=STATED[key], derived=full,
            unit="params", reading="The whole network of this approach: its three "
            "convolutions and the FC layer. " + CONV_READING.format(extra=f"{biased - full:,}"),
            correction=f"The source's total is layers 2 and 3 ({left_out}) plus the FC layer "
                       f"(13,107,400): it leaves out layer 1, whose 5 x 5 x 3 x 64 = "
                       f"{r['conv1'].params:,} weights are parameters of the network too. The "
                       f"whole network has {full:,} parameters with the convolutions counted "
                       f"as the source counts them (no bias), {biased:,} with a bias per filter.",
            derivation=Derivation(_sum_steps("every layer: P_l of convolution l, P_FC of the FC "
                                             "layer", "P", parts)),
            checks=(Check("model", "all nnx.Param of the Flax network (convolutions without "
                          "bias) equal the algebra's count", f"{variant} model",
                          model_full == full, f"model: {model_full:,}"),
                    Check("model", "the same with a bias per filter", f"{variant} model",
                          model_biased == biased, f"model: {model_biased:,}"))))
    return claims


def build() -> Proof:
    rows = {k: _rows(k) for k in VARIANTS}
    models = {k: _model(cfg) for k, cfg in VARIANTS.items()}
    claims = (_fc_claims(rows, models) + _conv_claims(rows, models)
              + _total_claims(rows, models) + head_claims(rows, models))
    table = assignment_stack(VARIANTS["standard"]).table(IN)
    return Proof(Q, PART, "The fully connected head", tuple(claims),
                 figures=(Figure("q1d_params", "Parameters per layer for the three heads "
                                 "(log scale): the flatten + FC head dominates.", _figure),),
                 tables=(stack_table(table, "Standard network with flatten + FC(200) + "
                                     "softmax, 128x128x3, convolutions without bias"),))


def _figure() -> plt.Figure:
    fig, ax = plt.subplots()
    names = ["conv1", "conv2", "conv3", "reduce", "fc"]
    width = 0.27
    for i, variant in enumerate(("standard", "gap", "reduce")):
        r = _rows(variant)
        vals = [r[n].params if n in r else 0 for n in names]
        ax.bar(np.arange(len(names)) + (i - 1) * width, vals, width,
               label=f"head: {'flatten' if variant == 'standard' else variant}")
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("parameters (log scale)")
    ax.legend(fontsize=7)
    ax.set_title("Where the parameters are")
    return fig
