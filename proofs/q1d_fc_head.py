"""Q1 part D: a flatten + FC(200) + softmax head — its parameters against the convolutions',
and how global average pooling or a 1x1 reduction shrink it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.checks import xla
from symconv.models.assignment import AssignmentCNN
from symconv.report.derive import derive
from symconv.report.proof import Basis, Check, Claim, Derivation, Figure, Proof, Step
from symconv.report.render.tables import stack_table

Q, PART = "Q1", "d"
IN = (128, 128, 3)
VARIANTS = {
    "standard": AssignmentConfig.standard(),
    "separable": AssignmentConfig.mobilenet_style(),
    "gap": AssignmentConfig.standard(head="gap"),
    "reduce": AssignmentConfig.standard(head="reduce"),
}
# The source's numbers (never used as expectations).
STATED = {
    "flatten": 16 * 16 * 256, "fc.weights": 13_107_200, "fc.biases": 200, "fc.params": 13_107_400,
    "std23": 1_024_000, "sep23": 45_760, "total.standard": 14_131_400,
    "total.separable": 13_153_160,
}
F, U = sp.symbols("F U", integer=True, positive=True)


def _rows(name):
    return {r.name: r for r in assignment_stack(VARIANTS[name]).table(IN).rows}


def _model(name):
    return xla.abstract(lambda: AssignmentCNN(VARIANTS[name], rngs=nnx.Rngs(0)))


def build() -> Proof:
    rows = {k: _rows(k) for k in VARIANTS}
    models = {k: _model(k) for k in VARIANTS}
    fc = rows["standard"]["fc"]
    stack = assignment_stack(VARIANTS["standard"])
    fc_spec = dict(zip(stack.names, stack.layers))["fc"]
    fc_w, fc_b = xla.param_split(models["standard"].fc)
    conv_out = rows["standard"]["conv3"].output_shape
    trunk_shape = xla.output_shape(models["standard"].convs[2],
                                   (1, *rows["standard"]["relu2"].output_shape), sympy=False)
    claims = [
        Claim(id="q1d.flatten", statement="The flattened output of layer 3 has 16 * 16 * 256 = "
              "65,536 entries.", stated=STATED["flatten"], derived=int(np.prod(conv_out)),
              derivation=Derivation((Step("flatten", "F", sp.Symbol("H_3") * sp.Symbol("W_3")
                                          * sp.Symbol("N_3")),
                                     Step("result", "F", int(np.prod(conv_out))))),
              checks=(Check("model", "jax.eval_shape of the Flax layer-3 conv on layer 2's output",
                     "128x128x3 input", int(np.prod(trunk_shape[1:])) == int(np.prod(conv_out)),
                     f"eval_shape: {trunk_shape}"),), unit="entries",
                         quote="TODO", correction="TODO"),
        Claim(id="q1d.fc.weights", statement="FC weights: 65,536 * 200 = 13,107,200.",
              stated=STATED["fc.weights"], derived=fc.weights,
              derivation=derive(fc_spec, (fc_spec.in_features,), keys=("weights",)),
              checks=(Check("model", "kernel size of nnx.Linear in AssignmentCNN", "flatten head",
                     fc_w == fc.weights, f"model: {fc_w:,}"),), unit="weights",
                         quote="TODO", correction="TODO"),
        Claim(id="q1d.fc.biases", statement="FC biases: 200.", stated=STATED["fc.biases"],
              derived=fc.biases, derivation=Derivation((Step("result", "b_{FC}", fc.biases),)),
              checks=(Check("model", "bias size of nnx.Linear", "flatten head", fc_b == fc.biases,
                     f"model: {fc_b}"),), unit="biases", quote="TODO", correction="TODO"),
        Claim(id="q1d.fc.params", statement="FC parameters: 13,107,200 + 200 = 13,107,400.",
              stated=STATED["fc.params"], derived=fc.params,
              derivation=derive(fc_spec, (fc_spec.in_features,), keys=("weights", "biases")),
              checks=(Check("model", "all nnx.Param of the FC layer", "flatten head",
                     fc_w + fc_b == fc.params, f"model: {fc_w + fc_b:,}"),), unit="params",
                         quote="TODO", correction="TODO"),
    ]
    # Layers 2-3, weights only as the source counts them; the full counts in the notes.
    for key, variant, label in (("std23", "standard", "standard"),
                                ("sep23", "separable", "depthwise separable")):
        r = rows[variant]
        names = [n for n in r if n.endswith(("conv2", "conv3"))]
        weights = sum(r[n].weights for n in names)
        params = sum(r[n].params for n in names)
        model_w = sum(xla.param_split(models[variant].convs[i])[0] for i in (1, 2))
        claims.append(Claim(
            id=f"q1d.{key}", statement=f"Parameters of layers 2 and 3 ({label}): "
            f"{STATED[key]:,}.", stated=STATED[key], derived=weights,
            derivation=Derivation((Step("layers 2 + 3 (weights)", "P_{2,3}",
                                        sp.Add(*[sp.Integer(r[n].weights) for n in names],
                                               evaluate=False)),
                                   Step("result", "P_{2,3}", weights))),
            checks=(Check("model", "kernel sizes of layers 2 and 3 in nnx.state",
                          f"{variant} model", model_w == weights, f"model: {model_w:,}"),),
            note=f"Like the source: weights only, layers 2-3. With biases: {params:,}.",
            unit="weights", quote="TODO", correction="TODO"))
    for key, variant in (("total.standard", "standard"), ("total.separable", "separable")):
        r = rows[variant]
        like = sum(r[n].weights for n in r if n.endswith(("conv2", "conv3"))) + r["fc"].params
        full = assignment_stack(VARIANTS[variant]).param_count()
        model_full = xla.param_count(models[variant])
        m = models[variant]
        like_model = sum(xla.param_split(m.convs[i])[0] for i in (1, 2)) + xla.param_count(m.fc)
        claims.append(Claim(
            id=f"q1d.{key}", statement=f"Total parameters, {variant} layers 2-3 + FC: "
            f"{STATED[key]:,}.", stated=STATED[key], derived=like,
            derivation=Derivation((Step("layers 2-3 weights + FC", "P", like),)),
            checks=(Check("model", "kernels of layers 2-3 plus all FC parameters in nnx.state",
                   f"{variant} model", like_model == like, f"model: {like_model:,}"),
             Check("model", "nnx.state of the whole Flax network equals the algebra's full "
                   "count (all layers, biases included)", f"{variant} model",
                   model_full == full, f"model: {model_full:,}, algebra: {full:,}"),),
            note=f"Like for like with the source (layer 1 and conv biases left out). The whole "
                 f"network has {full:,} parameters; the FC layer is "
                 f"{100 * r['fc'].params / full:.1f}% of them.", unit="params",
                     quote="TODO", correction="TODO"))
    for key, variant, what in (("gap", "gap", "global average pooling before the FC"),
                               ("reduce", "reduce", "a 1x1 conv to 32 channels before flatten")):
        total = assignment_stack(VARIANTS[variant]).param_count()
        model_total = xla.param_count(models[variant])
        head = sum(r.params for n, r in rows[variant].items() if n in ("fc", "reduce"))
        claims.append(Claim(
            id=f"q1d.head.{key}", statement=f"Parameters with {what} (the source's suggested "
            "fix).", derived=total,
            derivation=Derivation((Step("head parameters", "P_{head}", head),
                                   Step("whole network", "P", total))),
            checks=(Check("model", "nnx.state of the Flax network with this head",
                          f"head={variant}", model_total == total, f"model: {model_total:,}"),),
            note=f"{100 * (1 - total / assignment_stack(VARIANTS['standard']).param_count()):.1f}"
                 "% fewer parameters than the flatten head network.", unit="params"))
    claims += [
        Claim(id="q1d.opinion.overfitting", statement="Reducing the FC layer's parameters can "
              "help reduce overfitting and speed up training and inference.", basis=Basis.JUDGEMENT,
              note="Plausible and common practice, but a statement about training dynamics: "
                   "not checked here. The inference cost part is checked: see q1d.head.*.",
                       quote="TODO"),
        Claim(id="q1d.opinion.nonlinearity", statement="1x1 convolutions may introduce "
              "additional non-linearity, which can make the model harder to train.",
                  basis=Basis.JUDGEMENT,
              note="A 1x1 convolution is linear; only an activation after it adds "
                   "non-linearity. Not a checkable claim about cost.", quote="TODO"),
    ]
    table = assignment_stack(VARIANTS["standard"]).table(IN)
    return Proof(Q, PART, "The fully connected head", tuple(claims),
                 figures=(Figure("q1d_params", "Parameters per layer for the three heads "
                                 "(log scale): the flatten + FC head dominates.", _figure),),
                 tables=(stack_table(table, "Standard network with flatten + FC(200) + "
                                     "softmax, 128x128x3"),))


def _figure() -> plt.Figure:
    fig, ax = plt.subplots()
    names = ["conv1", "conv2", "conv3", "reduce", "fc"]
    width = 0.27
    for i, variant in enumerate(("standard", "gap", "reduce")):
        r = _rows(variant)
        vals = [r[n].params if n in r else 0 for n in names]
        ax.bar(np.arange(len(names)) + (i - 1) * width, vals, width, label=f"head: {variant}")
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("parameters")
    ax.legend(fontsize=7)
    ax.set_title("Where the parameters are")
    return fig
