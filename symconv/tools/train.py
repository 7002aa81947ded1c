"""What ``symconv cost MODEL --train`` computes and prints: the closed-form cost of one training
step per module (forward | backward input | backward weights | optimizer | total), from
:func:`symconv.checks.trace.train_cost`, with the step's total at ``--at`` checked against XLA's
``cost_analysis()`` of the lowered step."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symconv.checks.trace.inputs import parse_input
from symconv.checks.trace.steps import lowered_flops
from symconv.checks.trace.training import PARTS, TrainCost, train_cost
from symconv.checks.xla import flops_agree
from symconv.errors import SymconvError
from symconv.models.registry import MODELS, get

HEADERS = ("module", "params", "forward", "backward input", "backward weights", "optimizer",
           "total")


@dataclass(frozen=True)
class TrainReport:
    """The per-module table of one training step and, at ``point``, XLA's count beside it."""

    model: str
    cost: TrainCost
    depth: int | None
    point: dict | None = None
    exact: int | None = None
    xla: int | None = None
    agrees: bool | None = None

    def rows(self) -> list[tuple]:
        """(path, params, forward, backward input, backward weights, optimizer, total), each an
        expression, or an int at ``point``."""
        out = []
        for r in self.cost.by_module(self.depth):
            vals = (r.params, r.forward, r.backward_input, r.backward_weights, r.optimizer,
                    r.total)
            if self.point:
                subs = {self.cost.result.symbols[k]: v for k, v in self.point.items()
                        if k in self.cost.result.symbols}
                vals = tuple(int(sp.sympify(v).subs(subs)) for v in vals)
            out.append((r.path, *vals))
        totals = [self.cost.at(self.point, part) if self.point else self.cost.total(part)
                  for part in (*PARTS, None)]
        return [*out, ("(step)", sum(r[1] for r in out), *totals)]


def train_report(name: str, input_shape: str | None, at: Mapping[str, int] | None = None, *,
                 optimizer: str = "sgd", loss: str = "auto", depth: int | None = None,
                 factory_args: Mapping[str, Any] | None = None) -> TrainReport:
    """The training step of built-in model ``name`` (built at the input's size, or at its
    default size when the side is symbolic; input ``B, H, W, C`` at its default size when None)
    or of ``package.module:factory``."""
    from flax import nnx

    labels: bool | None = None
    if name in MODELS:
        entry = get(name)
        if input_shape is None:
            input_shape = f"B, {entry.default_hw[0]}, {entry.default_hw[1]}, {entry.channels}"
        dims = [d.strip() for d in str(parse_input(input_shape).shape).split(",")]
        hw = tuple(int(d) if d.isdigit() else None for d in dims[1:3])
        hw = entry.default_hw if None in hw or len(hw) != 2 else hw
        model: Any = nnx.eval_shape(lambda: entry.build(hw))
        if loss == "auto":
            from symconv.tools.bench.workload import is_classifier

            labels = True if is_classifier(name, hw) else None
    else:
        if input_shape is None:
            raise SymconvError("--train with package.module:factory needs --input, e.g. "
                               "'B,32*h,32*h,3'")
        from symconv.tools.cost import load_factory

        model = load_factory(name)
    if loss in ("cross_entropy", "softmax_cross_entropy"):
        labels = True
    cost = train_cost(model, input_shape, optimizer=optimizer, loss=loss, labels=labels,
                      factory_args=(factory_args or {}) if name not in MODELS else None)
    if not at:
        return TrainReport(name, cost, depth)
    point = dict(at)
    exact = cost.at(point)
    shape = []
    for d in cost.result.input_shape:
        value = sp.sympify(d).subs({s: point[k] for k, s in cost.result.symbols.items()
                                    if k in point})
        if not value.is_Integer:
            raise SymconvError(f"--at must give every symbol of the input; {d} stays {value}")
        shape.append(int(value))
    built = model if name in MODELS else _built(model, factory_args, point)
    xla, ops = lowered_flops(built, tuple(shape), labels=bool(labels), loss=loss,
                             optimizer_kind=optimizer)
    return TrainReport(name, cost, depth, point, exact, xla, flops_agree(exact, xla, ops))


def _built(factory: Any, factory_args: Mapping[str, Any] | None, point: Mapping[str, int]):
    from symconv.checks.trace import models

    return models.build(factory, factory_args or {}, dict(point))


def render_train(report: TrainReport, fmt: str = "table") -> str:
    """The table as text (``table``/``plain``), ``markdown`` or ``json``."""
    rows = report.rows()
    if fmt == "json":
        return json.dumps({"model": report.model, "optimizer": report.cost.optimizer,
                           "loss": report.cost.loss, "domain": report.cost.domain,
                           "point": report.point, "xla_flops": report.xla,
                           "agrees": report.agrees,
                           "rows": [dict(zip(HEADERS, map(str, r))) for r in rows]}, indent=1)
    cells = [HEADERS, *[tuple(_fmt(v) for v in r) for r in rows]]
    if fmt == "markdown":
        lines = ["| " + " | ".join(c) + " |" for c in cells]
        lines.insert(1, "|---|" + "---:|" * (len(HEADERS) - 1))
    else:
        widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
        lines = ["  ".join(c[i].ljust(widths[i]) if i == 0 else c[i].rjust(widths[i])
                           for i in range(len(c))) for c in cells]
    head = (f"{report.model}: one training step ({report.cost.optimizer}, loss "
            f"{report.cost.loss}), FLOPs as XLA counts them; closed form over "
            f"{report.cost.domain}")
    tail = []
    if report.point is not None:
        verdict = "equal" if report.exact == report.xla else (
            "agrees within XLA's float32 accumulation" if report.agrees else "DISAGREES")
        tail = [f"at {report.point}: {report.exact:,} FLOPs; XLA's cost_analysis of the lowered "
                f"step {report.xla:,} ({verdict})"]
    return "\n".join([head, *lines, *tail])


def _fmt(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
