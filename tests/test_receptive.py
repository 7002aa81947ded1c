"""Receptive fields: the closed form is the recursion (SymPy); composing the layers' windows
gives every output's exact input interval, equal to the support of the gradient of that output
of the real Flax network (hypothesis), also through upsampling (nearest, pixel shuffle,
transposed convolution), where the field depends on the output's phase."""

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symconv.algebra import (
    Conv2D,
    ConvTranspose2D,
    MaxPool2D,
    PixelShuffle,
    ReLU,
    Stack,
    Upsample,
    receptive,
)
from symconv.checks.measure import gradient_support, predicted_window
from symconv.errors import SymconvError


def test_recursion_is_the_closed_form_symbolically():
    n = 4
    ks = sp.symbols(f"k1:{n + 1}", integer=True, positive=True)
    ss = sp.symbols(f"s1:{n + 1}", integer=True, positive=True)
    ds = sp.symbols(f"d1:{n + 1}", integer=True, positive=True)
    field = receptive.IDENTITY
    for k, s, d in zip(ks, ss, ds):
        field = receptive.step(field, receptive.Window(k, s, d, 0))
    # Written out here, independently of symconv: 1 + sum (k_l - 1) d_l prod_{i<l} s_i.
    expected = 1 + sum((ks[i] - 1) * ds[i] * sp.Mul(*ss[:i]) for i in range(n))
    assert sp.expand(field.size - expected) == 0
    assert sp.expand(field.jump - sp.Mul(*ss)) == 0
    assert sp.expand(receptive.closed_form(ks, ss, ds) - expected) == 0


@st.composite
def stacks(draw, upsampling: bool = False):
    """Random chains of convolutions and pooling; with ``upsampling``, also nearest
    upsampling, pixel shuffles and transposed convolutions."""
    layers, c = [], 2
    kinds = ["conv", "pool"] + (["upsample", "shuffle", "transpose"] if upsampling else [])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        if kind == "conv":
            k = draw(st.integers(1, 5))
            pad = draw(st.one_of(st.integers(0, 2), st.just("SAME")))
            n = draw(st.sampled_from([2, 4]))
            layers += [Conv2D(c, n, k, draw(st.integers(1, 2)), pad, draw(st.integers(1, 2))),
                       ReLU()]
            c = n
        elif kind == "pool":
            layers.append(MaxPool2D(draw(st.integers(2, 3)), draw(st.integers(1, 2)),
                                    draw(st.sampled_from(["VALID", "SAME"]))))
        elif kind == "upsample":
            layers.append(Upsample(draw(st.integers(2, 3))))
        elif kind == "shuffle":
            layers += [Conv2D(c, 4, 1), PixelShuffle(2)]
            c = 1
        else:
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
            p = draw(st.integers(0, d * (k - 1)))
            op = draw(st.integers(0, max(s, d) - 1))
            layers.append(ConvTranspose2D(c, 2, k, s, p, op, d))
            c = 2
    return Stack(tuple(layers)), c


def _inside(interval, n: int) -> bool:
    """A non-empty interval within the image (empty: the output reads only inserted zeros)."""
    return 0 <= interval[0] <= interval[1] <= n - 1


def _table(stack, n, c):
    try:
        table = stack.table((n, n, 2))
    except SymconvError:
        assume(False)
    assume(all(d <= 96 for d in table.rows[-1].output_shape[:2]))
    return table


def check_exact_interval(drawn, n, data):
    """Every output's gradient support lies in the interval the composed windows give, and
    spans it exactly when it lies inside the image (its two ends are always real taps; holes
    are interior). Each example differentiates a freshly built network on the CPU."""
    stack, c = drawn
    table = _table(stack, n, c)
    out_h, out_w = table.rows[-1].output_shape[:2]
    i, j = data.draw(st.integers(0, out_h - 1)), data.draw(st.integers(0, out_w - 1))
    fh, fw = table.rows[-1].field_h, table.rows[-1].field_w
    intervals = [fh.interval(i), fw.interval(j)]
    support = gradient_support(stack, (n, n, 2), (i, j))
    if support is None:  # the output reads only padding (or holes) of some layer
        assert not all(_inside(iv, n) for iv in intervals)
        return
    assert all(lo <= hi for lo, hi in intervals)
    for (lo, hi), (plo, phi) in zip(support, intervals):
        assert max(0, plo) <= lo <= hi <= min(n - 1, phi)
        if _inside((plo, phi), n):
            assert (lo, hi) == (plo, phi)


@settings(max_examples=12, deadline=None)
@given(stacks(upsampling=True), st.integers(6, 20), st.data())
def test_gradient_support_is_the_exact_interval(drawn, n, data):
    check_exact_interval(drawn, n, data)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(stacks(upsampling=True), st.integers(6, 20), st.data())
def test_gradient_support_is_the_exact_interval_sweep(drawn, n, data):
    check_exact_interval(drawn, n, data)


@settings(max_examples=300, deadline=None)
@given(stacks(upsampling=True), st.integers(6, 40))
def test_field_size_is_the_largest_interval_over_phases(drawn, n):
    """The field's size is the widest output interval, over all outputs (phases); without
    upsampling every interval is the closed form start + i j ± (r - 1)/2."""
    stack, c = drawn
    table = _table(stack, n, c)
    f = table.rows[-1].field_h
    widths = [hi - lo + 1 for lo, hi in map(f.interval, range(table.rows[-1].output_shape[0]))]
    assert max(widths) <= f.size
    period = sp.Mul(*[w.upsample for w in f.windows])
    if len(widths) >= period:
        assert max(widths) == f.size
    if all(w.upsample == 1 for w in f.windows):
        for unit in range(len(widths)):
            centre = f.start + unit * f.jump
            assert f.interval(unit) == (centre - sp.Rational(f.size - 1, 2),
                                        centre + sp.Rational(f.size - 1, 2))


@settings(max_examples=12, deadline=None)
@given(stacks(), st.integers(12, 30), st.data())
def test_closed_form_window_is_the_gradient_support(drawn, n, data):
    """Without upsampling, the closed form start + i j ± (r-1)/2 (clipped) is the support."""
    stack, c = drawn
    table = _table(stack, n, c)
    out_h = table.rows[-1].output_shape[0]
    i = data.draw(st.integers(0, out_h - 1))
    fh, _fw = table.rows[-1].field_h, table.rows[-1].field_w
    support = gradient_support(stack, (n, n, 2), (i, i))
    if support is None:
        return
    (lo, hi), _ = support
    plo, phi = predicted_window(fh.size, fh.jump, fh.start, i, n)
    assert plo <= lo <= hi <= phi
    if _inside(fh.interval(i), n):
        assert (lo, hi) == (plo, phi)
