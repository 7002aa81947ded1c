"""``report.json``: ``{"claims": [...], "summary": {...}}``, keys sorted, no timestamps."""

from __future__ import annotations

import json
from typing import Sequence

from symconv.report.proof import Proof, Verdict


def summary_counts(proofs: Sequence[Proof]) -> dict[str, int]:
    counts = {v.value: 0 for v in Verdict}
    for proof in proofs:
        for claim in proof.claims:
            counts[claim.verdict.value] += 1
    return counts


def report_json(proofs: Sequence[Proof], environment: dict | None = None) -> str:
    doc = {
        "claims": [c.as_dict() for proof in proofs for c in proof.claims],
        "proofs": [{"question": p.question, "part": p.part, "title": p.title,
                    "claims": [c.id for c in p.claims],
                    "figures": [{"path": f.path, "caption": f.caption} for f in p.figures]}
                   for p in proofs],
        "summary": summary_counts(proofs),
        "environment": environment or {},
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def report_schema() -> dict:
    """The JSON Schema (draft 2020-12) that ``report.json`` follows, shipped in the package."""
    from importlib.resources import files

    return json.loads(files("symconv.report.render").joinpath("report.schema.json").read_text())
