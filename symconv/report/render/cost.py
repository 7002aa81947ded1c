"""What ``symconv cost`` and ``symconv derive`` print: a cost report (the algebra's per-layer
table, or the tracer's per-module one) as text, Markdown, LaTeX or JSON, and a layer's
derivation as text, Markdown or LaTeX.

The reports are duck-typed (``CostReport``/``TraceReport`` of :mod:`symconv.tools.cost`, a layer
above this one): :func:`render_cost` picks the drawing by the report's ``engine``, ``"algebra"``
or ``"trace"``. ``"table"`` is for a terminal: a ``rich`` table 100 columns wide with one-line
Unicode math (``⌈H/2⌉``, ``·``, superscripts), long expressions wrapped; ``"plain"`` is aligned
ASCII for scripts; ``"html"`` is for notebooks (MathJax math), ``"markdown"``, ``"latex"`` and
``"json"`` for documents and programs.
"""

from __future__ import annotations

import html
import io
import json
import textwrap
from typing import Any

from symconv.errors import SymconvError
from symconv.report.notation import (
    derivation_latex,
    derivation_markdown,
    step_text,
    step_unicode,
    to_latex,
    to_unicode,
)
from symconv.report.proof import Derivation
from symconv.report.render.tables import stack_latex, stack_markdown

COST_FORMATS = ("table", "plain", "markdown", "latex", "json", "html")
DERIVATION_FORMATS = ("text", "plain", "markdown", "latex")
WIDTH = 100  #: columns of the terminal table


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


def _terminal(columns: list[str], rows: list[list[Any]], numeric: set[int]) -> str:
    """A ``rich`` table of Unicode math, :data:`WIDTH` columns wide (cells wrap), as text."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i, c in enumerate(columns):
        table.add_column(c, justify="right" if i in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(to_unicode(v) if not isinstance(v, str) else v for v in row))
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def _html(columns: list[str], rows: list[list[Any]]) -> str:
    """An HTML table with MathJax inline math (what a notebook shows)."""
    def cell(v: Any) -> str:
        if isinstance(v, str):
            return html.escape(v)
        return r"\(" + html.escape(to_latex(v)) + r"\)"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _algebra_table(report: Any, fmt: str) -> str:
    if fmt == "markdown":
        return stack_markdown(report.table)
    if fmt == "latex":
        return stack_latex(report.table)
    conv = report.convention
    columns = ["layer", "kind", "output", "params", f"MACs ({conv})", "FLOPs"]
    rows = [[r.name, r.kind, tuple(r.output_shape), r.params, getattr(r, "macs_" + conv),
             r.flops] for r in report.table.rows]
    if fmt == "table":
        return _terminal(columns, rows, {3, 4, 5})
    if fmt == "html":
        return _html(columns, rows)
    body = [[r[0], r[1], *(count(v) for v in r[2:])] for r in rows]
    return "\n".join(_aligned(columns, body))


def _algebra_footer(report: Any, show: Any = count) -> list[str]:
    totals, conv = report.table.totals, report.convention
    lines = [f"{report.model} on input {count(tuple(report.input_shape))}",
             (f"parameters: {show(totals['params'])} (weights {show(totals['weights'])}, "
              f"biases {show(totals['biases'])})"),
             f"MACs ({conv}): {show(totals['macs_' + conv])}",
             f"FLOPs (exact, what XLA counts): {show(totals['flops'])}"]
    if report.point is not None:
        lines.append(_check_line(report, "algebra", report.algebra_flops, report.algebra_params))
    return lines


def _trace_table(report: Any, fmt: str) -> str:
    conv = report.convention
    key = "macs_" + conv
    columns = ["module", "params", f"MACs ({conv})", "FLOPs"]
    rows = report.rows
    if fmt in ("table", "html"):
        cells = [[r.path, r.params, getattr(r, key), r.flops] for r in rows]
        return _terminal(columns, cells, {1, 2, 3}) if fmt == "table" else _html(columns, cells)
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


def _trace_footer(report: Any, show: Any = count) -> list[str]:
    res, conv = report.result, report.convention
    totals = res.totals
    shapes = [(name, dims) for name, dims in getattr(res, "inputs", ())] or \
        [(None, tuple(report.input_shape))]
    shown = "; ".join((f"{name}=" if name else "") + f"({', '.join(show(d) for d in dims)})"
                      for name, dims in shapes)
    lines = [f"{report.model} on input {shown} (traced jaxpr)",
             f"parameters: {show(totals['params'])}",
             f"MACs ({conv}): {show(totals['macs_' + conv])}",
             (f"FLOPs: {show(totals['flops'])}; "
              f"transcendentals: {show(totals['transcendentals'])}")]
    for lp in getattr(res, "loops", ()):
        lines.append(
            f"loop ({lp.kind}) at {lp.path or '(top)'}: {show(lp.trips)} trips"
            + (" (a while loop whose exit depends on data: the trip count is a symbol)"
               if lp.data_dependent else "")
            + f"; FLOPs {show(lp.true())} = payload {show(lp.true_payload())} + control "
            f"{show(lp.true_control())}; XLA charges the body once: {show(lp.xla[0])}")
    if not res.complete:
        lines.append(f"INCOMPLETE: no cost rule for {dict(res.unknown)}; the totals leave them "
                     "out")
    if report.point is not None:
        lines.append(_check_line(report, "traced", report.traced_flops, report.traced_params))
        if getattr(res, "loops", ()):
            try:
                true = f"{res.at(report.point):,}"
            except SymconvError:  # a data-dependent trip count without a value
                true = "a function of the while loops' trip counts"
            lines.append(f"the check counts each loop body once, as XLA does; the true count "
                         f"there: {true} FLOPs")
    return lines


_DRAW = {"algebra": (_algebra_table, _algebra_footer), "trace": (_trace_table, _trace_footer)}


def render_cost(report: Any, fmt: str = "table") -> str:
    """A ``CostReport`` or ``TraceReport`` in ``fmt``: ``"table"`` (a terminal table of Unicode
    math), ``"plain"`` (aligned ASCII), ``"markdown"`` or ``"latex"`` (the table, then the
    totals and the check as text lines), ``"html"`` (for notebooks) or ``"json"``
    (``report.as_dict()``, sorted keys, indent 2)."""
    if fmt not in COST_FORMATS:
        raise SymconvError(f"fmt must be one of {COST_FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, sort_keys=True)
    table, footer = _DRAW[report.engine]
    lines = footer(report, to_unicode if fmt == "table" else count)
    if fmt == "table":  # long expressions wrapped to the terminal's width
        lines = [textwrap.fill(x, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
                 for x in lines]
    if fmt == "html":
        return table(report, fmt) + "".join(f"<p>{html.escape(x)}</p>" for x in lines)
    return "\n".join([table(report, fmt), "", *lines])


def render_derivation(derivation: Derivation, fmt: str = "text") -> str:
    """A derivation as ``"text"`` (one step a line, Unicode math), ``"plain"`` (ASCII),
    ``"markdown"`` or ``"latex"`` (an ``aligned`` display to paste into a document)."""
    if fmt == "latex":
        return derivation_latex(derivation, display=True)
    if fmt == "markdown":
        return derivation_markdown(derivation)
    if fmt not in ("text", "plain"):
        raise SymconvError(f"fmt must be one of {DERIVATION_FORMATS}, got {fmt!r}")
    step = step_unicode if fmt == "text" else step_text
    return "\n".join(step(s) for s in derivation.steps)
