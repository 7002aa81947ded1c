"""Tables: a :class:`~symconv.report.proof.Table` as Markdown pipes or a booktabs ``tabular``.

Concrete counts print with thousands separators; symbolic ones, matrices and sets as inline math.
A ``Stack``'s per-layer table becomes a :class:`Table` with :func:`stack_table`.
"""

from __future__ import annotations

from decimal import Decimal

import sympy as sp

from symconv.algebra.composite import StackTable
from symconv.report.notation import text_escape, to_latex
from symconv.report.proof import Table

COLUMNS = (
    ("layer", "name"), ("kind", "kind"), ("output", "output_shape"), ("weights", "weights"),
    ("biases", "biases"), ("MACs (dense)", "macs_dense"), ("MACs (exact)", "macs_exact"),
    ("FLOPs (exact)", "flops"), ("RF r", "rf"), ("jump j", "jump"),
)
_RULE = {"l": "---", "r": "---:", "c": ":---:"}


def _rf(row, attr):
    f = row.field_h
    if f is None:  # a graph: fields are tracked along chains only
        return "n/a"
    if f.is_global:
        return "global"
    return f.size if attr == "rf" else f.jump


def stack_table(table: StackTable, caption: str = "") -> Table:
    """One row per layer (name, kind, output, weights, biases, MACs, FLOPs, receptive field),
    then the totals below a rule."""
    rows = []
    for row in table.rows:
        rows.append(tuple(_rf(row, attr) if attr in ("rf", "jump") else getattr(row, attr)
                          for _, attr in COLUMNS))
    totals = table.totals
    rows.append(("total", "", "", totals["weights"], totals["biases"], totals["macs_dense"],
                 totals["macs_exact"], totals["flops"], "", ""))
    return Table(caption, tuple(c for c, _ in COLUMNS), tuple(rows),
                 align="lll" + "r" * (len(COLUMNS) - 3), rules=(len(rows) - 1,))


def _md_cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        if all(isinstance(v, int) for v in value):
            return "×".join(str(v) for v in value)
        if all(isinstance(v, tuple) and all(isinstance(x, int) for x in v) for v in value):
            return ", ".join("×".join(str(x) for x in v) for v in value)  # several shapes
        return f"${to_latex(value)}$"
    if isinstance(value, sp.Basic):
        return f"${to_latex(value)}$"
    return str(value)


def _tex_cell(value) -> str:
    if value is None:
        return "--"
    if isinstance(value, str):
        return text_escape(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "{,}")
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return ", ".join(f"${to_latex(v)}$" for v in value)  # several shapes
    return f"${to_latex(value)}$"


def _tex_text(text: str) -> str:
    """Header text: ``$...$`` spans are math and kept, the rest is escaped."""
    parts = text.split("$")
    return "".join(f"${p}$" if i % 2 else text_escape(p) for i, p in enumerate(parts))


def table_markdown(table: Table) -> str:
    """A pipe table (the caption is the renderer's to place)."""
    head = "| " + " | ".join(h.replace("|", r"\|") for h in table.header) + " |"
    rule = "|" + "|".join(_RULE[a] for a in table.alignment) + "|"
    body = ["| " + " | ".join(_md_cell(v).replace("|", r"\|").replace("\n", " ") for v in row)
            + " |" for row in table.rows]
    return "\n".join([head, rule, *body])


def table_latex(table: Table, width: str | None = None) -> str:
    """A booktabs ``tabular`` (the float and caption are the renderer's to place).

    With ``width`` (e.g. ``\\linewidth``), a ``tabularx`` of that width whose text columns
    wrap: the form a table wider than the page takes instead of being shrunk. Rows holding a
    matrix are spaced apart so that matrices never touch.
    """
    spaced = any(isinstance(v, sp.MatrixBase) for row in table.rows for v in row)
    if width is None:
        begin, end = r"\begin{tabular}{" + table.alignment + "}", r"\end{tabular}"
    else:
        spec = "".join(r">{\raggedright\arraybackslash}X" if a == "l" else a
                       for a in table.alignment)
        begin, end = r"\begin{tabularx}{" + width + "}{" + spec + "}", r"\end{tabularx}"
    lines = [begin, r"\toprule", " & ".join(_tex_text(h) for h in table.header) + r" \\",
             r"\midrule"]
    for i, row in enumerate(table.rows):
        if i in table.rules:
            lines.append(r"\midrule")
        elif spaced and i:
            lines.append(r"\addlinespace[4pt]")
        lines.append(" & ".join(_tex_cell(v) for v in row) + r" \\")
    lines += [r"\bottomrule", end]
    return "\n".join(lines)


def stack_markdown(table: StackTable) -> str:
    return table_markdown(stack_table(table))


def stack_latex(table: StackTable) -> str:
    return table_latex(stack_table(table))
