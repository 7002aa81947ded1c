r"""Elastic deformation and the bicubic interpolant behind it (:mod:`symconv.augment`).

What the Keys cubic convolution ($a = -\tfrac12$) reproduces is tested exactly as stated in
:mod:`symconv.augment.bicubic`: every $y^p x^q$ with $p, q \le 2$ at points whose 4 × 4 taps are
inside the image (float64, to rounding), and for $x^3$ the error $t(t-1)(2t-1)$, not zero. The
coarse-to-fine matrix reproduces quadratics on the whole grid (Keys' end condition). The warp
is checked against a naive NumPy interpolator written here from the kernel, per tap and per
boundary mode, with coordinates far outside the image.

Shapes are fixed per test so that each jitted function compiles once; hypothesis varies values.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.augment import (
    MODES,
    cubic_kernel,
    cubic_resize,
    cubic_resize_matrix,
    cubic_weights,
    elastic_deform,
    elastic_deform_batch,
    elastic_field,
    interpolate,
    warp,
    warp_mask,
)
from symconv.augment.bicubic import boundary_index
from symconv.errors import ShapeMismatchError, SymconvError

JIT_EXAMPLES = 25  # hypothesis examples for properties that run jitted JAX code
H, W = 10, 12  # the image size used by the interpolation properties

unit = st.floats(0.0, 1.0, allow_nan=False)
small_ints = st.integers(-4, 4)


# --- a naive reference, from the kernel ---------------------------------------------------


def reference_interpolate(image: np.ndarray, y: float, x: float, order: int, mode: str):
    """Sum over taps of f[boundary(k), boundary(l)] * weight, in float64, one point."""
    h, w = image.shape[:2]
    if order == 0:
        half = np.float32(0.5)  # round as the float32 code does: floor(y + 1/2) in float32
        k, l = int(np.floor(np.float32(y) + half)), int(np.floor(np.float32(x) + half))
        return image[boundary_index(k, h, mode), boundary_index(l, w, mode)]
    fy, fx = int(np.floor(y)), int(np.floor(x))
    if order == 1:
        taps_y = [(fy, 1 - (y - fy)), (fy + 1, y - fy)]
        taps_x = [(fx, 1 - (x - fx)), (fx + 1, x - fx)]
    else:
        taps_y = [(k, float(cubic_kernel(y - k))) for k in range(fy - 1, fy + 3)]
        taps_x = [(k, float(cubic_kernel(x - k))) for k in range(fx - 1, fx + 3)]
    out = 0.0
    for k, wk in taps_y:
        for l, wl in taps_x:
            out = out + wk * wl * image[boundary_index(k, h, mode), boundary_index(l, w, mode)]
    return out


# --- the kernel and its weights -----------------------------------------------------------


@given(unit)
def test_weights_are_the_kernel_at_the_four_taps(t):
    expected = [cubic_kernel(t + 1), cubic_kernel(t), cubic_kernel(1 - t), cubic_kernel(2 - t)]
    np.testing.assert_allclose(cubic_weights(t), expected, rtol=0, atol=1e-12)
    assert abs(sum(cubic_weights(t)) - 1) < 1e-12


def test_kernel_interpolates():
    assert [float(cubic_kernel(s)) for s in (-2, -1, 0, 1, 2, 3)] == [0, 0, 1, 0, 0, 0]


@functools.partial(jax.jit, static_argnames=("order", "mode"))
def _interp(image, rows, cols, order=3, mode="reflect"):
    return interpolate(image, rows, cols, order=order, mode=mode)


interior = st.floats(1.0, H - 2.0, exclude_max=True, allow_nan=False)  # rows: 4 taps inside
interior_x = st.floats(1.0, W - 2.0, exclude_max=True, allow_nan=False)


@settings(max_examples=JIT_EXAMPLES, deadline=None)
@given(coef=st.lists(st.integers(-5, 5), min_size=9, max_size=9),
       ys=st.lists(interior, min_size=8, max_size=8),
       xs=st.lists(interior_x, min_size=8, max_size=8),
       mode=st.sampled_from(MODES))
def test_bicubic_reproduces_biquadratics_in_the_interior(coef, ys, xs, mode):
    """Every $\\sum_{p,q \\le 2} c_{pq} y^p x^q$, at points whose 4 × 4 taps are real samples."""
    c = np.array(coef, dtype=np.float64).reshape(3, 3)

    def poly(y, x):
        return sum(c[p, q] * y**p * x**q for p in range(3) for q in range(3))

    gy, gx = np.meshgrid(np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64),
                         indexing="ij")
    with jax.enable_x64(True):
        got = _interp(jnp.asarray(poly(gy, gx)[..., None]), jnp.asarray(ys, jnp.float64),
                      jnp.asarray(xs, jnp.float64), mode=mode)
        got = np.asarray(got)[:, 0]
    np.testing.assert_allclose(got, poly(np.array(ys), np.array(xs)), rtol=1e-12, atol=1e-8)


@settings(max_examples=JIT_EXAMPLES, deadline=None)
@given(ys=st.lists(interior, min_size=8, max_size=8))
def test_bicubic_does_not_reproduce_cubics_error_is_t_t1_2t1(ys):
    """For $f = y^3$ the interpolant is off by $t(t-1)(2t-1)$, $t = y - \\lfloor y \\rfloor$."""
    ys = np.array(ys)
    image = np.broadcast_to(np.arange(H, dtype=np.float64)[:, None, None] ** 3, (H, W, 1))
    with jax.enable_x64(True):
        got = np.asarray(_interp(jnp.asarray(image), jnp.asarray(ys),
                                 jnp.full(ys.shape, 3.0, jnp.float64)))[:, 0]
    t = ys - np.floor(ys)
    np.testing.assert_allclose(got - ys**3, t * (t - 1) * (2 * t - 1), rtol=0, atol=1e-9)


def test_cubic_error_is_visible():
    """The error of the previous test is real: at t = 1/4 it is 3/32, not rounding."""
    image = jnp.broadcast_to(jnp.arange(H, dtype=jnp.float32)[:, None, None] ** 3, (H, W, 1))
    got = float(_interp(image, jnp.array([4.25]), jnp.array([3.0]))[0, 0])
    assert got == 4.25**3 + 3 / 32


@settings(max_examples=JIT_EXAMPLES, deadline=None)
@given(ys=st.lists(st.floats(-3.0 * H, 4.0 * H, allow_nan=False), min_size=16, max_size=16),
       xs=st.lists(st.floats(-3.0 * W, 4.0 * W, allow_nan=False), min_size=16, max_size=16),
       order=st.sampled_from([0, 1, 3]), mode=st.sampled_from(MODES))
def test_interpolate_matches_a_naive_reference_everywhere(ys, xs, order, mode):
    """Far outside the image too: the canonical-coordinate trick changes only rounding."""
    image = np.asarray(jax.random.uniform(jax.random.key(7), (H, W, 2)), dtype=np.float64)
    ys32, xs32 = np.float32(ys), np.float32(xs)
    got = np.asarray(_interp(jnp.asarray(image, jnp.float32), jnp.asarray(ys32),
                             jnp.asarray(xs32), order=order, mode=mode))
    want = np.array([reference_interpolate(image, float(y), float(x), order, mode)
                     for y, x in zip(ys32, xs32)])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)


@pytest.mark.parametrize("mode,numpy_mode", [("reflect", "symmetric"), ("mirror", "reflect"),
                                             ("nearest", "edge")])
@given(n=st.integers(1, 6), pad=st.integers(0, 20))
def test_boundary_modes_are_numpy_pad_modes(mode, numpy_mode, n, pad):
    expected = np.pad(np.arange(n), pad, mode=numpy_mode)
    np.testing.assert_array_equal(boundary_index(np.arange(-pad, n + pad), n, mode), expected)


# --- coarse grid to full resolution -------------------------------------------------------


@given(n_out=st.integers(1, 40), n_in=st.integers(3, 7),
       coef=st.lists(st.integers(-9, 9), min_size=3, max_size=3))
def test_resize_matrix_reproduces_quadratics_on_the_whole_grid(n_out, n_in, coef):
    u = cubic_resize_matrix(n_out, n_in)
    coarse = np.arange(n_in, dtype=np.float64)
    fine = np.arange(n_out) * (n_in - 1) / max(n_out - 1, 1)
    q = np.polynomial.Polynomial(coef)
    np.testing.assert_allclose(u @ q(coarse), q(fine), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(u.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@given(n_out=st.integers(1, 40), a=st.integers(-9, 9), b=st.integers(-9, 9))
def test_resize_matrix_two_points_reproduces_lines(n_out, a, b):
    fine = np.arange(n_out) / max(n_out - 1, 1)
    np.testing.assert_allclose(cubic_resize_matrix(n_out, 2) @ np.array([a, a + b]),
                               a + b * fine, rtol=0, atol=1e-12)


def test_field_passes_through_the_gaussian_grid_values():
    """Grid points sit on pixels 0, 4, 8 of a 9 × 9 image: the field there is σ·N(0, 1)."""
    key = jax.random.key(3)
    field = elastic_field(key, (9, 9), grid=3, sigma=10.0)
    coarse = 10.0 * jax.random.normal(key, (3, 3, 2), dtype=jnp.float32)
    np.testing.assert_allclose(field[::4, ::4], coarse, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(cubic_resize(coarse, (9, 9)), field, rtol=0, atol=0)


# --- the warp -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1, 3])
def test_zero_field_is_the_identity(order, mode):
    image = jax.random.normal(jax.random.key(0), (H, W, 3))
    mask = jax.random.randint(jax.random.key(1), (H, W), 0, 5, dtype=jnp.int32)
    zero = jnp.zeros((H, W, 2))
    np.testing.assert_array_equal(warp(image, zero, order, mode), image)
    np.testing.assert_array_equal(warp_mask(mask, zero, mode), mask)
    np.testing.assert_array_equal(warp_mask(mask[..., None], zero, mode), mask[..., None])


_warp = jax.jit(warp, static_argnames=("order", "mode"))
_warp_mask = jax.jit(warp_mask, static_argnames=("mode",))


@settings(max_examples=JIT_EXAMPLES, deadline=None)
@given(dy=small_ints, dx=small_ints, mode=st.sampled_from(MODES))
def test_constant_integer_field_is_a_shift(dy, dx, mode):
    """out(i, j) = f(i + dy, j + dx): exactly in the interior, and by the mode outside."""
    image = np.asarray(jax.random.normal(jax.random.key(2), (H, W, 2)))
    mask = np.arange(H * W, dtype=np.int32).reshape(H, W)
    field = jnp.broadcast_to(jnp.array([dy, dx], jnp.float32), (H, W, 2))
    got = np.asarray(_warp(jnp.asarray(image), field, mode=mode))
    got_mask = np.asarray(_warp_mask(jnp.asarray(mask), field, mode=mode))
    # interior: the plain shift
    rows, cols = slice(max(0, -dy), H - max(0, dy)), slice(max(0, -dx), W - max(0, dx))
    src_r, src_c = slice(max(0, dy), H + min(0, dy)), slice(max(0, dx), W + min(0, dx))
    np.testing.assert_array_equal(got[rows, cols], image[src_r, src_c])
    np.testing.assert_array_equal(got_mask[rows, cols], mask[src_r, src_c])
    # everywhere: the shifted indices through the boundary mode
    r = boundary_index(np.arange(H) + dy, H, mode)
    c = boundary_index(np.arange(W) + dx, W, mode)
    np.testing.assert_array_equal(got, image[r][:, c])
    np.testing.assert_array_equal(got_mask, mask[r][:, c])


@pytest.mark.parametrize("mask_shape", [(H, W), (H, W, 1)])
def test_mask_labels_stay_labels(mask_shape):
    key = jax.random.key(4)
    labels = np.array([0, 3, 7, 255], dtype=np.uint8)
    mask = labels[np.asarray(jax.random.randint(key, mask_shape, 0, 3))]  # 255 never drawn
    image = jnp.zeros((H, W, 1))
    _out, out_mask = elastic_deform(jax.random.key(5), image, jnp.asarray(mask), sigma=10.0)
    assert out_mask.shape == mask.shape and out_mask.dtype == jnp.uint8
    assert set(np.unique(out_mask)) <= set(np.unique(mask))
    assert not np.array_equal(out_mask, mask)  # sigma=10 really moved something


# --- keys, jit and vmap -------------------------------------------------------------------

BATCH, SIZE = 4, 24


def _batch():
    images = jax.random.uniform(jax.random.key(10), (BATCH, SIZE, SIZE, 1))
    masks = (images[..., 0] > 0.5).astype(jnp.int32)
    return images, masks


def test_same_key_same_result_other_key_other_result():
    images, masks = _batch()
    a = elastic_deform(jax.random.key(0), images[0], masks[0])
    b = elastic_deform(jax.random.key(0), images[0], masks[0])
    c = elastic_deform(jax.random.key(1), images[0], masks[0])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_legacy_uint32_keys_work_too():
    images, _ = _batch()
    out, _ = elastic_deform(jax.random.PRNGKey(0), images[0])
    assert out.shape == images[0].shape


def test_jit_equals_eager():
    images, masks = _batch()
    key = jax.random.key(2)
    eager = elastic_deform(key, images[0], masks[0])
    jitted = jax.jit(elastic_deform, static_argnames=("grid", "order", "mode"))(
        key, images[0], masks[0], sigma=10.0)
    np.testing.assert_allclose(jitted[0], eager[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(jitted[1], eager[1])


def test_batch_equals_a_loop_over_split_keys():
    images, masks = _batch()
    key = jax.random.key(3)
    out, out_masks = jax.jit(elastic_deform_batch)(key, images, masks)
    for n, k in enumerate(jax.random.split(key, BATCH)):
        one, one_mask = elastic_deform(k, images[n], masks[n])
        np.testing.assert_allclose(out[n], one, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(out_masks[n], one_mask)
    no_masks, none = elastic_deform_batch(key, images)
    assert none is None
    np.testing.assert_allclose(no_masks, out, rtol=1e-5, atol=1e-5)


def test_grid_and_sigma_keywords_change_the_field():
    key = jax.random.key(4)
    f3 = elastic_field(key, (16, 20))
    f5 = elastic_field(key, (16, 20), grid=(5, 4), sigma=2.0)
    assert f3.shape == f5.shape == (16, 20, 2)
    assert float(jnp.abs(elastic_field(key, (16, 20), sigma=0.0)).max()) == 0.0
    assert not np.allclose(f3, f5)


# --- bad input ----------------------------------------------------------------------------

_img = jnp.zeros((6, 7, 1))
_mask = jnp.zeros((6, 7), jnp.int32)
_key = jax.random.key(0)

BAD = {
    "negative-sigma": (lambda: elastic_deform(_key, _img, sigma=-1.0), SymconvError, "sigma=-1"),
    "nan-sigma": (lambda: elastic_field(_key, (6, 7), sigma=float("nan")), SymconvError, "nan"),
    "grid-1": (lambda: elastic_deform(_key, _img, grid=1), SymconvError, "grid=1"),
    "grid-pair-1": (lambda: elastic_field(_key, (6, 7), grid=(3, 1)), SymconvError, "grid"),
    "grid-bool": (lambda: elastic_field(_key, (6, 7), grid=True), SymconvError, "grid=True"),
    "grid-float": (lambda: elastic_field(_key, (6, 7), grid=2.5), SymconvError, "grid=2.5"),
    "batch-grid": (lambda: elastic_deform_batch(_key, _img[None], grid=0), SymconvError,
                   "grid=0"),
    "mask-size": (lambda: elastic_deform(_key, _img, jnp.zeros((6, 8), jnp.int32)),
                  ShapeMismatchError, "(6, 8) differs from the image's (6, 7)"),
    "mask-float": (lambda: elastic_deform(_key, _img, jnp.zeros((6, 7))), SymconvError,
                   "float32"),
    "mask-channels": (lambda: warp_mask(jnp.zeros((6, 7, 2), jnp.int32), jnp.zeros((6, 7, 2))),
                      ShapeMismatchError, "(6, 7, 2)"),
    "mask-rank": (lambda: warp_mask(jnp.zeros((1, 6, 7, 1), jnp.int32), jnp.zeros((6, 7, 2))),
                  ShapeMismatchError, "(1, 6, 7, 1)"),
    "image-rank-2": (lambda: elastic_deform(_key, jnp.zeros((6, 7))), ShapeMismatchError,
                     "rank 2"),
    "image-rank-4": (lambda: warp(_img[None], jnp.zeros((6, 7, 2))), ShapeMismatchError,
                     "rank 4"),
    "batch-rank-3": (lambda: elastic_deform_batch(_key, _img), ShapeMismatchError, "rank 3"),
    "batch-mask-size": (lambda: elastic_deform_batch(_key, _img[None], _mask[None, :5]),
                        ShapeMismatchError, "differs"),
    "field-shape": (lambda: warp(_img, jnp.zeros((6, 7, 3))), ShapeMismatchError, "(6, 7, 3)"),
    "order-2": (lambda: warp(_img, jnp.zeros((6, 7, 2)), order=2), SymconvError, "order=2"),
    "mode-wrap": (lambda: warp(_img, jnp.zeros((6, 7, 2)), mode="wrap"), SymconvError, "'wrap'"),
    "int-image-cubic": (lambda: warp(_mask[..., None], jnp.zeros((6, 7, 2))), SymconvError,
                        "floating"),
    "shape-rank": (lambda: elastic_field(_key, (6,)), ShapeMismatchError, "(6,)"),
    "shape-zero": (lambda: elastic_field(_key, (0, 7)), SymconvError, "H=0"),
}


@pytest.mark.parametrize("call,error,fragment", BAD.values(), ids=BAD.keys())
def test_bad_input_raises_symconv_error_naming_the_value(call, error, fragment):
    with pytest.raises(error, match=None) as info:
        call()
    assert fragment in str(info.value)
