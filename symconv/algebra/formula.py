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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

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

    >>> from symconv.algebra.symbols import H, K, S
    >>> evaluate(sp.floor((H - K) / S) + 1, {H: 128, K: 5, S: 2})
    62
    """
    rule = {s: sp.sympify(v) for s, v in dict(subs).items()}
    value = general.xreplace(rule)
    if isinstance(value, sp.Tuple):
        return tuple(_finish(v) for v in value)
    return _finish(value)


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
            condition = condition.xreplace({s: sp.sympify(v) for s, v in subs.items()})
        self.conds.require(condition, error, message)

    def build(self, shape: Iterable[Dim]) -> Formulas:
        return Formulas(self.layer, tuple(self.items), tuple(shape), tuple(self.conds.items))
