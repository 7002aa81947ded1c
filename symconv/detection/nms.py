r"""Greedy non-maximum suppression with a static number of outputs (jittable, batched).

Greedy NMS (as in YOLO, Faster R-CNN and ``torchvision.ops.nms``): among the boxes whose score
is above ``score_threshold``, repeatedly keep the highest-scoring box $b^\ast$ not yet removed,
and remove every remaining box $b$ with

.. math::  \mathrm{IoU}(b, b^\ast) > \tau \qquad (\tau = \texttt{iou\_threshold} \in [0, 1]),

until nothing is left or ``max_outputs`` boxes are kept. $\tau = 1$ removes nothing by overlap,
$\tau = 0$ removes every box that overlaps a kept one at all. Ties in score go to the lower index,
so the result is a deterministic function of the input.

Shapes are static, as ``jax.jit`` needs: the result holds ``max_outputs`` slots, the kept indices
in descending score order, then ``-1``, with a ``valid`` mask and a ``count``. The loop runs at
most ``max_outputs`` steps of $O(N)$ work each (one IoU row, one argmax) and stops early when no
candidate is left, so memory stays $O(N)$ (no $N \times N$ IoU matrix). To keep one compiled
program for inputs of different sizes, pad the boxes to a fixed $N$ with scores ``-inf``
(never selected).

**Per class** (``classes`` given) a kept box removes only boxes of its own class; the output is
still one list, sorted by score across classes, holding at most ``max_outputs`` boxes in all.
Two common ways to get per-class NMS from a class-agnostic kernel, and why neither is used here:

- *coordinate offset* (``torchvision.ops.batched_nms``): shift each box of class $c$ by
  $c\,(\max \text{coordinate} + 1)$ so boxes of different classes never overlap, then run one
  class-agnostic NMS. Cheap, but in float32 the shift eats low bits of every coordinate (at an
  offset near $2^k$ the spacing of floats is $2^{k-23}$), so an IoU close to $\tau$ can land on
  the other side of it and the result differs from true per-class NMS;
- *vmap over classes*: $C$ independent NMS runs, scores of the other classes masked to
  ``-inf``, then a merge of the $C \cdot K$ survivors by score. Exact, but $C$ times the work
  and memory.

The greedy loop here removes boxes through a mask anyway, so it ANDs the IoU test with
``classes == classes[j]`` for the kept box $j$: exactly the kept set and order of the vmap
approach (each class's greedy run, merged by score, ties to the lower index), at the cost of the
class-agnostic run.

Concrete inputs are validated on the host before tracing (boxes, thresholds); inside
``jax.jit`` the thresholds and boxes are tracers and are assumed valid.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from symconv.detection.boxes import (
    BoxFormat,
    InvalidThresholdError,
    as_float,
    check_boxes,
    check_format,
    convert_boxes,
    is_traced,
    positive_int,
)
from symconv.detection.iou import _overlap
from symconv.errors import ShapeMismatchError, SymconvError


@jax.tree_util.register_dataclass
@dataclass(frozen=True, slots=True)
class NMSResult:
    """Fixed-size NMS output (a pytree). For boxes ``(..., N, 4)`` and ``K = max_outputs``:

    Attributes:
      indices: ``(..., K)`` int32, kept box indices in descending score order, then ``-1``.
      valid: ``(..., K)`` bool, ``indices >= 0``.
      count: ``(...)`` int32, number of kept boxes (``valid.sum(-1)``).
    """

    indices: jax.Array
    valid: jax.Array
    count: jax.Array


def check_iou_threshold(value: object, what: str = "iou_threshold") -> float:
    """``float(value)`` for a real number in $[0, 1]$; else :class:`InvalidThresholdError`."""
    x = _real(value, what)
    if not 0.0 <= x <= 1.0:
        raise InvalidThresholdError(
            f"{what}={value!r} must be in [0, 1]: it is compared with an IoU, which lies in [0, 1]"
        )
    return x


def _real(value: object, what: str) -> float:
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidThresholdError(f"{what}={value!r} must be a real number")
    x = float(value)
    if math.isnan(x):
        raise InvalidThresholdError(f"{what}={value!r} must not be NaN")
    return x


def nms(boxes: jax.typing.ArrayLike, scores: jax.typing.ArrayLike, *, max_outputs: int,
        iou_threshold: float | jax.Array = 0.5, score_threshold: float | jax.Array = -math.inf,
        classes: jax.typing.ArrayLike | None = None, fmt: BoxFormat = "xyxy") -> NMSResult:
    r"""Greedy NMS: keep the best box, drop boxes with IoU $> \tau$ against it, repeat.

    .. math::  \text{keep } j = \arg\max_{i \in R} s_i, \qquad
               R \leftarrow \{ i \in R \setminus \{j\} : \mathrm{IoU}(b_i, b_j) \le \tau
               \ \lor\ k_i \neq k_j \}

    starting from $R = \{ i : s_i > \texttt{score\_threshold} \}$ (the class test
    $k_i \neq k_j$ only when ``classes`` is given). Jittable: ``max_outputs`` and ``fmt`` are
    static, the thresholds may be traced. Leading axes are batch axes.

    Args:
      boxes: ``(..., N, 4)``.
      scores: ``(..., N)``; NaN scores are never kept.
      max_outputs: $K \ge 1$, the number of output slots (at most $K$ boxes are kept).
      iou_threshold: $\tau \in [0, 1]$.
      score_threshold: only boxes with a score strictly above it are candidates.
      classes: optional ``(..., N)`` integer class ids for per-class NMS.
      fmt: box format.

    Returns:
      an :class:`NMSResult`.

    Raises:
      InvalidThresholdError: ``iou_threshold`` outside $[0, 1]$ or NaN, ``score_threshold`` NaN.
      NegativeBoxSizeError: a concrete box has negative width or height.
      ShapeMismatchError: the shapes of ``boxes``, ``scores`` and ``classes`` disagree.
      NonPositiveSizeError: ``max_outputs`` < 1.

    >>> boxes = [[0, 0, 2, 2], [0, 0, 2, 1.9], [3, 3, 4, 4], [0, 1, 2, 3]]
    >>> r = nms(boxes, [0.9, 0.8, 0.7, 0.6], max_outputs=3, iou_threshold=0.5)
    >>> r.indices.tolist(), r.valid.tolist(), r.count.item()
    ([0, 2, 3], [True, True, True], 3)
    >>> nms(boxes, [0.9, 0.8, 0.7, 0.6], max_outputs=4, classes=[0, 1, 0, 0]).indices.tolist()
    [0, 1, 2, 3]
    """
    k = positive_int(max_outputs, "max_outputs")
    check_format(fmt)
    if not is_traced(iou_threshold):
        check_iou_threshold(iou_threshold)
    if not is_traced(score_threshold):
        _real(score_threshold, "score_threshold")
    if not is_traced(boxes):
        check_boxes(boxes, fmt)
    b = as_float(boxes)
    s = as_float(scores)
    if b.ndim < 2 or b.shape[-1] != 4:
        raise ShapeMismatchError(f"boxes has shape {b.shape}; expected (..., N, 4)")
    if s.shape != b.shape[:-1]:
        raise ShapeMismatchError(
            f"scores has shape {s.shape}; expected {b.shape[:-1]} (one score per box of boxes "
            f"{b.shape})"
        )
    per_class = classes is not None
    if per_class:
        c = jnp.asarray(classes)
        if c.shape != s.shape:
            raise ShapeMismatchError(f"classes has shape {c.shape}; expected {s.shape}")
        if not jnp.issubdtype(c.dtype, jnp.integer):
            raise SymconvError(f"classes has dtype {c.dtype}; class ids must be integers")
    else:
        c = jnp.zeros(s.shape, jnp.int32)
    dtype = jnp.promote_types(b.dtype, s.dtype)
    return _nms(b.astype(dtype), s.astype(dtype), c, jnp.asarray(iou_threshold, dtype),
                jnp.asarray(score_threshold, dtype), k=k, per_class=per_class, fmt=fmt)


@partial(jax.jit, static_argnames=("k", "per_class", "fmt"))
def _nms(boxes, scores, classes, iou_thr, score_thr, *, k: int, per_class: bool, fmt: str):
    batch = scores.shape[:-1]
    n = scores.shape[-1]
    if n == 0:
        idx = jnp.full((*batch, k), -1, jnp.int32)
        return NMSResult(idx, idx >= 0, jnp.zeros(batch, jnp.int32))
    boxes = convert_boxes(boxes, fmt, "xyxy").reshape(-1, n, 4)
    single = partial(_greedy, k=k, per_class=per_class)
    idx, count = jax.vmap(single, in_axes=(0, 0, 0, None, None))(
        boxes, scores.reshape(-1, n), classes.reshape(-1, n), iou_thr, score_thr
    )
    idx = idx.reshape(*batch, k)
    return NMSResult(idx, idx >= 0, count.reshape(batch))


def _greedy(boxes, scores, classes, iou_thr, score_thr, *, k: int, per_class: bool):
    """One image: ``(N, 4)`` xyxy boxes, ``(N,)`` scores -> ``(K,)`` indices and a count."""
    n = scores.shape[0]
    neg = jnp.array(-jnp.inf, scores.dtype)
    live = jnp.where(scores > score_thr, scores, neg)  # NaN > t is False: NaN is never kept
    positions = jnp.arange(n)

    def cond(state):
        step, live, _ = state
        return (step < k) & (live.max() > neg)

    def body(state):
        step, live, idx = state
        j = jnp.argmax(live)  # the first maximum: ties go to the lower index
        overlap = _overlap(boxes[j], boxes, fmt="xyxy", generalized=False)
        drop = overlap > iou_thr
        if per_class:
            drop = drop & (classes == classes[j])
        drop = drop | (positions == j)
        return step + 1, jnp.where(drop, neg, live), idx.at[step].set(j.astype(jnp.int32))

    start = (jnp.int32(0), live, jnp.full((k,), -1, jnp.int32))
    count, _, idx = jax.lax.while_loop(cond, body, start)
    return idx, count
