"""What a report is made of: claims with derivations, checks and verdicts; tables and figures.

A :class:`Claim` is one statement of the source document (or one the toolkit adds), the value the
source states, the :class:`Derivation` that produces the right value from a general formula, the
:class:`Check` s that were run (which side of the verification triangle, at which points, passed or
not), and a :class:`Verdict` computed from them — never typed in:

- ``verified``: the stated value equals the derived one and every check passed;
- ``refuted``: the checks pass (the toolkit agrees with itself) but the stated value differs;
  the derived value is the correction;
- ``derived``: the source states no value; the toolkit derives one and its checks pass;
- ``opinion``: a judgement, not a checkable fact; reported, never faked into a check;
- ``inconsistent``: the toolkit's own sides disagree — a bug to fix, never to ship.

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
    INCONSISTENT = "inconsistent"


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

    The id names the question and part: ``q4a.v3_depth`` is question Q4, part (a).

    >>> c = Claim(id="q4a.v3_depth", statement="3 x 85 = 255 channels", stated=255,
    ...           derived=3 * 85, derivation=Derivation((Step("result", "d", 255),)),
    ...           checks=(Check("numpy", "3 * 85", "-", True),))
    >>> c.question, c.part, c.verdict.value
    ('Q4', 'a', 'verified')
    """

    id: str
    statement: str
    stated: Value = None
    derived: Value = None
    derivation: Derivation = Derivation(())
    checks: tuple[Check, ...] = ()
    note: str = ""
    opinion: bool = False
    unit: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or _CLAIM_ID.fullmatch(self.id) is None:
            raise SymconvError(
                f"claim id {self.id!r} must read q<question><part>.<name>, e.g. 'q4a.v3_depth' "
                "(question a number, part one lower-case letter, name without spaces)")
        for what in ("stated", "derived"):
            if isinstance(getattr(self, what), str):
                raise SymconvError(
                    f"claim {self.id}: {what} is text ({getattr(self, what)!r}); give a typed "
                    "value (a number, SymPy object, tuple, bool, Compared, Labeled) and put "
                    "words in the note")
        if self.opinion:
            return
        if not self.checks:
            raise SymconvError(f"claim {self.id}: a checkable claim needs at least one check")
        if self.derived is None:
            raise SymconvError(f"claim {self.id}: a checkable claim needs a derived value")

    @property
    def question(self) -> str:
        return "Q" + _CLAIM_ID.fullmatch(self.id)["question"]

    @property
    def part(self) -> str:
        return _CLAIM_ID.fullmatch(self.id)["part"]

    @property
    def verdict(self) -> Verdict:
        if self.opinion:
            return Verdict.OPINION
        if not all(c.passed for c in self.checks):
            return Verdict.INCONSISTENT
        if self.stated is None:
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
