"""``report.json``: ``{"claims": [...], "proofs": [...], "summary": {...}}``, keys sorted, no
timestamps. Values appear twice: as plain text and as LaTeX math."""

from __future__ import annotations

import json
from collections.abc import Sequence

from symconv.report.notation import step_latex, to_latex, to_text
from symconv.report.proof import Check, Claim, Proof, Table, Verdict


def summary_counts(proofs: Sequence[Proof]) -> dict[str, int]:
    counts = {v.value: 0 for v in Verdict}
    for proof in proofs:
        for claim in proof.claims:
            counts[claim.verdict.value] += 1
    return counts


def check_dict(check: Check) -> dict:
    return {"side": check.side, "description": check.description, "points": check.points,
            "passed": check.passed, "detail": check.detail}


def claim_dict(claim: Claim) -> dict:
    return {
        "id": claim.id,
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


def report_json(proofs: Sequence[Proof], environment: dict | None = None) -> str:
    doc = {
        "claims": [claim_dict(c) for proof in proofs for c in proof.claims],
        "proofs": [{"question": p.question, "part": p.part, "title": p.title,
                    "claims": [c.id for c in p.claims],
                    "figures": [{"path": f.path, "caption": f.caption} for f in p.figures],
                    "tables": [table_dict(t) for t in p.tables]}
                   for p in proofs],
        "summary": summary_counts(proofs),
        "environment": environment or {},
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def report_schema() -> dict:
    """The JSON Schema (draft 2020-12) that ``report.json`` follows, shipped in the package."""
    from importlib.resources import files

    return json.loads(files("symconv.report.render").joinpath("report.schema.json").read_text())
