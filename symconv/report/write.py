"""Run proofs and write the report: Markdown, JSON, LaTeX, figures and (with pdflatex) a PDF.

:func:`write_report` is what ``symconv prove`` does; :func:`report_summary` is what it prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from symconv.errors import SymconvError
from symconv.report.render.latex import INSTALL_HINT, compile_pdf
from symconv.report.render.write import FILES, render_report
from symconv.report.runner import (
    RunResult,
    default_proof_dir,
    environment,
    proof_files,
    run_proofs,
)


@dataclass(frozen=True)
class WrittenReport:
    """What :func:`write_report` ran and wrote.

    ``notes``: one line each for the user (a proof that failed to run, a PDF not made);
    ``code``: the exit status, 1 when a proof failed to run, a claim is inconsistent (or, with
    ``strict``, refuted) or the PDF did not compile, else 0.
    """

    out: Path
    run: RunResult
    files: tuple[str, ...]
    notes: tuple[str, ...]
    code: int


def write_report(paths: Sequence[str | Path] = (), out: str | Path = "build/report", *,
                 strict: bool = False, pdf: bool = True, experiments: bool = False,
                 progress: Callable[[str], None] = lambda line: None) -> WrittenReport:
    """Run the proof modules in ``paths`` (default: :func:`default_proof_dir`) and write
    ``report.md``, ``report.json``, ``report.tex`` and ``figures/`` to ``out``; with ``pdf``, also
    ``report.pdf`` when pdflatex is installed. ``progress`` receives one line per proof file;
    ``experiments`` runs the slow experiments again instead of reading their committed results
    (:func:`~symconv.report.runner.experiments_enabled`)."""
    files = proof_files(list(paths) or [default_proof_dir()])
    out = Path(out)
    run = run_proofs(files, progress=progress, experiments=experiments)
    tex = render_report(run, out, environment())
    notes = [f"symconv: proof {file} failed to run: {err}" for file, err in run.errors]
    written = list(FILES)
    code = run.exit_code(strict=strict)
    if pdf:
        try:
            made = compile_pdf(tex)
        except SymconvError as e:
            notes.append(f"symconv: {e}")
            code = code or 1
        else:
            if made is None:
                notes.append(f"report.pdf skipped: {INSTALL_HINT}")
            else:
                written.append("report.pdf")
    return WrittenReport(out, run, tuple(written), tuple(notes), code)


def report_summary(report: WrittenReport) -> str:
    """One line per claim (id, question part, verdict), the count of each verdict, and the
    files written."""
    rows = [(c.id, f"{c.question}({c.part})", c.verdict.value)
            for p in report.run.proofs for c in p.claims]
    width = max([len(r[0]) for r in rows] + [5])
    counts: dict[str, int] = {}
    for _, _, verdict in rows:
        counts[verdict] = counts.get(verdict, 0) + 1
    return "\n".join([f"{'claim':<{width}}  part     verdict",
                      *(f"{cid:<{width}}  {part:<7}  {verdict}" for cid, part, verdict in rows),
                      ", ".join(f"{n} {v}" for v, n in sorted(counts.items())),
                      f"wrote {', '.join(report.files)} and figures/ to {report.out}"])
