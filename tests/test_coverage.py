"""The report covers its source: the vendored text is the assignment, every claim about it
quotes it verbatim, and every sentence of the worked solutions that states a number, a formula
or a checkable fact is quoted by a claim or listed, with a reason, in the reviewed exclusions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from symconv.report.proof import Basis, Verdict

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "proofs" / "source" / "assignment3.txt"
#: SHA-256 of the assignment as received (../shared/seed/assignment3.txt); the vendored copy
#: must stay byte-identical, since every quote is checked against it.
SHA256 = "d7f155a3bb44e6bf958196c40715ff886635068d180838c9d423a5243df29b2c"


def test_vendored_source_is_the_assignment():
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == SHA256
    seed = ROOT.parent / "shared" / "seed" / "assignment3.txt"
    if seed.exists():  # a developer's checkout has the original beside it; a user's clone not
        assert seed.read_bytes() == SOURCE.read_bytes()


def test_every_quote_is_verbatim_and_every_citation_known(proof_run):
    assert proof_run.source is not None and proof_run.source.path.name == SOURCE.name
    problems = [f"{cid}: {why}" for cid, why in proof_run.errors]
    assert not problems, "\n".join(problems)


def test_every_checkable_sentence_has_a_claim(proof_run):
    cov = proof_run.coverage()
    lines = [f"line {s.line} ({s.part}): {s.text[:100]}" for s in cov.uncovered]
    stale = [f"stale exclusion: {e.text[:80]!r}" for e in cov.stale_exclusions]
    assert cov.complete, "no claim quotes:\n" + "\n".join(lines + stale)


def test_claims_about_the_source_quote_it_and_extras_do_not(all_proofs):
    for claim in (c for p in all_proofs for c in p.claims):
        if claim.verdict is Verdict.DERIVED:
            assert claim.quote is None and claim.stated is None, claim.id
        if claim.basis is not Basis.CHECKED:
            assert claim.quote, claim.id
        if claim.verdict is Verdict.REFUTED:
            assert claim.correction.strip() and "TODO" not in claim.correction, claim.id
