"""``report.md``: summary, corrections, then question -> part -> claim, with math in ``$``."""

from __future__ import annotations

from collections.abc import Sequence

from symconv.report.notation import derivation_latex, human, to_latex
from symconv.report.proof import Claim, Proof, Verdict
from symconv.report.render.json import summary_counts
from symconv.report.render.tables import table_markdown

CONVENTIONS = """\
- **MAC**: one multiply-accumulate. **FLOPs** of a convolution or matrix product = 2 x MACs
  (XLA's and `torch.utils.flop_counter`'s convention; fvcore and ptflops call MACs "flops").
- **Dense MACs**: output elements x taps per output element, padded zeros included (the textbook
  formula). **Exact MACs**: only taps that land on real input (zero padding and the holes of a
  dilated input excluded): what XLA's HLO cost analysis counts.
- Elementwise ops (bias add, ReLU, pooling, softmax) cost what XLA counts: one FLOP per
  elementary operation; exponentials are *transcendentals*, counted apart.
- Layout: NHWC activations, HWIO kernels (JAX/Flax). Transposed convolutions use PyTorch's
  meaning of padding (`transpose_kernel=True` in Flax).
"""

_MARK = {
    Verdict.VERIFIED: "verified",
    Verdict.REFUTED: "**refuted**",
    Verdict.DERIVED: "derived",
    Verdict.OPINION: "opinion",
    Verdict.UNSOURCED: "unsourced",
    Verdict.INCONSISTENT: "**INCONSISTENT**",
}


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _units(value) -> str:
    text = human(value)
    return f" ({text})" if text else ""


def _math(value) -> str:
    return f"${to_latex(value)}$" if value is not None else "—"


def _claim_section(claim: Claim) -> str:
    lines = [f"#### `{claim.id}` — {_MARK[claim.verdict]}", "", f"> {claim.statement}", ""]
    if claim.stated is not None:
        lines.append(f"- stated: {_math(claim.stated)} {claim.unit}{_units(claim.stated)}"
                     .rstrip())
    lines.append(f"- derived: {_math(claim.derived)} {claim.unit}{_units(claim.derived)}"
                 .rstrip())
    lines.append("")
    if claim.derivation.steps:
        lines += ["Derivation:", "", "$$", derivation_latex(claim.derivation), "$$", ""]
    if claim.derivation.assumptions:
        lines.append("Assuming: " + "; ".join(f"`{a}`" for a in claim.derivation.assumptions))
        lines.append("")
    if claim.checks:
        lines.append("Checks:")
        lines.append("")
        for check in claim.checks:
            mark = "passed" if check.passed else "FAILED"
            lines.append(f"- [{check.side}] {check.description} — {check.points} — {mark}")
            if check.detail:
                lines.append(f"  - {check.detail}")
        lines.append("")
    if claim.note:
        lines += [f"Note: {claim.note}", ""]
    return "\n".join(lines)


def report_markdown(proofs: Sequence[Proof], environment: dict | None = None,
                    title: str = "symconv report") -> str:
    counts = summary_counts(proofs)
    out = [f"# {title}", ""]
    out.append(", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no claims")
    out += ["", "## Summary", "", "| claim | part | stated | derived | verdict |",
            "|---|---|---|---|---|"]
    for proof in proofs:
        for c in proof.claims:
            out.append(f"| `{c.id}` | {c.question}({c.part}) | {_cell(_math(c.stated))} | "
                       f"{_cell(_math(c.derived))} | {_MARK[c.verdict]} |")
    refuted = [c for p in proofs for c in p.claims if c.verdict is Verdict.REFUTED]
    out += ["", "## Corrections", ""]
    if not refuted:
        out.append("No stated value was refuted.")
    for c in refuted:
        out.append(f"- `{c.id}`: the source states {_math(c.stated)}; the right value is "
                   f"{_math(c.derived)} {c.unit}. {c.note}".rstrip())
    question = None
    for proof in proofs:
        if proof.question != question:
            question = proof.question
            out += ["", f"## {question}"]
        out += ["", f"### {proof.question}({proof.part}): {proof.title}", ""]
        for table in proof.tables:
            out += [f"**{table.caption}**", "", table_markdown(table), ""]
        for fig in proof.figures:
            out += [f"![{fig.caption}]({fig.path})", "", f"*{fig.caption}*", ""]
        for claim in proof.claims:
            out.append(_claim_section(claim))
    out += ["", "## Appendix: conventions", "", CONVENTIONS]
    if environment:
        out += ["## Appendix: environment", ""]
        out += [f"- {k}: {v}" for k, v in sorted(environment.items())]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
