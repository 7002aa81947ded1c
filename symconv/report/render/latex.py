r"""``report.tex``: a complete article in Latin Modern (T1), and its PDF.

The main body is what a student or teacher reads: how to read the report, a summary (the
source's statements apart from the toolkit's derived extras), the corrections, then per question
part the source's words, the answer, the derivation with every substitution, the correction in
words and the figure; the references close it. The appendix, after ``\label{appendix}`` on a new
page, holds the check table, the source coverage, the conventions and the environment.

Every formula comes from SymPy's printers (:mod:`symconv.report.notation`); the source's own
math is typeset as the source writes it. Nothing is scaled below the text size except a single
formula or table cell wider than its column (``\fitmath``, ``\fitin``). The PDF is compiled with
``pdflatex`` when it is installed (:func:`compile_pdf`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import sympy as sp

from symconv.errors import SymconvError
from symconv.report.notation import human, text_escape, to_latex
from symconv.report.proof import Claim, Labeled, Proof, Verdict
from symconv.report.render import latex_appendix as appendix
from symconv.report.render.latex_preamble import PREAMBLE
from symconv.report.render.outline import (
    READING_GUIDE,
    TITLE,
    VERDICT_ORDER,
    VERDICT_RULES,
    Chain,
    RunResult,
    Tally,
    as_run,
    citations,
    figure_pdf,
    parts,
    sentence,
    short_id,
    source_line,
    summary_rows,
)
from symconv.report.render.quote import claim_id, quote_latex, text_latex
from symconv.report.render.tables import table_latex

INSTALL_HINT = ("install pdflatex to get report.pdf (Debian/Ubuntu: apt-get install "
                "--no-install-recommends texlive-latex-base texlive-latex-recommended lmodern)")


VERDICT_TEX = {v: r"\verdict{v" + v.value + "}{" + v.value + "}" for v in Verdict}


def tex_escape(text: str) -> str:
    """Plain text made safe for LaTeX in T1 (every special character escaped)."""
    return text_escape(text)


def claim_link(cid: str) -> str:
    return r"\hyperref[claim:" + cid + "]{" + claim_id(cid) + "}"


def value_tex(value) -> str:
    """A value in running text: short inline, long on a line of its own."""
    if value is None:
        return "---"
    if isinstance(value, Labeled) and len(value.items) > 1:
        return ", ".join(value_tex(Labeled((item,))) for item in value.items)
    return r"\val{" + to_latex(value) + "}"


def cell_tex(value, width: str = r"\linewidth") -> str:
    """A value in a table cell: a sum or product as inline math (it wraps at its operators),
    anything else scaled only if wider than the cell; one line per name of a
    :class:`Labeled`."""
    if value is None:
        return "---"
    if isinstance(value, Labeled) and len(value.items) > 1:
        return r"\newline ".join(cell_tex(Labeled((item,)), width) for item in value.items)
    if isinstance(value, sp.Expr) and (value.is_Add or value.is_Mul):
        return "$" + to_latex(value) + "$"
    return r"\fitin{" + width + "}{" + to_latex(value) + "}"


def _units(value, unit: str) -> str:
    extra = f" ({human(value)})" if human(value) else ""
    return (f" {tex_escape(unit)}" if unit else "") + extra


def cite_tex(claim: Claim, cited: dict) -> str:
    if claim.cite is None:
        return ""
    key, where = claim.cite
    number = cited[key].number if key in cited else tex_escape(key)
    return r"\hyperref[ref:" + key + "]{[" + str(number) + "]}" + (
        f", {tex_escape(where)}" if where else "")


def values_tex(claim: Claim) -> str:
    """What the source states and what is right, in one sentence."""
    unit = claim.unit
    if claim.stated is None:
        if claim.derived is None:
            return ""
        return r"Value: " + value_tex(claim.derived) + _units(claim.derived, unit) + "."
    if claim.verdict is Verdict.VERIFIED:
        return (r"States " + value_tex(claim.stated) + _units(claim.stated, unit)
                + r"; derived the same.")
    return (r"The source states " + value_tex(claim.stated) + _units(claim.stated, unit)
            + r"; the right value is " + value_tex(claim.derived)
            + _units(claim.derived, unit) + ".")


def _chain_caption(ch: Chain) -> str:
    """A chain's caption; where its general formula is written out for an earlier claim, a
    reference to that claim."""
    caption = tex_escape(ch.caption)
    if ch.formula_in is not None:
        caption += (r" (formula: \hyperref[claim:" + ch.formula_in + "]{"
                    + claim_id(ch.formula_ref) + "})")
    return caption


def _chain_args(ch: Chain) -> str:
    r"""``{caption}{pieces}{aligned rows}``: the arguments of ``\chain`` and ``\chainhere``."""
    written = ch.written
    pieces = r"\chaineq".join(r"\chainpiece{" + x + "}" for x in (ch.lhs, *written))
    rows = ch.lhs + " &= " + r" \\ &= ".join(written)
    return "{" + _chain_caption(ch) + "}{" + pieces + "}{" + rows + "}"


def uses_tex(chains: Sequence[Chain]) -> str:
    """The chains written out for an earlier claim, in one line of results ('' if none)."""
    used = [ch for ch in chains if ch.shown_in is not None]
    if not used:
        return ""
    return (r"{\small Uses " + "; ".join(
        r"\val{" + ch.lhs + " = " + ch.rhs[-1] + r"} (" + claim_link(ch.shown_in) + ")"
        for ch in used) + r".\par}")


def chains_tex(chains: Sequence[Chain]) -> list[str]:
    """The chains written out, each a paragraph ending in its caption (``\\chain``); those
    already written out for an earlier claim in one line of results."""
    out = []
    uses = uses_tex(chains)
    if uses:
        out.append(uses)
    out += [r"\chain" + _chain_args(ch) for ch in chains if ch.shown_in is None]
    return out


def inline_chain(claim: Claim, chains: Sequence[Chain]) -> Chain | None:
    """The one chain of a verified (or derived) claim whose derivation is that one chain: it
    is set at the end of the claim's statement line (``\\chainhere``) when it fits there."""
    if claim.verdict not in (Verdict.VERIFIED, Verdict.DERIVED) or len(chains) != 1:
        return None
    ch = chains[0]
    return ch if ch.shown_in is None else None


def _head(claim: Claim, cited: dict, values: bool = True, chain: Chain | None = None) -> str:
    """The statement line: id, verdict, statement, citation, values, and a one-line derivation
    at its end (:func:`inline_chain`)."""
    cite = cite_tex(claim, cited)
    vals = values_tex(claim) if values else ""
    end = r"\par"
    if chain is not None:
        end = r"\chainhere" + _chain_args(chain)
    return (r"\claimhead\phantomsection\label{claim:" + claim.id + "}"
            + r"\textbf{" + claim_id(claim.id) + r"}\enspace " + VERDICT_TEX[claim.verdict]
            + r"\enspace " + text_latex(sentence(claim.statement)) + (f" {cite}" if cite else "")
            + (" " + vals if vals else "") + end + r"\nopagebreak")


def quote_block(claim: Claim, run: RunResult) -> list[str]:
    """The source's words, with the line they start on."""
    if not claim.quote:
        return []
    line = source_line(run, claim)
    return [r"\begin{srcquote}{" + (f"l.\\,{line}" if line else "") + "}",
            quote_latex(claim.quote, run), r"\end{srcquote}"]


def claim_tex(claim: Claim, run: RunResult, chains: Sequence[Chain], cited: dict) -> list[str]:
    """One claim: head (id, verdict, statement, values; a one-line derivation at its end), the
    source's words, the reading, the correction, the derivation, the note."""
    inline = inline_chain(claim, chains)
    out = [_head(claim, cited, chain=inline), *quote_block(claim, run)]
    if claim.reading:
        out.append(r"\reading{" + text_latex(claim.reading) + "}")
    if claim.correction and claim.verdict is Verdict.REFUTED:
        out.append(r"\correction{" + text_latex(claim.correction) + "}")
    out += chains_tex(chains) if inline is None else [r"\chainrest"]
    if claim.note:
        out.append(r"\note{" + text_latex(claim.note) + "}")
    return out


def extras_line(extras: Sequence[Claim]) -> str:
    """Where a part's extras are: the toolkit's values, derived in the appendix."""
    n = len(extras)
    return (r"\par\smallskip{\small\textit{Derived by the toolkit}" + f" ({n} value"
            + "s" * (n != 1) + r" the source does not state, in Appendix~\ref{app:extras}): "
            + ", ".join(claim_link(c.id) for c in extras) + r".\par}")


def _rules_tex() -> list[str]:
    out = [r"\section*{How to read this report}", text_latex(READING_GUIDE), "",
           r"\begin{description}\setlength{\itemsep}{0pt}\setlength{\parskip}{1pt}"]
    for v in VERDICT_ORDER:
        out.append(r"\item[" + VERDICT_TEX[v] + "] " + text_latex(VERDICT_RULES[v]))
    out.append(r"\end{description}")
    return out


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(r"\hyperref[claim:" + cid + "]{" + claim_id(short_id(cid)) + "}"
                     for cid in ids)


def _summary_tex(proofs: Sequence[Proof]) -> list[str]:
    """Per question part: the source's statements by verdict, then the toolkit's extras."""
    first, second = Tally.of(proofs).lines()
    out = [r"\section{Summary}", tex_escape(first) + " " + tex_escape(second)
           + r" Each part lists its claims (without the part's prefix: \claimid{rf.L3} is "
           r"\claimid{q1b.rf.L3}); the values are in the part's section, the refuted "
           r"statements also under Corrections.",
           r"{\footnotesize\begin{longtable}{@{}l>{\raggedright\arraybackslash}p{0.6\linewidth}"
           r">{\raggedright\arraybackslash}p{0.28\linewidth}@{}}", r"\toprule",
           r"part & the source's statements & derived by the toolkit \\", r"\midrule",
           r"\endhead", r"\bottomrule", r"\endfoot"]
    for row in summary_rows(proofs):
        cells = "; ".join(VERDICT_TEX[v] + ": " + _ids(ids) for v, ids in row.statements.items())
        out.append(r"\hyperref[part:" + row.proof.question + row.proof.part + "]{"
                   + tex_escape(f"{row.proof.question}({row.proof.part})") + "} & "
                   + (cells or "---") + " & " + (_ids(row.extras) or "---")
                   + r" \\ \addlinespace[1pt]")
    return [*out, r"\end{longtable}}"]


def _corrections_tex(proofs: Sequence[Proof]) -> list[str]:
    out = [r"\section{Corrections}"]
    refuted = [c for p in proofs for c in p.claims if c.verdict is Verdict.REFUTED]
    if not refuted:
        return [*out, "No stated value was refuted."]
    out.append(r"Each statement of the source that the checks refute, with the value it states "
               r"and the right one; the source's words, the correction and the derivation are "
               r"in the claim's section (the page number after each).")
    out.append(r"\begin{claims}")
    for c in refuted:
        out.append(r"\claimhead\hangindent=1em\textbf{" + claim_link(c.id) + r"}\enspace "
                   + text_latex(sentence(c.statement)) + " " + values_tex(c)
                   + r" (p.\,\pageref{claim:" + c.id + r"})\par")
    return [*out, r"\end{claims}"]


def _parts_tex(run: RunResult, cited: dict) -> list[str]:
    """The question parts in two columns, one flow; tables and figures span the page (at the
    top of the page after their part begins)."""
    out: list[str] = [r"\begin{claims}"]
    question = None
    for part in parts(run.proofs):
        proof = part.proof
        if proof.question != question:
            question = proof.question
            out.append(r"\section{" + tex_escape(question) + "}")
        out.append(r"\subsection{" + tex_escape(f"{proof.question}({proof.part}): ")
                   + text_latex(proof.title) + r"}\label{part:" + proof.question + proof.part
                   + "}")
        for table in proof.tables:
            out += [r"\begin{table*}[tp]\centering\small",
                    r"\caption{" + text_latex(table.caption) + "}",
                    r"\fittable{" + table_latex(table) + "}{"
                    + table_latex(table, r"\linewidth") + "}", r"\end{table*}"]
        figs = list(proof.figures)
        while figs:
            pair, figs = figs[:2], figs[2:]
            body = "".join("{" + figure_pdf(f.path) + "}{" + text_latex(f.caption) + "}"
                           for f in pair)
            out += [r"\begin{figure*}[tp]\centering\small",
                    (r"\symfigpair" if len(pair) == 2 else r"\symfig") + body,
                    r"\end{figure*}"]
        for claim in part.statements:
            out += claim_tex(claim, run, part.chains[claim.id], cited)
        if part.extras:
            out.append(extras_line(part.extras))
    return [*out, r"\end{claims}"]


def _extras_appendix(run: RunResult, cited: dict) -> list[str]:
    out = [r"\section{Derivations of the toolkit's additions}\label{app:extras}",
           "The values the toolkit adds to each part (the source does not state them), each "
           "with its derivation.", r"\begin{claims}"]
    for part in parts(run.proofs):
        if not part.extras:
            continue
        proof = part.proof
        out.append(r"\subsection*{" + tex_escape(f"{proof.question}({proof.part}): ")
                   + text_latex(proof.title) + "}")
        for claim in part.extras:
            out += claim_tex(claim, run, part.chains[claim.id], cited)
    return [*out, r"\end{claims}"]


def report_latex(report: RunResult | Sequence[Proof], environment: dict | None = None,
                 title: str = TITLE) -> str:
    """The whole article: main body, then the appendix from ``\\label{appendix}``."""
    run = as_run(report)
    proofs = run.proofs
    cited = citations(run)
    first, second = Tally.of(proofs).lines()
    out = [PREAMBLE, r"\title{" + tex_escape(title) + "}", r"\date{}", r"\begin{document}",
           r"\begin{center}{\LARGE " + tex_escape(title) + r"\par}\smallskip "
           + tex_escape(first) + r"\\" + tex_escape(second) + r"\end{center}",
           r"\compacttoc"]
    out += _rules_tex()
    out += _summary_tex(proofs)
    out += _corrections_tex(proofs)
    out += _parts_tex(run, cited)
    out += appendix.references_tex(cited)
    out += [r"\clearpage", r"\appendix", r"\phantomsection\label{appendix}"]
    out += _extras_appendix(run, cited)
    out += appendix.appendix_tex(run, environment)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def compile_pdf(tex_path: Path) -> Path | None:
    """Run pdflatex twice in the report directory; ``None`` when pdflatex is not installed.

    Raises :class:`SymconvError` with the first LaTeX error line when compilation fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        return None
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    for _ in range(2):
        proc = subprocess.run(
            [exe, "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
            cwd=tex_path.parent, capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0:
            errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
            raise SymconvError(f"pdflatex failed on {tex_path}: "
                               f"{errors[0] if errors else 'see ' + tex_path.stem + '.log'}")
    return tex_path.with_suffix(".pdf")


def appendix_page(directory: Path) -> int | None:
    """The page the appendix starts on, read from ``report.aux`` (None before compiling)."""
    aux = Path(directory) / "report.aux"
    if not aux.exists():
        return None
    m = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", aux.read_text(errors="replace"))
    return int(m.group(1)) if m else None
