r"""The FLOPs of one training step of each question's network, in closed form in the batch $B$,
and XLA's count of the same step beside it.

Setting: the built-in network at its default input (the assignment's CNN at 128 x 128 x 3,
DenseNet-121 at 224 x 224 x 3, U-Net at 572 x 572 x 1, YOLOv3 at 416 x 416 x 3), the step
``symconv bench --train`` runs (:mod:`symconv.checks.trace.steps`: training mode, softmax
cross-entropy for a classifier, the mean squared output otherwise, ``nnx.value_and_grad``,
``optax.sgd(lr, momentum=0.9)``), priced by :func:`~symconv.checks.trace.train_cost` with $B$
symbolic. Each part (forward, backward input gradients, backward weight gradients, optimizer)
is a polynomial of degree at most one in $B$, kept as ``(per sample, constant)``: part $= aB + c$.
XLA's side: ``cost_analysis()`` of the jitted step, lowered and never compiled, at
$B \in \{1, 2\}$, with its number of HLO ops (which bounds its float32 rounding,
:func:`symconv.checks.xla.flops_agree`).

Tracing DenseNet-121's and YOLOv3's steps takes about a minute each on a 2-core CPU, so the
proofs read the committed result (``proofs/results/step_cost.json``) unless ``symconv prove
--experiments`` is given; ``python benchmarks/step_cost.py --write`` rewrites it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from symconv.errors import SymconvError
from symconv.experiments import record

#: question -> the built-in network whose training step its claim prices
NETWORKS = {"Q1": "assignment", "Q2": "densenet121", "Q3": "unet", "Q4": "yolov3"}
BATCHES = (1, 2)
OPTIMIZER = "sgd"
PARTS = ("forward", "backward_input", "backward_weights", "optimizer")


@dataclass(frozen=True)
class StepCost:
    """One network's step: ``parts[p] = (a, c)`` for part ``p`` $= aB + c$ FLOPs, and XLA's
    ``(B, flops, ops)`` at each checked batch."""

    model: str
    input: str
    optimizer: str
    loss: str
    parts: dict[str, tuple[int, int]]
    xla: tuple[tuple[int, int, int], ...]
    seconds: float | None = None  # the symbolic trace's wall time

    def at(self, batch: int, part: str | None = None) -> int:
        """Part ``part`` (None: the whole step) at batch ``batch``."""
        names = PARTS if part is None else (part,)
        return sum(self.parts[p][0] * batch + self.parts[p][1] for p in names)

    def rule_of_thumb(self, batch: int = 1) -> Fraction:
        """step / (3 x forward): the "backward costs twice the forward" rule's error."""
        return Fraction(self.at(batch), 3 * self.at(batch, "forward"))

    def backward_over_forward(self, batch: int = 1) -> Fraction:
        """(input + weight gradients) / forward."""
        return Fraction(self.at(batch, "backward_input") + self.at(batch, "backward_weights"),
                        self.at(batch, "forward"))


def measure(name: str, batches=BATCHES, optimizer: str = OPTIMIZER) -> StepCost:
    """Trace ``name``'s training step with $B$ symbolic and lower it at each batch."""
    import sympy as sp

    from symconv.checks import xla
    from symconv.checks.trace import train_cost
    from symconv.checks.trace.steps import lowered_flops
    from symconv.models.registry import get

    entry = get(name)
    (h, w), c = entry.default_hw, entry.channels
    model = xla.abstract(lambda: entry.build((h, w)))
    labels = entry.is_classifier((h, w))
    spec = f"B, {h}, {w}, {c}"
    start = time.perf_counter()
    tc = train_cost(model, spec, optimizer=optimizer, labels=labels or None)
    seconds = time.perf_counter() - start
    b = tc.result.symbols["B"]
    parts = {}
    for part in PARTS:
        poly = sp.Poly(sp.expand(tc.total(part)), b)
        if poly.degree() > 1:
            raise SymconvError(f"{name}: the {part} part is not linear in B: {poly.as_expr()}")
        parts[part] = (int(poly.coeff_monomial(b)), int(poly.coeff_monomial(1)))
    seen = tuple((n, *lowered_flops(model, (n, h, w, c), labels=labels,
                                    optimizer_kind=optimizer)) for n in batches)
    loss = "cross_entropy" if labels else "mse"  # what loss="auto" picks (steps.loss_of)
    return StepCost(name, spec, optimizer, loss, parts, seen, seconds)


def run(names: tuple[str, ...] | None = None) -> tuple[StepCost, ...]:
    """The step of each network in ``names`` (default: every question's network)."""
    return tuple(measure(n) for n in names or tuple(NETWORKS.values()))


def save(path: str | Path, results, *, command: str) -> dict:
    setting = {"batches": list(BATCHES), "optimizer": OPTIMIZER}
    rows = [{"model": r.model, "input": r.input, "optimizer": r.optimizer, "loss": r.loss,
             "parts": {p: list(v) for p, v in r.parts.items()},
             "xla": [list(v) for v in r.xla], "seconds": r.seconds} for r in results]
    return record.write(path, record.stamp(command, **setting), rows)


def load(path: str | Path) -> tuple[tuple[StepCost, ...], dict]:
    rows, stamp = record.read(path)
    try:
        return tuple(StepCost(r["model"], str(r["input"]), str(r["optimizer"]), str(r["loss"]),
                              {p: (int(r["parts"][p][0]), int(r["parts"][p][1]))
                               for p in PARTS},
                              tuple((int(n), int(f), int(o)) for n, f, o in r["xla"]),
                              r["seconds"])
                     for r in rows), stamp
    except (KeyError, TypeError, ValueError) as e:
        raise SymconvError(f"{path}: not a step-cost result ({e})") from None
