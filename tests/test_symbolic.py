r"""Symbolic identities, proven with SymPy (not sampled), and symbolic agreement with JAX.

Each identity is written here independently of :mod:`symconv.algebra` and proven by
``sp.simplify(a - b) == 0``. Identities with floors and ceilings that ``simplify`` alone does not
close (it keeps ``ceiling(H/2) + floor(-H/2)``, for instance) are finished by
:func:`assert_identity`: a complete case analysis on each size modulo $L$, the period of every
floor, ceiling and ``Mod`` in the expressions ($H = Lq + r$, $r = 1..L$, $q \ge 0$ an integer),
where SymPy then evaluates every floor and the difference simplifies to zero in each case.
"""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from flax import nnx

from symconv.algebra import (
    AvgPool2D,
    Conv2D,
    ConvTranspose2D,
    Flatten,
    MaxPool2D,
    SeparableConv2D,
)
from symconv.algebra.symbols import D, G, H, K, M, N, P, S, W, p
from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.models import flax_layer

# --- helpers ----------------------------------------------------------------------------------


def _period(*exprs: sp.Expr) -> int:
    """lcm of the denominators of the rationals and of the ``Mod`` moduli in ``exprs``."""
    period = 1
    for e in exprs:
        e = sp.sympify(e)
        for r in e.atoms(sp.Rational):
            period = math.lcm(period, int(r.q))
        for m in e.atoms(sp.Mod):
            if m.args[1].is_Integer:
                period = math.lcm(period, int(m.args[1]))
    return period


def assert_identity(a: sp.Expr, b: sp.Expr) -> None:
    """Prove ``a == b`` for all positive integer values of their (positive integer) symbols."""
    diff = sp.simplify(sp.sympify(a) - sp.sympify(b))
    if diff == 0:
        return
    variables = sorted(diff.free_symbols, key=str)
    assert all(v.is_integer and v.is_positive for v in variables), variables
    period = _period(a, b)
    assert period > 1, f"{a} != {b}: difference {diff} (no floor/ceiling to split on)"
    qs = [sp.Symbol(f"q_{v}", integer=True, nonnegative=True) for v in variables]
    for residues in itertools.product(range(1, period + 1), repeat=len(variables)):
        env = {v: period * q + r for v, q, r in zip(variables, qs, residues)}
        case = sp.simplify(sp.sympify(a).subs(env) - sp.sympify(b).subs(env))
        assert case == 0, f"{a} != {b} when {env}: difference {case}"


def _ge_zero(cond: sp.Basic) -> sp.Expr:
    """``lhs - rhs`` of a ``>=`` condition, expanded (the condition says it is >= 0)."""
    assert isinstance(cond, sp.GreaterThan), cond
    return sp.expand(cond.lhs - cond.rhs)


def _min_size(spec, axis: int, channels: int) -> int:
    """Smallest valid input length along ``axis`` (the other axis large)."""
    for n in range(1, 64):
        shape = [64, 64, channels]
        shape[axis] = n
        try:
            spec.output_shape(tuple(shape))
        except SymconvError:
            continue
        return n
    raise AssertionError(f"no valid input size for {spec!r}")  # pragma: no cover


def _channels(spec) -> int:
    return getattr(spec, "in_features", 3)


def _abstract(spec):
    return xla.abstract(lambda: flax_layer(spec, rngs=nnx.Rngs(0)))


# --- separable / standard ratios -------------------------------------------------------------


def test_separable_params_ratio() -> None:
    r"""$\frac{K^2 M + M N}{K^2 M N} = \frac{1}{N} + \frac{1}{K^2}$."""
    ratio = SeparableConv2D(M, N, K, use_bias=False).ratio("params")
    assert sp.simplify(ratio - (1 / N + 1 / K**2)) == 0


@pytest.mark.parametrize(
    "kwargs",
    [dict(padding="SAME"), dict(strides=2),
     # ceiling(H/2) * ceiling(W/2) takes SymPy's simplify about 40 s to cancel
     pytest.param(dict(strides=2, padding="SAME"), marks=pytest.mark.slow)],
    ids=["same", "stride-2", "stride-2-same"],
)
def test_separable_macs_ratio(kwargs) -> None:
    r"""The output size cancels: the MAC ratio is the parameter ratio."""
    ratio = SeparableConv2D(M, N, K, use_bias=False, **kwargs).ratio("macs", (H, W))
    assert sp.simplify(ratio - (1 / N + 1 / K**2)) == 0


# --- exact and dense MACs of a 'SAME' convolution ---------------------------------------------


def test_same_conv_exact_macs_odd_kernel() -> None:
    r"""$K = 2p + 1$, 'SAME', stride 1: each axis loses $p(p+1)/2$ taps per side, so
    exact MACs $= (K H - p(p+1))(K W - p(p+1)) M N$, valid when $H \ge p$ and $W \ge p$."""
    k = 2 * p + 1
    spec = Conv2D(M, N, k, padding="SAME", use_bias=False)
    expected = (k * H - p * (p + 1)) * (k * W - p * (p + 1)) * M * N
    assert sp.simplify(spec.macs((H, W), "exact") - expected) == 0
    shape = spec.output_shape((H, W))
    assert tuple(shape) == (H, W, N)
    recorded = {_ge_zero(c) for c in shape.conditions}
    assert recorded == {H - p, W - p}
    assert {_ge_zero(c) for c in spec.conditions((H, W))} == recorded


def test_same_conv_exact_macs_condition_is_needed() -> None:
    """Where the recorded condition H >= p holds the closed form is the count; where it fails
    (H = 1 < p = 2) it is not."""
    k = 2 * p + 1
    expected = (k * H - p * (p + 1)) * (k * W - p * (p + 1)) * M * N
    for half, h, w in itertools.product(range(4), range(1, 7), range(1, 7)):
        concrete = Conv2D(2, 3, 2 * half + 1, padding="SAME", use_bias=False)
        count = concrete.macs((h, w), "exact")
        closed = expected.subs({p: half, H: h, W: w, M: 2, N: 3})
        if h >= half and w >= half:
            assert count == closed, (half, h, w)
    assert Conv2D(1, 1, 5, padding="SAME").macs((1, 8), "exact") != expected.subs(
        {p: 2, H: 1, W: 8, M: 1, N: 1})


def test_same_conv_dense_macs() -> None:
    r"""Dense MACs of a stride-1 'SAME' convolution: $H W N K^2 M$."""
    spec = Conv2D(M, N, K, padding="SAME")
    assert sp.simplify(spec.macs((H, W), "dense") - H * W * N * K**2 * M) == 0
    assert tuple(spec.output_shape((H, W))) == (H, W, N)


# --- output sizes with every symbol free -------------------------------------------------------


def test_conv_output_size_explicit_padding() -> None:
    r"""$O = \lfloor (H + 2P - D(K-1) - 1)/S \rfloor + 1$, valid when the kernel fits."""
    spec = Conv2D(M, N, K, strides=S, padding=P, kernel_dilation=D)
    shape = spec.output_shape((H, W))
    for got, n in zip(shape[:2], (H, W)):
        assert sp.simplify(got - (sp.floor((n + 2 * P - D * (K - 1) - 1) / S) + 1)) == 0
    assert shape[2] == N
    recorded = {_ge_zero(c) for c in shape.conditions}
    assert recorded == {sp.expand(n + 2 * P - D * (K - 1) - 1) for n in (H, W)}


def test_grouped_conv_weights_and_divisibility_conditions() -> None:
    r"""$K^2 \frac{M}{G} N$ weights; $G \mid M$ and $G \mid N$ recorded as conditions."""
    spec = Conv2D(M, N, K, feature_group_count=G)
    assert sp.simplify(spec.weight_count() - K**2 * M * N / G) == 0
    conditions = set(spec.output_shape((H, W)).conditions)
    assert {sp.Eq(sp.Mod(M, G), 0), sp.Eq(sp.Mod(N, G), 0)} <= conditions


def test_conv_transpose_output_size() -> None:
    r"""$O = (H - 1)S - 2P + D(K-1) + 1$ (no output padding)."""
    spec = ConvTranspose2D(M, N, K, strides=S, padding=P, kernel_dilation=D)
    shape = spec.output_shape((H, W))
    for got, n in zip(shape[:2], (H, W)):
        assert sp.simplify(got - ((n - 1) * S - 2 * P + D * (K - 1) + 1)) == 0


def test_assert_identity_needs_the_case_split() -> None:
    """``simplify`` alone leaves -floor(-H/2) - ceiling(H/2); the case split proves it is 0,
    and still rejects a false identity."""
    assert sp.simplify(-sp.floor(-H / 2) - sp.ceiling(H / 2)) != 0
    assert_identity(-sp.floor(-H / 2), sp.ceiling(H / 2))
    with pytest.raises(AssertionError):
        assert_identity(sp.floor(H / 2), sp.ceiling(H / 2))


# --- symbolic shapes: algebra vs jax.eval_shape with jax.export.symbolic_shape ---------------

SYMBOLIC_SHAPE_SPECS = [
    pytest.param(Conv2D(3, 4, 3, strides=2, padding="SAME"), id="conv-same-stride2"),
    pytest.param(Conv2D(3, 4, 2, padding="SAME"), id="conv-same-even-kernel"),
    pytest.param(Conv2D(3, 4, 5), id="conv-valid-5"),
    pytest.param(Conv2D(3, 4, (3, 5), strides=(2, 3), padding=((1, 2), (0, 3)),
                        kernel_dilation=(2, 1)), id="conv-asymmetric-dilated"),
    pytest.param(Conv2D(4, 6, 3, strides=(1, 2), padding="VALID", kernel_dilation=2,
                        feature_group_count=2), id="conv-grouped-dilated-valid"),
    pytest.param(ConvTranspose2D(3, 4, 3, strides=2, padding=1, output_padding=1),
                 id="convT-3-stride2"),
    pytest.param(ConvTranspose2D(3, 4, (4, 2), strides=(3, 2), padding=(1, 0),
                                 output_padding=(2, 1), kernel_dilation=(1, 2)),
                 id="convT-asymmetric"),
    pytest.param(SeparableConv2D(3, 4, 3, strides=2, padding="SAME"), id="separable-same"),
    pytest.param(SeparableConv2D(3, 4, 5, strides=2, padding=1, depth_multiplier=2),
                 id="separable-explicit"),
    pytest.param(MaxPool2D(3, strides=2, padding="SAME"), id="maxpool-same"),
    pytest.param(AvgPool2D((2, 3), strides=(2, 1)), id="avgpool-valid"),
    pytest.param(Flatten(), id="flatten"),
]


@pytest.mark.parametrize("spec", SYMBOLIC_SHAPE_SPECS)
def test_symbolic_output_shape_matches_jax(spec) -> None:
    r"""``jax.eval_shape`` on ``(B, H, W, C)`` with symbolic H, W, B equals the algebra's shape.

    JAX guards small sizes with ``max(0, .)``; over the valid inputs $H \ge h_{min}$ it is
    inactive, so both sides are compared at $H = h_{min} - 1 + t$, $t \ge 1$.
    """
    c = _channels(spec)
    jax_shape = xla.output_shape(_abstract(spec), f"B, H, W, {c}")
    assert jax_shape[0] == sp.Symbol("B", integer=True, positive=True)
    algebra_shape = spec.output_shape((H, W, c))
    assert len(jax_shape) == len(algebra_shape) + 1
    th, tw = sp.symbols("t_h t_w", integer=True, positive=True)
    h_min, w_min = _min_size(spec, 0, c), _min_size(spec, 1, c)
    domain = {H: h_min - 1 + th, W: w_min - 1 + tw}
    for got, want in zip(jax_shape[1:], algebra_shape):
        assert_identity(sp.sympify(got).subs(domain), sp.sympify(want).subs(domain))


# --- symbolic exact MACs vs XLA's count at concrete points ------------------------------------

EXACT_MAC_SPECS = [
    pytest.param(Conv2D(2, 3, 3, strides=2, padding="SAME", use_bias=False),
                 id="conv-same-stride2"),
    pytest.param(Conv2D(2, 4, (3, 5), strides=(2, 3), padding=((1, 2), (0, 3)),
                        kernel_dilation=(2, 1), feature_group_count=2, use_bias=False),
                 id="conv-asymmetric-dilated-grouped"),
    pytest.param(Conv2D(1, 2, 5, padding="SAME", kernel_dilation=2, use_bias=False),
                 id="conv-same-dilated"),
    pytest.param(Conv2D(2, 2, 4, strides=3, padding=(2, 1), use_bias=False),
                 id="conv-even-kernel-stride3"),
    pytest.param(ConvTranspose2D(2, 3, 3, strides=2, padding=1, output_padding=1,
                                 use_bias=False), id="convT-3-stride2"),
    pytest.param(ConvTranspose2D(1, 2, 1, strides=2, padding=2, output_padding=1,
                                 use_bias=False), id="convT-padding-beyond-kernel"),
    pytest.param(SeparableConv2D(2, 3, 3, strides=2, padding="SAME", use_bias=False),
                 id="separable-same-stride2"),
]


@pytest.mark.parametrize("spec", EXACT_MAC_SPECS)
def test_symbolic_exact_macs_match_xla(spec) -> None:
    """The exact-MAC closed form in symbolic H, W, evaluated on a grid of sizes where its
    recorded conditions hold, equals XLA's FLOPs / 2 (no bias: every FLOP is half a MAC)."""
    c = spec.in_features
    macs = spec.macs((H, W, c), "exact")
    conditions = spec.conditions((H, W, c))
    assert sp.sympify(macs).free_symbols <= {H, W}
    model = _abstract(spec)
    h_min, w_min = _min_size(spec, 0, c), _min_size(spec, 1, c)
    checked = 0
    for h, w in itertools.product(range(h_min, h_min + 8), range(w_min, w_min + 10, 3)):
        env = {H: h, W: w}
        if not all(bool(sp.sympify(cond).subs(env)) for cond in conditions):
            continue  # outside the closed form's stated domain (the concrete count still holds)
        value = sp.sympify(macs).subs(env)
        assert value.is_Integer, value
        assert 2 * int(value) == xla.flops(model, (1, h, w, c)), (h, w)
        assert int(value) == spec.macs((h, w, c), "exact")
        checked += 1
    assert checked >= 12, f"only {checked} grid points satisfy {conditions}"
