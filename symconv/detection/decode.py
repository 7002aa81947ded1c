r"""Decode a YOLOv2/v3 head into boxes, objectness and class probabilities (jittable).

The head output is NHWC, ``(B, H, W, A(5 + C))`` for a $H \times W$ grid (YOLO's $S \times S$),
$A$ anchors (priors) and $C$ classes. Channel block $a$ holds, in Darknet's order,
$(t_x, t_y, t_w, t_h, t_o, t_{c_1}, \ldots, t_{c_C})$ for anchor $a$. For the cell in row
$c_y$, column $c_x$ and an anchor of size $(p_w, p_h)$ in grid cells (YOLOv2 Eq. in Sec. 2,
"Direct location prediction"; YOLOv3 Sec. 2.1):

.. math::  b_x = \sigma(t_x) + c_x, \quad b_y = \sigma(t_y) + c_y, \quad
           b_w = p_w e^{t_w}, \quad b_h = p_h e^{t_h}, \quad
           \Pr(\text{object}) = \sigma(t_o),

returned grid-normalised (divided by $W$ along $x$, by $H$ along $y$), so an image of any size
maps to $[0, 1]^2$. Class probabilities:

- ``'logistic'`` (YOLOv3, Sec. 2.2): $\sigma(t_{c_i})$ per class, independently: multi-label,
  they need not sum to 1;
- ``'softmax'`` (YOLOv2, one distribution per anchor): $e^{t_{c_i}} / \sum_j e^{t_{c_j}}$:
  the classes are mutually exclusive, as YOLOv1's per-cell $\Pr(\text{class}_i \mid
  \text{object})$ also are (the v1 paper's last layer is linear, trained by squared error).

The class-specific confidence is $\Pr(\text{object}) \cdot \Pr(\text{class}_i \mid \text{object})$
(:attr:`YoloDecoding.scores`). YOLOv3's anchors are listed in input pixels: divide them by the
stride of the scale (input size / grid size, e.g. 32 for 13 at 416) to get grid cells.
YOLOv1 has no anchors and a different layout ($B \cdot 5 + C$ channels, classes shared by the
cell); it is not decoded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from symconv.detection.boxes import as_float, convert_boxes, is_traced, positive_int
from symconv.errors import NonPositiveSizeError, ShapeMismatchError, SymconvError

CLASS_ACTIVATIONS: tuple[str, ...] = ("logistic", "softmax")


@jax.tree_util.register_dataclass
@dataclass(frozen=True, slots=True)
class YoloDecoding:
    r"""Decoded YOLO head (a pytree: it can be returned from ``jax.jit``).

    Attributes:
      boxes: ``(B, H, W, A, 4)`` centre-size boxes $(b_x, b_y, b_w, b_h)$ (format ``'xywh'``),
        grid-normalised to the unit square.
      objectness: ``(B, H, W, A)``, $\sigma(t_o)$.
      class_probs: ``(B, H, W, A, C)``, $\Pr(\text{class}_i \mid \text{object})$.
    """

    boxes: jax.Array
    objectness: jax.Array
    class_probs: jax.Array

    @property
    def scores(self) -> jax.Array:
        r"""``(B, H, W, A, C)`` class-specific confidences $\sigma(t_o)\,p_i$."""
        return self.objectness[..., None] * self.class_probs

    def candidates(self) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Flatten for NMS: ``'xyxy'`` boxes ``(B, N, 4)``, best score ``(B, N)`` and its class
        ``(B, N)`` (int32), with ``N = H W A`` in row-major (row, column, anchor) order."""
        b = self.boxes.shape[0]
        boxes = convert_boxes(self.boxes, "xywh", "xyxy").reshape(b, -1, 4)
        scores = self.scores.reshape(b, boxes.shape[1], -1)
        return boxes, scores.max(axis=-1), scores.argmax(axis=-1).astype(jnp.int32)


def decode_yolo(head: jax.typing.ArrayLike, anchors: jax.typing.ArrayLike, *, num_classes: int,
                class_activation: str = "logistic") -> YoloDecoding:
    r"""Decode a ``(B, H, W, A(5 + C))`` YOLOv2/v3 head (see the module docstring).

    .. math::  (b_x, b_y, b_w, b_h) = \Bigl(\frac{\sigma(t_x) + c_x}{W},\
               \frac{\sigma(t_y) + c_y}{H},\ \frac{p_w e^{t_w}}{W},\ \frac{p_h e^{t_h}}{H}\Bigr)

    Jittable (``num_classes`` and ``class_activation`` static). Concrete ``anchors`` are checked
    on the host; traced ones are assumed positive.

    Args:
      head: ``(B, H, W, A * (5 + C))`` raw head output (logits), NHWC.
      anchors: ``(A, 2)`` priors $(p_w, p_h)$ in grid cells.
      num_classes: $C \ge 1$.
      class_activation: ``'logistic'`` (YOLOv3, multi-label) or ``'softmax'`` (YOLOv2).

    Returns:
      a :class:`YoloDecoding`.

    Raises:
      ShapeMismatchError: ``head`` is not 4-D, ``anchors`` is not ``(A, 2)``, or the channels
        are not ``A * (5 + C)``.
      NonPositiveSizeError: an anchor has a width or height $\le 0$ (or ``num_classes`` < 1).
      SymconvError: an unknown ``class_activation``.

    A zero head on a 2×2 grid with one anchor of 1×1 cells: every $\sigma(0) = 1/2$, the box of
    row 1, column 0 is centred at $((0.5 + 0)/2, (0.5 + 1)/2)$ with size $1/2$:

    >>> d = decode_yolo(jnp.zeros((1, 2, 2, 7)), [[1.0, 1.0]], num_classes=2)
    >>> d.boxes[0, 1, 0, 0].tolist(), d.objectness[0, 1, 0, 0].item(), d.scores[0, 1, 0, 0].tolist()
    ([0.25, 0.75, 0.5, 0.5], 0.5, [0.25, 0.25])
    >>> decode_yolo(jnp.zeros((1, 2, 2, 7)), [[1.0, 1.0]], num_classes=2,
    ...             class_activation="softmax").class_probs[0, 0, 0, 0].tolist()
    [0.5, 0.5]
    """
    c = positive_int(num_classes, "num_classes")
    if class_activation not in CLASS_ACTIVATIONS:
        raise SymconvError(
            f"class_activation={class_activation!r} is not one of {CLASS_ACTIVATIONS} "
            f"('logistic': YOLOv3 multi-label, 'softmax': YOLOv2)"
        )
    head = as_float(head)
    anchors = _check_anchors(anchors)
    if head.ndim != 4:
        raise ShapeMismatchError(
            f"head has shape {head.shape}; expected NHWC (B, H, W, A*(5+C)), 4 axes"
        )
    a = anchors.shape[0]
    if head.shape[-1] != a * (5 + c):
        raise ShapeMismatchError(
            f"head has {head.shape[-1]} channels; A*(5+C) = {a}*(5+{c}) = {a * (5 + c)} expected "
            f"for A={a} anchors and C={c} classes"
        )
    return _decode(head, anchors.astype(head.dtype), c, class_activation)


def _check_anchors(anchors) -> jax.Array:
    if not is_traced(anchors):
        arr = np.asarray(anchors)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ShapeMismatchError(f"anchors has shape {arr.shape}; expected (A, 2) (w, h)")
        bad = ~(np.isfinite(arr) & (arr > 0)).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise NonPositiveSizeError(
                f"anchors[{i}] = {arr[i].tolist()}: anchor widths and heights must be finite "
                f"and > 0 (in grid cells)"
            )
    anchors = as_float(anchors)
    if anchors.ndim != 2 or anchors.shape[1] != 2:
        raise ShapeMismatchError(f"anchors has shape {anchors.shape}; expected (A, 2) (w, h)")
    return anchors


@partial(jax.jit, static_argnums=(2, 3))
def _decode(head: jax.Array, anchors: jax.Array, c: int, activation: str) -> YoloDecoding:
    b, h, w, _ = head.shape
    a = anchors.shape[0]
    t = head.reshape(b, h, w, a, 5 + c)
    cx = jnp.arange(w, dtype=head.dtype)[None, None, :, None]
    cy = jnp.arange(h, dtype=head.dtype)[None, :, None, None]
    bx = (jax.nn.sigmoid(t[..., 0]) + cx) / w
    by = (jax.nn.sigmoid(t[..., 1]) + cy) / h
    bw = anchors[:, 0] * jnp.exp(t[..., 2]) / w
    bh = anchors[:, 1] * jnp.exp(t[..., 3]) / h
    logits = t[..., 5:]
    if activation == "logistic":
        probs = jax.nn.sigmoid(logits)
    else:
        probs = jax.nn.softmax(logits, axis=-1)
    return YoloDecoding(
        boxes=jnp.stack([bx, by, bw, bh], axis=-1),
        objectness=jax.nn.sigmoid(t[..., 4]),
        class_probs=probs,
    )
