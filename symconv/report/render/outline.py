"""What every rendering of a report shows, in which order, decided once: the verdict rules, the
counts (the source's statements apart from the toolkit's extras), the derivation chains, the
check rows of the appendix, the source-coverage rows and the cited papers.

Markdown and LaTeX (:mod:`~symconv.report.render.markdown`, :mod:`~symconv.report.render.latex`)
draw the same outline; only the markup differs.

A derivation's steps ``X: general formula``, ``X: substitution``, ``X: result`` (same left-hand
side) read as one chain ``lhs = general = substituted = result`` under the caption ``X``; a chain
already shown for an earlier claim is shown once and referred to:

>>> from symconv.report.proof import Derivation, Step
>>> import sympy as sp
>>> H, S = sp.symbols("H S", positive=True, integer=True)
>>> d = Derivation((Step("height: general formula", "H'", H / S),
...                 Step("height: substitution", "H'", H / S, {S: 1}),
...                 Step("height: result", "H'", H)))
>>> [(c.caption, c.lhs, c.rhs) for c in chains(d)]
[('height', "H'", ('\\\\frac{H}{S}', '\\\\frac{H}{1}', 'H'))]
>>> ordinal(2), ordinal(3), ordinal(11), ordinal(22)
('2nd', '3rd', '11th', '22nd')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from symconv.report.notation import step_latex, to_latex
from symconv.report.proof import Claim, Derivation, Proof, Verdict
from symconv.report.references import Reference
from symconv.report.runner import RunResult

TITLE = "symconv report"

#: the order verdicts are counted and explained in: the source's statements, then the extras
VERDICT_ORDER = (Verdict.VERIFIED, Verdict.REFUTED, Verdict.UNSOURCED, Verdict.OPINION,
                 Verdict.DERIVED, Verdict.INCONSISTENT)

#: how a reader tells the verdicts apart (README "The report" says the same)
VERDICT_RULES: dict[Verdict, str] = {
    Verdict.VERIFIED: "the source states this value for this quantity, as its own words define "
                      "it, and the toolkit derives the same value.",
    Verdict.REFUTED: "the source's value differs from the derived one, also when its words cover "
                     "more than its number does (a \u201ctotal\u201d that leaves out a layer or "
                     "the biases). The correction says what the source says, what is right and "
                     "why.",
    Verdict.UNSOURCED: "a factual statement that names no source and cannot be checked here "
                       "(a study the source alludes to without citing it). Neither confirmed "
                       "nor refuted.",
    Verdict.OPINION: "a value judgement with nothing checkable in it: reported, never dressed up "
                     "as a check.",
    Verdict.DERIVED: "the toolkit's own addition, a value the source never states: it has no "
                     "quote and is counted apart from the source's statements.",
    Verdict.INCONSISTENT: "the toolkit's own checks disagree with each other: a bug in symconv, "
                          "never a judgement on the source.",
}

#: what the reader is told before the rules
READING_GUIDE = (
    "Each statement of the source is quoted verbatim, as the source typesets it; how the toolkit "
    "reads it, where that needs saying, follows in a separate reading. The right value comes "
    "from a derivation that writes out every substitution; the checks behind it (SymPy algebra, "
    "the Flax model, XLA's cost analysis, NumPy, a paper's numbers, an experiment) are listed in "
    "the appendix. A statement about a paper cites it; the papers are listed under References.")

#: the counting conventions every number of the report follows: (term, meaning)
CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("MAC", "one multiply-accumulate. FLOPs of a convolution or matrix product = 2 \u00d7 MACs "
            "(XLA's and torch.utils.flop_counter's convention; fvcore and ptflops call MACs "
            "\u201cflops\u201d)."),
    ("Dense MACs", "output elements \u00d7 taps per output element, padded zeros included (the "
                   "textbook formula)."),
    ("Exact MACs", "only the taps that land on real input (zero padding and the holes of a "
                   "dilated input excluded): what XLA's HLO cost analysis counts."),
    ("Elementwise operations", "(bias add, ReLU, pooling, softmax) cost what XLA counts: one "
                               "FLOP per elementary operation; exponentials are "
                               "transcendentals, counted apart."),
    ("Layout", "NHWC activations, HWIO kernels (JAX/Flax). Transposed convolutions use "
               "PyTorch's meaning of padding (transpose_kernel=True in Flax)."),
)

_CHAIN_SUFFIXES = ("general formula", "substitution", "result")


def as_run(report: RunResult | Sequence[Proof]) -> RunResult:
    """A run as given, or proofs wrapped in one (no source, exclusions or bibliography)."""
    return report if isinstance(report, RunResult) else RunResult(tuple(report), ())


def figure_pdf(path: str) -> str:
    """The vector PDF written beside a figure's PNG: ``figures/x.png`` -> ``figures/x.pdf``."""
    return path[:-4] + ".pdf" if path.endswith(".png") else path + ".pdf"


def sentence(text: str) -> str:
    """Text ending as a sentence does (a full stop added when it has no closing mark)."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?", ".\u201d", ".'")) else text + "."


def claims(proofs: Sequence[Proof]) -> list[Claim]:
    return [c for p in proofs for c in p.claims]


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``12th``, ``13th``, ``21st``."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Tally:
    """Verdict counts of the source's statements (quoted) and of the toolkit's extras."""

    source: dict[Verdict, int]
    extras: dict[Verdict, int]

    @classmethod
    def of(cls, proofs: Sequence[Proof]) -> Tally:
        source = {v: 0 for v in VERDICT_ORDER}
        extras = {v: 0 for v in VERDICT_ORDER}
        for c in claims(proofs):
            (source if c.about_source else extras)[c.verdict] += 1
        return cls(source, extras)

    def lines(self) -> tuple[str, str]:
        """``("The source: 64 statements: 50 verified, ...", "The toolkit adds 40 ...")``."""
        n = sum(self.source.values())
        parts = ", ".join(f"{k} {v.value}" for v, k in self.source.items() if k)
        first = (f"The source: {n} statement{'s' * (n != 1)} checked"
                 + (f": {parts}." if parts else "."))
        m = sum(self.extras.values())
        extra = ", ".join(f"{k} {v.value}" for v, k in self.extras.items()
                          if k and v is not Verdict.DERIVED)
        second = (f"The toolkit adds {m} derived value{'s' * (m != 1)} the source does not "
                  "state" + (f" ({extra})." if extra else "."))
        return first, second


@dataclass(frozen=True)
class SummaryRow:
    """One question part in the summary: its statements' ids by verdict, its extras' ids."""

    proof: Proof
    statements: dict[Verdict, tuple[str, ...]]
    extras: tuple[str, ...]


def summary_rows(proofs: Sequence[Proof]) -> list[SummaryRow]:
    rows = []
    for proof in proofs:
        by = {v: tuple(c.id for c in proof.claims if c.about_source and c.verdict is v)
              for v in VERDICT_ORDER}
        rows.append(SummaryRow(proof, {v: ids for v, ids in by.items() if ids},
                               tuple(c.id for c in proof.claims if not c.about_source)))
    return rows


def short_id(cid: str) -> str:
    """A claim id without its part (``q1b.rf.L3`` -> ``rf.L3``), for a row of that part."""
    return cid.split(".", 1)[1]


# --- derivations --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Chain:
    """``lhs = rhs[0] = rhs[1] = ...`` (LaTeX) under a caption; ``shown_in``: the id of the
    earlier claim where the same chain is written out; ``formula_in``: the earlier claim where
    the same general formula (``rhs[0]``, same caption and left-hand side) is written out, when
    only the substitution differs (a layer after layer)."""

    caption: str
    lhs: str
    rhs: tuple[str, ...]
    shown_in: str | None = None
    general: bool = False  # rhs[0] is the general formula
    formula_in: str | None = None  # the earlier claim where rhs[0] is written out
    claim: str = ""  # the id of the claim the chain belongs to

    @property
    def formula_ref(self) -> str | None:
        """:attr:`formula_in` as a reader finds it from here: without the part's prefix in the
        same part (``size.formula``), in full from another part (``q1b.size.formula``)."""
        if self.formula_in is None:
            return None
        same = self.formula_in.split(".", 1)[0] == self.claim.split(".", 1)[0]
        return short_id(self.formula_in) if same else self.formula_in

    @property
    def written(self) -> tuple[str, ...]:
        """The right-hand sides to write out: without the general formula when an earlier
        claim of the part writes it out (:attr:`formula_in`)."""
        return self.rhs[1:] if self.formula_in is not None else self.rhs


def _split(label: str) -> tuple[str, str]:
    head, sep, tail = label.rpartition(": ")
    return (head, tail) if sep and tail in _CHAIN_SUFFIXES else (label, "")


def _head(label: str) -> str:
    """A step label's caption: what precedes its last ``": "`` (``X: the parts`` -> ``X``)."""
    head, sep, _ = label.rpartition(": ")
    return head if sep else label


def chains(derivation: Derivation) -> list[Chain]:
    """The steps as chains (see the module docstring); a repeated right-hand side is dropped.
    Any consecutive steps of one left-hand side under one caption continue a chain (``X: the
    parts``, ``X: substitution``, ``X: result`` read as one chain under ``X``); a general formula
    always starts one."""
    out: list[Chain] = []
    previous: str | None = None
    for step in derivation.steps:
        caption, suffix = _split(step.label)
        rhs = step_latex(step).split("&=", 1)[1].strip()
        last = out[-1] if out else None
        if (last is not None and last.lhs == step.lhs and suffix != _CHAIN_SUFFIXES[0]
                and previous is not None and _head(previous) == _head(step.label)):
            out[-1] = replace(last, caption=_head(step.label),
                              rhs=last.rhs if rhs == last.rhs[-1] else (*last.rhs, rhs))
        else:
            out.append(Chain(caption, step.lhs, (rhs,), general=suffix == _CHAIN_SUFFIXES[0]))
        previous = step.label
    return out


@dataclass
class ChainMemo:
    """Chains already written out: ``(caption, lhs, rhs) -> claim id``; general formulas:
    ``(caption, lhs, formula) -> claim id``."""

    seen: dict[tuple, str] = field(default_factory=dict)
    formulas: dict[tuple, str] = field(default_factory=dict)

    def chains(self, claim: Claim) -> list[Chain]:
        """The claim's chains; one that only restates the claim's value is left out (the
        report states the value beside it); a general formula written out for an earlier claim
        is referred to, and only its substitution and result are written."""
        out = []
        value = to_latex(claim.derived) if claim.derived is not None else None
        for ch in chains(claim.derivation):
            if len(ch.rhs) == 1 and ch.rhs[0] == value:
                continue
            ch = replace(ch, claim=claim.id)
            key = (ch.caption, ch.lhs, ch.rhs)
            first = self.seen.setdefault(key, claim.id)
            if first != claim.id:
                out.append(replace(ch, shown_in=first))
                continue
            if ch.general and len(ch.rhs) > 2:
                formula = self.formulas.setdefault((ch.caption, ch.lhs, ch.rhs[0]), claim.id)
                if formula != claim.id:
                    ch = replace(ch, formula_in=formula)
            out.append(ch)
        return out


@dataclass(frozen=True)
class Part:
    """One question part as the report lays it out: the source's statements (in the main
    body), the toolkit's extras (a table in the main body, their derivations in the appendix)
    and every claim's chains, the extras' after the statements'."""

    proof: Proof
    statements: tuple[Claim, ...]
    extras: tuple[Claim, ...]
    chains: dict[str, list[Chain]]


def parts(proofs: Sequence[Proof]) -> list[Part]:
    """The question parts; chains already written out are remembered in reading order over
    the whole report: every part's statements (the main body), then every part's extras (the
    appendix), so a claim refers only to one the reader has passed."""
    memo = ChainMemo()
    split = [(proof, tuple(c for c in proof.claims if c.about_source),
              tuple(c for c in proof.claims if not c.about_source)) for proof in proofs]
    chains_of = {c.id: memo.chains(c) for _, statements, _ in split for c in statements}
    chains_of |= {c.id: memo.chains(c) for _, _, extras in split for c in extras}
    return [Part(proof, statements, extras, {c.id: chains_of[c.id] for c in statements + extras})
            for proof, statements, extras in split]


# --- the appendix -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CheckRow:
    claim: str
    side: str
    description: str
    points: str
    passed: bool | None  # None: not a check (a derivation's assumptions)
    detail: str


def check_rows(proofs: Sequence[Proof]) -> list[CheckRow]:
    """One row per check, grouped by claim in report order; a derivation's assumptions (the
    conditions its formulas hold under) close the claim's group, side ``assumes``."""
    rows = []
    for c in claims(proofs):
        rows += [CheckRow(c.id, k.side, k.description, k.points, k.passed, k.detail)
                 for k in c.checks]
        if c.derivation.assumptions:
            rows.append(CheckRow(c.id, "assumes", "; ".join(c.derivation.assumptions), "", None,
                                 ""))
    return rows


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line of the source's solutions: the claims quoting it, or why none needs to."""

    line: int
    part: str
    claims: tuple[str, ...]
    excluded: tuple[str, ...] = ()  # reasons
    uncovered: bool = False


def source_lines(run: RunResult) -> list[SourceLine]:
    """Every solution line with a candidate sentence: its claims, exclusions or nothing."""
    cov = run.coverage()
    if cov is None:
        return []
    parts = {s.line: s.part for s in run.source.sentences()}
    by_line = cov.claims_by_line()
    reasons: dict[int, list[str]] = {}
    for sentence, ex in cov.excluded.items():
        if ex.reason not in reasons.setdefault(sentence.line, []):
            reasons[sentence.line].append(ex.reason)
    open_lines = {s.line for s in cov.uncovered}
    lines = sorted(set(by_line) | set(reasons) | open_lines)
    return [SourceLine(n, parts.get(n, ""), by_line.get(n, ()), tuple(reasons.get(n, ())),
                       n in open_lines) for n in lines]


@dataclass(frozen=True, slots=True)
class Excluded:
    line: int
    text: str
    reason: str


def exclusions(run: RunResult) -> list[Excluded]:
    """The reviewed sentences left without a claim, in source order, with their reasons."""
    cov = run.coverage()
    if cov is None:
        return []
    return [Excluded(s.line, s.text, ex.reason)
            for s, ex in sorted(cov.excluded.items(), key=lambda item: item[0].start)]


@dataclass(frozen=True, slots=True)
class Cited:
    """A cited paper, numbered in order of first citation, and who cites it where."""

    number: int
    key: str
    reference: Reference | None
    by: tuple[tuple[str, str], ...]  # (claim id, locator)


def citations(run: RunResult) -> dict[str, Cited]:
    """``key -> Cited`` for every key a claim cites, numbered [1], [2], ... in report order."""
    order: dict[str, list[tuple[str, str]]] = {}
    for c in claims(run.proofs):
        if c.cite is not None:
            order.setdefault(c.cite[0], []).append((c.id, c.cite[1]))
    return {key: Cited(i, key, run.bibliography.get(key), tuple(by))
            for i, (key, by) in enumerate(order.items(), 1)}


def source_line(run: RunResult, claim: Claim) -> int | None:
    """The source line where the claim's quote begins (None without a source or quote)."""
    if run.source is None or not claim.quote:
        return None
    spans = run.source.find(claim.quote)
    return run.source.line_of(spans[0][0]) if spans else None
