"""What a report is made of: claims with derivations, checks and verdicts; tables and figures.

A :class:`Claim` is one statement of the source document — quoted verbatim (``quote``, an exact
substring of the source, with any interpretation in a separate, visible ``reading``) — or one the
toolkit adds (no quote). It holds the value the source states for the quantity *as its own words
define it*, the :class:`Derivation` that produces the right value from a general formula, the
:class:`Check` s that were run (which side of the verification triangle, at which points, passed
or not), and a :class:`Verdict` computed from them — never typed in:

- ``verified``: the source states this value for this quantity and it equals the derived one;
- ``refuted``: the source's value differs — also when its words cover more than its number does
  (a "total" that leaves out a layer or the biases); the derived value is the right one and
  ``correction`` says in words what the source says, what is right and why;
- ``derived``: the toolkit's own addition (no quote): a value the source never states;
- ``opinion``: a value judgement with nothing checkable in it (``basis=JUDGEMENT``);
- ``unsourced``: a factual statement that names no source and cannot be checked here
  (``basis=UNSOURCED``), e.g. a study the source alludes to without citing it;
- ``inconsistent``: the toolkit's own sides disagree — a bug to fix, never to ship.

A statement about a paper is checked against the paper's numbers and cites it (``cite``: a key
of the proofs' bibliography and a locator, e.g. ``("huang2017", "Table 1")``).

Values are typed, never prose: integers, SymPy expressions, matrices and sets, tuples (shapes),
booleans, :class:`Compared`, :class:`Labeled` and rounded :class:`~decimal.Decimal` measurements.
This module holds data only; :mod:`symconv.report.render` turns it into Markdown, LaTeX and JSON.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symconv.errors import SymconvError
from symconv.report.values import (  # noqa: F401  (re-exported: claims are built from them)
    Compared,
    Labeled,
    Value,
    decimal,
    is_number,
    values_equal,
)


class Verdict(str, enum.Enum):  # noqa: UP042 (StrEnum would change str())
    VERIFIED = "verified"
    REFUTED = "refuted"
    DERIVED = "derived"
    OPINION = "opinion"
    UNSOURCED = "unsourced"
    INCONSISTENT = "inconsistent"


class Basis(str, enum.Enum):  # noqa: UP042
    """What a claim about the source rests on: a check (``CHECKED``), nothing checkable — a value
    judgement (``JUDGEMENT``) — or a fact the source does not source and that cannot be checked
    here (``UNSOURCED``)."""

    CHECKED = "checked"
    JUDGEMENT = "judgement"
    UNSOURCED = "unsourced"


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a derivation: ``lhs = rhs`` with an explanation.

    ``rhs`` is a SymPy expression; ``symbol_names`` (optional) maps its symbols to what is put
    in for them — a value, or LaTeX text — keeping the general formula's structure (the
    *substitution* step).
    """

    label: str
    lhs: str
    rhs: Value
    symbol_names: Mapping | None = None


@dataclass(frozen=True, slots=True)
class Derivation:
    """General formula, substitution, result: aligned equations a reader can follow."""

    steps: tuple[Step, ...]
    assumptions: tuple[str, ...] = ()

    def _repr_latex_(self) -> str:
        from symconv.report.notation import derivation_latex

        return "$$" + derivation_latex(self) + "$$"


@dataclass(frozen=True, slots=True)
class Check:
    """One independent check: which side, what, at which points, and whether it passed."""

    side: str  # 'sympy' | 'model' | 'xla' | 'numpy' | 'experiment'
    description: str
    points: str
    passed: bool
    detail: str = ""


_CLAIM_ID = re.compile(r"q(?P<question>[1-9][0-9]*)(?P<part>[a-z])\.[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """One statement, its stated value, the derivation and checks; the verdict follows.

    The id names the question and part: ``q4a.v3_depth`` is question Q4, part (a). A claim
    about the source has a ``quote``; the toolkit's own additions have none.

    >>> c = Claim(id="q4a.v3_depth", statement="YOLOv3's depth per cell",
    ...           quote="3 \\times 85 = 255", stated=255, derived=3 * 85,
    ...           derivation=Derivation((Step("result", "d", 255),)),
    ...           checks=(Check("numpy", "3 * 85", "-", True),))
    >>> c.question, c.part, c.verdict.value
    ('Q4', 'a', 'verified')
    """

    id: str
    statement: str
    quote: str | None = None
    reading: str = ""
    stated: Value = None
    derived: Value = None
    derivation: Derivation = Derivation(())
    checks: tuple[Check, ...] = ()
    note: str = ""
    correction: str = ""
    cite: tuple[str, str] | None = None
    basis: Basis = Basis.CHECKED
    unit: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or _CLAIM_ID.fullmatch(self.id) is None:
            raise SymconvError(
                f"claim {self.id!r}: the id must read q<question><part>.<name>, e.g. "
                "'q4a.v3_depth' (question a number, part one lower-case letter, name without "
                "spaces)")
        for what in ("stated", "derived"):
            if isinstance(getattr(self, what), str):
                raise SymconvError(
                    f"claim {self.id}: {what} is text ({getattr(self, what)!r}); give a typed "
                    "value (a number, SymPy object, tuple, bool, Compared, Labeled) and put "
                    "words in the note")
        if self.quote is not None and (not isinstance(self.quote, str) or not self.quote.strip()):
            raise SymconvError(f"claim {self.id}: quote must be the source's words, verbatim")
        if self.cite is not None and not (isinstance(self.cite, tuple) and len(self.cite) == 2
                                          and all(isinstance(c, str) for c in self.cite)):
            raise SymconvError(f"claim {self.id}: cite must be (bibliography key, locator), "
                               f"e.g. ('huang2017', 'Table 1')")
        if not isinstance(self.basis, Basis):
            raise SymconvError(f"claim {self.id}: basis must be a Basis, not {self.basis!r}")
        if self.basis is not Basis.CHECKED:
            if self.quote is None:
                raise SymconvError(f"claim {self.id}: a {self.basis.value} claim is about the "
                                   "source and quotes it")
            return
        if self.quote is None and self.stated is not None:
            raise SymconvError(f"claim {self.id}: a stated value comes from the source; quote "
                               "the words that state it")
        if self.quote is not None and self.stated is None:
            raise SymconvError(f"claim {self.id}: a claim about the source gives the value it "
                               "states (stated=...)")
        if not self.checks:
            raise SymconvError(f"claim {self.id}: a checkable claim needs at least one check")
        if self.derived is None:
            raise SymconvError(f"claim {self.id}: a checkable claim needs a derived value")
        if self.verdict is Verdict.REFUTED and not self.correction.strip():
            raise SymconvError(f"claim {self.id}: a refuted claim says in words what the source "
                               "says, what is right and why (correction=...)")

    @property
    def question(self) -> str:
        return "Q" + _CLAIM_ID.fullmatch(self.id)["question"]

    @property
    def part(self) -> str:
        return _CLAIM_ID.fullmatch(self.id)["part"]

    @property
    def about_source(self) -> bool:
        """A statement of the source (quoted), not one of the toolkit's additions."""
        return self.quote is not None

    @property
    def verdict(self) -> Verdict:
        if self.basis is Basis.JUDGEMENT:
            return Verdict.OPINION
        if self.basis is Basis.UNSOURCED:
            return Verdict.UNSOURCED
        if not all(c.passed for c in self.checks):
            return Verdict.INCONSISTENT
        if self.quote is None:
            return Verdict.DERIVED
        return Verdict.VERIFIED if values_equal(self.stated, self.derived) else Verdict.REFUTED


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure the renderer draws and writes beside the report as ``figures/<name>.png``.

    ``draw`` returns a ``matplotlib.figure.Figure``; it is called only when a report is
    written, so building a proof never needs a display or a file system.
    """

    name: str
    caption: str
    draw: Callable[[], Any] = field(compare=False, repr=False)

    @property
    def path(self) -> str:
        return f"figures/{self.name}.png"


_ALIGN = frozenset("lrc")


@dataclass(frozen=True, slots=True)
class Table:
    """A table of typed cells that the renderers draw (pipes in Markdown, booktabs in LaTeX).

    ``header`` is text (inline math between ``$`` signs); each row holds one value per column:
    ints, Decimals, SymPy objects, tuples (shapes), text, or ``None`` for an empty cell.
    ``align`` gives each column ``"l"``, ``"r"`` or ``"c"`` (default: numbers right, the rest
    left); ``rules`` are the row indices a horizontal rule is drawn above (e.g. a totals row).
    """

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    align: str | None = None
    rules: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        width = len(self.header)
        bad = [i for i, row in enumerate(self.rows) if len(row) != width]
        if bad:
            raise SymconvError(f"table {self.caption!r}: rows {bad} do not have {width} cells")
        if self.align is not None and (len(self.align) != width or set(self.align) - _ALIGN):
            raise SymconvError(f"table {self.caption!r}: align={self.align!r} must give one of "
                               f"l, r, c for each of the {width} columns")
        if any(not 0 <= r < len(self.rows) for r in self.rules):
            raise SymconvError(f"table {self.caption!r}: rules {self.rules} outside the rows")

    @property
    def alignment(self) -> str:
        """``align`` or the default: a column of numbers (and empty cells) is right-aligned."""
        if self.align is not None:
            return self.align
        return "".join(
            "r" if any(is_number(r[j]) for r in self.rows)
            and all(r[j] is None or is_number(r[j]) for r in self.rows) else "l"
            for j in range(len(self.header)))


@dataclass(frozen=True, slots=True)
class Proof:
    """The claims of one part of the source, in the source's order."""

    question: str
    part: str
    title: str
    claims: tuple[Claim, ...]
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()

    def __post_init__(self) -> None:
        ids = [c.id for c in self.claims]
        if len(ids) != len(set(ids)):
            raise SymconvError(f"proof {self.question}{self.part}: duplicate claim ids in {ids}")
        stray = [c.id for c in self.claims if (c.question, c.part) != (self.question, self.part)]
        if stray:
            raise SymconvError(f"proof {self.question}({self.part}): claims {stray} belong to "
                               "another question or part (their id names it)")
        if not all(isinstance(t, Table) for t in self.tables):
            raise SymconvError(f"proof {self.question}({self.part}): tables must be Tables")


def sample_check(side: str, description: str, points: Sequence[Mapping[str, int]],
                 expected, observed) -> Check:
    """Run ``expected(point) == observed(point)`` at every point; one failing point fails it.

    ``expected`` and ``observed`` are callables of a point (a dict of symbol name to int).
    """
    failures = []
    for point in points:
        e, o = expected(point), observed(point)
        if e != o:
            failures.append(f"{dict(point)}: expected {e}, observed {o}")
    shown = "; ".join(", ".join(f"{k}={v}" for k, v in pt.items()) for pt in points[:4])
    more = f" (+{len(points) - 4} more)" if len(points) > 4 else ""
    return Check(side, description, f"{len(points)} points: {shown}{more}", not failures,
                 "; ".join(failures[:3]))
