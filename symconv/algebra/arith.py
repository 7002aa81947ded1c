"""Arithmetic that works the same on Python ints and SymPy expressions.

Every formula in :mod:`symconv.algebra` is written once with these helpers. With plain ints they
compute in Python integers (fast, exact); with any SymPy symbol they build the SymPy expression.
Results are handed back as ``int`` when they are concrete (:func:`out`).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp

from symconv.errors import NonIntegerError, NonPositiveSizeError, SymconvError

Dim = int | sp.Expr


def is_concrete(*xs: object) -> bool:
    """True when every argument is a plain Python int (bools excluded)."""
    return all(isinstance(x, int) and not isinstance(x, bool) for x in xs)


def as_dim(value: object, what: str, *, allow_zero: bool = False) -> Dim:
    """Validate one size: a Python int or an integer-valued SymPy expression.

    Raises :class:`NonIntegerError` for floats, bools, strings and non-integer expressions, and
    :class:`NonPositiveSizeError` for a value that is provably ``< 1`` (``< 0`` with
    ``allow_zero``).
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, sp.Expr)):
        raise NonIntegerError(
            f"{what}={value!r} must be an integer or an integer SymPy expression, "
            f"not {type(value).__name__}"
        )
    if isinstance(value, numbers.Integral):
        value = int(value)
    else:
        if value.is_integer is False:
            raise NonIntegerError(f"{what}={value} is not an integer")
        if value.is_Integer:
            value = int(value)
        elif value.is_integer is not True:
            raise NonIntegerError(
                f"{what}={value} is not known to be an integer: declare its symbols with "
                f"integer=True (see symconv.algebra.symbols)"
            )
    lower = 0 if allow_zero else 1
    ok = value >= lower
    if ok is False or ok == sp.false:
        raise NonPositiveSizeError(f"{what}={value} must be >= {lower}")
    return value


def out(x: Dim) -> Dim:
    """Hand a result back: ``int`` when concrete, a SymPy expression otherwise."""
    if isinstance(x, sp.Expr) and x.is_Integer:
        return int(x)
    if isinstance(x, sp.Basic) and not isinstance(x, sp.Expr):
        raise SymconvError(f"internal: expected an expression, got {x!r}")
    return x


def floordiv(a: Dim, b: Dim) -> Dim:
    r"""$\lfloor a / b \rfloor$."""
    if is_concrete(a, b):
        return a // b
    return out(sp.floor(sp.Integer(a) / b if isinstance(a, int) else a / b))


def ceildiv(a: Dim, b: Dim) -> Dim:
    r"""$\lceil a / b \rceil$."""
    if is_concrete(a, b):
        return -((-a) // b)
    return out(sp.ceiling(sp.Integer(a) / b if isinstance(a, int) else a / b))


def mod(a: Dim, b: Dim) -> Dim:
    r"""$a \bmod b$ (non-negative for $b > 0$)."""
    if is_concrete(a, b):
        return a % b
    return out(sp.Mod(a, b))


def smax(*xs: Dim) -> Dim:
    if is_concrete(*xs):
        return max(xs)
    return out(sp.Max(*xs))


def smin(*xs: Dim) -> Dim:
    if is_concrete(*xs):
        return min(xs)
    return out(sp.Min(*xs))


def simplify(x: Dim) -> Dim:
    """Cheap canonical form: expand polynomial parts, keep ints as ints."""
    if isinstance(x, int):
        return x
    return out(sp.expand(x))


def prod(xs: Iterable[Dim]) -> Dim:
    r = 1
    for x in xs:
        r = r * x
    return out(r) if not isinstance(r, int) else r


@dataclass
class Conditions:
    """Collects validity conditions of a layer on a (possibly symbolic) input.

    :meth:`require` raises the given error when the condition is provably false, does nothing
    when it is provably true, and records it when SymPy cannot decide: such conditions are
    returned with the result (never silently assumed).
    """

    items: list = field(default_factory=list)

    def require(self, cond: object, error: type[SymconvError], message: str) -> None:
        if isinstance(cond, (sp.Ge, sp.Gt, sp.Le, sp.Lt)):
            cond = type(cond)(sp.expand(cond.lhs - cond.rhs), 0)
        if cond is True or cond == sp.true:
            return
        if cond is False or cond == sp.false:
            raise error(message)
        if isinstance(cond, sp.Basic):
            if cond not in self.items:
                self.items.append(cond)
            return
        raise SymconvError(f"internal: condition {cond!r} is not boolean")  # pragma: no cover
