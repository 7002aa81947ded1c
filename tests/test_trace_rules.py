"""The tracer's rules against XLA's own count (``jax.jit(f).lower(...).cost_analysis()``, lowered
not compiled): convolutions at small sizes, primitives with a measured rule, and what XLA does not
count (dead code, free identities, folded constants). Never the tracer against itself."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace import TraceResult, trace
from symconv.errors import SymconvError

SIZES = range(1, 13)


def xla_cost(f, *args) -> tuple[int, int]:
    """(flops, transcendentals) of the lowered (not compiled) HLO of ``f`` at ``args``."""
    a = jax.jit(f).lower(*args).cost_analysis() or {}
    return int(a.get("flops", 0)), int(a.get("transcendentals", 0))


def spec(shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


# --- A: convolutions whose padding reaches past a small input -------------------------------

def test_padding_past_the_input_is_exact_for_every_length():
    """``nnx.Conv(1, 1, (7,), padding=3)`` on N = 1 reads one real tap (XLA: 2 FLOPs + bias)."""
    m = nnx.Conv(1, 1, (7,), padding=3, rngs=nnx.Rngs(0))
    result = trace(m, "B, N, 1")
    assert result.conditions == ()
    for n in SIZES:
        assert result.at({"B": 2, "N": n}) == xla.cost(m, (2, n, 1))["flops"], n


CONVS = [  # (channels, kernel, stride, dilation, padding, groups = channels?)
    (3, 7, 1, 1, "SAME", True),   # depthwise 7x7
    (2, 7, 2, 1, "SAME", True),   # strided depthwise
    (2, 7, 1, 2, "SAME", False),  # dilated
    (2, 5, 2, 2, (1, 4), False),  # strided + dilated, uneven explicit padding
    (2, 7, 3, 1, 3, True),        # stride 3, padding 3
    (2, 4, 2, 1, "SAME", False),  # even kernel
]


@pytest.mark.parametrize("c, k, s, d, pad, depthwise", CONVS)
def test_small_maps_against_xla(c, k, s, d, pad, depthwise):
    m = nnx.Conv(c, c, (k, k), strides=s, kernel_dilation=d, padding=pad,
                 feature_group_count=c if depthwise else 1, rngs=nnx.Rngs(0))
    result = trace(m, f"B, H, W, {c}")
    assert result.conditions == ()
    for h in SIZES:
        w = 13 - h  # every height once, with a width from the other end
        assert result.at({"B": 1, "H": h, "W": w}) == xla.cost(m, (1, h, w, c))["flops"], (h, w)


def test_seven_by_seven_on_one_pixel_and_eight_by_eight():
    m = nnx.Conv(4, 4, (7, 7), padding="SAME", feature_group_count=4, rngs=nnx.Rngs(0))
    result = trace(m, "B, H, W, 4")
    for h in (1, 2, 8):
        assert result.at({"B": 1, "H": h, "W": h}) == xla.cost(m, (1, h, h, 4))["flops"]
    assert result.at({"B": 1, "H": 1, "W": 1}) == 2 * 4 + 4  # the centre tap and the bias


@pytest.mark.parametrize("k, s, pad", [(3, 2, "SAME"), (7, 2, "SAME"), (5, 3, "VALID")])
def test_transposed_small_inputs(k, s, pad):
    m = nnx.ConvTranspose(2, 2, (k,), strides=s, padding=pad, rngs=nnx.Rngs(0))
    result = trace(m, "B, N, 2")
    for n in range(1, 9):
        assert result.at({"B": 1, "N": n}) == xla.cost(m, (1, n, 2))["flops"], n


def test_failed_condition_is_named_at_evaluation():
    n = sp.Symbol("N", integer=True, positive=True)
    result = TraceResult((), {}, {}, {"N": n}, (n,), (n,), (sp.Ge(n - 3, 0),))
    with pytest.raises(SymconvError, match="N - 3 >= 0"):
        result.at({"N": 1})
    assert result.at({"N": 3}) == 0
