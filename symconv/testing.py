"""Hypothesis strategies and assertions for your own test suite.

>>> from hypothesis import given
>>> from symconv.testing import conv2d_configs, assert_matches_xla
>>> @given(conv2d_configs())
... def test_my_counter(case):
...     assert_matches_xla(case.spec, case.input_shape)

Strategies follow Hypothesis's house style: plural names, keyword-only bounds, every draw valid
by construction (kernel, stride, dilation and padding are drawn first, then an input size that
fits), and shrinking toward the simplest case: kernel 1, stride 1, dilation 1, no padding,
one group, batch 1, the smallest input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from symconv.algebra import Conv2D, ConvTranspose2D, SeparableConv2D
from symconv.algebra.layer import Layer
from symconv.checks.triangle import check_layer
from symconv.errors import (
    GroupsDoNotDivideChannelsError,
    InvalidPaddingError,
    KernelLargerThanInputError,
    NonIntegerError,
    NonPositiveSizeError,
    OutputPaddingTooLargeError,
    SymconvError,
)

__all__ = [
    "InvalidCase",
    "LayerCase",
    "assert_matches_xla",
    "conv2d_configs",
    "conv_transpose2d_configs",
    "invalid_conv2d_configs",
    "separable_configs",
]


@dataclass(frozen=True, slots=True)
class LayerCase:
    """A valid layer spec and a batch-first NHWC input shape it accepts."""

    spec: Layer
    input_shape: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class InvalidCase:
    """Arguments that break exactly one rule; ``build()`` must raise ``error``.

    ``condition`` is a phrase the error message must contain.
    """

    layer: type
    kwargs: dict = field(hash=False)
    input_hw: tuple[int, int]
    error: type[SymconvError]
    condition: str

    def build(self) -> Any:
        return self.layer(**self.kwargs).output_shape(self.input_hw)


def _check_bounds(**bounds: int) -> None:
    for name, value in bounds.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SymconvError(f"{name}={value!r} must be a positive int")


def _padding(max_padding: int) -> st.SearchStrategy:
    side = st.integers(0, max_padding)
    return st.one_of(
        st.integers(0, max_padding),
        st.sampled_from(["VALID", "SAME"]),
        st.tuples(side, side),
        st.tuples(st.tuples(side, side), st.tuples(side, side)),
    )


def _per_side(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if isinstance(padding[0], int):
        return ((padding[0], padding[0]), (padding[1], padding[1]))
    return padding


@st.composite
def conv2d_configs(
    draw: Callable,
    *,
    max_kernel: int = 5,
    max_stride: int = 3,
    max_dilation: int = 3,
    max_padding: int = 3,
    max_groups: int = 3,
    max_channels_per_group: int = 3,
    max_extra_size: int = 12,
    max_batch: int = 2,
) -> LayerCase:
    """Valid ``Conv2D`` specs (grouped, strided, dilated, any padding spelling) with inputs.

    The input is at least as large as the padded kernel extent and at most ``max_extra_size``
    pixels larger, per axis.
    """
    _check_bounds(max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation,
                  max_groups=max_groups, max_channels_per_group=max_channels_per_group,
                  max_extra_size=max_extra_size, max_batch=max_batch)
    k = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    s = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    d = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
    padding = draw(_padding(max_padding))
    g = draw(st.integers(1, max_groups))
    m = g * draw(st.integers(1, max_channels_per_group))
    n = g * draw(st.integers(1, max_channels_per_group))
    hw = []
    for axis in range(2):
        extent = d[axis] * (k[axis] - 1) + 1
        if padding == "SAME":
            low = 1
        else:
            lo, hi = (0, 0) if padding == "VALID" else _per_side(padding)[axis]
            low = max(1, extent - lo - hi)
        hw.append(draw(st.integers(low, low + max_extra_size)))
    use_bias = draw(st.booleans())
    batch = draw(st.integers(1, max_batch))
    spec = Conv2D(m, n, k, s, padding, d, g, use_bias)
    return LayerCase(spec, (batch, hw[0], hw[1], m))


@st.composite
def conv_transpose2d_configs(
    draw: Callable,
    *,
    max_kernel: int = 5,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_padding: int = 3,
    max_channels: int = 4,
    max_size: int = 8,
    max_batch: int = 2,
) -> LayerCase:
    """Valid ``ConvTranspose2D`` specs (PyTorch semantics) with inputs.

    ``output_padding < max(stride, dilation)`` and a positive output are ensured by construction.
    """
    _check_bounds(max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation,
                  max_channels=max_channels, max_size=max_size, max_batch=max_batch)
    k, s, d, p, op, hw = [], [], [], [], [], []
    for _ in range(2):
        k.append(draw(st.integers(1, max_kernel)))
        s.append(draw(st.integers(1, max_stride)))
        d.append(draw(st.integers(1, max_dilation)))
        op.append(draw(st.integers(0, max(s[-1], d[-1]) - 1)))
        p.append(draw(st.integers(0, max_padding)))
        # output (n-1)s - 2p + d(k-1) + op + 1 >= 1  <=>  (n-1)s >= 2p - d(k-1) - op
        need = 2 * p[-1] - d[-1] * (k[-1] - 1) - op[-1]
        low = 1 + max(0, -(-need // s[-1]))
        hw.append(draw(st.integers(low, low + max_size)))
    m = draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_channels))
    spec = ConvTranspose2D(m, n, tuple(k), tuple(s), tuple(p), tuple(op), tuple(d),
                           draw(st.booleans()))
    return LayerCase(spec, (draw(st.integers(1, max_batch)), hw[0], hw[1], m))


@st.composite
def separable_configs(
    draw: Callable,
    *,
    max_kernel: int = 5,
    max_stride: int = 2,
    max_channels: int = 6,
    max_depth_multiplier: int = 2,
    max_extra_size: int = 10,
    max_batch: int = 2,
) -> LayerCase:
    """Valid ``SeparableConv2D`` specs (depthwise then pointwise) with inputs."""
    _check_bounds(max_kernel=max_kernel, max_stride=max_stride, max_channels=max_channels,
                  max_depth_multiplier=max_depth_multiplier, max_extra_size=max_extra_size,
                  max_batch=max_batch)
    k = draw(st.integers(1, max_kernel))
    s = draw(st.integers(1, max_stride))
    padding = draw(st.one_of(st.integers(0, k // 2 + 1), st.sampled_from(["SAME", "VALID"])))
    m = draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_channels))
    mult = draw(st.integers(1, max_depth_multiplier))
    pad = 0 if padding in ("SAME", "VALID") else padding
    low = 1 if padding == "SAME" else max(1, k - 2 * pad)
    h = draw(st.integers(low, low + max_extra_size))
    w = draw(st.integers(low, low + max_extra_size))
    spec = SeparableConv2D(m, n, k, s, padding, 1, mult, draw(st.booleans()))
    return LayerCase(spec, (draw(st.integers(1, max_batch)), h, w, m))


@st.composite
def invalid_conv2d_configs(draw: Callable) -> InvalidCase:
    """Conv2D / ConvTranspose2D arguments that break exactly one rule, with the error expected.

    Rules: kernel larger than the padded input, a zero or negative size, channels not divisible
    by groups, a non-integer size, negative padding, ``output_padding >= max(stride, dilation)``.
    """
    kind = draw(st.sampled_from([
        "kernel_too_large", "non_positive", "groups", "non_integer", "negative_padding",
        "output_padding",
    ]))
    k = draw(st.integers(2, 7))
    base = dict(in_features=2, out_features=2, kernel_size=k)
    if kind == "kernel_too_large":
        p = draw(st.integers(0, 2))
        d = draw(st.integers(1, 2))
        h = draw(st.integers(1, max(1, d * (k - 1) + 1 - 2 * p - 1)))
        if h + 2 * p >= d * (k - 1) + 1:  # pragma: no cover - excluded by the bound above
            h = 1
            p = 0
        return InvalidCase(Conv2D, {**base, "padding": p, "kernel_dilation": d}, (h, 64),
                           KernelLargerThanInputError, "exceeds the padded input")
    if kind == "non_positive":
        field_ = draw(st.sampled_from(["in_features", "out_features", "kernel_size", "strides",
                                       "kernel_dilation", "feature_group_count"]))
        bad = draw(st.integers(-3, 0))
        return InvalidCase(Conv2D, {**base, field_: bad}, (16, 16), NonPositiveSizeError,
                           "must be >= 1")
    if kind == "groups":
        g = draw(st.integers(2, 4))
        m = g * draw(st.integers(1, 3)) + draw(st.integers(1, g - 1))
        return InvalidCase(Conv2D, {**base, "in_features": m, "feature_group_count": g},
                           (16, 16), GroupsDoNotDivideChannelsError, "is not divisible by")
    if kind == "non_integer":
        field_ = draw(st.sampled_from(["in_features", "kernel_size", "strides"]))
        bad = draw(st.sampled_from([2.0, 1.5, "3", True]))
        return InvalidCase(Conv2D, {**base, field_: bad}, (16, 16), NonIntegerError,
                           "must be an integer")
    if kind == "negative_padding":
        return InvalidCase(Conv2D, {**base, "padding": draw(st.integers(-3, -1))}, (16, 16),
                           InvalidPaddingError, "padding")
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    op = draw(st.integers(max(s, d), max(s, d) + 2))
    return InvalidCase(ConvTranspose2D, {**base, "strides": s, "kernel_dilation": d,
                                         "output_padding": op}, (4, 4),
                       OutputPaddingTooLargeError, "must be smaller than max(stride, dilation)")


def assert_matches_xla(spec: Layer, input_shape: tuple[int, ...]) -> None:
    """Assert algebra == Flax NNX (``eval_shape``, ``nnx.state``) == lowered HLO FLOPs.

    ``input_shape`` is batch-first, e.g. ``(1, H, W, C)``. On disagreement the
    ``AssertionError`` shows each side's output shape, parameters and FLOPs.
    """
    result = check_layer(spec, input_shape)
    if not result.agrees:
        raise AssertionError(result.explain())
