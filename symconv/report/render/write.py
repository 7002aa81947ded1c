"""Write a whole report directory: ``report.md``, ``report.json``, ``report.tex``, ``figures/``
and, when pdflatex is installed, ``report.pdf``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from symconv.report.proof import Proof
from symconv.report.render.json import report_json
from symconv.report.render.markdown import report_markdown


def write_report(proofs: Sequence[Proof], out: str | Path, environment: dict | None = None,
                 pdf: bool = True) -> list[str]:
    """Render ``proofs`` into ``out`` and return the names of the report files written.

    Raises:
      SymconvError: pdflatex failed (the md, json and tex files are written by then).
    """
    from symconv.report.render.figures import write_figures
    from symconv.report.render.latex import compile_pdf, report_latex

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_figures(proofs, out)
    (out / "report.md").write_text(report_markdown(proofs, environment), encoding="utf-8")
    (out / "report.json").write_text(report_json(proofs, environment), encoding="utf-8")
    tex = out / "report.tex"
    tex.write_text(report_latex(proofs, environment), encoding="utf-8")
    written = ["report.md", "report.json", "report.tex"]
    if pdf and compile_pdf(tex) is not None:
        written.append("report.pdf")
    return written
