r"""Values and derivations as LaTeX math, plain text and one-line Unicode math: the one place a
value is formatted, always through SymPy's printers (LaTeX; a subclass of SymPy's string printer
for Unicode).

Markdown, LaTeX and JSON reports, the tables, ``symconv cost`` and ``symconv derive`` all format
values here:

>>> to_latex((64, 64, 128)), to_latex(13107400), to_text((64, 64, 128))
('64 \\times 64 \\times 128', '13{,}107{,}400', '64 x 64 x 128')
>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> to_unicode(256 * sp.ceiling(H / 8) ** 2), to_unicode((H + 2, H))
('256·⌈H/8⌉²', '(H + 2) × H')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import sympy as sp
from sympy.printing.str import StrPrinter

from symconv.algebra.formula import QUANTITY_LATEX
from symconv.report.values import Labeled, Value

if TYPE_CHECKING:
    from symconv.report.proof import Derivation, Step

_TEXT = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
         "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
         "^": r"\textasciicircum{}",
         # Unicode math in labels and notes: pdflatex's default input has no glyph for it
         "μ": r"\ensuremath{\mu}", "×": r"\ensuremath{\times}", "·": r"\ensuremath{\cdot}",
         "≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}", "²": r"\ensuremath{^2}",
         "³": r"\ensuremath{^3}", "−": "-", "→": r"\ensuremath{\to}",
         "⌈": r"\ensuremath{\lceil}", "⌉": r"\ensuremath{\rceil}",
         "⌊": r"\ensuremath{\lfloor}", "⌋": r"\ensuremath{\rfloor}"}


def text_escape(text: str) -> str:
    """Plain text made safe inside LaTeX's ``\\text{}`` (also in MathJax: ``<``, ``>`` kept)."""
    return "".join(_TEXT.get(ch, ch) for ch in str(text))


def format_int_latex(n: int) -> str:
    """``13107400`` as ``13{,}107{,}400`` (thousands separators that LaTeX spaces correctly)."""
    return f"{n:,}".replace(",", "{,}")


def _text(value) -> str:
    return r"\text{" + text_escape(value) + "}"


def to_latex(value: Value, symbol_names: Mapping | None = None) -> str:
    """LaTeX math of a value: tuples as ``a \\times b`` (shapes), typed facts as text."""
    if value is None:
        return r"\text{—}"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, str) for v in value):  # names: person, woman
            return _text(", ".join(value))
        if any(isinstance(v, (tuple, list)) for v in value):  # several shapes
            return r",\ ".join(r"\left(" + to_latex(v, symbol_names) + r"\right)"
                               for v in value)
        return r" \times ".join(_factor_latex(v, symbol_names) for v in value)
    if isinstance(value, Labeled):
        return r",\quad ".join(_text(f"{k}:") + r"\ " + to_latex(v, symbol_names)
                               for k, v in value.items)
    if isinstance(value, (bool, enum.Enum)):
        return _text(str(value))
    if isinstance(value, int):
        return format_int_latex(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return sp.latex(sp.Rational(value.numerator, value.denominator))
    if isinstance(value, sp.Rational) and not value.is_Integer:
        return sp.latex(value)
    if isinstance(value, sp.Basic):
        if isinstance(value, sp.Integer):
            return format_int_latex(int(value))
        names = {**QUANTITY_LATEX, **dict(symbol_names or {})}
        return sp.latex(value, symbol_names=names, mul_symbol="dot")
    return _text(str(value))


def _factor_latex(value: Value, symbol_names: Mapping | None) -> str:
    """One entry of a shape: a sum is bracketed, so ``(H + K - 1) x (W + K - 1)`` keeps its
    meaning."""
    text = to_latex(value, symbol_names)
    return rf"\left({text}\right)" if isinstance(value, sp.Add) else text


def to_text(value: Value) -> str:
    """Plain, deterministic text of a value (for JSON, summaries and terminals)."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        return " x ".join(f"({to_text(v)})" if isinstance(v, sp.Add) else to_text(v)
                          for v in value)
    if isinstance(value, sp.Basic):
        return sp.sstr(value)
    return str(value)


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


def put_in_latex(value: object) -> str:
    """How a value reads in LaTeX when put in for a symbol: plain for numbers and symbols,
    bracketed for anything longer (so the substitution keeps the formula's meaning); LaTeX
    text passes through."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, sp.Integer)) and not isinstance(value, bool) and value >= 0:
        return str(int(value))
    text = sp.latex(value)
    return text if isinstance(value, sp.Symbol) else f"\\left({text}\\right)"


def put_in_text(value: object) -> str:
    """The same for plain text: numbers and symbols as they are, anything longer in brackets."""
    if isinstance(value, str):
        return value.replace("\\left", "").replace("\\right", "")
    if isinstance(value, (int, sp.Integer)) and not isinstance(value, bool) and value >= 0:
        return str(int(value))
    text = sp.sstr(value)
    return text if isinstance(value, sp.Symbol) else f"({text})"


class _SubstitutionPrinter(StrPrinter):
    """SymPy's string printer with chosen text for some symbols: the formula keeps its shape
    (``K_h*K_w`` stays two factors even when both are 5)."""

    def __init__(self, names: Mapping[sp.Symbol, str]):
        super().__init__()
        self._names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._names.get(expr, expr.name)


def step_latex(step: Step) -> str:
    """``lhs &= rhs`` of one step (an ``aligned`` row, without its label)."""
    names = {s: put_in_latex(v) for s, v in (step.symbol_names or {}).items()}
    return f"{step.lhs} &= {to_latex(step.rhs, names)}"


def step_text(step: Step) -> str:
    """Plain text: ``label: rhs`` with the values put in for symbols on a substitution."""
    rhs = step.rhs
    if step.symbol_names and isinstance(rhs, sp.Basic):
        names = {s: put_in_text(v) for s, v in step.symbol_names.items()}
        return f"{step.label}: {_SubstitutionPrinter(names).doprint(rhs)}"
    return f"{step.label}: {to_text(rhs)}"


def derivation_latex(derivation: Derivation, display: bool = False) -> str:
    r"""An ``aligned`` block, each step tagged with its label; compiles in any amsmath document.

    ``display=True`` wraps it in ``\[ ... \]`` for a document's body.
    """
    lines = [rf"{step_latex(s)} && \text{{({text_escape(s.label)})}}" for s in derivation.steps]
    block = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    return "\\[\n" + block + "\n\\]" if display else block


def derivation_markdown(derivation: Derivation) -> str:
    """One bullet per step with its math in ``$$``, then the assumptions."""
    out = [f"- {s.label}: $${step_latex(s).replace(' &= ', ' = ', 1)}$$"
           for s in derivation.steps]
    if derivation.assumptions:
        out.append("- assuming: " + "; ".join(derivation.assumptions))
    return "\n".join(out)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class UnicodePrinter(StrPrinter):
    """SymPy's string printer with one-line Unicode math: ``⌈H/2⌉``, ``⌊x⌋``, ``·`` for
    products, superscript integer powers, ``mod``, ``μ(p)``."""

    def __init__(self, names: Mapping[sp.Symbol, str] | None = None):
        super().__init__()
        self._names = dict(names or {})

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._names.get(expr, expr.name)

    def _print_floor(self, expr) -> str:
        return "⌊" + self._print(expr.args[0]) + "⌋"

    def _print_ceiling(self, expr) -> str:
        return "⌈" + self._print(expr.args[0]) + "⌉"

    def _print_mu(self, expr) -> str:
        return "μ(" + self._print(expr.args[0]) + ")"

    def _print_Mod(self, expr) -> str:
        a, b = (self._print(x) if x.is_Atom else f"({self._print(x)})" for x in expr.args)
        return f"({a} mod {b})"

    def _print_Max(self, expr) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Mul(self, expr) -> str:
        return super()._print_Mul(expr).replace("*", "·")

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        if exp.is_Integer and int(exp) > 1:
            text = self._print(base)
            if not (base.is_Atom or isinstance(base, (sp.floor, sp.ceiling))):
                text = f"({text})"
            return text + str(int(exp)).translate(_SUPERSCRIPT)
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Relational(self, expr) -> str:
        ops = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}
        op = ops.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"


def to_unicode(value: Value, names: Mapping[sp.Symbol, str] | None = None) -> str:
    """One-line Unicode math of a value: shapes joined by ``×`` (sums bracketed), integers with
    thousands separators, expressions by :class:`UnicodePrinter`."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        return " × ".join(f"({to_unicode(v, names)})" if isinstance(v, sp.Add)
                          else to_unicode(v, names) for v in value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or isinstance(value, sp.Integer):
        return f"{int(value):,}"
    if isinstance(value, sp.Basic):
        return UnicodePrinter(names).doprint(value)
    return str(value)


def put_in_unicode(value: object) -> str:
    """A value put in for a symbol, in Unicode math: numbers and symbols as they are, anything
    longer in brackets."""
    if isinstance(value, str):
        return value.replace("\\left", "").replace("\\right", "")
    if isinstance(value, (int, sp.Integer)) and not isinstance(value, bool) and value >= 0:
        return str(int(value))
    text = to_unicode(value) if not isinstance(value, int) else str(value)
    compound = isinstance(value, (sp.Add, sp.Mul, sp.Pow, sp.Rational, int))
    return f"({text})" if compound else text


def step_unicode(step: Step) -> str:
    """``label: rhs`` in Unicode math, the values put in for symbols on a substitution."""
    names = {s: put_in_unicode(v) for s, v in (step.symbol_names or {}).items()}
    if isinstance(step.rhs, sp.Basic):
        return f"{step.label}: {UnicodePrinter(names).doprint(step.rhs)}"
    return f"{step.label}: {to_unicode(step.rhs)}"
