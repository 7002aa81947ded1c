"""Render proofs into a report directory: ``report.md``, ``report.json``, ``report.tex`` and
``figures/`` (the PDF is compiled from the ``.tex`` by
:func:`symconv.report.render.latex.compile_pdf`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from symconv.report.proof import Proof
from symconv.report.render.figures import write_figures
from symconv.report.render.json import report_json
from symconv.report.render.latex import report_latex
from symconv.report.render.markdown import report_markdown

FILES = ("report.md", "report.json", "report.tex")


def render_report(proofs: Sequence[Proof], out: str | Path,
                  environment: dict | None = None) -> Path:
    """Write :data:`FILES` and the figures of ``proofs`` to ``out``; return the ``.tex`` path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_figures(proofs, out)
    (out / "report.md").write_text(report_markdown(proofs, environment), encoding="utf-8")
    (out / "report.json").write_text(report_json(proofs, environment), encoding="utf-8")
    tex = out / "report.tex"
    tex.write_text(report_latex(proofs, environment), encoding="utf-8")
    return tex
