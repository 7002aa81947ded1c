r"""Cubic convolution interpolation (Keys 1981, $a = -\tfrac12$) in pure JAX.

``jax.scipy.ndimage.map_coordinates`` stops at order 1; this module provides the bicubic
resampling the elastic deformation needs. The interpolant of samples $f[k]$ is

.. math::  \hat f(x) = \sum_k f[k]\, W(x - k), \qquad
           W(s) = \begin{cases}
             (a+2)|s|^3 - (a+3)|s|^2 + 1 & |s| \le 1 \\
             a|s|^3 - 5a|s|^2 + 8a|s| - 4a & 1 < |s| < 2 \\
             0 & \text{otherwise}
           \end{cases}, \quad a = -\tfrac12,

four taps $k = \lfloor x\rfloor - 1, \dots, \lfloor x\rfloor + 2$ (R. Keys, *Cubic convolution
interpolation for digital image processing*, IEEE TASSP 29(6), 1981; the same kernel as
Catmull–Rom and MATLAB's ``imresize``). In two dimensions it is the tensor product
$\hat f(y, x) = \sum_{k,l} f[k, l]\, W(y - k)\, W(x - l)$.

What it reproduces, precisely: it interpolates ($\hat f(k) = f[k]$, since $W(0)=1$ and
$W(m) = 0$ at the other integers), is $C^1$, and reproduces every polynomial of degree $\le 2$
exactly — in 2-D every $y^p x^q$ with $p, q \le 2$ — at any point whose 4 × 4 taps are all real
samples. Cubics are *not* reproduced: for $f(x) = x^3$ the error is
$\hat f(x) - x^3 = t(t-1)(2t-1)$ with $t = x - \lfloor x \rfloor$ (at most $\sqrt3/18$ in size),
whatever $\lfloor x \rfloor$ is.

Coordinates: pixel $(i, j)$ of an ``(H, W, C)`` image sits at row $i$, column $j$. Samples
outside the image come from one of three boundary modes, named as in ``scipy.ndimage``:

- ``'reflect'`` (half-sample symmetric, the default): ``d c b a | a b c d | d c b a``;
- ``'mirror'`` (whole-sample symmetric): ``d c b | a b c d | c b a``;
- ``'nearest'`` (edge value repeated): ``a a a | a b c d | d d d``.

For speed (orders 1 and 3) a coordinate is first mapped into the base period of its mode (the
interpolant of a symmetric, periodic extension is itself symmetric and periodic, so this changes
nothing but rounding), then all taps are read from the image padded by 3 samples per side, with
no integer division per tap. Order 0 maps its single rounded index directly, so ties
($\lfloor x + \tfrac12 \rfloor$) round upward in the caller's coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from symconv.errors import ShapeMismatchError, SymconvError

KEYS_A = -0.5
MODES = ("reflect", "mirror", "nearest")
ORDERS = (0, 1, 3)
_PAD = 3  # samples added per side: enough for every tap of a canonical coordinate


def cubic_kernel(s):
    r"""The Keys kernel $W(s)$ with $a = -\tfrac12$ (NumPy or JAX arrays, or floats).

    >>> [float(cubic_kernel(s)) for s in (0.0, 0.5, 1.0, 1.5, 2.0)]
    [1.0, 0.5625, 0.0, -0.0625, 0.0]
    """
    a = KEYS_A
    s = abs(s)
    inner = ((a + 2) * s - (a + 3)) * s * s + 1
    outer = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    return (s <= 1) * inner + ((s > 1) & (s < 2)) * outer


def cubic_weights(t):
    r"""The four tap weights $W(t+1), W(t), W(1-t), W(2-t)$ for taps $\lfloor x\rfloor-1 \dots
    \lfloor x\rfloor+2$, with $t = x - \lfloor x \rfloor \in [0, 1]$:

    .. math::  \tfrac12\,(-t^3 + 2t^2 - t,\; 3t^3 - 5t^2 + 2,\; -3t^3 + 4t^2 + t,\; t^3 - t^2).

    They sum to 1 for every $t$. Plain arithmetic: works on floats, NumPy and JAX arrays.

    >>> cubic_weights(0.5)
    (-0.0625, 0.5625, 0.5625, -0.0625)
    >>> cubic_weights(0.0)
    (0.0, 1.0, 0.0, 0.0)
    """
    t2 = t * t
    t3 = t2 * t
    return (
        0.5 * (-t3 + 2 * t2 - t),
        0.5 * (3 * t3 - 5 * t2 + 2),
        0.5 * (-3 * t3 + 4 * t2 + t),
        0.5 * (t3 - t2),
    )


def check_mode(mode: object, where: str) -> str:
    if mode not in MODES:
        raise SymconvError(f"{where}: mode={mode!r} must be one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def check_order(order: object, where: str) -> int:
    if isinstance(order, bool) or order not in ORDERS:
        raise SymconvError(
            f"{where}: order={order!r} must be 0 (nearest), 1 (linear) or 3 (cubic)")
    return order  # type: ignore[return-value]


def boundary_index(i, n: int, mode: str):
    """Map integer sample indices (any, also far outside ``[0, n)``) into ``[0, n)``.

    NumPy in, NumPy out; a JAX array in, a JAX array out (jittable).

    >>> boundary_index(np.arange(-3, 7), 4, "reflect").tolist()
    [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
    >>> boundary_index(np.arange(-3, 7), 4, "mirror").tolist()
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    >>> boundary_index(np.arange(-3, 7), 4, "nearest").tolist()
    [0, 0, 0, 0, 1, 2, 3, 3, 3, 3]
    """
    xp = jnp if isinstance(i, jax.Array) else np
    i = xp.asarray(i)
    check_mode(mode, "boundary_index")
    if mode == "nearest" or n == 1:
        return xp.clip(i, 0, n - 1)
    period = 2 * n if mode == "reflect" else 2 * n - 2
    m = xp.mod(i, period)
    return xp.where(m >= n, period - 1 - m if mode == "reflect" else period - m, m)


def canonical_coordinate(c: jax.Array, n: int, mode: str) -> jax.Array:
    r"""A coordinate with the same interpolated value, in the base range of ``mode``.

    ``'reflect'`` (period $2n$, symmetric about $-\tfrac12$): into $[-\tfrac12, n-\tfrac12]$;
    ``'mirror'`` (period $2n-2$, symmetric about 0): into $[0, n-1]$; ``'nearest'``: clipped
    to $[-2, n]$, beyond which every tap reads the edge sample.

    >>> canonical_coordinate(jnp.array([-3.0, 9.5, 4.25]), 4, "reflect").tolist()
    [2.0, 1.5, 2.75]
    """
    if mode == "nearest" or n == 1:
        return jnp.clip(c, -2.0, float(n))
    if mode == "reflect":
        period, shift = 2.0 * n, 0.5
    else:
        period, shift = 2.0 * n - 2.0, 0.0
    m = c + shift
    m = m - period * jnp.floor(m / period) - shift
    return jnp.where(m > n - 1 + (0.5 if mode == "reflect" else 0.0),
                     period - 2 * shift - m, m)


def _padded(image: jax.Array, mode: str) -> jax.Array:
    h, w = image.shape[:2]
    rows = boundary_index(np.arange(-_PAD, h + _PAD), h, mode)
    cols = boundary_index(np.arange(-_PAD, w + _PAD), w, mode)
    return image[rows][:, cols]


def interpolate(image: jax.Array, rows: jax.Array, cols: jax.Array, order: int = 3,
                mode: str = "reflect") -> jax.Array:
    r"""Sample an ``(H, W, C)`` image at real coordinates: ``out[..., c] = f̂(rows, cols)``.

    Order 3 is the bicubic interpolant above; order 1 bilinear; order 0 the nearest sample
    ($\lfloor x + \tfrac12 \rfloor$, ties upward), which keeps the image's dtype. ``rows`` and
    ``cols`` have one shape ``S``; the result has shape ``S + (C,)``. Pure JAX: jit and vmap it.

    >>> img = jnp.arange(5.0)[:, None, None] ** 2 * jnp.ones((5, 4, 1))   # f[i, j] = i²
    >>> interpolate(img, jnp.array([1.5, 2.25]), jnp.array([0.0, 3.0]))[:, 0].tolist()
    [2.25, 5.0625]
    """
    where = "interpolate"
    check_order(order, where)
    check_mode(mode, where)
    image = jnp.asarray(image)
    if image.ndim != 3:
        raise ShapeMismatchError(
            f"{where}: image must be (H, W, C), got rank {image.ndim} shape {image.shape}")
    rows, cols = jnp.asarray(rows), jnp.asarray(cols)
    if rows.shape != cols.shape:
        raise ShapeMismatchError(
            f"{where}: rows shape {rows.shape} differs from cols shape {cols.shape}")
    h, w, c = image.shape
    if order == 0:  # one tap: map the rounded index itself (ties stay ties upward)
        fdtype = jnp.result_type(rows.dtype, cols.dtype, jnp.float32)
        iy = boundary_index(jnp.floor(rows.astype(fdtype) + 0.5).astype(jnp.int32), h, mode)
        ix = boundary_index(jnp.floor(cols.astype(fdtype) + 0.5).astype(jnp.int32), w, mode)
        return image.reshape(-1, c).at[iy * w + ix].get(mode="clip")
    if not jnp.issubdtype(image.dtype, jnp.floating):
        raise SymconvError(
            f"{where}: order={order} needs a floating image, got dtype {image.dtype}; "
            f"cast it, or use order=0 for labels")
    dtype = jnp.result_type(image.dtype, rows.dtype, cols.dtype)  # float64 coords stay float64
    image, rows, cols = image.astype(dtype), rows.astype(dtype), cols.astype(dtype)
    y = canonical_coordinate(rows, h, mode)
    x = canonical_coordinate(cols, w, mode)
    wp = w + 2 * _PAD
    flat = _padded(image, mode).reshape(-1, c)

    def take(index):
        return flat.at[index].get(mode="clip")  # indices are in range; clip keeps NaN safe

    fy, fx = jnp.floor(y), jnp.floor(x)
    ty, tx = y - fy, x - fx
    if order == 1:
        wy, wx, first = (1 - ty, ty), (1 - tx, tx), 0
    else:
        wy, wx, first = cubic_weights(ty), cubic_weights(tx), -1
    base = (fy.astype(jnp.int32) + _PAD + first) * wp + fx.astype(jnp.int32) + _PAD + first
    out = None
    for a, wa in enumerate(wy):
        acc = None
        for b, wb in enumerate(wx):
            term = wb[..., None] * take(base + (a * wp + b))
            acc = term if acc is None else acc + term
        out = wa[..., None] * acc if out is None else out + wa[..., None] * acc
    return out


def cubic_resize_matrix(n_out: int, n_in: int) -> np.ndarray:
    r"""The ``(n_out, n_in)`` matrix $U$ of cubic upsampling from a coarse to a fine grid.

    Both grids span the same extent: coarse sample $k$ sits at fine position
    $k\,(n_{out}-1)/(n_{in}-1)$, so fine pixel $i$ is at coarse coordinate
    $u_i = i\,(n_{in}-1)/(n_{out}-1)$ and row $i$ of $U$ holds the Keys weights of $u_i$. The
    taps beyond the coarse ends use Keys' boundary condition
    $f[-1] = 3f[0] - 3f[1] + f[2]$ (and its mirror image at the far end; linear extrapolation
    $2f[0] - f[1]$ when $n_{in} = 2$), so $U$ reproduces quadratics (lines when $n_{in}=2$) on
    the whole grid, ends included. Rows sum to 1. Exact floor via integer arithmetic (NumPy).

    >>> cubic_resize_matrix(5, 3)
    array([[ 1.   ,  0.   ,  0.   ],
           [ 0.375,  0.75 , -0.125],
           [ 0.   ,  1.   ,  0.   ],
           [-0.125,  0.75 ,  0.375],
           [ 0.   ,  0.   ,  1.   ]])
    """
    if n_in < 1 or n_out < 1:
        raise SymconvError(f"cubic_resize_matrix: sizes n_out={n_out}, n_in={n_in} must be >= 1")
    if n_in == 1:
        return np.ones((n_out, 1))
    if n_in == 2:
        before, after = {0: 2.0, 1: -1.0}, {1: 2.0, 0: -1.0}
    else:
        before = {0: 3.0, 1: -3.0, 2: 1.0}
        after = {n_in - 1: 3.0, n_in - 2: -3.0, n_in - 3: 1.0}
    u = np.zeros((n_out, n_in))
    den = max(n_out - 1, 1)
    for i in range(n_out):
        num = i * (n_in - 1)
        f = min(num // den, n_in - 2)
        t = (num - f * den) / den
        for tap, weight in zip(range(f - 1, f + 3), cubic_weights(t)):
            if 0 <= tap < n_in:
                u[i, tap] += weight
            else:
                for k, coef in (before if tap < 0 else after).items():
                    u[i, k] += coef * weight
    return u


def cubic_resize(coarse: jax.Array, shape: Sequence[int]) -> jax.Array:
    r"""Upsample ``(g_h, g_w, ...)`` to ``(H, W, ...)``: $U_H\, G\, U_W^\top$ per trailing index.

    Separable, so it is two small matrix products (:func:`cubic_resize_matrix`), not a gather.

    >>> g = jnp.array([[0.0, 1.0], [2.0, 3.0]])
    >>> cubic_resize(g, (3, 3)).tolist()
    [[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]
    """
    coarse = jnp.asarray(coarse)
    if coarse.ndim < 2:
        raise ShapeMismatchError(f"cubic_resize: coarse grid must have rank >= 2, got "
                                 f"shape {coarse.shape}")
    h, w = (int(s) for s in shape)
    uh = jnp.asarray(cubic_resize_matrix(h, coarse.shape[0]), dtype=coarse.dtype)
    uw = jnp.asarray(cubic_resize_matrix(w, coarse.shape[1]), dtype=coarse.dtype)
    return jnp.einsum("ia,ab...,jb->ij...", uh, coarse, uw)
