"""The derived training-step claim each question adds for its network (the assignment's CNN,
DenseNet-121, U-Net, YOLOv3): one step's FLOPs in closed form in the batch, split into forward,
backward (input and weight gradients) and optimizer, against the rule of thumb "a step costs
three forward passes", checked against XLA's count of the lowered step.

The numbers come from :mod:`symconv.experiments.step_cost`: its committed result unless
``symconv prove --experiments``. A private module (leading ``_``): the runner never runs it as a
proof.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import sympy as sp

from symconv.algebra.symbols import B
from symconv.checks.xla import flops_agree
from symconv.errors import SymconvError
from symconv.experiments import record, step_cost
from symconv.report.proof import Check, Claim, Derivation, Step
from symconv.report.runner import experiments_enabled

RESULT = Path(__file__).resolve().parent / "results" / "step_cost.json"
#: network -> (its name in the claim, the subscript of its symbols (F_DN: DenseNet-121's forward
#: part), where and why it departs from the rule of thumb)
NETWORKS = {
    "assignment": (
        "the three-layer network", "CNN",
        "G_x falls short of F by the first convolution's share: the step does not differentiate "
        "with respect to the image, so that layer computes no input gradient."),
    "densenet121": (
        "DenseNet-121", "DN",
        "Below the rule: the stem convolution computes no input gradient, and batch norm in "
        "training mode (before every convolution) costs about 1.7 F backward, not 2 F (the "
        "per-layer rules: README, Training cost)."),
    "unet": (
        "the U-Net of the paper's tile", "U",
        "Nearly every FLOP is an unpadded 3 x 3 convolution without batch norm, whose input and "
        "weight gradients are the same taps as its forward pass, and the first convolution (one "
        "input channel), which computes no input gradient, is a small share: the rule nearly "
        "holds."),
    "yolov3": (
        "YOLOv3 (80 classes)", "Y3",
        "Mostly convolutions, whose three passes are the same taps: the first convolution "
        "computes no input gradient and batch norm costs about 1.7 F backward, not 2 F, which "
        "pulls the ratio just under 1. The loss here is the mean squared output of the three "
        "heads, not YOLO's loss."),
}
LOSSES = {"cross_entropy": "the cross-entropy of its class probabilities against integer "
                          "labels",
          "mse": "the mean squared output"}


@functools.lru_cache(maxsize=1)
def _committed() -> tuple[dict[str, step_cost.StepCost], str]:
    results, stamp = step_cost.load(RESULT)
    return {r.model: r for r in results}, record.provenance(stamp, fresh=False)


@functools.cache
def _fresh(name: str) -> step_cost.StepCost:
    return step_cost.measure(name)


def step_of(name: str) -> tuple[step_cost.StepCost, str]:
    """The step of built-in network ``name`` and where its numbers come from (one sentence)."""
    if experiments_enabled():
        return _fresh(name), record.provenance({}, fresh=True)
    results, where = _committed()
    if name not in results:
        raise SymconvError(f"{RESULT} has no step of {name!r}: run "
                           "python benchmarks/step_cost.py --write")
    return results[name], where


def _linear(part: tuple[int, int]) -> sp.Expr:
    return sp.Integer(part[0]) * B + sp.Integer(part[1])


def _ratio(r: Fraction) -> Decimal:
    return Decimal(r.numerator) / Decimal(r.denominator)


def train_step_claim(claim_id: str, name: str) -> Claim:
    """Claim ``claim_id``: one SGD training step of built-in network ``name`` (a key of
    :data:`NETWORKS`)."""
    label, tag, why = NETWORKS[name]

    def sym(base: str) -> str:  # F^{DN}: the symbol names its network (no clash across parts)
        return base + r"^{\mathrm{" + tag + "}}"

    s, where = step_of(name)
    f, gx, gw, u = (_linear(s.parts[p]) for p in step_cost.PARTS)
    total = sp.expand(f + gx + gw + u)
    ratio, limit = s.rule_of_thumb(1), Fraction(sum(s.parts[p][0] for p in step_cost.PARTS),
                                                3 * s.parts["forward"][0])

    def share(part: str) -> float:
        return s.at(1, part) / s.at(1, "forward")

    agree = all(flops_agree(s.at(n), flops, ops) for n, flops, ops in s.xla)
    at = ", ".join(f"B = {n}" for n, _, _ in s.xla)
    return Claim(
        id=claim_id,
        statement=f"One training step of {label} on a batch of B inputs of "
                  f"{' x '.join(s.input.split(', ')[1:])}: "
                  "FLOPs in closed form, and the rule of thumb 'step = 3 x forward'.",
        derived=total, unit="FLOPs",
        reading=f"The step symconv bench --train runs: training mode, "
                f"{LOSSES.get(s.loss, s.loss)}, "
                "nnx.value_and_grad, SGD with momentum 0.9 (symconv.checks.trace.train_cost, "
                "B symbolic).",
        derivation=Derivation((
            Step("forward (training mode) and loss", sym("F"), f),
            Step("backward, input gradients", sym("G_x"), gx),
            Step("backward, weight gradients", sym("G_w"), gw),
            Step("optimizer update (SGD, momentum 0.9)", sym("U"), u),
            Step("the step, F + G_x + G_w + U", sym("S"), total),
            Step("rule of thumb at B = 1", rf"{sym('S')} / (3 {sym('F')})",
                 _ratio(ratio).quantize(Decimal("0.001"))),
            Step("rule of thumb as B grows", rf"\lim_{{B \to \infty}} {sym('S')} / (3 {sym('F')})",
                 _ratio(limit).quantize(Decimal("0.001"))))),
        note=f"At B = 1 the input gradient costs {share('backward_input'):.3f} F and the weight "
             f"gradient {share('backward_weights'):.3f} F (backward / forward "
             f"{float(s.backward_over_forward(1)):.3f}, where the rule says 2), "
             f"and the optimizer is {s.at(1, 'optimizer') / s.at(1):.2%} of the step, a share "
             f"that vanishes as B grows. {why} Numbers {where}.",
        checks=(Check("xla", "cost_analysis() of the same step, jitted and lowered (never "
                      "compiled); XLA sums in float32, so 'agree' is within its rounding",
                      at, agree, "; ".join(f"B = {n}: closed form {s.at(n):,}, XLA {x:,}"
                                          for n, x, _ in s.xla)),))
