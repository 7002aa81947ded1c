r"""Rewrite nested floors and ceilings of integer expressions into their simplest form.

SymPy leaves ``floor(floor(H/2 - 1/2)/2) + 1`` alone; for integer $x$ and positive integer $m$

.. math::  \left\lfloor \frac{\lfloor a \rfloor + y}{m} \right\rfloor
           = \left\lfloor \frac{a + y}{m} \right\rfloor \ (y \in \mathbb{Z}), \qquad
           \left\lfloor \frac{x + m - 1}{m} \right\rfloor = \left\lceil \frac{x}{m} \right\rceil,
           \quad \lfloor -y \rfloor = -\lceil y \rceil,

(and the same for ceilings), so it becomes ``ceiling(H/4)``. Only exact identities are used.
"""

from __future__ import annotations

import sympy as sp


def _split(arg: sp.Expr) -> tuple[sp.Expr, int, int] | None:
    """``arg = (x + r) / m`` with ``x`` integer-valued and free of constants, ``r``, ``m`` ints."""
    arg = sp.expand(arg)
    coeffs = [t.as_coeff_Mul()[0] for t in sp.Add.make_args(arg)]
    if not all(isinstance(c, sp.Rational) for c in coeffs):
        return None
    m = int(sp.ilcm(1, 1, *[c.q for c in coeffs]))
    scaled = sp.expand(arg * m)
    r = scaled.as_coeff_Add()[0]
    x = scaled - r
    if not (isinstance(r, sp.Integer) and x.is_integer):
        return None
    return x, int(r), m


def _rewrite(fn, arg: sp.Expr) -> sp.Expr | None:
    # Flatten one nested floor/ceiling of the same kind: fn((fn(a) + y)/m) = fn((a + y)/m).
    arg = sp.expand(arg)
    for inner in arg.atoms(fn):
        c = arg.coeff(inner)
        rest = sp.expand(arg - c * inner)
        if (isinstance(c, sp.Rational) and c > 0 and c.p == 1 and not rest.has(inner)
                and (rest * c.q).is_integer):
            return fn(sp.expand(c * inner.args[0] + rest))
    parts = _split(arg)
    if parts is None:
        return None
    if parts[0].could_extract_minus_sign():  # floor(-y) = -ceiling(y), ceiling(-y) = -floor(y)
        return -(sp.ceiling if fn is sp.floor else sp.floor)(sp.expand(-arg))
    x, r, m = parts
    if m == 1:
        return x + r
    q, rem = divmod(r, m)
    if fn is sp.floor:
        if rem == m - 1:
            return sp.ceiling(x / m) + q
        return sp.floor((x + rem) / m) + q if q else None
    if rem == 1:
        return sp.floor(x / m) + q + 1
    return sp.ceiling((x + rem) / m) + q if q else None


def tidy(expr):
    """Apply the identities above until nothing changes; ints pass through."""
    if not isinstance(expr, sp.Basic):
        return expr
    for _ in range(20):
        new = expr
        for fn in (sp.floor, sp.ceiling):
            for node in sorted(new.atoms(fn), key=sp.count_ops):
                repl = _rewrite(fn, node.args[0])
                if repl is not None and repl != node:
                    new = new.xreplace({node: repl})
        new = sp.expand(new) if new != expr else new
        if new == expr:
            return expr
        expr = new
    return expr
