"""What ``symconv cost`` and ``symconv derive`` print: a cost report (the algebra's per-layer
table, or the tracer's per-module one) as text, Markdown, LaTeX or JSON, and a layer's
derivation as text, Markdown or LaTeX.

The reports are duck-typed (``CostReport``/``TraceReport`` of :mod:`symconv.tools.cost`, a layer
above this one): :func:`render_cost` picks the drawing by the report's ``engine``, ``"algebra"``
or ``"trace"``.
"""

from __future__ import annotations

import json
from typing import Any

from symconv.errors import SymconvError
from symconv.report.notation import derivation_latex, derivation_markdown, step_text, to_latex
from symconv.report.proof import Derivation
from symconv.report.render.tables import stack_latex, stack_markdown

COST_FORMATS = ("table", "markdown", "latex", "json")
DERIVATION_FORMATS = ("text", "markdown", "latex")


def count(value: Any) -> str:
    """An integer with thousands separators, a shape as ``AxBxC``, anything else as ``str``.

    >>> count(1234567), count((1, 28, 28, 64)), count(("H", 3))
    ('1,234,567', '1x28x28x64', 'Hx3')
    """
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return "x".join(count(v) if isinstance(v, int) else str(v) for v in value)
    return str(value)


def _aligned(columns: list[str], body: list[list[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, the header first."""
    widths = [max([len(c), *(len(b[i]) for b in body)]) for i, c in enumerate(columns)]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in [columns, *body]]


def _check_line(report: Any, side: str, flops: int, params: int) -> str:
    """One line: the closed form's (or tracer's) numbers at the point against XLA and
    ``nnx.state``."""
    point = ", ".join(f"{k}={v}" for k, v in report.point.items())
    within = (f" (within XLA's float32 accumulation, ±{report.tolerance:,})"
              if report.agrees and flops != report.xla_flops else "")
    return (f"at {point}: FLOPs {flops:,} ({side}) vs {report.xla_flops:,} (XLA lowered HLO); "
            f"parameters {params:,} vs {report.model_params:,} (nnx.state): "
            f"{'agree' if report.agrees else 'DISAGREE'}" + within)


def _algebra_table(report: Any, fmt: str) -> str:
    if fmt == "markdown":
        return stack_markdown(report.table)
    if fmt == "latex":
        return stack_latex(report.table)
    conv = report.convention
    columns = ["layer", "kind", "output", "params", f"MACs ({conv})", "FLOPs"]
    body = [[r.name, r.kind, count(r.output_shape), count(r.params),
             count(getattr(r, "macs_" + conv)), count(r.flops)] for r in report.table.rows]
    return "\n".join(_aligned(columns, body))


def _algebra_footer(report: Any) -> list[str]:
    totals, conv = report.table.totals, report.convention
    lines = [f"{report.model} on input {count(tuple(report.input_shape))}",
             (f"parameters: {count(totals['params'])} (weights {count(totals['weights'])}, "
              f"biases {count(totals['biases'])})"),
             f"MACs ({conv}): {count(totals['macs_' + conv])}",
             f"FLOPs (exact, what XLA counts): {count(totals['flops'])}"]
    if report.point is not None:
        lines.append(_check_line(report, "algebra", report.algebra_flops, report.algebra_params))
    return lines


def _trace_table(report: Any, fmt: str) -> str:
    conv = report.convention
    key = "macs_" + conv
    columns = ["module", "params", f"MACs ({conv})", "FLOPs"]
    rows = report.rows
    body = [[r.path, count(r.params), count(getattr(r, key)), count(r.flops)] for r in rows]
    if fmt == "markdown":
        return "\n".join(["| " + " | ".join(columns) + " |", "|---|---:|---:|---:|",
                          *("| " + " | ".join(b) + " |" for b in body)])
    if fmt == "latex":
        lines = ["\\begin{tabular}{lrrr}", "\\toprule", " & ".join(columns) + " \\\\",
                 "\\midrule"]
        for r in rows:
            cells = [r.path.replace("_", "\\_"), count(r.params).replace(",", "{,}")] + [
                "$" + to_latex(v) + "$" for v in (getattr(r, key), r.flops)]
            lines.append(" & ".join(cells) + " \\\\")
        return "\n".join([*lines, "\\bottomrule", "\\end{tabular}"])
    return "\n".join(_aligned(columns, body))


def _trace_footer(report: Any) -> list[str]:
    res, conv = report.result, report.convention
    totals = res.totals
    lines = [f"{report.model} on input {count(tuple(report.input_shape))} (traced jaxpr)",
             f"parameters: {totals['params']:,}",
             f"MACs ({conv}): {count(totals['macs_' + conv])}",
             (f"FLOPs: {count(totals['flops'])}; "
              f"transcendentals: {count(totals['transcendentals'])}")]
    if not res.complete:
        lines.append(f"INCOMPLETE: no cost rule for {dict(res.unknown)}; the totals leave them "
                     "out")
    if report.point is not None:
        lines.append(_check_line(report, "traced", report.traced_flops, report.traced_params))
    return lines


_DRAW = {"algebra": (_algebra_table, _algebra_footer), "trace": (_trace_table, _trace_footer)}


def render_cost(report: Any, fmt: str = "table") -> str:
    """A ``CostReport`` or ``TraceReport`` in ``fmt``: ``"table"`` (aligned text),
    ``"markdown"`` or ``"latex"`` (the table, then the totals and the check as text lines), or
    ``"json"`` (``report.as_dict()``, sorted keys, indent 2)."""
    if fmt not in COST_FORMATS:
        raise SymconvError(f"fmt must be one of {COST_FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, sort_keys=True)
    table, footer = _DRAW[report.engine]
    return "\n".join([table(report, fmt), "", *footer(report)])


def render_derivation(derivation: Derivation, fmt: str = "text") -> str:
    """A derivation as ``"text"`` (one step a line), ``"markdown"`` or ``"latex"`` (an
    ``aligned`` display to paste into a document)."""
    if fmt == "latex":
        return derivation_latex(derivation, display=True)
    if fmt == "markdown":
        return derivation_markdown(derivation)
    if fmt != "text":
        raise SymconvError(f"fmt must be one of {DERIVATION_FORMATS}, got {fmt!r}")
    return "\n".join(step_text(step) for step in derivation.steps)
