"""What a report is made of: claims with derivations, checks and verdicts.

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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import sympy as sp

from symconv.errors import SymconvError


class Verdict(str, enum.Enum):
    VERIFIED = "verified"
    REFUTED = "refuted"
    DERIVED = "derived"
    OPINION = "opinion"
    INCONSISTENT = "inconsistent"


Value = Any  # an int, a SymPy expression, a tuple of them, or a string


def to_latex(value: Value, symbol_names: Mapping | None = None) -> str:
    """LaTeX of a value: tuples as ``a \\times b``, strings as text."""
    if value is None:
        return r"\text{—}"
    if isinstance(value, str):
        return r"\text{" + value.replace("%", r"\%") + "}"
    if isinstance(value, (tuple, list)):
        if any(isinstance(v, (tuple, list)) for v in value):  # several shapes
            return r",\ ".join(r"\left(" + to_latex(v, symbol_names) + r"\right)"
                               for v in value)
        return r" \times ".join(to_latex(v, symbol_names) for v in value)
    if isinstance(value, bool):
        return r"\text{" + str(value) + "}"
    if isinstance(value, int):
        return format_int_latex(value)
    if isinstance(value, sp.Rational) and not value.is_Integer:
        return sp.latex(value)
    if isinstance(value, sp.Basic):
        if isinstance(value, sp.Integer):
            return format_int_latex(int(value))
        return sp.latex(value, symbol_names=dict(symbol_names or {}), mul_symbol="dot")
    return r"\text{" + str(value) + "}"


_TEXT = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
         "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
         "^": r"\textasciicircum{}"}


def _text_escape(text: str) -> str:
    """Plain text made safe inside LaTeX's ``\\text{}``."""
    return "".join(_TEXT.get(ch, ch) for ch in text)


def human(value: Value) -> str:
    """Large counts in M/G/T units (``19.66 M``); empty for small or non-integer values."""
    if isinstance(value, sp.Integer):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) < 10**6:
        return ""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return ""  # pragma: no cover


def format_int_latex(n: int) -> str:
    """``13107400`` as ``13{,}107{,}400`` (thousands separators that LaTeX spaces correctly)."""
    return f"{n:,}".replace(",", "{,}")


def to_text(value: Value) -> str:
    """Plain, deterministic text of a value (for JSON and summaries)."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return " x ".join(to_text(v) for v in value)
    if isinstance(value, sp.Basic):
        return sp.sstr(value)
    return str(value)


def values_equal(a: Value, b: Value) -> bool:
    """Exact equality, symbolic where needed: SymPy must prove ``a - b == 0``."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))):
            return False
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        return (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)
                and a.shape == b.shape and all(sp.simplify(x - y) == 0 for x, y in zip(a, b)))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return sp.simplify(_expr(a) - _expr(b)) == 0


def _expr(x: Value) -> sp.Expr:
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, sp.Expr):
        return x
    raise SymconvError(f"cannot compare value {x!r} of type {type(x).__name__}")


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

    def latex(self) -> str:
        return f"{self.lhs} &= {to_latex(self.rhs, self.symbol_names)}"

    def text(self) -> str:
        """Plain text: ``label: rhs`` with numbers put in for symbols on a substitution."""
        rhs = self.rhs
        if self.symbol_names and isinstance(rhs, sp.Basic):
            rhs = rhs.xreplace({s: sp.Symbol(v.replace("\\left", "").replace("\\right", ""))
                                for s, v in self.symbol_names.items()})
        return f"{self.label}: {to_text(rhs)}"


@dataclass(frozen=True, slots=True)
class Derivation:
    """General formula, substitution, result: aligned equations a reader can follow."""

    steps: tuple[Step, ...]
    assumptions: tuple[str, ...] = ()

    def latex(self) -> str:
        """An ``aligned`` block, each step tagged with its label; compiles in any amsmath doc."""
        lines = [rf"{s.latex()} && \text{{({_text_escape(s.label)})}}" for s in self.steps]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def latex_display(self) -> str:
        """A display-math block (``\\[ ... \\]``) for any document that loads amsmath."""
        return "\\[\n" + self.latex() + "\n\\]"

    def markdown(self) -> str:
        out = []
        for s in self.steps:
            out.append(f"- {s.label}: $${s.lhs} = {to_latex(s.rhs, s.symbol_names)}$$")
        if self.assumptions:
            out.append("- assuming: " + "; ".join(self.assumptions))
        return "\n".join(out)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"


@dataclass(frozen=True, slots=True)
class Check:
    """One independent check: which side, what, at which points, and whether it passed."""

    side: str  # 'sympy' | 'model' | 'xla' | 'numpy' | 'experiment'
    description: str
    points: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"side": self.side, "description": self.description, "points": self.points,
                "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Claim:
    """One statement, its stated value, the derivation and checks; the verdict follows."""

    id: str
    question: str
    part: str
    statement: str
    stated: Value
    derived: Value
    derivation: Derivation
    checks: tuple[Check, ...] = ()
    note: str = ""
    opinion: bool = False
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.id or any(c.isspace() for c in self.id):
            raise SymconvError(f"claim id {self.id!r} must be non-empty without spaces")
        if not self.opinion and not self.checks:
            raise SymconvError(f"claim {self.id}: a checkable claim needs at least one check")

    @property
    def verdict(self) -> Verdict:
        if self.opinion:
            return Verdict.OPINION
        if not all(c.passed for c in self.checks):
            return Verdict.INCONSISTENT
        if self.stated is None:
            return Verdict.DERIVED
        return Verdict.VERIFIED if values_equal(self.stated, self.derived) else Verdict.REFUTED

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "part": self.part,
            "statement": self.statement,
            "stated": to_text(self.stated),
            "stated_latex": to_latex(self.stated) if self.stated is not None else "",
            "derived": to_text(self.derived),
            "derived_latex": to_latex(self.derived),
            "unit": self.unit,
            "verdict": self.verdict.value,
            "note": self.note,
            "derivation": [{"label": s.label, "latex": s.latex()} for s in self.derivation.steps],
            "assumptions": list(self.derivation.assumptions),
            "checks": [c.as_dict() for c in self.checks],
        }


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


@dataclass(frozen=True, slots=True)
class Proof:
    """The claims of one part of the source, in the source's order."""

    question: str
    part: str
    title: str
    claims: tuple[Claim, ...]
    figures: tuple[Figure, ...] = ()
    tables: tuple[tuple[str, str, str], ...] = field(default=())  # (caption, markdown, latex)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.claims]
        if len(ids) != len(set(ids)):
            raise SymconvError(f"proof {self.question}{self.part}: duplicate claim ids in {ids}")


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
