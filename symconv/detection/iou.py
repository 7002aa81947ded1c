r"""Intersection over union (IoU) and generalised IoU (GIoU) of boxes, jittable and batched.

For boxes $A$, $B$ with intersection $I = |A \cap B|$, union $U = |A| + |B| - I$ and smallest
enclosing box (hull) $C$:

.. math::  \mathrm{IoU}(A, B) = \frac{I}{U} \in [0, 1], \qquad
           \mathrm{GIoU}(A, B) = \mathrm{IoU}(A, B) - \frac{|C| - U}{|C|} \in [-1, 1]

(Rezatofighi et al. 2019, "Generalized Intersection over Union", Algorithm 1). GIoU
$\le$ IoU always, and unlike IoU it still tells disjoint boxes apart by how far apart they are.

Conventions: $U = 0$ (two zero-area boxes) gives IoU $= 0$; $|C| = 0$ gives GIoU $=$ IoU. Results
are clipped to $[0, 1]$ (IoU) and the GIoU penalty $(|C| - U)/|C|$ to $[0, 1]$, so float rounding
never puts a value outside its mathematical range. Identical boxes give exactly 1 and
$\mathrm{IoU}(A, B) = \mathrm{IoU}(B, A)$ bit for bit.

:func:`iou` and :func:`giou` broadcast their two ``(..., 4)`` arguments against each other
(NumPy rules on the leading axes); :func:`pairwise_iou` and :func:`pairwise_giou` take
``(..., N, 4)`` and ``(..., M, 4)`` and return the ``(..., N, M)`` matrix. Concrete inputs are
validated on the host first (:func:`~symconv.detection.boxes.check_boxes`); traced inputs
(inside ``jax.jit``) are assumed valid.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from symconv.detection.boxes import BoxFormat, as_float, check_boxes, check_format, convert_boxes
from symconv.errors import ShapeMismatchError


def _validated(boxes1, boxes2, fmt: str):
    check_format(fmt)
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if not isinstance(b, jax.core.Tracer):
            check_boxes(b, fmt, name=name)
    b1, b2 = as_float(boxes1), as_float(boxes2)
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        if b.ndim < 1 or b.shape[-1] != 4:
            raise ShapeMismatchError(f"{name} has shape {b.shape}; the last axis must be 4")
    dtype = jnp.promote_types(b1.dtype, b2.dtype)
    return b1.astype(dtype), b2.astype(dtype)


@partial(jax.jit, static_argnames=("fmt", "generalized"))
def _overlap(b1: jax.Array, b2: jax.Array, fmt: str, generalized: bool) -> jax.Array:
    a = convert_boxes(b1, fmt, "xyxy")
    b = convert_boxes(b2, fmt, "xyxy")
    ax1, ay1, ax2, ay2 = (a[..., i] for i in range(4))
    bx1, by1, bx2, by2 = (b[..., i] for i in range(4))
    iw = jnp.maximum(jnp.minimum(ax2, bx2) - jnp.maximum(ax1, bx1), 0)
    ih = jnp.maximum(jnp.minimum(ay2, by2) - jnp.maximum(ay1, by1), 0)
    inter, union = intersection_union(iw * ih, (ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1))
    value = safe_ratio(inter, union)
    if not generalized:
        return value
    hull = (jnp.maximum(ax2, bx2) - jnp.minimum(ax1, bx1)) * (
        jnp.maximum(ay2, by2) - jnp.minimum(ay1, by1)
    )
    hull = jnp.maximum(hull, union)  # C contains A and B; also rounds C before the subtraction
    return value - safe_ratio(hull - union, hull)


def intersection_union(inter: jax.Array, area1: jax.Array, area2: jax.Array):
    r"""$(I, U)$ with $I = \min(I, |A|, |B|)$ and $U = (\min(|A|,|B|) + \max(|A|,|B|)) - I$.

    Mathematically $\min$ and $\max$ change nothing ($I \le |A|, |B|$). In float arithmetic
    they make the result exactly symmetric in $A, B$ and give $U = I = |A|$ for $A = B$: XLA on
    CPU contracts ``a * b + c`` into one fused multiply-add, so ``w1 * h1 + w2 * h2`` would be
    rounded differently from ``w2 * h2 + w1 * h1``; a product that goes through ``min``/``max``
    is rounded first and cannot be contracted.
    """
    small, large = jnp.minimum(area1, area2), jnp.maximum(area1, area2)
    inter = jnp.minimum(inter, small)
    return inter, (small + large) - inter


def safe_ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    """``num / den`` clipped to [0, 1], and 0 where ``den <= 0``."""
    positive = den > 0
    return jnp.where(positive, jnp.clip(num / jnp.where(positive, den, 1), 0, 1), 0)


def iou(boxes1: jax.typing.ArrayLike, boxes2: jax.typing.ArrayLike,
        fmt: BoxFormat = "xyxy") -> jax.Array:
    r"""Elementwise IoU $= I/U$ of two broadcastable box arrays.

    .. math::  I = \max(0, \min(x_2, x_2') - \max(x_1, x_1'))\,
                   \max(0, \min(y_2, y_2') - \max(y_1, y_1')), \qquad
               U = |A| + |B| - I

    Args:
      boxes1: ``(..., 4)`` boxes.
      boxes2: ``(..., 4)`` boxes, broadcastable against ``boxes1``.
      fmt: format of both (see :mod:`symconv.detection.boxes`).

    Returns:
      IoU in $[0, 1]$, shape the broadcast of the leading axes.

    Raises:
      NegativeBoxSizeError: a concrete input has a box of negative width or height.
      ShapeMismatchError: a last axis is not 4.

    >>> iou([0, 0, 2, 2], [[1, 0, 2, 2], [1, 1, 3, 3], [2, 2, 4, 4]]).tolist()
    [0.5, 0.1428571492433548, 0.0]
    """
    b1, b2 = _validated(boxes1, boxes2, fmt)
    return _overlap(b1, b2, fmt=fmt, generalized=False)


def giou(boxes1: jax.typing.ArrayLike, boxes2: jax.typing.ArrayLike,
         fmt: BoxFormat = "xyxy") -> jax.Array:
    r"""Elementwise generalised IoU $= I/U - (|C| - U)/|C|$, $C$ the enclosing box.

    Args, returns and raises as :func:`iou`; the value is in $[-1, 1]$ and $\le$ IoU.

    >>> giou([0, 0, 1, 1], [[0, 0, 1, 1], [3, 0, 4, 1]]).tolist()
    [1.0, -0.5]
    """
    b1, b2 = _validated(boxes1, boxes2, fmt)
    return _overlap(b1, b2, fmt=fmt, generalized=True)


def _pairwise(boxes1, boxes2, fmt: str, generalized: bool) -> jax.Array:
    b1, b2 = _validated(boxes1, boxes2, fmt)
    if b1.ndim < 2 or b2.ndim < 2:
        raise ShapeMismatchError(
            f"pairwise IoU needs boxes1 (..., N, 4) and boxes2 (..., M, 4); got shapes "
            f"{b1.shape} and {b2.shape}"
        )
    return _overlap(b1[..., :, None, :], b2[..., None, :, :], fmt=fmt, generalized=generalized)


def pairwise_iou(boxes1: jax.typing.ArrayLike, boxes2: jax.typing.ArrayLike,
                 fmt: BoxFormat = "xyxy") -> jax.Array:
    r"""IoU matrix: entry $(\ldots, i, j)$ is $\mathrm{IoU}(A_i, B_j)$.

    Args:
      boxes1: ``(..., N, 4)``.
      boxes2: ``(..., M, 4)``; the leading ``...`` axes broadcast against those of ``boxes1``.
      fmt: format of both.

    Returns:
      ``(..., N, M)`` IoU values.

    >>> pairwise_iou([[0, 0, 2, 2], [0, 0, 1, 1]], [[0, 0, 2, 1]]).tolist()
    [[0.5], [0.5]]
    """
    return _pairwise(boxes1, boxes2, fmt, generalized=False)


def pairwise_giou(boxes1: jax.typing.ArrayLike, boxes2: jax.typing.ArrayLike,
                  fmt: BoxFormat = "xyxy") -> jax.Array:
    r"""GIoU matrix: entry $(\ldots, i, j)$ is $\mathrm{GIoU}(A_i, B_j)$; as :func:`pairwise_iou`.

    >>> pairwise_giou([[0, 0, 1, 1]], [[0, 0, 1, 1], [3, 0, 4, 1]]).tolist()
    [[1.0, -0.5]]
    """
    return _pairwise(boxes1, boxes2, fmt, generalized=True)
