r"""Transposed convolution values: the Flax layer against a NumPy scatter-add written from the
definition (PyTorch's ``ConvTranspose2d`` semantics).

Definition, per spatial axis, input length $n$, kernel $K$, stride $S$, padding $P$, dilation
$D$, output padding $P_o$: every input pixel $i$ scatters a scaled copy of the kernel,

.. math::  y[o] \mathrel{+}= x[i] \cdot w[k] \quad\text{at}\quad o = iS + kD - P,
           \qquad 0 \le o < O = (n - 1)S - 2P + D(K - 1) + P_o + 1,

with NHWC activations and the kernel stored as ``(K_h, K_w, in, out)`` (PyTorch's
``(in, out, K_h, K_w)`` with the spatial axes first).

Kernel layout of ``flax_layer(ConvTranspose2D(M, N, K, ...))`` (``nnx.ConvTranspose`` with
``transpose_kernel=True``): ``layer.kernel`` has shape ``(K_h, K_w, N, M)``, i.e.
``(K_h, K_w, out, in)``. The mapping, by reasoning through ``lax.conv_transpose`` (one axis):
with ``transpose_kernel=True`` it flips the kernel's spatial axis and swaps its two channel
axes, giving the HWIO kernel ``w'[k, c_in, c_out] = kernel[K-1-k, c_out, c_in]``, then runs a
direct convolution over the input dilated by $S$ (input $j$ sits at $jS$) and padded by
``lax_padding()`` $= (D(K-1) - P,\ D(K-1) - P + P_o)$. Output $o$ reads dilated position
$o + kD - (D(K-1) - P)$, which holds input $j$ when $o = jS + (K-1-k)D - P$. With
$k' = K - 1 - k$ that is $x[j, c_{in}] \cdot kernel[k', c_{out}, c_{in}]$ added at
$o = jS + k'D - P$: the scatter-add definition with

    w_np[kh, kw, c_in, c_out] = kernel[kh, kw, c_out, c_in]
    (w_np = kernel.transpose(0, 1, 3, 2); kernel = w_np.transpose(0, 1, 3, 2))

with no spatial flip. Equivalently, ``kernel`` is the HWIO kernel of the direct convolution
(``N`` -> ``M`` channels, stride $S$, padding $P$, dilation $D$) whose adjoint the layer is,
which ``test_adjoint_of_direct_convolution`` checks.

These tests compile and run (they need values), so they use small sizes and a fixed number of
examples per property, whatever the hypothesis profile: ``VALUE_EXAMPLES`` = 15 in the default
tier, ``SWEEP_EXAMPLES`` = 100 (other derandomized draws) in the ``slow`` companions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from symconv.algebra import ConvTranspose2D
from symconv.models import flax_layer
from symconv.testing import LayerCase, conv_transpose2d_configs

VALUE_EXAMPLES = 15  # each example compiles an XLA program: keep the count (and sizes) small
SWEEP_EXAMPLES = 100


# --- NumPy references, from the definitions --------------------------------------------------


def conv_transpose_scatter(x, w, strides, padding, output_padding, dilation):
    """PyTorch-semantics transposed convolution by scatter-add.

    ``x``: ``(B, H, W, in)``; ``w``: ``(K_h, K_w, in, out)``; the rest are ``(h, w)`` pairs.
    """
    b, h, wd, _ = x.shape
    kh, kw, _, n_out = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = strides, padding, output_padding, dilation
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((b, out_h, out_w, n_out), dtype=np.float64)
    for ih in range(h):
        for iw in range(wd):
            for th in range(kh):
                for tw in range(kw):
                    oh = ih * sh + th * dh - ph
                    ow = iw * sw + tw * dw - pw
                    if 0 <= oh < out_h and 0 <= ow < out_w:
                        y[:, oh, ow, :] += x[:, ih, iw, :] @ w[th, tw]
    return y


def conv_direct(x, w, strides, padding, dilation):
    """Direct (cross-correlation) convolution, symmetric zero padding: NHWC input, HWIO kernel.

    ``y[j] = sum_k x[j S + k D - P] w[k]`` over the taps that land on real input.
    """
    b, h, wd, _ = x.shape
    kh, kw, _, n_out = w.shape
    (sh, sw), (ph, pw), (dh, dw) = strides, padding, dilation
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((b, out_h, out_w, n_out), dtype=np.float64)
    for jh in range(out_h):
        for jw in range(out_w):
            for th in range(kh):
                for tw in range(kw):
                    ih = jh * sh + th * dh - ph
                    iw = jw * sw + tw * dw - pw
                    if 0 <= ih < h and 0 <= iw < wd:
                        y[:, jh, jw, :] += x[:, ih, iw, :] @ w[th, tw]
    return y


# --- the Flax layer ---------------------------------------------------------------------------


def build(spec: ConvTranspose2D) -> nnx.Module:
    layer = flax_layer(spec, rngs=nnx.Rngs(0))
    kh, kw = spec.kernel_size
    assert layer.kernel.shape == (kh, kw, spec.out_features, spec.in_features)
    return layer


def run(layer: nnx.Module, x: np.ndarray) -> np.ndarray:
    graphdef, state = nnx.split(layer)
    y = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))(state, jnp.asarray(x, jnp.float32))
    return np.asarray(y, dtype=np.float64)


def _pairs(spec: ConvTranspose2D):
    return spec.strides, spec.padding, spec.output_padding, spec.kernel_dilation


def kernel_fits_input(case: LayerCase) -> bool:
    """``n >= K`` on both axes (see ``XLA_CPU_CRASH``)."""
    return all(n >= k for n, k in zip(case.input_shape[1:3], case.spec.kernel_size))


# XLA_CPU_CRASH. jaxlib 0.10.2 on CPU aborts the whole process (no exception to catch) while
# compiling some convolutions whose kernel is longer than the input along an axis, such as the
# lhs-dilated convolutions of a transposed convolution: AlgebraicSimplifier's "Window dimensions
# do not match RHS shape" check, apparently in its conv-operand swap (taken only when the kernel
# is larger than the input). Minimal: jit of ``lax.conv_general_dilated`` with x (1, 3, 2, 1),
# w (2, 3, 1, 1), window strides (1, 1), padding ((0, 0), (2, 2)), lhs_dilation (2, 1), NHWC/HWIO.
# Through symconv: ``flax_layer(ConvTranspose2D(1, 1, (2, 4), strides=(2, 1), padding=(1, 0)))``
# on (1, 3, 3, 1). Lowering is unaffected, so the triangle tests keep these configurations; the
# value tests here compile only n >= K (no crash in ~800 random such configurations, against
# about one in 70 otherwise).

small_transposed = conv_transpose2d_configs(
    max_kernel=4, max_stride=3, max_dilation=2, max_padding=2, max_channels=3, max_size=5,
).filter(kernel_fits_input)


@settings(deadline=None, max_examples=VALUE_EXAMPLES)
@given(small_transposed, st.integers(0, 2**32 - 1))
# P > D(K-1): lax_padding() is negative (the direct convolution crops its dilated input).
@example(LayerCase(ConvTranspose2D(2, 3, 1, strides=2, padding=1, output_padding=1),
                   (1, 3, 4, 2)), 1)
# output_padding >= stride is allowed when dilation is larger: P_o < max(S, D).
@example(LayerCase(ConvTranspose2D(1, 2, (3, 2), strides=1, padding=(1, 0), output_padding=(1, 0),
                                   kernel_dilation=(2, 1)), (2, 4, 3, 1)), 2)
def test_flax_layer_matches_numpy_scatter(case: LayerCase, seed: int) -> None:
    check_flax_layer_matches_numpy_scatter(case, seed)


@pytest.mark.slow
@settings(deadline=None, max_examples=SWEEP_EXAMPLES)
@given(small_transposed, st.integers(0, 2**32 - 1))
def test_flax_layer_matches_numpy_scatter_sweep(case: LayerCase, seed: int) -> None:
    check_flax_layer_matches_numpy_scatter(case, seed)


def check_flax_layer_matches_numpy_scatter(case: LayerCase, seed: int) -> None:
    spec = case.spec
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.input_shape).astype(np.float32)
    kh, kw = spec.kernel_size
    w_np = rng.standard_normal((kh, kw, spec.in_features, spec.out_features)).astype(np.float32)
    layer = build(spec)
    layer.kernel[...] = jnp.asarray(w_np.transpose(0, 1, 3, 2))  # (K_h, K_w, out, in)
    expected = conv_transpose_scatter(x, w_np, *_pairs(spec))
    if spec.use_bias:
        bias = rng.standard_normal(spec.out_features).astype(np.float32)
        layer.bias[...] = jnp.asarray(bias)
        expected = expected + bias
    got = run(layer, x)
    assert got.shape == (case.input_shape[0], *spec.output_shape(case.input_shape[1:]))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@st.composite
def adjoint_cases(draw, *, max_kernel: int = 4, max_stride: int = 3, max_dilation: int = 2,
                  max_padding: int = 2, max_channels: int = 3, max_extra: int = 5):
    """A direct convolution (input X, stride S, padding P, dilation D) and the transposed
    convolution that maps its output size n back to X: output_padding = the remainder
    (X + 2P - D(K-1) - 1) mod S, which is < S <= max(S, D). X is drawn so that n >= K."""
    k, s, d, p, xs, op = [], [], [], [], [], []
    for _ in range(2):
        k.append(draw(st.integers(1, max_kernel)))
        s.append(draw(st.integers(1, max_stride)))
        d.append(draw(st.integers(1, max_dilation)))
        p.append(draw(st.integers(0, max_padding)))
        # n = (X + 2P - D(K-1) - 1) // S + 1 >= K (see XLA_CPU_CRASH) <=> X >= (K-1)(S+D)+1-2P
        low = max(1, (k[-1] - 1) * (s[-1] + d[-1]) + 1 - 2 * p[-1])
        xs.append(draw(st.integers(low, low + max_extra)))
        op.append((xs[-1] + 2 * p[-1] - d[-1] * (k[-1] - 1) - 1) % s[-1])
    conv_in = draw(st.integers(1, max_channels))  # the transposed layer's out_features
    conv_out = draw(st.integers(1, max_channels))  # the transposed layer's in_features
    spec = ConvTranspose2D(conv_out, conv_in, tuple(k), tuple(s), tuple(p), tuple(op), tuple(d),
                           use_bias=False)
    batch = draw(st.integers(1, 2))
    return spec, (batch, xs[0], xs[1], conv_in)


@settings(deadline=None, max_examples=VALUE_EXAMPLES)
@given(adjoint_cases(), st.integers(0, 2**32 - 1))
def test_adjoint_of_direct_convolution(case, seed: int) -> None:
    check_adjoint(case, seed)


@pytest.mark.slow
@settings(deadline=None, max_examples=SWEEP_EXAMPLES)
@given(adjoint_cases(), st.integers(0, 2**32 - 1))
def test_adjoint_of_direct_convolution_sweep(case, seed: int) -> None:
    check_adjoint(case, seed)


def check_adjoint(case, seed: int) -> None:
    r"""$\langle \mathrm{conv}(x), y \rangle = \langle x, \mathrm{conv\_transpose}(y) \rangle$,
    both sharing ``layer.kernel`` (the HWIO kernel of the direct convolution)."""
    spec, x_shape = case
    rng = np.random.default_rng(seed)
    layer = build(spec)
    kernel = rng.standard_normal(layer.kernel.shape).astype(np.float32)
    layer.kernel[...] = jnp.asarray(kernel)
    x = rng.standard_normal(x_shape)
    cx = conv_direct(x, kernel.astype(np.float64), spec.strides, spec.padding,
                     spec.kernel_dilation)
    assert cx.shape[-1] == spec.in_features
    y = rng.standard_normal(cx.shape)
    ty = run(layer, y)
    assert ty.shape == x.shape  # output_padding took up the remainder
    lhs, rhs = np.sum(cx * y), np.sum(x * ty)
    scale = np.sum(np.abs(x * ty)) + 1.0
    assert abs(lhs - rhs) <= 1e-5 * scale, (lhs, rhs)


def test_assignment_q3c_example() -> None:
    """Q3(c): input [[1, 2], [3, 4]], filter [[1, 2], [3, 4]], stride 1, padding 0.

    The expected matrix is computed by the scatter-add definition, not typed in.
    """
    x = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 2, 2, 1)
    w_np = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(2, 2, 1, 1)
    expected = conv_transpose_scatter(x, w_np, (1, 1), (0, 0), (0, 0), (1, 1))
    spec = ConvTranspose2D(1, 1, 2, strides=1, padding=0, use_bias=False)
    assert spec.output_shape((2, 2, 1)) == (3, 3, 1)
    assert expected.shape == (1, 3, 3, 1)
    layer = build(spec)
    layer.kernel[...] = jnp.asarray(w_np.transpose(0, 1, 3, 2))
    np.testing.assert_allclose(run(layer, x), expected, rtol=0, atol=1e-6)
    # Every scattered tap lands in the output: dense and exact MACs agree (2*2 inputs x 2*2 taps).
    assert spec.macs((2, 2), "dense") == spec.macs((2, 2), "exact") == 16


def test_flax_default_transpose_kernel_flips_the_result() -> None:
    """Flax's default ``transpose_kernel=False`` does not compute PyTorch's result: with the same
    padding it equals the scatter-add with the spatially flipped kernel."""
    x = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 2, 2, 1)
    w_np = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(2, 2, 1, 1)
    spec = ConvTranspose2D(1, 1, 2, use_bias=False)
    default = nnx.ConvTranspose(1, 1, (2, 2), padding=spec.lax_padding(), use_bias=False,
                                rngs=nnx.Rngs(0))
    default.kernel[...] = jnp.asarray(w_np)  # (K_h, K_w, in, out) when transpose_kernel=False
    got = run(default, x)
    pytorch = conv_transpose_scatter(x, w_np, (1, 1), (0, 0), (0, 0), (1, 1))
    flipped = conv_transpose_scatter(x, w_np[::-1, ::-1], (1, 1), (0, 0), (0, 0), (1, 1))
    np.testing.assert_allclose(got, flipped, rtol=0, atol=1e-6)
    assert not np.allclose(got, pytorch)
