"""Strict parsing of what users type: identifiers and integers only.

SymPy's ``sympify``/``parse_expr`` evaluate Python; user text never reaches them. A shape such as
``1,H,W,3`` is split on commas and each item must match ``[A-Za-z_][A-Za-z0-9_]*`` (a symbol,
made a positive integer) or ``[0-9]+``; ``H=224,W=224`` likewise.
"""

from __future__ import annotations

import re

import sympy as sp

from symconv.errors import UnsafeInputError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}")
_INT = re.compile(r"[0-9]{1,9}")


def _item(text: str, what: str) -> int | sp.Symbol:
    item = text.strip()
    if _INT.fullmatch(item):
        value = int(item)
        if value < 1:
            raise UnsafeInputError(f"{what}: {item!r} must be a positive integer")
        return value
    if _NAME.fullmatch(item) and not item.startswith("__"):
        return sp.Symbol(item, integer=True, positive=True)
    raise UnsafeInputError(
        f"{what}: {item!r} is neither a dimension name (letters, digits, _) nor a positive "
        f"integer")


def parse_shape(text: str, what: str = "--input") -> tuple[int | sp.Symbol, ...]:
    """``"1,H,W,3"`` -> ``(1, H, W, 3)`` with ``H``, ``W`` positive-integer symbols."""
    if not isinstance(text, str) or not text.strip():
        raise UnsafeInputError(f"{what}: expected a comma-separated shape such as 1,H,W,3")
    return tuple(_item(part, what) for part in text.split(","))


def parse_assignments(text: str, what: str = "--at") -> dict[str, int]:
    """``"H=224,W=224"`` -> ``{"H": 224, "W": 224}``."""
    if not isinstance(text, str) or not text.strip():
        raise UnsafeInputError(f"{what}: expected NAME=INT pairs such as H=224,W=224")
    values: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _NAME.fullmatch(name) or name.startswith("__"):
            raise UnsafeInputError(f"{what}: {part.strip()!r} is not NAME=INT")
        if not _INT.fullmatch(value) or int(value) < 1:
            raise UnsafeInputError(f"{what}: value of {name} must be a positive integer, "
                                   f"got {value!r}")
        if name in values:
            raise UnsafeInputError(f"{what}: {name} is given twice")
        values[name] = int(value)
    return values


def parse_dim(text: str | None, what: str) -> int | sp.Symbol | None:
    """One dimension, a positive integer or a name (``None`` when not given)."""
    if text is None:
        return None
    parsed = parse_shape(text, what)
    if len(parsed) != 1:
        raise UnsafeInputError(f"{what}: expected one value, got {text!r}")
    return parsed[0]


def parse_count(text: str, what: str, zero: bool = False) -> int:
    """An integer >= 1 (>= 0 with ``zero``), at most nine digits."""
    item = str(text).strip()
    if not _INT.fullmatch(item) or int(item) < (0 if zero else 1):
        raise UnsafeInputError(f"{what}: expected a {'non-negative' if zero else 'positive'} "
                               f"integer, got {text!r}")
    return int(item)


def parse_hw(text: str, what: str) -> tuple[int, int]:
    """``"H,W"``: two positive integers."""
    hw = parse_shape(text, what)
    if len(hw) != 2 or not all(isinstance(v, int) for v in hw):
        raise UnsafeInputError(f"{what} takes H,W (two positive integers), got {text!r}")
    return hw  # type: ignore[return-value]
