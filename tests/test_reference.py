"""The exact per-equation reference (symconv.checks.reference): equal to XLA's whole-function
count on small functions, exact where XLA's float32 total is not, and equal to the tracer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.checks import xla
from symconv.checks.reference import reference
from symconv.checks.trace import trace
from symconv.models.registry import MODELS

CONV = ("NHWC", "HWIO", "NHWC")


def _conv_gelu(x):
    w = jnp.ones((3, 3, x.shape[-1], 8))
    y = jax.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=CONV)
    return jax.nn.gelu(y).mean(axis=(1, 2))


@jax.jit
def _inner(x):
    return jnp.tanh(x) * 2.0


def _nested(x):  # jit inside custom_jvp (relu) inside the function, called twice
    return jax.nn.relu(_inner(x)) + _inner(x + 1.0).sum()


def _dead(x):
    _ = jnp.exp(x) * 3.0  # dropped by jit before lowering: XLA never counts it
    return x + 1.0


@jax.custom_vjp
def _clip(x):
    return jnp.clip(x, -1.0, 1.0) * 2.0


_clip.defvjp(lambda x: (_clip(x), None), lambda _, g: (g,))

SMALL = {
    "conv_gelu": (_conv_gelu, (2, 9, 11, 3)),
    "nested_calls": (_nested, (4, 8)),
    "dead_code": (_dead, (4, 8)),
    "fori_loop": (lambda x: jax.lax.fori_loop(0, 5, lambda i, c: jnp.sin(c) * 2.0 + 1.0, x),
                  (3, 7)),
    "while_loop": (lambda x: jax.lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] * 2),
                                                (0, x))[1], (5, 5)),
    "cond": (lambda x: jax.lax.cond(x.sum() > 0, jnp.exp, lambda y: y * 2.0 + 1.0, x), (6, 3)),
    "remat": (jax.checkpoint(lambda x: jnp.tanh(x @ x.T).sum(axis=0)), (6, 4)),
    "custom_vjp": (lambda x: _clip(x).sum(), (3, 5)),
    "softmax": (lambda x: jax.nn.softmax(x, axis=-1), (4, 10)),
    # work on constants: folded by XLA in the function that makes them, not across a call
    "constants": (lambda x: x + (jnp.full(x.shape, 6.0) - 1.0) * 2.0
                  + _inner(jnp.full(x.shape, 1.0)) + jax.nn.relu(jnp.full(x.shape, -1.0)), (3, 4)),
    "big_constant": (lambda x: x + (jnp.ones((300, 400)) * 2.0).sum(), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_functions_equal_xla_exactly(name):
    f, shape = SMALL[name]
    ref, measured = reference(f, shape), xla.cost(f, shape)
    assert ref.exact and ref.total("flops") < xla.FLOAT32_EXACT
    assert ref.total("flops") == measured["flops"]
    assert ref.total("transcendentals") == measured["transcendentals"]


@settings(max_examples=8)
@given(st.integers(1, 3), st.integers(3, 20), st.integers(3, 20), st.integers(1, 4),
       st.sampled_from([1, 2]), st.sampled_from(["SAME", "VALID"]))
def test_random_conv_blocks_equal_xla_exactly(b, h, w, c, stride, padding):
    def block(x):
        k = jnp.ones((3, 3, c, 5))
        y = jax.lax.conv_general_dilated(x, k, (stride, stride), padding, dimension_numbers=CONV)
        return jax.nn.softmax(jax.nn.relu(y).mean(axis=(1, 2)) @ jnp.ones((5, 7)))

    ref, measured = reference(block, (b, h, w, c)), xla.cost(block, (b, h, w, c))
    assert (ref.total("flops"), ref.total("transcendentals")) == \
        (measured["flops"], measured["transcendentals"])


def test_repeated_equations_are_lowered_once():
    ref = reference(_nested, (4, 8))
    tanh = [u for u in ref.units if u.primitive == "tanh"]
    assert len(tanh) == 1 and tanh[0].occurrences == 2
    assert sum(u.occurrences for u in ref.units) == ref.equations


def test_constants_are_folded_within_a_function_only():
    ref = reference(SMALL["constants"][0], (3, 4))
    assert "(constants)" in {u.primitive for u in ref.units}
    assert ref.total("transcendentals") == 12  # tanh in _inner: its argument is a parameter


def test_dead_code_is_not_counted():
    assert reference(_dead, (4, 8)).total("transcendentals") == 0


def test_model_above_float32_range_is_exact():
    """MobileNet at batch 2, 224 px: 2.3 GFLOPs, 14 convolutions each above 2^24. The exact sum
    equals the tracer's closed form; XLA's float32 total is within its rounding of it, and the
    same terms accumulated in float32 in equation order give XLA's figure bit for bit."""
    entry = MODELS["mobilenet_v1"]
    model = xla.abstract(lambda: entry.build(entry.default_hw))
    shape = (2, 224, 224, 3)
    ref, measured = reference(model, shape), xla.cost(model, shape)
    exact = ref.total("flops")
    assert exact > xla.FLOAT32_EXACT and ref.exact
    assert any(m.startswith("scaled") for m in ref.methods)
    rows = ref.per_equation()
    assert len(rows) == ref.equations and sum(r[2] for r in rows) == exact
    assert {r[4] for r in rows if r[2] >= xla.FLOAT32_EXACT} == {"scaled:axis=1"}
    assert exact == trace(model, "B, H, W, 3").at({"B": 2, "H": 224, "W": 224})
    assert exact != measured["flops"]  # XLA's total is rounded ...
    assert xla.flops_agree(exact, measured["flops"], measured["ops"])  # ... within tolerance
    assert ref.float32_sum("flops") == measured["flops"]  # ... and rounded the way XLA does
    assert np.float32(ref.total("transcendentals")) == np.float32(measured["transcendentals"])


@pytest.mark.parametrize("f, shape, expected", [
    (lambda x: x @ x, (4096, 4096), 2 * 4096**3),  # one operand twice: shrunk apart
    (lambda x: jax.lax.conv_general_dilated(x, jnp.ones((3, 3, 64, 32)), (2, 2), "SAME",
                                            dimension_numbers=CONV), (8, 64, 64, 64),
     2 * 8 * 32 * 64 * 95**2),  # 3x3/2 SAME pads (0, 1): 32 * 3 - 1 taps per axis
])
def test_unit_above_float32_range_is_scaled(f, shape, expected):
    ref = reference(f, shape)
    assert ref.exact and ref.total("flops") == expected
    assert [u.method for u in ref.units if u.flops >= xla.FLOAT32_EXACT] == ["scaled:axis=0"]


def test_unit_not_affine_in_any_axis_keeps_xla_figure():
    """A cumulative sum is quadratic along its axis and its other axis is too short to shrink:
    XLA's float figure is kept and the reference says it is not exact."""
    ref = reference(lambda x: jnp.cumsum(x, axis=1), (3, 8000))
    assert not ref.exact and ref.methods == {"float32": 1}


def _whole_xla(f, *args) -> int:
    return int(jax.jit(f).lower(*args).cost_analysis()["flops"])


def test_prng_key_boundaries_equal_xla():
    """XLA counts the sharding constraint on each key-typed argument read and result of a
    lowered function as -1 FLOP: units lowered alone get theirs added back, the whole
    function's own are subtracted, so the reference is XLA's figure with keys passed in, made
    from a constant seed and carried through a ``while`` (lm1b's sampler, 3 below before), or
    returned."""
    from jax.extend import core as jax_core

    from symconv.checks.reference import reference_jaxpr

    x = jax.ShapeDtypeStruct((3, 5), jnp.float32)
    key = jax.eval_shape(lambda: jax.random.key(0))

    def key_in(x, k):
        return x * 2 + jax.random.uniform(k, x.shape)

    def seeded_loop(x):
        def body(c):
            i, k, acc = c
            k, sub = jax.random.split(k)
            return i + 1, k, acc + jax.random.normal(sub, acc.shape)

        return jax.lax.while_loop(lambda c: c[0] < 4, body, (0, jax.random.key(1), x))[2]

    def key_out(x, k):
        return x + 1, jax.random.fold_in(k, 3)

    for f, args in ((key_in, (x, key)), (seeded_loop, (x,)), (key_out, (x, key))):
        closed = jax.make_jaxpr(f)(*args)
        ref = reference_jaxpr(closed)
        assert isinstance(closed, jax_core.ClosedJaxpr) and ref.key_boundary == (
            0 if f is seeded_loop else 1 + (f is key_out))
        assert ref.total() == _whole_xla(f, *args), f.__name__


def test_identity_with_a_constant_made_in_the_function_is_folded():
    """``0 + 0.9 t`` with the zeros a broadcast literal: XLA folds the add in the whole
    function, so the reference lowers the add after the equations that make its constant operand
    (the Flax PPO network's dead critic head made the reference 513 FLOPs too high with SGD)."""
    t = jax.ShapeDtypeStruct((512, 1), jnp.float32)

    def momentum(t):
        zeros = jax.lax.broadcast_in_dim(jnp.float32(0.0), (512, 1), ())
        return t + -0.001 * (zeros + 0.9 * t)

    def scaled(t):  # a constant that is not an identity is still counted
        twos = jax.lax.broadcast_in_dim(jnp.float32(2.0), (512, 1), ())
        return twos * t + jnp.exp(twos)

    for f in (momentum, scaled):
        assert reference(f, (512, 1)).total() == _whole_xla(f, t), f.__name__
