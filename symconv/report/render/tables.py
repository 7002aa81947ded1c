"""Per-layer tables of a ``Stack``: pipes for Markdown, booktabs for LaTeX.

Concrete counts print with thousands separators; symbolic ones as inline math.
"""

from __future__ import annotations

import sympy as sp

from symconv.algebra.composite import StackTable
from symconv.report.proof import to_latex

COLUMNS = (
    ("layer", "name"), ("kind", "kind"), ("output", "output_shape"), ("weights", "weights"),
    ("biases", "biases"), ("MACs (dense)", "macs_dense"), ("MACs (exact)", "macs_exact"),
    ("FLOPs (exact)", "flops"), ("RF r", "rf"), ("jump j", "jump"),
)


def _rf(row, attr):
    f = row.field_h
    if f is None:  # a graph: fields are tracked along chains only
        return "n/a"
    if f.is_global:
        return "global"
    return f.size if attr == "rf" else f.jump


def _md(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        if all(isinstance(v, int) for v in value):
            return "×".join(str(v) for v in value)
        return f"${to_latex(value)}$"
    if isinstance(value, sp.Basic):
        return f"${sp.latex(value)}$"
    return str(value)


def _tex(value) -> str:
    if isinstance(value, str):
        return value.replace("_", r"\_")
    if isinstance(value, int):
        return f"{value:,}".replace(",", "{,}")
    return f"${to_latex(value)}$"


def _cells(table: StackTable):
    for row in table.rows:
        cells = []
        for _, attr in COLUMNS:
            cells.append(_rf(row, attr) if attr in ("rf", "jump") else getattr(row, attr))
        yield cells
    totals = table.totals
    yield ["total", "", "", totals["weights"], totals["biases"], totals["macs_dense"],
           totals["macs_exact"], totals["flops"], "", ""]


def stack_markdown(table: StackTable) -> str:
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" if i < 3 else "---:" for i in range(len(COLUMNS))) + "|"
    body = ["| " + " | ".join(_md(v).replace("|", r"\|") for v in cells) + " |"
            for cells in _cells(table)]
    return "\n".join([head, rule, *body])


def stack_latex(table: StackTable) -> str:
    spec = "lll" + "r" * (len(COLUMNS) - 3)
    lines = [r"\begin{tabular}{" + spec + "}", r"\toprule",
             " & ".join(c for c, _ in COLUMNS) + r" \\", r"\midrule"]
    rows = list(_cells(table))
    for i, cells in enumerate(rows):
        if i == len(rows) - 1:
            lines.append(r"\midrule")
        lines.append(" & ".join(_tex(v) for v in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)
