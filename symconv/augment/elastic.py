r"""Elastic deformation of images and their label masks (U-Net data augmentation).

Reference: O. Ronneberger, P. Fischer, T. Brox, *U-Net: Convolutional Networks for Biomedical
Image Segmentation*, MICCAI 2015 (arXiv:1505.04597), Sec. 3.1: smooth deformations from random
displacement vectors on a coarse 3 × 3 grid, drawn from a Gaussian with a standard deviation of
10 pixels, per-pixel displacements by bicubic interpolation.

With a $g_h \times g_w$ grid spanning the image (corners on the corner pixels) and
$G_{kl} \sim \mathcal N(0, \sigma^2 I_2)$ i.i.d., the displacement field and the warp are

.. math::  \Delta_{\cdot\cdot c} = U_H\, G_{\cdot\cdot c}\, U_W^\top \ (c = \text{row, col}),
           \qquad \text{out}(i, j) = \hat f\big(i + \Delta_{ij0},\ j + \Delta_{ij1}\big),

where $U$ is the Keys cubic upsampling matrix (:func:`~symconv.augment.bicubic.
cubic_resize_matrix`) and $\hat f$ the bicubic interpolant of the image
(:func:`~symconv.augment.bicubic.interpolate`, boundary mode ``'reflect'`` by default). The
warp is a backward map: output pixel $(i, j)$ reads the input at $(i, j) + \Delta_{ij}$. A mask
goes through the same field with nearest-sample lookup, so every output label is an input label.

Everything is pure JAX: jit it (``grid``, ``order``, ``mode`` static), vmap it, and the same key
gives the same deformation. Layouts: an image is ``(H, W, C)``, a batch ``(N, H, W, C)``; a
mask is integer (or bool) ``(H, W)`` or ``(H, W, 1)``, a batch of them ``(N, H, W)`` or
``(N, H, W, 1)``; a field is ``(H, W, 2)`` (row, column displacement in pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from symconv.augment.bicubic import check_mode, check_order, cubic_resize, interpolate
from symconv.errors import NonPositiveSizeError, ShapeMismatchError, SymconvError

GRID = 3  # U-Net, Sec. 3.1: "a coarse 3 by 3 grid"
SIGMA = 10.0  # U-Net, Sec. 3.1: "10 pixels standard deviation"


def _grid(grid: object, where: str) -> tuple[int, int]:
    pair = grid if isinstance(grid, (tuple, list)) else (grid, grid)
    if len(pair) != 2 or any(isinstance(g, bool) or not isinstance(g, int) or g < 2
                             for g in pair):
        raise SymconvError(
            f"{where}: grid={grid!r} must be an int >= 2 or a pair of them (points per axis)")
    return int(pair[0]), int(pair[1])


def _check_sigma(sigma: object, where: str) -> None:
    try:
        value = float(sigma)  # type: ignore[arg-type]
    except TypeError:
        return  # traced under jit: the caller vouches for it
    if not (value >= 0 and math.isfinite(value)):
        raise SymconvError(f"{where}: sigma={value} must be finite and >= 0 (pixels)")


def _spatial(shape: Sequence[int], where: str) -> tuple[int, int]:
    shape = tuple(shape)
    if len(shape) not in (2, 3):
        raise ShapeMismatchError(
            f"{where}: shape={shape} must be (H, W) or (H, W, C)")
    for name, n in zip(("H", "W"), shape[:2]):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise NonPositiveSizeError(f"{where}: {name}={n!r} must be a positive integer")
    return shape[0], shape[1]


def _check_image(image: jax.Array, rank: int, where: str) -> None:
    layout = "(H, W, C)" if rank == 3 else "(N, H, W, C)"
    if image.ndim != rank:
        raise ShapeMismatchError(
            f"{where}: image must be {layout}, got rank {image.ndim} shape {image.shape}")


def _mask_as_hwc(mask: jax.Array, spatial: tuple[int, ...], where: str) -> jax.Array:
    """``(H, W)`` or ``(H, W, 1)`` (with any leading batch axes) -> ``(..., H, W, 1)``."""
    lead = len(spatial) - 2
    if not (jnp.issubdtype(mask.dtype, jnp.integer) or mask.dtype == jnp.bool_):
        raise SymconvError(
            f"{where}: mask dtype {mask.dtype} must be integer or bool (labels); "
            f"warp a float map as an image instead")
    if mask.ndim == lead + 2:
        mask = mask[..., None]
    if mask.ndim != lead + 3 or mask.shape[-1] != 1:
        want = "(H, W) or (H, W, 1)" if lead == 0 else "(N, H, W) or (N, H, W, 1)"
        raise ShapeMismatchError(f"{where}: mask must be {want}, got shape {mask.shape}")
    if mask.shape[:-1] != tuple(spatial):
        raise ShapeMismatchError(
            f"{where}: mask size {mask.shape[:-1]} differs from the image's {tuple(spatial)}")
    return mask


def elastic_field(key: jax.Array, shape: Sequence[int], grid: int | tuple[int, int] = GRID,
                  sigma: float = SIGMA) -> jax.Array:
    r"""A smooth random displacement field ``(H, W, 2)``: $\Delta = U_H G U_W^\top$.

    $G$ is ``(g_h, g_w, 2)`` with entries $\sigma\,\mathcal N(0, 1)$ drawn from ``key``; the
    cubic upsampling passes through the grid values at the grid points (the corner pixels
    carry the corner displacements exactly).

    Args:
      key: a JAX PRNG key.
      shape: ``(H, W)`` or ``(H, W, C)`` of the image to deform.
      grid: coarse points per axis (int or ``(g_h, g_w)``), at least 2.
      sigma: standard deviation of each displacement component, in pixels (>= 0).

    Returns:
      float32 ``(H, W, 2)``: row and column displacement of every pixel.

    Raises:
      SymconvError: ``grid`` < 2, ``sigma`` negative or not finite, ``shape`` not 2-D/3-D.
      (A ``sigma`` traced by ``jit`` cannot be checked; make it static to keep the check.)

    >>> field = elastic_field(jax.random.key(0), (5, 7), grid=3, sigma=0.0)
    >>> field.shape, field.dtype.name, float(jnp.abs(field).max())
    ((5, 7, 2), 'float32', 0.0)
    """
    where = "elastic_field"
    h, w = _spatial(shape, where)
    gh, gw = _grid(grid, where)
    _check_sigma(sigma, where)
    coarse = sigma * jax.random.normal(key, (gh, gw, 2), dtype=jnp.float32)
    return cubic_resize(coarse, (h, w))


def _check_field(field: jax.Array, spatial: tuple[int, int], where: str) -> None:
    if field.shape != (*spatial, 2):
        raise ShapeMismatchError(
            f"{where}: field shape {field.shape} must be {(*spatial, 2)} for an image of "
            f"size {spatial}")


def _sample_points(field: jax.Array) -> tuple[jax.Array, jax.Array]:
    h, w = field.shape[:2]
    dtype = field.dtype if jnp.issubdtype(field.dtype, jnp.floating) else jnp.float32
    rows = jnp.arange(h, dtype=dtype)[:, None] + field[..., 0].astype(dtype)
    cols = jnp.arange(w, dtype=dtype)[None, :] + field[..., 1].astype(dtype)
    return rows, cols


def warp(image: jax.Array, field: jax.Array, order: int = 3,
         mode: str = "reflect") -> jax.Array:
    r"""Resample an ``(H, W, C)`` image along a field: $\text{out}(i, j) =
    \hat f(i + \Delta_{ij0}, j + \Delta_{ij1})$.

    ``order`` 3 (bicubic, Keys), 1 (bilinear) or 0 (nearest); ``mode`` as in
    :mod:`symconv.augment.bicubic`. A zero field returns the image; a constant integer field
    $(d_r, d_c)$ shifts it: $\text{out}(i, j) = f(i + d_r, j + d_c)$.

    >>> img = jnp.arange(12.0).reshape(3, 4, 1)
    >>> shift = jnp.broadcast_to(jnp.array([0.0, 1.0]), (3, 4, 2))   # one column to the left
    >>> warp(img, shift)[..., 0].tolist()
    [[1.0, 2.0, 3.0, 3.0], [5.0, 6.0, 7.0, 7.0], [9.0, 10.0, 11.0, 11.0]]
    """
    where = "warp"
    image, field = jnp.asarray(image), jnp.asarray(field)
    _check_image(image, 3, where)
    _check_field(field, image.shape[:2], where)
    check_order(order, where)
    check_mode(mode, where)
    if order > 0 and not jnp.issubdtype(image.dtype, jnp.floating):
        raise SymconvError(
            f"{where}: order={order} needs a floating image, got dtype {image.dtype}; cast it, "
            f"or use warp_mask for labels")
    rows, cols = _sample_points(field)
    return interpolate(image, rows, cols, order=order, mode=mode)


def warp_mask(mask: jax.Array, field: jax.Array, mode: str = "reflect") -> jax.Array:
    r"""Resample an integer mask along a field by nearest sample: labels stay labels.

    $\text{out}(i, j) = m(\lfloor i + \Delta_{ij0} + \tfrac12 \rfloor,
    \lfloor j + \Delta_{ij1} + \tfrac12 \rfloor)$ with the boundary ``mode``; the shape
    (``(H, W)`` or ``(H, W, 1)``) and dtype are kept, so the labels out are a subset of the
    labels in.

    >>> m = jnp.array([[0, 1], [2, 3]], dtype=jnp.int32)
    >>> warp_mask(m, jnp.full((2, 2, 2), 0.6)).tolist()
    [[3, 3], [3, 3]]
    """
    where = "warp_mask"
    mask, field = jnp.asarray(mask), jnp.asarray(field)
    check_mode(mode, where)
    if mask.ndim not in (2, 3):
        raise ShapeMismatchError(
            f"{where}: mask must be (H, W) or (H, W, 1), got shape {mask.shape}")
    hwc = _mask_as_hwc(mask, mask.shape[:2], where)
    _check_field(field, mask.shape[:2], where)
    rows, cols = _sample_points(field)
    out = interpolate(hwc, rows, cols, order=0, mode=mode)
    return out.reshape(mask.shape)


def elastic_deform(key: jax.Array, image: jax.Array, mask: jax.Array | None = None,
                   grid: int | tuple[int, int] = GRID, sigma: float = SIGMA, *,
                   order: int = 3, mode: str = "reflect") -> tuple[jax.Array, jax.Array | None]:
    r"""Elastically deform one ``(H, W, C)`` image (and its mask) with a field from ``key``.

    ``field = elastic_field(key, image.shape, grid, sigma)``; the image is
    :func:`warp` ed (``order``, ``mode``), the mask :func:`warp_mask` ed by the same field.

    Returns:
      ``(image, mask)``: the deformed image (float, same shape) and mask (same shape and
      dtype), or ``None`` for the mask when none was given.

    Raises:
      SymconvError: negative ``sigma``, ``grid`` < 2, an image not ``(H, W, C)``, a mask not
      integer ``(H, W)``/``(H, W, 1)`` of the image's size.

    >>> img = jnp.arange(12.0).reshape(3, 4, 1)
    >>> out, m = elastic_deform(jax.random.key(0), img, jnp.ones((3, 4), jnp.int32), sigma=0.0)
    >>> bool((out == img).all()), m.tolist()
    (True, [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]])
    """
    where = "elastic_deform"
    image = jnp.asarray(image)
    _check_image(image, 3, where)
    _grid(grid, where)
    _check_sigma(sigma, where)
    check_order(order, where)
    check_mode(mode, where)
    if mask is not None:
        mask = jnp.asarray(mask)
        _mask_as_hwc(mask, image.shape[:2], where)
    if isinstance(sigma, (int, float)):  # a concrete sigma: one compiled function per setting
        return _deform_jit(key, image, mask, _grid(grid, where), float(sigma), order, mode)
    return _deform(key, image, mask, grid, sigma, order, mode)


def _deform(key, image, mask, grid, sigma, order: int, mode: str):
    field = elastic_field(key, image.shape, grid, sigma)
    warped = warp(image, field, order=order, mode=mode)
    return warped, (None if mask is None else warp_mask(mask, field, mode=mode))


_deform_jit = jax.jit(_deform, static_argnums=(3, 4, 5, 6))


def elastic_deform_batch(key: jax.Array, images: jax.Array, masks: jax.Array | None = None,
                         grid: int | tuple[int, int] = GRID, sigma: float = SIGMA, *,
                         order: int = 3, mode: str = "reflect"
                         ) -> tuple[jax.Array, jax.Array | None]:
    r""":func:`elastic_deform` vmapped over ``(N, H, W, C)`` images (and ``(N, H, W[, 1])`` masks).

    Image $n$ uses key ``jax.random.split(key, N)[n]``, so the batch equals a loop of
    :func:`elastic_deform` calls with those keys.

    >>> imgs = jnp.zeros((2, 4, 4, 1))
    >>> out, m = elastic_deform_batch(jax.random.key(0), imgs, jnp.zeros((2, 4, 4), jnp.uint8))
    >>> out.shape, m.shape, m.dtype.name
    ((2, 4, 4, 1), (2, 4, 4), 'uint8')
    """
    where = "elastic_deform_batch"
    images = jnp.asarray(images)
    _check_image(images, 4, where)
    _grid(grid, where)
    _check_sigma(sigma, where)
    check_order(order, where)
    check_mode(mode, where)
    keys = jax.random.split(key, images.shape[0])

    def one(k, image, mask):
        return elastic_deform(k, image, mask, grid, sigma, order=order, mode=mode)

    if masks is None:
        out, _ = jax.vmap(lambda k, x: one(k, x, None))(keys, images)
        return out, None
    masks = jnp.asarray(masks)
    _mask_as_hwc(masks, images.shape[:3], where)
    return jax.vmap(one)(keys, images, masks)
