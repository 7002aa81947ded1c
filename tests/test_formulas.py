"""The layer protocol: every special path that computes a value instead of the general formula
is checked against that formula at integer points, and the closed form of the lost taps against
their definition as a count."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra import (
    AvgPool2D,
    Conv2D,
    ConvTranspose2D,
    MaxPool2D,
    PixelShuffle,
    SeparableConv2D,
)
from symconv.algebra.formula import evaluate
from symconv.algebra.symbols import H, W
from symconv.algebra.taps import missed_taps
from symconv.errors import SymconvError


@st.composite
def layers(draw):
    """A layer with concrete hyper-parameters (its input sizes will be symbolic)."""
    k, s, d = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    pad = draw(st.one_of(st.just("SAME"), st.just("VALID"), st.integers(0, 5),
                         st.tuples(st.tuples(st.integers(0, 4), st.integers(0, 4)),
                                   st.tuples(st.integers(0, 4), st.integers(0, 4)))))
    kind = draw(st.sampled_from(["conv", "transpose", "maxpool", "avgpool", "separable"]))
    if kind == "conv":
        return Conv2D(2, 3, k, s, pad, d, use_bias=draw(st.booleans()))
    if kind == "separable":
        return SeparableConv2D(2, 3, k, s, pad, d)
    if kind == "transpose":
        p = draw(st.integers(0, d * (k - 1)))
        return ConvTranspose2D(2, 3, k, s, p, draw(st.integers(0, max(s, d) - 1)), d)
    window = (k, draw(st.integers(1, 4)))
    pool = MaxPool2D if kind == "maxpool" else AvgPool2D
    return pool(window, s, pad)


def _special_formulas(layer, shape):
    """The formulas computed by a special path, and the validity conditions of the result."""
    try:
        formulas = layer.derivation(shape)
    except SymconvError:
        return [], ()
    return [f for f in formulas.items if f.via], formulas.conditions


@settings(max_examples=150, deadline=None)
@given(layers(), st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=3,
                          max_size=6))
def test_special_paths_equal_the_general_formula(layer, points):
    """On a symbolic input, a value computed by a special path ('SAME' padding per residue,
    the closed form of μ) equals, at integer sizes where the conditions returned with it hold,
    the general formula with the substitution evaluated there (μ evaluated by its sum)."""
    special, conditions = _special_formulas(layer, (H, W, 2))
    for f in special:
        for h, w in points:
            at = {H: h, W: w}
            if not all(bool(c.subs(at)) for c in conditions):
                continue  # outside the sizes the closed form was returned for
            rule = {s: (v.subs(at) if isinstance(v, sp.Basic) else v) for s, v in f.subs}
            value = f.value.subs(at) if isinstance(f.value, sp.Basic) else f.value
            try:
                concrete = layer.derivation((h, w, 2))
            except SymconvError:
                continue  # an input this layer cannot take
            expected = evaluate(f.general, rule)
            assert sp.Integer(value) == expected == concrete[f.key].value, (f.key, h, w)


def _mu_by_count(p: int, k: int, s: int, d: int, n: int) -> int:
    """Definition: pairs (output a < n, tap t < k) whose position a S + t D falls below p."""
    return sum(1 for a in range(n) for t in range(k) if a * s + t * d < p)


@settings(max_examples=500, deadline=None)
@given(st.integers(-3, 12), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 12))
def test_missed_taps_closed_form_is_the_count(p, k, s, d, n):
    assert missed_taps(p, k, s, d, n) == _mu_by_count(p, k, s, d, n)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 30))
def test_missed_taps_symbolic_run_length(p, k, s, d, n):
    """The closed form for a symbolic run length n (valid for n >= ceil(p/S)) at integers."""
    m = sp.Symbol("n", integer=True, positive=True)
    from symconv.algebra.arith import Conditions

    conds = Conditions()
    closed = missed_taps(p, k, s, d, m, conds)
    if n * s >= p:
        assert sp.Integer(closed).subs(m, n) if isinstance(closed, int) else \
            closed.subs(m, n) == _mu_by_count(p, k, s, d, n)


def test_every_formula_of_a_layer_is_stated_once():
    """A layer states each quantity once, parameters first, in derivation order."""
    for layer, shape in ((Conv2D(3, 8, 3, 2, "SAME"), (H, W, 3)),
                         (PixelShuffle(2), (H, W, 8)), (SeparableConv2D(4, 8, 3), (9, 9, 4))):
        keys = [f.key for f in layer.derivation(shape).items]
        assert len(keys) == len(set(keys))
        assert keys[:2] == ["weights", "biases"] or "weights" not in keys
