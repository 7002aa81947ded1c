r"""What a YOLO head predicts, in closed form (Redmon et al. 2016; Redmon & Farhadi 2017, 2018).

YOLOv1 divides the image into an $S \times S$ grid; each cell predicts $B$ boxes of
$(x, y, w, h, \text{confidence})$ and one set of $C$ class probabilities shared by its boxes:

.. math::  d_{v1} = 5B + C, \qquad \text{output} = S \times S \times (5B + C).

YOLOv2 and v3 predict, per cell and per anchor, 4 offsets, an objectness score and $C$ class
scores, so the depth is

.. math::  d_{v2/v3} = B\,(5 + C),

and v3 does so at several scales, with strides $s_i$ on an $n \times n$ input (each $s_i$ must
divide $n$): the number of predicted boxes is

.. math::  N_{boxes}(n) = \sum_i B \left(\frac{n}{s_i}\right)^2
           \;=\; 3 n^2 \left(\tfrac{1}{32^2} + \tfrac{1}{16^2} + \tfrac{1}{8^2}\right)
           = \tfrac{63}{1024} n^2 \quad (B = 3,\ s = 32, 16, 8).

Class scores: a softmax over $C$ classes sums to one, so at most one class can score above
$\tfrac12$; per-class logistic outputs (v3) are independent, so any subset of the $C$ classes can.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.errors import ShapeMismatchError, SymconvError


def v1_depth(boxes: Dim = 2, classes: Dim = 20) -> Dim:
    r"""Channels per cell of YOLOv1: $5B + C$."""
    b, c = as_dim(boxes, "boxes per cell B"), as_dim(classes, "classes C")
    return out(5 * b + c)


def v1_output(grid: Dim = 7, boxes: Dim = 2, classes: Dim = 20) -> tuple[Dim, Dim, Dim]:
    r"""YOLOv1's output tensor $S \times S \times (5B + C)$."""
    s = as_dim(grid, "grid S")
    return (s, s, v1_depth(boxes, classes))


def anchor_depth(anchors: Dim = 3, classes: Dim = 80) -> Dim:
    r"""Channels per cell of YOLOv2/v3: $B(5 + C)$ (4 offsets, objectness, $C$ scores per
    anchor)."""
    b, c = as_dim(anchors, "anchors per cell B"), as_dim(classes, "classes C")
    return out(b * (5 + c))


def grid_sizes(side: Dim, strides: Sequence[int] = (32, 16, 8)) -> tuple[Dim, ...]:
    r"""Grid side $n / s_i$ per scale; a concrete $n$ not divisible by some $s_i$ is an error."""
    n = as_dim(side, "input side")
    if not strides:
        raise SymconvError("grid_sizes: give at least one stride")
    for s in strides:
        as_dim(s, "stride")
        if isinstance(n, int) and n % s:
            lo, hi = n - n % s, n - n % s + max(strides)
            raise ShapeMismatchError(
                f"input side {n} is not divisible by the network stride {s}; YOLO needs a "
                f"multiple of {max(strides)} (e.g. {max(lo, max(strides))} or {hi})")
    return tuple(out(sp.Integer(1) * n / s) if not isinstance(n, int) else n // s
                 for s in strides)


def box_count(side: Dim, anchors: Dim = 3, strides: Sequence[int] = (32, 16, 8)) -> Dim:
    r"""Predicted boxes over all scales: $\sum_i B\,(n/s_i)^2$."""
    b = as_dim(anchors, "anchors per cell B")
    return out(sp.expand(sum(b * g ** 2 for g in grid_sizes(side, strides))))


def class_outputs(classes: Dim, rule: str) -> Dim:
    r"""Class scores per predicted box: $C$ either way (softmax or logistic), the difference is
    in how they are normalised, not how many there are."""
    if rule not in ("softmax", "logistic"):
        raise SymconvError(f"class_outputs: rule={rule!r} must be 'softmax' or 'logistic'")
    return as_dim(classes, "classes C")


def max_confident_classes(classes: int, rule: str, threshold: float = 0.5) -> int:
    r"""The most classes that can score above ``threshold`` at once: $C$ with independent
    logistics; with a softmax (scores sum to 1), $\lceil 1/t \rceil - 1$ for $t = $ threshold,
    capped at $C$ (one class for $t \ge \tfrac12$)."""
    c = as_dim(classes, "classes C")
    if not 0 < threshold < 1:
        raise SymconvError(f"threshold={threshold!r} must be in (0, 1)")
    if rule == "logistic":
        return c
    if rule == "softmax":
        return min(c, int(sp.ceiling(1 / sp.nsimplify(threshold))) - 1)
    raise SymconvError(f"max_confident_classes: rule={rule!r} must be 'softmax' or 'logistic'")
