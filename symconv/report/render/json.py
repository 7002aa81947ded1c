"""``report.json``: claims, proofs, the summary (the source's statements apart from the toolkit's
extras), the cited references and the source coverage; keys sorted, no timestamps. Values appear
twice: as plain text and as LaTeX math."""

from __future__ import annotations

import json
from collections.abc import Sequence

from symconv.report.notation import step_latex, to_latex, to_text
from symconv.report.proof import Check, Claim, Proof, Table, Verdict
from symconv.report.render.outline import (
    RunResult,
    Tally,
    as_run,
    citations,
    exclusions,
    figure_pdf,
    source_line,
    source_lines,
)


def summary_counts(proofs: Sequence[Proof]) -> dict[str, int]:
    """Claims per verdict, all together."""
    counts = {v.value: 0 for v in Verdict}
    for proof in proofs:
        for claim in proof.claims:
            counts[claim.verdict.value] += 1
    return counts


def summary_dict(proofs: Sequence[Proof]) -> dict:
    """Per verdict in all, and apart: the source's statements and the toolkit's extras."""
    tally = Tally.of(proofs)
    return {**summary_counts(proofs),
            "source": {v.value: n for v, n in tally.source.items()},
            "extras": {v.value: n for v, n in tally.extras.items()}}


def check_dict(check: Check) -> dict:
    return {"side": check.side, "description": check.description, "points": check.points,
            "passed": check.passed, "detail": check.detail}


def claim_dict(claim: Claim, run: RunResult | None = None) -> dict:
    return {
        "id": claim.id,
        "about_source": claim.about_source,
        "quote": claim.quote,
        "source_line": source_line(run, claim) if run is not None else None,
        "reading": claim.reading,
        "correction": claim.correction,
        "cite": ({"key": claim.cite[0], "locator": claim.cite[1]} if claim.cite else None),
        "basis": claim.basis.value,
        "question": claim.question,
        "part": claim.part,
        "statement": claim.statement,
        "stated": to_text(claim.stated),
        "stated_latex": to_latex(claim.stated) if claim.stated is not None else "",
        "derived": to_text(claim.derived),
        "derived_latex": to_latex(claim.derived),
        "unit": claim.unit,
        "verdict": claim.verdict.value,
        "note": claim.note,
        "derivation": [{"label": s.label, "latex": step_latex(s)}
                       for s in claim.derivation.steps],
        "assumptions": list(claim.derivation.assumptions),
        "checks": [check_dict(c) for c in claim.checks],
    }


def table_dict(table: Table) -> dict:
    return {"caption": table.caption, "header": list(table.header),
            "rows": [[to_text(v) for v in row] for row in table.rows]}


def _references(run: RunResult) -> list[dict]:
    out = []
    for c in citations(run).values():
        ref = c.reference
        out.append({"number": c.number, "key": c.key,
                    "text": ref.text() if ref else "", "url": ref.url if ref else "",
                    "cited_by": [{"claim": cid, "locator": where} for cid, where in c.by]})
    return out


def _coverage(run: RunResult) -> dict | None:
    if run.source is None:
        return None
    return {"source": run.source.path.name, "sha256": run.source.sha256,
            "lines": [{"line": ln.line, "part": ln.part, "claims": list(ln.claims),
                       "excluded": list(ln.excluded), "uncovered": ln.uncovered}
                      for ln in source_lines(run)],
            "excluded": [{"line": ex.line, "text": ex.text, "reason": ex.reason}
                         for ex in exclusions(run)]}


def report_json(report: RunResult | Sequence[Proof], environment: dict | None = None) -> str:
    run = as_run(report)
    proofs = run.proofs
    doc = {
        "claims": [claim_dict(c, run) for proof in proofs for c in proof.claims],
        "coverage": _coverage(run),
        "references": _references(run),
        "proofs": [{"question": p.question, "part": p.part, "title": p.title,
                    "claims": [c.id for c in p.claims],
                    "figures": [{"path": f.path, "pdf": figure_pdf(f.path), "caption": f.caption}
                                for f in p.figures],
                    "tables": [table_dict(t) for t in p.tables]}
                   for p in proofs],
        "summary": summary_dict(proofs),
        "environment": environment or {},
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def report_schema() -> dict:
    """The JSON Schema (draft 2020-12) that ``report.json`` follows, shipped in the package."""
    from importlib.resources import files

    return json.loads(files("symconv.report.render").joinpath("report.schema.json").read_text())
