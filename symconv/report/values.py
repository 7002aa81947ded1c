"""Typed values of claims: numbers, SymPy objects, shapes, and the small typed facts
(:class:`Compared`, :class:`Labeled`, rounded :class:`~decimal.Decimal` measurements), with
exact equality (:func:`values_equal`). Shared by the proof data and the renderers."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import sympy as sp

from symconv.errors import SymconvError

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
    if is_number(a) and is_number(b):
        return sp.simplify(_expr(a) - _expr(b)) == 0
    if isinstance(a, sp.Basic) and isinstance(b, sp.Basic):
        return a == b  # sets, intervals, relations: structural equality
    if type(a) is not type(b):
        return False
    return a == b  # enums, strings inside values, other typed facts


def is_number(x: Value) -> bool:
    """An exact number (int, Fraction, Decimal, SymPy expression), not a bool."""
    return isinstance(x, (int, Fraction, Decimal, sp.Expr)) and not isinstance(x, bool)


def _expr(x: Value) -> sp.Expr:
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, Decimal):
        return sp.Rational(str(x))
    return x
