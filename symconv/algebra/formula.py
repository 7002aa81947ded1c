r"""Closed forms as data: a general formula over the shared symbols, the substitution a layer
makes, and the value computed from the two.

A :class:`Formula` is one line of a derivation, ``lhs = general``, evaluated at ``subs``:

.. math::  \text{value} = \text{general}\big|_{\text{subs}},

computed by :func:`evaluate` (SymPy substitution, then the exact rewriting of nested floors of
:mod:`symconv.algebra.tidy`). Where a layer computes a value by another, exact path (XLA's
'SAME' padding per residue of the input size, the closed form of the lost taps $\mu$), the
formula records it in ``via``; a property test checks every such path against the general
formula at integer points. Each layer builds its formulas with a :class:`FormulaBuilder`,
which also collects the validity conditions: a condition that is provably false raises the
layer's error, one SymPy cannot decide on symbolic sizes is returned with the result.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from symconv.algebra.arith import Conditions, Dim, out
from symconv.algebra.tidy import tidy
from symconv.errors import SymconvError

Value = int | sp.Basic | tuple
_UNSET: Any = object()

#: the left-hand sides of the quantities (what a derivation prints)
WEIGHTS = sp.Symbol("weights")
BIASES = sp.Symbol("biases")
PARAMS = sp.Symbol("params")
MACS_DENSE = sp.Symbol("MACs_dense")
MACS_EXACT = sp.Symbol("MACs_exact")
FLOPS_DENSE = sp.Symbol("FLOPs_dense")
FLOPS_EXACT = sp.Symbol("FLOPs")
TRANSCENDENTALS = sp.Symbol("transcendentals")
#: how the renderers print them in LaTeX
QUANTITY_LATEX = {WEIGHTS: r"\mathrm{weights}", BIASES: r"\mathrm{biases}",
                  PARAMS: r"\mathrm{params}", MACS_DENSE: r"\mathrm{MACs}_{dense}",
                  MACS_EXACT: r"\mathrm{MACs}_{exact}", FLOPS_DENSE: r"\mathrm{FLOPs}_{dense}",
                  FLOPS_EXACT: r"\mathrm{FLOPs}", TRANSCENDENTALS: r"\mathrm{transcendentals}"}

#: the quantities every layer states (missing ones are 0; ``macs``/``flops`` set both conventions)
QUANTITIES = ("weights", "biases", "macs_dense", "macs_exact", "flops_dense", "flops_exact",
              "transcendentals")


def evaluate(general: sp.Basic, subs: Mapping[sp.Symbol, Value] | Iterable) -> Value:
    r"""``general`` with ``subs`` put in, as an ``int`` when concrete, else a tidied expression.

    When every symbol gets an integer the formula is evaluated by a function compiled from it
    once (:func:`compiled`: the same expression, in exact rational arithmetic); otherwise by
    SymPy substitution.

    >>> from symconv.algebra.symbols import H, K, S
    >>> evaluate(sp.floor((H - K) / S) + 1, {H: 128, K: 5, S: 2})
    62
    """
    subs = dict(subs)
    fast = _evaluate_integers(general, subs)
    if fast is not None:
        return fast
    rule = {s: sp.sympify(v) for s, v in subs.items()}
    value = general.xreplace(rule)
    if isinstance(value, sp.Tuple):
        return tuple(_finish(v) for v in value)
    return _finish(value)


class _ExactPrinter(PythonCodePrinter):
    """Python code whose arithmetic stays exact on :class:`~fractions.Fraction` arguments."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Half(self, expr) -> str:
        return "Fraction(1, 2)"

    def _print_mu(self, expr) -> str:
        return "mu(" + ", ".join(self._print(a) for a in expr.args) + ")"


def _mu(p, k, s, d, n) -> int:
    from symconv.algebra.taps import missed_taps

    return missed_taps(*(int(v) for v in (p, k, s, d, n)))


_NAMESPACE = {"Fraction": Fraction, "floor": math.floor, "ceil": math.ceil, "mu": _mu,
              "Max": max, "Min": min, "math": math}


@functools.lru_cache(maxsize=4096)
def compiled(general: sp.Basic, symbols: tuple[sp.Symbol, ...]):
    """``general`` as a Python function of ``symbols`` (exact on Fractions), or ``None`` when
    it holds something the compiled path does not support (sums, unknown functions)."""
    if general.has(sp.Sum) or not general.free_symbols <= set(symbols):
        return None
    try:
        return sp.lambdify(symbols, general, modules=[_NAMESPACE], printer=_ExactPrinter)
    except (NotImplementedError, SyntaxError, TypeError):  # not printable as Python
        return None


@functools.lru_cache(maxsize=4096)
def _symbols(general: sp.Basic) -> tuple[sp.Symbol, ...]:
    return tuple(sorted(general.free_symbols, key=str))


def _evaluate_integers(general: sp.Basic, subs: dict) -> Value | None:
    """The compiled path: every symbol of ``general`` bound to a Python int."""
    if not isinstance(general, sp.Basic) or isinstance(general, sp.Tuple):
        return None
    symbols = _symbols(general)
    values = [subs.get(sym) for sym in symbols]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        return None
    fn = compiled(general, symbols)
    if fn is None:
        return None
    try:
        result = fn(*(Fraction(v) for v in values))
    except (NameError, TypeError, ZeroDivisionError):  # a function the compiled path lacks
        return None
    if isinstance(result, bool):
        return result
    if isinstance(result, Fraction):
        return int(result) if result.denominator == 1 else sp.Rational(result.numerator,
                                                                       result.denominator)
    if isinstance(result, int):
        return result
    return None


def _finish(value: sp.Basic) -> Value:
    if value.has(sp.Sum):
        value = value.doit()
        value = sp.expand(value) if not value.is_Integer else value
    if isinstance(value, sp.Expr):
        return out(tidy(value))
    return value


@dataclass(frozen=True, slots=True)
class Formula:
    """One closed form of a layer: ``lhs = general``, and ``value`` at ``subs``.

    ``general`` is ``None`` for a value that is given, not derived (a field of the layer).
    ``via`` names the exact path that computed ``value`` when it is not the plain substitution.
    """

    key: str
    label: str
    lhs: sp.Symbol
    general: sp.Basic | None
    subs: tuple[tuple[sp.Symbol, Value], ...] = ()
    value: Value = 0
    via: str = ""

    @property
    def substitution(self) -> dict[sp.Symbol, Value]:
        return dict(self.subs)


@dataclass(frozen=True, slots=True)
class Formulas:
    """Every formula of one layer on one input, in derivation order, with the output shape and
    the validity conditions SymPy could not decide."""

    layer: str
    items: tuple[Formula, ...]
    shape: tuple = ()
    conditions: tuple = ()

    def __getitem__(self, key: str) -> Formula:
        for f in self.items:
            if f.key == key:
                return f
        raise KeyError(key)

    def __contains__(self, key: str) -> bool:
        return any(f.key == key for f in self.items)

    def value(self, key: str) -> Value:
        """The value of ``key``; a quantity the layer does not state is 0."""
        for f in self.items:
            if f.key == key:
                return f.value
        base = key.split("_")[0]
        if base in ("macs", "flops") and base in self:
            return self[base].value  # the same in both conventions
        if key in QUANTITIES:
            return 0
        raise KeyError(f"{self.layer} states no quantity {key!r}")


@dataclass
class FormulaBuilder:
    """Collects a layer's formulas and validity conditions, in the order they are derived."""

    layer: str
    items: list[Formula] = field(default_factory=list)
    conds: Conditions = field(default_factory=Conditions)

    def add(self, key: str, label: str, lhs: sp.Symbol, general: sp.Basic | None,
            subs: Mapping[sp.Symbol, Value] | None = None, *, value: Value = _UNSET,
            via: str = "") -> Value:
        """Record ``lhs = general`` at ``subs`` and return its value: :func:`evaluate` unless an
        exact special path gives ``value`` (then say which in ``via``)."""
        subs = dict(subs or {})
        if value is _UNSET:
            if general is None:
                raise SymconvError(f"internal: {self.layer}.{key} has neither a formula nor a "
                                   f"value")
            value = evaluate(general, subs)
        elif general is not None and not via:
            raise SymconvError(f"internal: {self.layer}.{key} overrides its formula without "
                               f"naming the path (via=...)")
        if any(f.key == key for f in self.items):
            raise SymconvError(f"internal: {self.layer} states {key!r} twice")
        self.items.append(Formula(key, label, lhs, general, tuple(subs.items()), value, via))
        return value

    def same(self, key: str, label: str, lhs: sp.Symbol, other: str) -> Value:
        """A quantity equal to one stated before (e.g. exact MACs of a layer without padding)."""
        f = self.get(other)
        self.items.append(Formula(key, label, lhs, f.general, f.subs, f.value, f.via))
        return f.value

    def get(self, key: str) -> Formula:
        for f in self.items:
            if f.key == key:
                return f
        raise KeyError(key)

    def require(self, condition: sp.Basic | bool, subs: Mapping[sp.Symbol, Value] | None,
                error: type[SymconvError], message: str) -> None:
        """A validity condition, stated in general and decided at ``subs``: provably false
        raises ``error(message)``; undecided (symbolic sizes) is returned with the result."""
        if isinstance(condition, sp.Basic) and subs:
            fast = _evaluate_integers(condition, dict(subs))
            condition = fast if isinstance(fast, bool) else condition.xreplace(
                {s: sp.sympify(v) for s, v in subs.items()})
        self.conds.require(condition, error, message)

    def build(self, shape: Iterable[Dim]) -> Formulas:
        return Formulas(self.layer, tuple(self.items), tuple(shape), tuple(self.conds.items))
