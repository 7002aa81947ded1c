"""Receptive fields: the closed form is the recursion (SymPy), and the predicted window equals
the support of the gradient of one output unit of the real Flax network (hypothesis)."""

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symconv.algebra import Conv2D, MaxPool2D, ReLU, Stack, receptive
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
    expected = 1 + sum((ks[l] - 1) * ds[l] * sp.Mul(*ss[:l]) for l in range(n))
    assert sp.expand(field.size - expected) == 0
    assert sp.expand(field.jump - sp.Mul(*ss)) == 0
    assert sp.expand(receptive.closed_form(ks, ss, ds) - expected) == 0


@st.composite
def stacks(draw):
    layers, c = [], 2
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            k = draw(st.integers(1, 5))
            pad = draw(st.one_of(st.integers(0, 2), st.just("SAME")))
            layers += [Conv2D(c, 2, k, draw(st.integers(1, 2)), pad,
                              draw(st.integers(1, 2))), ReLU()]
            c = 2
        else:
            layers.append(MaxPool2D(draw(st.integers(2, 3)), draw(st.integers(1, 2)),
                                    draw(st.sampled_from(["VALID", "SAME"]))))
    return Stack(tuple(layers))


def _inside(f, unit: int, n: int) -> bool:
    centre = f.start + unit * f.jump
    return centre - (f.size - 1) / 2 >= 0 and centre + (f.size - 1) / 2 <= n - 1


def check_support(stack, n, data):
    """The support lies in the predicted window; when the window lies inside the image the
    support spans it exactly (its two end taps are always real; holes left by dilation or by
    strides larger than kernels are interior)."""
    try:
        table = stack.table((n, n, 2))
    except SymconvError:
        assume(False)
    out_h = table.rows[-1].output_shape[0]
    i = data.draw(st.integers(0, out_h - 1))
    j = data.draw(st.integers(0, out_h - 1))
    fh, fw = table.rows[-1].field_h, table.rows[-1].field_w
    support = gradient_support(stack, (n, n, 2), (i, j))
    if support is None:
        # The unit reads only zero padding of some layer. The extent formula still reports a
        # window, but it cannot lie wholly inside the image (then no layer reads padding).
        assert not all(_inside(f, u, n) for f, u in ((fh, i), (fw, j)))
        return
    for (lo, hi), f, unit in zip(support, (fh, fw), (i, j)):
        plo, phi = predicted_window(f.size, f.jump, f.start, unit, n)
        assert plo <= lo <= hi <= phi
        if _inside(f, unit, n):
            assert (lo, hi) == (plo, phi)


# Each example differentiates a freshly built network on the CPU: a few in the default tier,
# a sweep (other derandomized draws) in the slow tier.
@settings(max_examples=12)
@given(stacks(), st.integers(12, 30), st.data())
def test_gradient_support_is_the_predicted_window(stack, n, data):
    check_support(stack, n, data)


@pytest.mark.slow
@settings(max_examples=100)
@given(stacks(), st.integers(12, 30), st.data())
def test_gradient_support_is_the_predicted_window_sweep(stack, n, data):
    check_support(stack, n, data)
