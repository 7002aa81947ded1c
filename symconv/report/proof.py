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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence

import sympy as sp

from symconv.errors import SymconvError


class Verdict(str, enum.Enum):
    VERIFIED = "verified"
    REFUTED = "refuted"
    DERIVED = "derived"
    OPINION = "opinion"
    INCONSISTENT = "inconsistent"


Value = Any  # int, SymPy object, tuple, bool, Decimal, Fraction, Compared, Labeled, or None


class Compared(enum.Enum):
    """How one quantity compares with another: ``Compared.of(a, b)`` is ``a`` against ``b``.

    >>> Compared.of(3, 5), str(Compared.of(7, 5))
    (<Compared.LOWER: 'lower'>, 'higher')
    """

    LOWER = "lower"
    EQUAL = "equal"
    HIGHER = "higher"

    @classmethod
    def of(cls, a, b) -> Compared:
        return cls.HIGHER if a > b else cls.LOWER if a < b else cls.EQUAL

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Labeled:
    """Values under names, in order: ``Labeled.of(logistic=80, softmax=1)``.

    One value per case (per network, per activation, per object) where a claim is about several
    at once. Two are equal when they have the same names, in the same order, with equal values.

    >>> str(Labeled.of(dog=sp.Tuple(3, 2), person=sp.Tuple(2, 4)))
    'dog: (3, 2); person: (2, 4)'
    """

    items: tuple[tuple[str, Value], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Value]] = (), /, **named: Value) -> Labeled:
        return cls(tuple(pairs) + tuple(named.items()))

    def __post_init__(self) -> None:
        names = [k for k, _ in self.items]
        if len(names) != len(set(names)) or not all(isinstance(k, str) and k for k in names):
            raise SymconvError(f"Labeled names must be distinct non-empty strings: {names}")

    def __getitem__(self, name: str) -> Value:
        for k, v in self.items:
            if k == name:
                return v
        raise KeyError(name)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {_plain(v)}" for k, v in self.items)


def _plain(value: Value) -> str:
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return ", ".join(value) if value else "none"
    return str(value)


def decimal(x: float, places: int) -> Decimal:
    """A measurement rounded to ``places`` decimals, kept as an exact typed number.

    >>> decimal(0.98201, 3), decimal(0.5, 3)
    (Decimal('0.982'), Decimal('0.500'))
    """
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)


def values_equal(a: Value, b: Value) -> bool:
    """Exact equality, symbolic where needed: SymPy must prove ``a - b == 0``."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))):
            return False
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, Labeled) or isinstance(b, Labeled):
        return (isinstance(a, Labeled) and isinstance(b, Labeled)
                and [k for k, _ in a.items] == [k for k, _ in b.items]
                and all(values_equal(x, y) for (_, x), (_, y) in zip(a.items, b.items)))
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        return (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)
                and a.shape == b.shape and all(sp.simplify(x - y) == 0 for x, y in zip(a, b)))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return sp.simplify(_expr(a) - _expr(b)) == 0
    if isinstance(a, sp.Basic) and isinstance(b, sp.Basic):
        return a == b  # sets, intervals, relations: structural equality
    if type(a) is not type(b):
        return False
    return a == b  # enums, strings inside values, other typed facts


def _is_number(x: Value) -> bool:
    return isinstance(x, (int, Fraction, Decimal, sp.Expr)) and not isinstance(x, bool)


def _expr(x: Value) -> sp.Expr:
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, Decimal):
        return sp.Rational(str(x))
    return x


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a derivation: ``lhs = rhs`` with an explanation.

    ``rhs`` is a SymPy expression; ``symbol_names`` (optional) renders it with numbers in place
    of symbols while keeping the general formula's structure (the *substitution* step).
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
        from symconv.report.render.math import derivation_latex

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
            "r" if any(_is_number(r[j]) for r in self.rows)
            and all(r[j] is None or _is_number(r[j]) for r in self.rows) else "l"
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
