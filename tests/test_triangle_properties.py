"""The verification triangle as hypothesis properties, one layer type at a time.

Each property compares independent sides at a drawn configuration:

- algebra ``spec.output_shape`` == ``jax.eval_shape`` of the Flax NNX layer;
- algebra ``spec.param_count()`` == the size of ``nnx.state(model, nnx.Param)``;
- algebra ``spec.batch_flops(..., batch, "exact")`` (2 x MACs + bias adds, times the batch
  except where XLA prices per call) == the FLOPs of the lowered HLO's ``cost_analysis()``, to
  the FLOP (the sizes drawn stay far below 2**24, where XLA's float32 totals are exact).

The model and compiler sides are computed here with JAX directly (``jax.eval_shape``,
``jax.jit(...).lower(...).cost_analysis()``, ``nnx.state``; nothing is compiled), using
``symconv.checks.xla`` only for ``abstract`` (``nnx.eval_shape``): they do not rely on the helpers
they check. One property at the end checks the public ``assert_matches_xla`` on the same strategies.

Tiers: each property lowers a layer per example, so the default tier draws ``FEW`` examples of
each and a ``slow`` companion (``*_sweep``, other derandomized draws) draws ``MANY``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra import AvgPool2D, Conv2D, Dense, MaxPool2D
from symconv.checks import xla
from symconv.models import flax_layer
from symconv.testing import (
    LayerCase,
    assert_matches_xla,
    conv2d_configs,
    conv_transpose2d_configs,
    separable_configs,
)

FEW, MANY = 25, 200  #: examples per property: default tier, slow sweep


# --- the model and compiler sides, with JAX directly ------------------------------------------


def model_side(spec, input_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    """(output shape, parameter count, lowered-HLO FLOPs) of ``flax_layer(spec)``."""
    model = xla.abstract(lambda: flax_layer(spec, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)

    def f(state, x):
        return nnx.merge(graphdef, state)(x)

    x = jax.ShapeDtypeStruct(tuple(input_shape), jnp.float32)
    shape = tuple(jax.eval_shape(f, state, x).shape)
    analysis = jax.jit(f).lower(state, x).cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0]
    flops = analysis.get("flops", 0.0)
    assert float(flops).is_integer(), f"XLA reported a fractional FLOP count {flops}"
    params = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param)))
    return shape, params, int(flops)


def assert_triangle(spec, input_shape: tuple[int, ...]) -> None:
    """Algebra vs Flax model vs lowered HLO for one batch-first input."""
    batch, per_example = input_shape[0], tuple(input_shape[1:])
    shape, params, flops = model_side(spec, input_shape)
    algebra_shape = (batch, *spec.output_shape(per_example))
    algebra_flops = spec.batch_flops(per_example, batch, "exact")
    if batch == 1:
        assert algebra_flops == spec.flops(per_example, "exact")
    report = (
        f"{spec!r} on {input_shape}: shape algebra={algebra_shape} eval_shape={shape}; "
        f"params algebra={spec.param_count()} nnx.state={params}; "
        f"FLOPs algebra={algebra_flops} lowered HLO={flops}"
    )
    assert algebra_shape == shape, report
    assert isinstance(spec.param_count(), int) and spec.param_count() == params, report
    assert isinstance(algebra_flops, int) and algebra_flops == flops, report


# --- strategies not provided by symconv.testing ----------------------------------------------


@st.composite
def dense_configs(draw, *, max_features: int = 64, max_batch: int = 3) -> LayerCase:
    """``Dense(F, U)`` on a ``(batch, F)`` input; shrinks toward F = U = 1, no bias."""
    f = draw(st.integers(1, max_features))
    u = draw(st.integers(1, max_features))
    spec = Dense(f, u, use_bias=draw(st.booleans()))
    return LayerCase(spec, (draw(st.integers(1, max_batch)), f))


@st.composite
def pool_configs(draw, *, max_window: int = 4, max_stride: int = 3, max_extra: int = 10,
                 max_channels: int = 4, max_batch: int = 2) -> LayerCase:
    """Max or average pooling, 'SAME' or 'VALID', window and stride per axis (stride may be
    omitted: it then defaults to the window)."""
    cls = draw(st.sampled_from([MaxPool2D, AvgPool2D]))
    window = (draw(st.integers(1, max_window)), draw(st.integers(1, max_window)))
    strides = draw(st.none() | st.tuples(st.integers(1, max_stride), st.integers(1, max_stride)))
    padding = draw(st.sampled_from(["VALID", "SAME"]))
    hw = [draw(st.integers(1 if padding == "SAME" else k, k + max_extra)) for k in window]
    c = draw(st.integers(1, max_channels))
    spec = cls(window, strides, padding)
    return LayerCase(spec, (draw(st.integers(1, max_batch)), hw[0], hw[1], c))


# --- the triangle, per layer type ------------------------------------------------------------


@settings(max_examples=FEW)
@given(conv2d_configs())
def test_conv2d_triangle(case: LayerCase) -> None:
    """Grouped, strided, dilated Conv2D with every padding spelling (incl. asymmetric)."""
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.slow
@settings(max_examples=MANY)
@given(conv2d_configs())
def test_conv2d_triangle_sweep(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@settings(max_examples=FEW)
@given(conv_transpose2d_configs())
def test_conv_transpose2d_triangle(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.slow
@settings(max_examples=MANY)
@given(conv_transpose2d_configs())
def test_conv_transpose2d_triangle_sweep(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@settings(max_examples=FEW)
@given(separable_configs())
def test_separable_conv2d_triangle(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.slow
@settings(max_examples=MANY)
@given(separable_configs())
def test_separable_conv2d_triangle_sweep(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@settings(max_examples=FEW)
@given(dense_configs())
def test_dense_triangle(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.slow
@settings(max_examples=MANY)
@given(dense_configs())
def test_dense_triangle_sweep(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


def xla_reduce_broadcast_rewrite(spec, h: int, w: int) -> bool:
    """Whether XLA's cost analysis prices this pooling as "a reduce followed by a broadcast".

    ``HloCostAnalysis::HandleReduceWindow`` (xla/service/hlo_cost_analysis.cc) replaces
    ``(window - 1) * outputs`` by ``outputs / n + (n - 1)`` when exactly one window dimension is
    larger than 1, exactly one dimension is padded, and along it ``window == 2 * pad + 1``,
    ``pad_low == pad_high == n - 1`` with ``n`` the output length. For 'SAME' pooling that is a
    ``(1, 2n - 1)`` (or ``(2n - 1, 1)``) window on an ``n``-long axis. Written here from the XLA
    source, independently of ``symconv.algebra.pooling``.
    """
    if spec.padding != "SAME":
        return False
    wide = [(n, k, s) for n, k, s in zip((h, w), spec.window_shape, spec.strides) if k != 1]
    if len(wide) != 1:
        return False
    n, k, s = wide[0]
    out = -(-n // s)
    total = max(0, (out - 1) * s + k - n)
    lo, hi = total // 2, total - total // 2
    return lo == hi >= 1 and k == 2 * lo + 1 and lo == out - 1


@settings(max_examples=FEW)
@given(pool_configs())
def test_pool_triangle(case: LayerCase) -> None:
    """Max/avg pooling, 'SAME'/'VALID' (XLA's reduce-broadcast corner included)."""
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.slow
@settings(max_examples=MANY)
@given(pool_configs())
def test_pool_triangle_sweep(case: LayerCase) -> None:
    assert_triangle(case.spec, case.input_shape)


@pytest.mark.parametrize(
    "pool, window, input_shape",
    [(MaxPool2D, (1, 3), (1, 1, 2, 1)), (AvgPool2D, (3, 1), (1, 2, 5, 2)),
     (MaxPool2D, (1, 5), (3, 4, 3, 2)), (AvgPool2D, (1, 3), (2, 3, 2, 3))],
    ids=["max-1x3-on-1x2", "avg-3x1-on-2x5", "max-1x5-on-4x3-batch3", "avg-1x3-on-3x2-batch2"],
)
def test_pool_flops_in_xla_reduce_broadcast_corner(pool, window, input_shape) -> None:
    """Regression: in XLA's reduce-broadcast corner (``xla_reduce_broadcast_rewrite``) the
    lowered HLO does not charge $O_h O_w C (k_h k_w - 1)$; e.g. ``MaxPool2D((1, 3), 1, 'SAME')``
    on (1, 1, 2, 1) costs 2 FLOPs, not 4. The count is not linear in the batch there, so the
    batched cases check ``batch_flops`` against XLA too."""
    spec = pool(window, 1, "SAME")
    assert xla_reduce_broadcast_rewrite(spec, input_shape[1], input_shape[2])
    assert_triangle(spec, input_shape)


@settings(deadline=None, max_examples=50)
@given(st.one_of(conv2d_configs(), conv_transpose2d_configs(), separable_configs()))
def test_assert_matches_xla_accepts_valid_configs(case: LayerCase) -> None:
    """The public helper agrees with the independent check above (fewer examples: same work)."""
    assert_matches_xla(case.spec, case.input_shape)


def test_assert_matches_xla_reports_a_mismatch() -> None:
    """A spec whose FLOPs are off must make the helper fail, showing each side."""

    class Overcounted(Conv2D):
        __slots__ = ()

        def batch_flops(self, in_shape, batch=1, convention="dense"):
            return Conv2D.batch_flops(self, in_shape, batch, convention) + 1

    spec = Overcounted(1, 1, 3)
    with pytest.raises(AssertionError, match="MISMATCH"):
        assert_matches_xla(spec, (1, 5, 5, 1))


# --- dense (textbook) MACs, written independently, and exact <= dense -------------------------


def _textbook_out(n: int, k: int, s: int, d: int, padding, axis: int) -> int:
    """Output length from the definition, for the padding spellings the strategy draws."""
    if padding == "SAME":
        return -(-n // s)
    if padding == "VALID":
        lo = hi = 0
    elif isinstance(padding, int):
        lo = hi = padding
    elif isinstance(padding[axis], int):
        lo = hi = padding[axis]
    else:
        lo, hi = padding[axis]
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def _no_padding(padding) -> bool:
    if padding == "VALID":
        return True
    if padding == "SAME":
        return False
    flat = [padding] if isinstance(padding, int) else [
        v for e in padding for v in (e if isinstance(e, tuple) else (e,))]
    return all(v == 0 for v in flat)


@settings(deadline=None)
@given(conv2d_configs())
def test_conv2d_dense_macs_textbook_and_exact_bound(case: LayerCase) -> None:
    r"""Dense MACs $= O_h O_w K_h K_w (M/G) N$; exact $\le$ dense, equal without padding."""
    spec = case.spec
    _, h, w, m = case.input_shape
    padding = spec.padding  # 'SAME', 'VALID' or ((top, bottom), (left, right))
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.strides, spec.kernel_dilation
    g, n = spec.feature_group_count, spec.out_features
    oh = _textbook_out(h, kh, sh, dh, padding, 0)
    ow = _textbook_out(w, kw, sw, dw, padding, 1)
    textbook = oh * ow * kh * kw * (m // g) * n
    dense = spec.macs((h, w), "dense")
    exact = spec.macs((h, w), "exact")
    assert dense == textbook
    assert 0 <= exact <= dense
    if _no_padding(padding):
        assert exact == dense
    # The convention only changes MACs, never the bias adds.
    bias = oh * ow * n if spec.use_bias else 0
    assert spec.flops((h, w), "dense") == 2 * dense + bias
    assert spec.flops((h, w), "exact") == 2 * exact + bias


@settings(deadline=None)
@given(conv_transpose2d_configs())
def test_conv_transpose2d_dense_macs_textbook_and_exact_bound(case: LayerCase) -> None:
    r"""Scatter view: dense $= n_h n_w K_h K_w M N$; exact $\le$ dense, equal when
    $P = P_o = 0$ (every scattered tap lands inside the output)."""
    spec = case.spec
    _, h, w, m = case.input_shape
    (kh, kw), n = spec.kernel_size, spec.out_features
    dense = spec.macs((h, w), "dense")
    exact = spec.macs((h, w), "exact")
    assert dense == h * w * kh * kw * m * n
    assert 0 <= exact <= dense
    if spec.padding == (0, 0) and spec.output_padding == (0, 0):
        assert exact == dense
