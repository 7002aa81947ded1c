"""``report.md``: the same outline as the PDF (:mod:`~symconv.report.render.outline`) in
Markdown with math between ``$`` (MathJax, GitHub): how to read it, the summary (the source's
statements apart from the toolkit's derived extras), the corrections, question -> part -> claim,
the references, then the appendix (checks, source coverage, conventions, environment)."""

from __future__ import annotations

from collections.abc import Sequence

from symconv.report.notation import human, to_latex
from symconv.report.proof import Claim, Proof, Verdict
from symconv.report.render.outline import (
    CONVENTIONS,
    READING_GUIDE,
    TITLE,
    VERDICT_ORDER,
    VERDICT_RULES,
    Chain,
    RunResult,
    Tally,
    as_run,
    check_rows,
    citations,
    exclusions,
    parts,
    sentence,
    short_id,
    source_line,
    source_lines,
    summary_rows,
)
from symconv.report.render.quote import quote_markdown, text_markdown
from symconv.report.render.tables import table_markdown

#: how each verdict is marked (refuted, unsourced and inconsistent stand out)
MARK = {
    Verdict.VERIFIED: "verified",
    Verdict.REFUTED: "**refuted**",
    Verdict.DERIVED: "derived",
    Verdict.OPINION: "opinion",
    Verdict.UNSOURCED: "*unsourced*",
    Verdict.INCONSISTENT: "**INCONSISTENT**",
}


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _math(value) -> str:
    return f"${to_latex(value)}$" if value is not None else "—"


def _units(value, unit: str) -> str:
    extra = f" ({human(value)})" if human(value) else ""
    return (f" {unit}" if unit else "") + extra


def _anchor(cid: str) -> str:
    return "claim-" + cid.replace(".", "-").replace("_", "-").lower()


def _link(cid: str) -> str:
    return f"[`{cid}`](#{_anchor(cid)})"


def values_markdown(claim: Claim) -> str:
    unit = claim.unit
    if claim.verdict is Verdict.DERIVED or (claim.stated is None and claim.derived is not None):
        return f"Value: {_math(claim.derived)}{_units(claim.derived, unit)}."
    if claim.stated is None:
        return ""
    if claim.verdict is Verdict.VERIFIED:
        return f"States {_math(claim.stated)}{_units(claim.stated, unit)}; derived the same."
    return (f"The source states {_math(claim.stated)}{_units(claim.stated, unit)}; the right "
            f"value is {_math(claim.derived)}{_units(claim.derived, unit)}.")


def chains_markdown(chains: Sequence[Chain]) -> list[str]:
    """One bullet per chain written out; those written out for an earlier claim in one line."""
    out = []
    used = [ch for ch in chains if ch.shown_in is not None]
    if used:
        out.append("Uses " + "; ".join(f"${ch.lhs} = {ch.rhs[-1]}$ (`{ch.shown_in}`)"
                                       for ch in used) + ".")
        out.append("")
    for ch in chains:
        if ch.shown_in is None:
            formula = (f" (formula: [`{ch.formula_ref}`](#{_anchor(ch.formula_in)}))"
                       if ch.formula_in else "")
            out.append(f"- *{text_markdown(ch.caption)}*{formula}: "
                       f"$${ch.lhs} = {' = '.join(ch.written)}$$")
    return [*out, ""] if out and out[-1] else out


def _cite(claim: Claim, cited: dict) -> str:
    if claim.cite is None:
        return ""
    key, where = claim.cite
    number = cited[key].number if key in cited else key
    return f" [[{number}]](#ref-{key})" + (f", {where}" if where else "")


def _quote(claim: Claim, run: RunResult) -> list[str]:
    line = source_line(run, claim)
    head = f"The source (line {line}):" if line else "The source:"
    return [head, "", quote_markdown(claim.quote, run), ""]


def claim_markdown(claim: Claim, run: RunResult, chains: Sequence[Chain],
                   cited: dict) -> list[str]:
    out = [f'<a id="{_anchor(claim.id)}"></a>', "",
           f"#### `{claim.id}` — {MARK[claim.verdict]}", "",
           text_markdown(sentence(claim.statement)) + _cite(claim, cited), ""]
    if claim.quote:
        out += _quote(claim, run)
    if claim.reading:
        out += [f"*Reading:* {text_markdown(claim.reading)}", ""]
    values = values_markdown(claim)
    if values:
        out += [values, ""]
    if claim.correction and claim.verdict is Verdict.REFUTED:
        out += [f"**Correction.** {text_markdown(claim.correction)}", ""]
    out += chains_markdown(chains)
    if claim.derivation.assumptions:
        out += ["Assuming: " + "; ".join(f"`{a}`" for a in claim.derivation.assumptions), ""]
    if claim.note:
        out += [f"*Note.* {text_markdown(claim.note)}", ""]
    return out


def _ids(ids) -> str:
    return ", ".join(f"[`{short_id(cid)}`](#{_anchor(cid)})" for cid in ids)


def _summary(proofs: Sequence[Proof]) -> list[str]:
    """Per question part: the source's statements by verdict, then the toolkit's extras."""
    first, second = Tally.of(proofs).lines()
    out = ["## Summary", "", first, second,
           "Each part lists its claims without the part's prefix (`rf.L3` is `q1b.rf.L3`).", "",
           "| part | the source's statements | derived by the toolkit |", "|---|---|---|"]
    for row in summary_rows(proofs):
        cells = "; ".join(f"{MARK[v]}: {_ids(ids)}" for v, ids in row.statements.items())
        out.append(f"| {row.proof.question}({row.proof.part}) | {cells or '—'} | "
                   f"{_ids(row.extras) or '—'} |")
    return out


def _corrections(proofs: Sequence[Proof]) -> list[str]:
    out = ["", "## Corrections", ""]
    refuted = [c for p in proofs for c in p.claims if c.verdict is Verdict.REFUTED]
    if not refuted:
        return [*out, "No stated value was refuted."]
    out += ["Each statement of the source that the checks refute, with the value it states and "
            "the right one; the source's words, the correction and the derivation are in the "
            "claim's section (the link).", ""]
    out += [f"- {_link(c.id)}: {text_markdown(sentence(c.statement))} {values_markdown(c)}"
            for c in refuted]
    return out


def _extras_appendix(run: RunResult, cited: dict) -> list[str]:
    out = ["", "## Appendix A: derivations of the toolkit's additions", "",
           "The values the toolkit adds to each part (the source does not state them), each "
           "with its derivation.", ""]
    for part in parts(run.proofs):
        if part.extras:
            proof = part.proof
            out += [f"### {proof.question}({proof.part}): {text_markdown(proof.title)}", ""]
            for claim in part.extras:
                out += claim_markdown(claim, run, part.chains[claim.id], cited)
    return out


def _appendix(run: RunResult, environment: dict | None) -> list[str]:
    out = ["", "## Appendix B: checks", "",
           "One row per check, grouped by claim: the side of the verification triangle "
           "(sympy, model, xla, numpy, paper, experiment), what was checked, at which points, "
           "and the result.", ""]
    rows = check_rows(run.proofs)
    if rows:
        out += ["| claim | side | what | at which points | result |", "|---|---|---|---|---|"]
        last = None
        for r in rows:
            what = text_markdown(r.description) + (f" ({text_markdown(r.detail)})"
                                                   if r.detail else "")
            out.append(f"| {_link(r.claim) if r.claim != last else ''} | {r.side} | "
                       f"{_cell(what)} | {_cell(text_markdown(r.points))} | "
                       f"{'passed' if r.passed else '**FAILED**'} |")
            last = r.claim
    if run.source is not None:
        out += ["", "## Appendix C: source coverage", "",
                f"Each line of the worked solutions in `{run.source.path.name}` that states a "
                "number, a formula or a checkable fact, and the claims that quote it.", "",
                "| line | part | claims |", "|---:|---|---|"]
        for ln in source_lines(run):
            what = (", ".join(f"`{c}`" for c in ln.claims) if ln.claims
                    else "*excluded*" if ln.excluded else "**no claim**")
            out.append(f"| {ln.line} | {ln.part} | {what} |")
        excluded = exclusions(run)
        if excluded:
            out += ["", "Sentences excluded from the claims, with the reason:", "",
                    "| line | sentence | reason |", "|---:|---|---|"]
            out += [f"| {ex.line} | {_cell(ex.text)} | {_cell(text_markdown(ex.reason))} |"
                    for ex in excluded]
    out += ["", "## Appendix D: conventions", ""]
    out += [f"- **{term}**: {text_markdown(text)}" for term, text in CONVENTIONS]
    if environment:
        out += ["", "## Appendix E: environment", ""]
        out += [f"- {k}: {v}" for k, v in sorted(environment.items())]
    return out


def report_markdown(report: RunResult | Sequence[Proof], environment: dict | None = None,
                    title: str = TITLE) -> str:
    run = as_run(report)
    proofs = run.proofs
    cited = citations(run)
    first, second = Tally.of(proofs).lines()
    out = [f"# {title}", "", first, second, "", "## How to read this report", "",
           READING_GUIDE, ""]
    out += [f"- {MARK[v]}: {VERDICT_RULES[v]}" for v in VERDICT_ORDER]
    out.append("")
    out += _summary(proofs)
    out += _corrections(proofs)
    question = None
    for part in parts(proofs):
        proof = part.proof
        if proof.question != question:
            question = proof.question
            out += ["", f"## {question}"]
        out += ["", f"### {proof.question}({proof.part}): {text_markdown(proof.title)}", ""]
        for table in proof.tables:
            out += [f"**{text_markdown(table.caption)}**", "", table_markdown(table), ""]
        for fig in proof.figures:
            out += [f"![{fig.caption}]({fig.path})", "", f"*{text_markdown(fig.caption)}*", ""]
        for claim in part.statements:
            out += claim_markdown(claim, run, part.chains[claim.id], cited)
        if part.extras:
            out += [f"*Derived by the toolkit* ({len(part.extras)} value"
                    f"{'s' * (len(part.extras) != 1)} the source does not state, in Appendix "
                    "A): " + ", ".join(f"[`{c.id}`](#{_anchor(c.id)})" for c in part.extras)
                    + ".", ""]
    if cited:
        out += ["", "## References", ""]
        for c in cited.values():
            ref = c.reference
            text = (f"{ref.authors} ({ref.year}). *{ref.title}*. {ref.venue}."
                    + (f" <{ref.url}>" if ref.url else "")) if ref else f"`{c.key}`"
            by = ", ".join(f"`{cid}`" + (f" ({where})" if where else "") for cid, where in c.by)
            out += [f'<a id="ref-{c.key}"></a>[{c.number}] {text} Cited by {by}.', ""]
    out += _extras_appendix(run, cited)
    out += _appendix(run, environment)
    return "\n".join(out).rstrip() + "\n"
