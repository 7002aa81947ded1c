"""Render a run into a report directory: ``report.md``, ``report.json``, ``report.tex`` and
``figures/`` (PNG for Markdown, vector PDF for LaTeX; the PDF report is compiled from the
``.tex`` by :func:`symconv.report.render.latex.compile_pdf`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from symconv.report.proof import Proof
from symconv.report.render.figures import write_figures
from symconv.report.render.json import report_json
from symconv.report.render.latex import report_latex
from symconv.report.render.markdown import report_markdown
from symconv.report.render.outline import RunResult, as_run

FILES = ("report.md", "report.json", "report.tex")


def render_report(report: RunResult | Sequence[Proof], out: str | Path,
                  environment: dict | None = None) -> Path:
    """Write :data:`FILES` and the figures of a run (or of proofs built by hand) to ``out``;
    return the ``.tex`` path."""
    run = as_run(report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_figures(run.proofs, out, pdf=True)
    (out / "report.md").write_text(report_markdown(run, environment), encoding="utf-8")
    (out / "report.json").write_text(report_json(run, environment), encoding="utf-8")
    tex = out / "report.tex"
    tex.write_text(report_latex(run, environment), encoding="utf-8")
    return tex
