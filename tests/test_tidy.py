"""``tidy`` rewrites nested floors/ceilings by exact identities: checked at integer points."""

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra.tidy import tidy

X = sp.Symbol("X", integer=True, positive=True)


@st.composite
def nested(draw):
    expr = X
    for _ in range(draw(st.integers(1, 4))):
        fn = draw(st.sampled_from([sp.floor, sp.ceiling]))
        m = draw(st.integers(1, 5))
        a = draw(st.integers(-6, 6))
        expr = fn((expr + a) / m) + draw(st.integers(-2, 2))
    return expr


@settings(max_examples=200, deadline=None)
@given(nested())
def test_tidy_is_exact(expr):
    tidied = tidy(expr)
    for x in range(1, 70):
        assert tidied.subs(X, x) == expr.subs(X, x), (expr, tidied, x)


def test_tidy_simplifies_three_halvings():
    e = sp.floor(sp.floor(sp.floor((X - 1) / 2) / 2 + sp.Rational(1, 2) - sp.Rational(1, 2))
                 / 2) + 1
    assert tidy(sp.floor((X - 1) / 2) + 1) == sp.ceiling(X / 2)
    assert tidy(e).count(sp.floor) + tidy(e).count(sp.ceiling) == 1
