r"""Anchor (prior) sizes by k-means on box widths and heights, as in YOLOv2 (Sec. 2, "Dimension
Clusters"), and plain Euclidean k-means on the same boxes for comparison.

Boxes are compared by size only, all centred at one point, so the IoU of $(w, h)$ and
$(w', h')$ is

.. math::  \mathrm{IoU}_{wh} = \frac{m}{w h + w' h' - m}, \qquad m = \min(w, w') \min(h, h'),

and YOLOv2 clusters with the distance $d = 1 - \mathrm{IoU}_{wh}$ instead of the Euclidean one,
because "larger boxes generate more error than smaller boxes" under Euclidean distance while the
IoU does not depend on scale. Both fits here are Lloyd's algorithm (assign each box to the
nearest centroid, move each centroid to the mean of its boxes, until no assignment changes or
``max_iterations``) from a k-means++ start drawn with the same distance, keeping the best of
``restarts`` runs by the method's own objective. Both report the same quality measure, YOLOv2's
"Avg IOU" (Table 1): the mean over boxes of the IoU with the best-matching anchor,

.. math::  \overline{\mathrm{IoU}} = \frac{1}{n} \sum_{i=1}^{n} \max_j \mathrm{IoU}_{wh}(b_i, a_j).

Everything is jitted and deterministic for a PRNG key. ``restarts`` and ``max_iterations`` are
static; ``k`` only sets the compiled number of centroid slots, in steps of 16 (unused slots are
masked out), so k = 1..16 share one compiled program per distance. :func:`synthetic_box_sizes`
draws a reproducible box set to try them on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from symconv.detection.boxes import TooManyClustersError, as_float, is_traced, positive_int
from symconv.detection.iou import intersection_union, safe_ratio
from symconv.errors import NonPositiveSizeError, ShapeMismatchError

# Cluster centres (w, h) as fractions of the image side: small squares, tall narrow, wide
# short, medium tall, large wide, near full-frame. Synthetic: not measured on any data set.
SYNTHETIC_CENTERS: tuple[tuple[float, float], ...] = (
    (0.04, 0.05), (0.08, 0.20), (0.20, 0.10), (0.30, 0.55), (0.60, 0.40), (0.80, 0.85),
)


@jax.tree_util.register_dataclass
@dataclass(frozen=True, slots=True)
class AnchorFit:
    r"""Result of a k-means fit (a pytree).

    Attributes:
      anchors: ``(k, 2)`` centroids $(w, h)$, sorted by area.
      mean_iou: $\overline{\mathrm{IoU}}$, mean best-anchor IoU of the boxes (a scalar).
      assignments: ``(n,)`` int32, the cluster (row of ``anchors``) of each box.
    """

    anchors: jax.Array
    mean_iou: jax.Array
    assignments: jax.Array


def wh_iou(sizes1: jax.typing.ArrayLike, sizes2: jax.typing.ArrayLike) -> jax.Array:
    r"""IoU of centre-aligned boxes $(w, h)$; the two ``(..., 2)`` arrays broadcast.

    .. math::  \mathrm{IoU}_{wh} = \frac{\min(w, w')\min(h, h')}{wh + w'h' - \min(w, w')\min(h, h')}

    >>> wh_iou([2, 2], [[2, 2], [1, 2], [1, 1]]).tolist()
    [1.0, 0.5, 0.25]
    """
    a, b = as_float(sizes1), as_float(sizes2)
    inter = jnp.minimum(a[..., 0], b[..., 0]) * jnp.minimum(a[..., 1], b[..., 1])
    inter, union = intersection_union(inter, a[..., 0] * a[..., 1], b[..., 0] * b[..., 1])
    return safe_ratio(inter, union)


def mean_best_iou(sizes: jax.typing.ArrayLike, anchors: jax.typing.ArrayLike) -> jax.Array:
    r"""$\frac{1}{n}\sum_i \max_j \mathrm{IoU}_{wh}(b_i, a_j)$ for ``(n, 2)`` sizes and ``(k, 2)``
    anchors (YOLOv2's "Avg IOU").

    >>> mean_best_iou([[1, 1], [2, 2]], [[1, 1]]).item()
    0.625
    """
    return wh_iou(as_float(sizes)[:, None, :], as_float(anchors)[None, :, :]).max(-1).mean()


def iou_kmeans(sizes: jax.typing.ArrayLike, k: int, *, key: jax.Array, restarts: int = 1,
               max_iterations: int = 100) -> AnchorFit:
    r"""YOLOv2 anchors: k-means on $(w, h)$ with the distance $d = 1 - \mathrm{IoU}_{wh}$.

    Assignment $z_i = \arg\max_j \mathrm{IoU}_{wh}(b_i, a_j)$, update
    $a_j = \mathrm{mean}\{ b_i : z_i = j \}$ (an empty cluster keeps its centroid); the best of
    ``restarts`` runs by $\overline{\mathrm{IoU}}$ is returned.

    Args:
      sizes: ``(n, 2)`` box widths and heights, all $> 0$.
      k: number of anchors, $1 \le k \le n$.
      key: a JAX PRNG key; the result is a deterministic function of it.
      restarts: independent k-means++ starts (split from ``key``).
      max_iterations: cap on Lloyd iterations per start.

    Returns:
      an :class:`AnchorFit`.

    Raises:
      NonPositiveSizeError: ``k``, ``restarts`` or ``max_iterations`` < 1, or a box size
        $\le 0$.
      TooManyClustersError: $k > n$.
      ShapeMismatchError: ``sizes`` is not ``(n, 2)``.

    >>> fit = iou_kmeans([[1, 1], [1, 1], [4, 4], [4, 4]], 2, key=jax.random.key(0))
    >>> fit.anchors.tolist(), fit.mean_iou.item(), fit.assignments.tolist()
    ([[1.0, 1.0], [4.0, 4.0]], 1.0, [0, 0, 1, 1])
    """
    x = _check(sizes, k, restarts, max_iterations)
    return _run(x, key, k, restarts, max_iterations, "iou")


def euclidean_kmeans(sizes: jax.typing.ArrayLike, k: int, *, key: jax.Array, restarts: int = 1,
                     max_iterations: int = 100) -> AnchorFit:
    r"""Plain k-means on $(w, h)$: distance $\|b_i - a_j\|^2$, best start by the smallest
    $\sum_i \|b_i - a_{z_i}\|^2$; ``mean_iou`` is still $\overline{\mathrm{IoU}}$.

    Args, returns and raises as :func:`iou_kmeans`.

    >>> euclidean_kmeans([[1, 1], [1, 1], [4, 4], [4, 4]], 2, key=jax.random.key(0)).mean_iou.item()
    1.0
    """
    x = _check(sizes, k, restarts, max_iterations)
    return _run(x, key, k, restarts, max_iterations, "euclidean")


def synthetic_box_sizes(key: jax.Array, n: int = 2000, *,
                        centers: tuple[tuple[float, float], ...] = SYNTHETIC_CENTERS,
                        sigma: float = 0.3) -> jax.Array:
    r"""A reproducible synthetic set of box sizes: a log-normal mixture around ``centers``.

    Box $i$ picks a centre $(w_c, h_c)$ uniformly, then
    $\log w_i = \log w_c + \sigma \varepsilon_1$, $\log h_i = \log h_c + \sigma \varepsilon_2$
    with $\varepsilon \sim \mathcal{N}(0, 1)$, clipped to at most 1 (the image side).

    Args:
      key: JAX PRNG key (same key, same boxes).
      n: number of boxes.
      centers: cluster centres $(w, h)$ in $(0, 1]$; default :data:`SYNTHETIC_CENTERS`.
      sigma: log-normal spread.

    Returns:
      ``(n, 2)`` float32 widths and heights in $(0, 1]$.

    >>> synthetic_box_sizes(jax.random.key(0), 5).shape
    (5, 2)
    """
    n = positive_int(n, "n")
    c = np.asarray(centers, dtype=np.float32)
    if c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
        raise ShapeMismatchError(f"centers has shape {c.shape}; expected (m, 2) with m >= 1")
    if not ((c > 0) & (c <= 1)).all():
        raise NonPositiveSizeError(f"centers={centers!r}: every (w, h) must lie in (0, 1]")
    k_pick, k_noise = jax.random.split(key)
    pick = jax.random.randint(k_pick, (n,), 0, len(c))
    noise = jax.random.normal(k_noise, (n, 2))
    logs = jnp.log(jnp.asarray(c))[pick] + sigma * noise
    return jnp.minimum(jnp.exp(logs), 1.0)


def _check(sizes, k: int, restarts: int, max_iterations: int) -> jax.Array:
    k = positive_int(k, "k")
    positive_int(restarts, "restarts")
    positive_int(max_iterations, "max_iterations")
    if not is_traced(sizes):
        arr = np.asarray(sizes)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ShapeMismatchError(f"sizes has shape {arr.shape}; expected (n, 2) (w, h)")
        bad = ~(np.isfinite(arr) & (arr > 0)).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise NonPositiveSizeError(
                f"sizes[{i}] = {arr[i].tolist()}: box widths and heights must be finite and > 0"
            )
    x = as_float(sizes)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ShapeMismatchError(f"sizes has shape {x.shape}; expected (n, 2) (w, h)")
    if k > x.shape[0]:
        raise TooManyClustersError(
            f"k={k} clusters requested but there are only n={x.shape[0]} boxes; need k <= n"
        )
    return x


def _iou_distance(x: jax.Array, c: jax.Array) -> jax.Array:
    return 1 - wh_iou(x[:, None, :], c[None, :, :])


def _sq_distance(x: jax.Array, c: jax.Array) -> jax.Array:
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


def _padded(k: int) -> int:
    """Centroid slots compiled for ``k`` clusters: a multiple of 16, so k = 1..16 share one
    compiled program (the unused slots are masked out and never change the result)."""
    return 16 * -(-k // 16)


def _run(x: jax.Array, key: jax.Array, k: int, restarts: int, max_iterations: int,
         metric: str) -> AnchorFit:
    anchors, mean_iou, assign = _fit(x, key, jnp.int32(k), k_pad=_padded(k), restarts=restarts,
                                     max_iterations=max_iterations, metric=metric)
    if is_traced(anchors):
        return AnchorFit(anchors=anchors[:k], mean_iou=mean_iou, assignments=assign)
    # slice on the host: an eager slice would compile a new program for every k
    return AnchorFit(anchors=jnp.asarray(np.asarray(anchors)[:k]), mean_iou=mean_iou,
                     assignments=assign)


@partial(jax.jit, static_argnames=("k_pad", "restarts", "max_iterations", "metric"))
def _fit(x: jax.Array, key: jax.Array, k: jax.Array, *, k_pad: int, restarts: int,
         max_iterations: int, metric: str):
    active = jnp.arange(k_pad) < k
    base = _iou_distance if metric == "iou" else _sq_distance

    def dist(x: jax.Array, c: jax.Array) -> jax.Array:
        return jnp.where(active, base(x, c), jnp.inf)  # slots >= k are never nearest

    run = partial(_lloyd, x, k=k, k_pad=k_pad, max_iterations=max_iterations, dist=dist)
    centroids = jax.vmap(run)(jax.random.split(key, restarts))  # (restarts, k_pad, 2)
    costs = jax.vmap(lambda c: dist(x, c).min(-1).sum())(centroids)
    best = centroids[jnp.argmin(costs)]
    best = best[jnp.argsort(jnp.where(active, best[:, 0] * best[:, 1], jnp.inf))]
    assign = dist(x, best).argmin(-1).astype(jnp.int32)
    best_iou = jnp.where(active, wh_iou(x[:, None, :], best[None, :, :]), 0).max(-1).mean()
    return best, best_iou, assign


def _lloyd(x: jax.Array, key: jax.Array, *, k: jax.Array, k_pad: int, max_iterations: int,
           dist: Callable[[jax.Array, jax.Array], jax.Array]) -> jax.Array:
    centroids = _kmeans_pp(x, key, k, k_pad, dist)

    def cond(state):
        step, _, _, changed = state
        return (step < max_iterations) & changed

    def body(state):
        step, c, assign, _ = state
        new = dist(x, c).argmin(-1)
        onehot = jax.nn.one_hot(new, k_pad, dtype=x.dtype)  # (n, k_pad)
        counts = onehot.sum(0)
        means = (onehot.T @ x) / jnp.maximum(counts, 1)[:, None]
        c = jnp.where(counts[:, None] > 0, means, c)  # an empty cluster keeps its centroid
        return step + 1, c, new, (new != assign).any()

    start = (0, centroids, jnp.full(x.shape[0], -1, jnp.int32), jnp.array(True))
    _, centroids, _, _ = jax.lax.while_loop(cond, body, start)
    return centroids


def _kmeans_pp(x: jax.Array, key: jax.Array, k: jax.Array, k_pad: int, dist) -> jax.Array:
    r"""k-means++ seeding (Arthur & Vassilvitskii 2007) with the fit's own distance: each next
    centre is a box drawn with probability proportional to its distance to the nearest centre
    so far ($1 - \mathrm{IoU}_{wh}$, or the squared Euclidean distance: the usual $D^2$
    weighting), uniformly when every box already sits on a centre. Draw $j$ uses
    ``fold_in(key, j)``, so the draws do not depend on ``k_pad``."""
    n = x.shape[0]
    first = x[jax.random.randint(jax.random.fold_in(key, 0), (), 0, n)]
    centroids = jnp.broadcast_to(first, (k_pad, 2))

    def body(j, c):
        # rows not drawn yet still hold the first centre, so the minimum over the rows is the
        # distance to the nearest centre drawn so far
        d = jnp.clip(dist(x, c).min(-1), 0, None)
        total = d.sum()
        p = jnp.where(total > 0, d / jnp.where(total > 0, total, 1), 1.0 / n)
        i = jax.random.choice(jax.random.fold_in(key, j), n, p=p)
        return c.at[j].set(x[i])

    return jax.lax.fori_loop(1, k, body, centroids)
