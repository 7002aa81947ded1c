r"""Detection ops (:mod:`symconv.detection`) against their definitions and NumPy references.

- IoU / GIoU: hypothesis properties (symmetry, range, IoU(b, b) = 1, invariance under a joint
  translation and a joint scaling, GIoU <= IoU, GIoU in [-1, 1]).
- NMS: the jitted fixed-size kernel against ``nms_reference`` below, a straightforward NumPy
  greedy NMS (sort once, walk the sorted list with a ``suppressed`` flag per box, the
  torchvision CPU algorithm); per-class NMS against that reference run class by class and merged
  by score. Boxes have integer coordinates there, so every area is an exact float32 integer and
  both sides compute the same correctly rounded IoU: a tie with the threshold is decided the
  same way on both sides, and the kept lists must be *equal* (indices and order).
- decode: against ``decode_reference``, a loop over cells and anchors written from the YOLOv2/v3
  equations.
- anchors: on the shipped synthetic set, IoU-k-means beats Euclidean k-means in mean IoU, and
  mean IoU does not decrease with k.
- every bad input raises a ``SymconvError`` subclass whose message states the condition.

Each property that runs values compiles once: shapes are fixed (boxes padded to ``N_PAD`` with
``-inf`` scores, never selected) and examples are capped at ``VALUE_EXAMPLES``.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.detection import (
    InvalidBoxFormatError,
    InvalidThresholdError,
    NegativeBoxSizeError,
    NonFiniteBoxError,
    TooManyClustersError,
    check_boxes,
    convert_boxes,
    decode_yolo,
    euclidean_kmeans,
    giou,
    iou,
    iou_kmeans,
    mean_best_iou,
    nms,
    pairwise_giou,
    pairwise_iou,
    synthetic_box_sizes,
)
from symconv.errors import NonIntegerError, NonPositiveSizeError, ShapeMismatchError, SymconvError

VALUE_EXAMPLES = 100  # examples per property that runs JAX values (one compile per property)
PAIRS = 8  # box pairs per IoU example: one fixed shape, eight pairs checked at a time
N_PAD = 24  # NMS slots per image; n <= N_PAD real boxes, the rest padded with score -inf


# --- strategies -------------------------------------------------------------------------------


def float_boxes(n: int, *, lo: float = -50.0, hi: float = 50.0, min_size: float = 0.5,
                max_size: float = 50.0):
    """``(n, 4)`` float32 'xyxy' boxes with sizes in [min_size, max_size]."""
    coord = st.floats(lo, hi, width=32)
    size = st.floats(min_size, max_size, width=32)
    box = st.tuples(coord, coord, size, size).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))
    return st.lists(box, min_size=n, max_size=n).map(
        lambda b: np.asarray(b, np.float32).reshape(n, 4))


def grid_boxes(n: int, *, span: int = 64, max_size: int = 64, min_size: int = 0):
    """``(n, 4)`` 'xyxy' boxes with integer corners: exact float32 arithmetic everywhere."""
    box = st.tuples(st.integers(-span, span), st.integers(-span, span),
                    st.integers(min_size, max_size), st.integers(min_size, max_size))
    return st.lists(box.map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])),
                    min_size=n, max_size=n).map(lambda b: np.asarray(b, np.float32).reshape(n, 4))


# --- IoU and GIoU -----------------------------------------------------------------------------


@settings(max_examples=VALUE_EXAMPLES)
@given(float_boxes(PAIRS), float_boxes(PAIRS))
def test_iou_is_symmetric_in_unit_interval_and_giou_below_it(a, b) -> None:
    ab, ba = np.asarray(iou(a, b)), np.asarray(iou(b, a))
    np.testing.assert_array_equal(ab, ba)  # bit for bit
    assert ((0 <= ab) & (ab <= 1)).all()
    g = np.asarray(giou(a, b))
    np.testing.assert_array_equal(g, np.asarray(giou(b, a)))
    assert ((-1 <= g) & (g <= ab)).all(), (g, ab)
    np.testing.assert_array_equal(np.asarray(pairwise_iou(a, b)).diagonal(), ab)
    np.testing.assert_array_equal(np.asarray(pairwise_giou(a, b)).diagonal(), g)


@settings(max_examples=VALUE_EXAMPLES)
@given(float_boxes(PAIRS, min_size=0.0))
def test_iou_of_a_box_with_itself_is_one(a) -> None:
    # a zero-area box has union 0: IoU 0 by convention. XLA on CPU flushes subnormal floats to
    # zero, so an area below the smallest normal float32 (e.g. 1 x 1e-45) is zero there too.
    tiny = np.finfo(np.float32).tiny
    flushed = np.where(np.abs(a) < tiny, np.float32(0), a)  # subnormal coordinates read as 0
    w, h = flushed[:, 2] - flushed[:, 0], flushed[:, 3] - flushed[:, 1]
    w, h = np.where(w < tiny, 0, w), np.where(h < tiny, 0, h)
    area = w * h
    expected = np.where(area >= tiny, 1.0, 0.0)
    np.testing.assert_array_equal(np.asarray(iou(a, a)), expected)
    np.testing.assert_array_equal(np.asarray(giou(a, a)), expected)


@settings(max_examples=VALUE_EXAMPLES)
@given(grid_boxes(PAIRS), grid_boxes(PAIRS), st.integers(-64, 64), st.integers(-64, 64),
       st.integers(-3, 3))
def test_iou_invariant_under_joint_translation_and_scaling_exactly_on_a_grid(a, b, dx, dy,
                                                                              e) -> None:
    """Integer corners, integer shifts, power-of-two scales: every step is exact in float32, so
    the invariance must hold bit for bit."""
    shift = np.asarray([dx, dy, dx, dy], np.float32)
    scale = np.float32(2.0**e)
    base_i, base_g = np.asarray(iou(a, b)), np.asarray(giou(a, b))
    for ta, tb in (((a + shift), (b + shift)), (a * scale, b * scale)):
        np.testing.assert_array_equal(np.asarray(iou(ta, tb)), base_i)
        np.testing.assert_array_equal(np.asarray(giou(ta, tb)), base_g)


@settings(max_examples=VALUE_EXAMPLES)
@given(float_boxes(PAIRS, lo=-10, hi=10, min_size=1.0, max_size=10.0),
       float_boxes(PAIRS, lo=-10, hi=10, min_size=1.0, max_size=10.0),
       st.floats(-20, 20, width=32), st.floats(-20, 20, width=32), st.floats(0.25, 4, width=32))
def test_iou_invariant_under_joint_translation_and_scaling_to_rounding(a, b, dx, dy, s) -> None:
    """Arbitrary float shifts and scales change the coordinates by rounding only: coordinates
    below 40 in magnitude move by at most 40 * 2^-24 < 3e-6 (x4 after scaling), sides are >= 1,
    so each IoU moves by far less than 1e-4."""
    shift = np.asarray([dx, dy, dx, dy], np.float32)
    for ta, tb in ((a + shift, b + shift), (a * np.float32(s), b * np.float32(s))):
        np.testing.assert_allclose(np.asarray(iou(ta, tb)), np.asarray(iou(a, b)), atol=1e-4)
        np.testing.assert_allclose(np.asarray(giou(ta, tb)), np.asarray(giou(a, b)), atol=1e-4)


def test_iou_and_giou_known_values_and_broadcasting() -> None:
    a = jnp.asarray([[0, 0, 2, 2], [0, 0, 1, 1]], jnp.float32)
    b = jnp.asarray([[1, 0, 3, 2], [3, 0, 4, 1]], jnp.float32)
    np.testing.assert_allclose(np.asarray(iou(a, b)), [1 / 3, 0.0], rtol=1e-6)
    # GIoU of disjoint unit squares 2 apart: 0 - (4 - 2) / 4 = -1/2
    np.testing.assert_allclose(np.asarray(giou(a, b)), [1 / 3, -0.5], rtol=1e-6)
    # (2, 1, 4) against (1, 2, 4) broadcasts to (2, 2); pairwise gives the same (2, 2)
    np.testing.assert_array_equal(np.asarray(iou(a[:, None], b[None])),
                                  np.asarray(pairwise_iou(a, b)))
    # xywh and ltwh give the same numbers as xyxy
    for fmt in ("xywh", "ltwh"):
        np.testing.assert_allclose(np.asarray(iou(convert_boxes(a, "xyxy", fmt),
                                                  convert_boxes(b, "xyxy", fmt), fmt)),
                                   np.asarray(iou(a, b)), rtol=1e-6)


@settings(max_examples=VALUE_EXAMPLES)
@given(float_boxes(PAIRS, min_size=0.0))
def test_box_conversions_round_trip(a) -> None:
    for fmt in ("xywh", "ltwh"):
        back = np.asarray(convert_boxes(convert_boxes(a, "xyxy", fmt), fmt, "xyxy"))
        np.testing.assert_allclose(back, a, atol=1e-5)


# --- NMS: the jitted kernel against a straightforward NumPy greedy NMS -------------------------


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one 'xyxy' box with each row of ``boxes``, float32, union 0 -> 0."""
    iw = np.maximum(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0)
    ih = np.maximum(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0)
    inter = iw * ih
    union = ((box[2] - box[0]) * (box[3] - box[1])
             + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter)
    out = np.zeros(len(boxes), np.float32)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def nms_reference(boxes, scores, iou_threshold, score_threshold=-math.inf,
                  max_outputs=None) -> list[int]:
    """Greedy NMS, class-agnostic: walk the boxes by descending score (ties: lower index first,
    a stable sort), keep a box unless a kept box already suppressed it, and suppress every box
    whose IoU with the kept one exceeds the threshold."""
    boxes = np.asarray(boxes, np.float32)
    scores = np.asarray(scores, np.float32)
    order = np.argsort(-scores, kind="stable")
    suppressed = np.zeros(len(scores), bool)
    keep: list[int] = []
    for i in order:
        if suppressed[i] or not scores[i] > score_threshold:  # NaN fails ">": never kept
            continue
        keep.append(int(i))
        if max_outputs is not None and len(keep) == max_outputs:
            break
        suppressed |= iou_one_to_many(boxes[i], boxes) > np.float32(iou_threshold)
    return keep


def nms_reference_per_class(boxes, scores, classes, iou_threshold, score_threshold=-math.inf,
                            max_outputs=None) -> list[int]:
    """Per-class greedy NMS: the class-agnostic reference on each class alone, the survivors of
    all classes merged by descending score (ties: lower index), then cut to ``max_outputs``."""
    scores = np.asarray(scores, np.float32)
    classes = np.asarray(classes)
    kept: list[int] = []
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        local = nms_reference(np.asarray(boxes)[members], scores[members], iou_threshold,
                              score_threshold)
        kept.extend(int(members[i]) for i in local)
    kept.sort(key=lambda i: (-scores[i], i))
    return kept[:max_outputs]


@st.composite
def nms_problems(draw, *, batch: int = 2, num_classes: int = 3):
    """A batch of images, each with n <= N_PAD integer-corner boxes padded to N_PAD; scores from
    a few values (so ties are common), class ids, and thresholds including the ends 0 and 1."""
    boxes = np.zeros((batch, N_PAD, 4), np.float32)
    scores = np.full((batch, N_PAD), -np.inf, np.float32)
    classes = np.zeros((batch, N_PAD), np.int32)
    sizes = []
    for b in range(batch):
        n = draw(st.integers(0, N_PAD))
        boxes[b, :n] = draw(grid_boxes(n, span=16, max_size=24))
        scores[b, :n] = draw(st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9, 1.0]),
                                      min_size=n, max_size=n))
        classes[b, :n] = draw(st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n))
        sizes.append(n)
    iou_threshold = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1, width=32)))
    score_threshold = draw(st.sampled_from([-math.inf, 0.1, 0.5]))
    return boxes, scores, classes, sizes, iou_threshold, score_threshold


@pytest.mark.parametrize("max_outputs", [5, N_PAD])
@pytest.mark.parametrize("per_class", [False, True], ids=["agnostic", "per_class"])
@settings(max_examples=VALUE_EXAMPLES)
@given(problem=nms_problems())
def test_nms_matches_numpy_greedy(problem, per_class: bool, max_outputs: int) -> None:
    boxes, scores, classes, sizes, thr, score_thr = problem
    result = nms(boxes, scores, max_outputs=max_outputs, iou_threshold=thr,
                 score_threshold=score_thr, classes=classes if per_class else None)
    for b, n in enumerate(sizes):
        if per_class:
            want = nms_reference_per_class(boxes[b, :n], scores[b, :n], classes[b, :n], thr,
                                           score_thr, max_outputs)
        else:
            want = nms_reference(boxes[b, :n], scores[b, :n], thr, score_thr, max_outputs)
        got = np.asarray(result.indices[b])
        assert int(result.count[b]) == len(want)
        assert got[: len(want)].tolist() == want  # same boxes, same order
        assert (got[len(want):] == -1).all()
        assert np.asarray(result.valid[b]).tolist() == [i < len(want) for i in range(max_outputs)]


@pytest.mark.parametrize("per_class", [False, True], ids=["agnostic", "per_class"])
def test_nms_matches_numpy_greedy_on_random_float_boxes(per_class: bool) -> None:
    """200 boxes with float corners, continuous scores, no padding, one seed."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (200, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 30, (200, 2))], 1).astype(np.float32)
    scores = rng.uniform(size=200).astype(np.float32)
    classes = rng.integers(0, 4, 200).astype(np.int32)
    r = nms(boxes, scores, max_outputs=200, iou_threshold=0.45,
            classes=classes if per_class else None)
    want = (nms_reference_per_class(boxes, scores, classes, 0.45) if per_class
            else nms_reference(boxes, scores, 0.45))
    assert np.asarray(r.indices)[: int(r.count)].tolist() == want


def test_nms_runs_under_jit_with_traced_thresholds() -> None:
    """Inside jax.jit the thresholds are tracers: not validated (assumed valid), same result."""
    boxes = np.asarray([[0, 0, 2, 2], [0, 0, 2, 1.9], [3, 3, 4, 4], [0, 1, 2, 3]], np.float32)
    scores = np.asarray([0.9, 0.8, 0.7, 0.6], np.float32)

    @jax.jit
    def run(b, s, t, u):
        return nms(b, s, max_outputs=3, iou_threshold=t, score_threshold=u)

    jitted = run(boxes, scores, 0.5, 0.65)
    eager = nms(boxes, scores, max_outputs=3, iou_threshold=0.5, score_threshold=0.65)
    assert np.asarray(jitted.indices).tolist() == np.asarray(eager.indices).tolist() == [0, 2, -1]
    assert int(jitted.count) == 2


def test_nms_with_no_boxes_returns_empty_slots() -> None:
    r = nms(np.zeros((2, 0, 4), np.float32), np.zeros((2, 0), np.float32), max_outputs=3)
    assert np.asarray(r.indices).tolist() == [[-1, -1, -1]] * 2
    assert np.asarray(r.count).tolist() == [0, 0]


# --- decode: against a loop over cells and anchors ---------------------------------------------


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode_reference(head: np.ndarray, anchors: np.ndarray, num_classes: int, activation: str):
    """YOLOv2/v3 decoding cell by cell: b_x = (σ(t_x) + c_x)/W, b_y = (σ(t_y) + c_y)/H,
    b_w = p_w e^{t_w}/W, b_h = p_h e^{t_h}/H, objectness σ(t_o), classes σ or softmax."""
    head = head.astype(np.float64)
    n, h, w, _ = head.shape
    a, c = len(anchors), num_classes
    boxes = np.zeros((n, h, w, a, 4))
    obj = np.zeros((n, h, w, a))
    probs = np.zeros((n, h, w, a, c))
    for b in range(n):
        for row in range(h):
            for col in range(w):
                for k in range(a):
                    t = head[b, row, col, k * (5 + c):(k + 1) * (5 + c)]
                    boxes[b, row, col, k] = [(sigmoid(t[0]) + col) / w, (sigmoid(t[1]) + row) / h,
                                             anchors[k][0] * np.exp(t[2]) / w,
                                             anchors[k][1] * np.exp(t[3]) / h]
                    obj[b, row, col, k] = sigmoid(t[4])
                    logits = t[5:]
                    if activation == "logistic":
                        probs[b, row, col, k] = sigmoid(logits)
                    else:
                        e = np.exp(logits - logits.max())
                        probs[b, row, col, k] = e / e.sum()
    return boxes, obj, probs


@pytest.mark.parametrize("activation", ["logistic", "softmax"])
def test_decode_matches_numpy_reference(activation: str) -> None:
    """A non-square grid (H=3, W=4) so that a swap of rows and columns cannot pass."""
    rng = np.random.default_rng(1)
    anchors = np.asarray([[1.08, 1.19], [3.42, 4.41], [6.63, 11.38]], np.float32)  # YOLOv2 VOC
    c = 4
    head = rng.normal(size=(2, 3, 4, len(anchors) * (5 + c))).astype(np.float32)
    d = decode_yolo(head, anchors, num_classes=c, class_activation=activation)
    boxes, obj, probs = decode_reference(head, anchors, c, activation)
    np.testing.assert_allclose(np.asarray(d.boxes), boxes, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(d.objectness), obj, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(d.class_probs), probs, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(d.scores), obj[..., None] * probs, rtol=4e-6, atol=1e-6)
    sums = np.asarray(d.class_probs).sum(-1)
    if activation == "softmax":
        np.testing.assert_allclose(sums, 1.0, rtol=1e-6)
    else:  # multi-label: independent per class, the sum is free to exceed 1
        assert (sums > 1).any()
    flat_boxes, best, cls = d.candidates()
    assert flat_boxes.shape == (2, 3 * 4 * 3, 4) and best.shape == cls.shape == (2, 36)
    # candidate (row 2, column 1, anchor 0) is row-major index (2 * 4 + 1) * 3 + 0 = 27
    np.testing.assert_allclose(np.asarray(flat_boxes[1, 27]),
                               np.asarray(convert_boxes(boxes[1, 2, 1, 0], "xywh", "xyxy")),
                               rtol=2e-6, atol=1e-6)
    assert int(cls[1, 27]) == int(np.argmax(obj[1, 2, 1, 0] * probs[1, 2, 1, 0]))


# --- anchors: k-means with 1 - IoU against Euclidean k-means ----------------------------------

SYNTHETIC = synthetic_box_sizes(jax.random.key(0))  # the shipped synthetic set: 2,000 boxes


def test_synthetic_box_sizes_are_reproducible_and_in_range() -> None:
    again = synthetic_box_sizes(jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(SYNTHETIC), np.asarray(again))
    assert SYNTHETIC.shape == (2000, 2)
    assert ((np.asarray(SYNTHETIC) > 0) & (np.asarray(SYNTHETIC) <= 1)).all()
    assert not np.array_equal(np.asarray(synthetic_box_sizes(jax.random.key(1))),
                              np.asarray(SYNTHETIC))


def test_iou_kmeans_beats_euclidean_kmeans_and_improves_with_k() -> None:
    """One k-means++ start per fit (restarts=1), three keys: no restarts were needed for
    either property on this set. k = 1..9 share one compiled program per metric."""
    for seed in range(3):
        key = jax.random.key(seed)
        by_k = {k: iou_kmeans(SYNTHETIC, k, key=key) for k in range(1, 10)}
        means = [float(by_k[k].mean_iou) for k in range(1, 10)]
        assert all(x <= y for x, y in itertools.pairwise(means)), means
        for k in (5, 9):
            euclid = euclidean_kmeans(SYNTHETIC, k, key=key)
            assert float(by_k[k].mean_iou) >= float(euclid.mean_iou), (seed, k)
            for fit in (by_k[k], euclid):
                assert fit.anchors.shape == (k, 2)
                areas = np.prod(np.asarray(fit.anchors), axis=1)
                assert (np.diff(areas) >= 0).all()  # sorted by area
                np.testing.assert_allclose(float(fit.mean_iou),
                                           float(mean_best_iou(SYNTHETIC, fit.anchors)),
                                           rtol=1e-6)
                assert set(np.unique(np.asarray(fit.assignments))) <= set(range(k))
    # k = 1: every box joins the one cluster, whose centroid is the mean of all boxes
    np.testing.assert_allclose(np.asarray(by_k[1].anchors),
                               np.asarray(SYNTHETIC).mean(0, keepdims=True), rtol=1e-5)


def test_kmeans_is_deterministic_for_a_key() -> None:
    a = iou_kmeans(SYNTHETIC, 5, key=jax.random.key(7))
    b = iou_kmeans(SYNTHETIC, 5, key=jax.random.key(7))
    np.testing.assert_array_equal(np.asarray(a.anchors), np.asarray(b.anchors))
    np.testing.assert_array_equal(np.asarray(a.assignments), np.asarray(b.assignments))


# --- bad inputs ---------------------------------------------------------------------------------

GOOD = np.asarray([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
NEGATIVE_WIDTH = np.asarray([[0, 0, 2, 2], [3, 1, 1, 3]], np.float32)  # x2 < x1 in row 1
SIZES = np.asarray([[1, 1], [2, 2], [3, 3]], np.float32)
HEAD = np.zeros((1, 2, 2, 2 * (5 + 3)), np.float32)
ANCHORS = np.asarray([[1, 1], [2, 2]], np.float32)


def bad(thunk, error, fragment, id):  # `id` mirrors pytest.param
    return pytest.param(thunk, error, fragment, id=id)


BAD_INPUTS = [
    bad(lambda: iou(NEGATIVE_WIDTH, GOOD), NegativeBoxSizeError,
        "boxes1[1] = [3.0, 1.0, 1.0, 3.0] ('xyxy') has negative width x2 < x1", "iou-negative-w"),
    bad(lambda: pairwise_giou(GOOD, NEGATIVE_WIDTH), NegativeBoxSizeError, "boxes2[1]",
        "giou-negative-w"),
    bad(lambda: check_boxes([[0, 0, 1, -2]], "ltwh"), NegativeBoxSizeError, "negative height h=-2",
        "ltwh-negative-h"),
    bad(lambda: check_boxes([[0, 0, np.nan, 1]]), NonFiniteBoxError, "NaN or infinite",
        "nan-coordinate"),
    bad(lambda: check_boxes(np.zeros((2, 3))), ShapeMismatchError, "the last axis must be 4",
        "not-4-coordinates"),
    bad(lambda: convert_boxes(GOOD, "cxcywh", "xyxy"), InvalidBoxFormatError,
        "src='cxcywh' is not a box format", "unknown-format"),
    bad(lambda: nms(NEGATIVE_WIDTH, [0.5, 0.4], max_outputs=2), NegativeBoxSizeError,
        "has negative width", "nms-negative-w"),
    bad(lambda: nms(GOOD, [0.5, 0.4], max_outputs=2, iou_threshold=-0.1), InvalidThresholdError,
        "iou_threshold=-0.1 must be in [0, 1]", "iou-threshold-below-0"),
    bad(lambda: nms(GOOD, [0.5, 0.4], max_outputs=2, iou_threshold=1.5), InvalidThresholdError,
        "iou_threshold=1.5 must be in [0, 1]", "iou-threshold-above-1"),
    bad(lambda: nms(GOOD, [0.5, 0.4], max_outputs=2, iou_threshold=math.nan),
        InvalidThresholdError, "must not be NaN", "iou-threshold-nan"),
    bad(lambda: nms(GOOD, [0.5, 0.4], max_outputs=2, score_threshold=math.nan),
        InvalidThresholdError, "score_threshold=nan must not be NaN", "score-threshold-nan"),
    bad(lambda: nms(GOOD, [0.5, 0.4], max_outputs=0), NonPositiveSizeError,
        "max_outputs=0 must be >= 1", "max-outputs-0"),
    bad(lambda: nms(GOOD, [0.5, 0.4, 0.3], max_outputs=2), ShapeMismatchError,
        "scores has shape (3,); expected (2,)", "nms-score-shape"),
    bad(lambda: iou_kmeans(SIZES, 4, key=jax.random.key(0)), TooManyClustersError,
        "k=4 clusters requested but there are only n=3 boxes", "k-above-n"),
    bad(lambda: euclidean_kmeans(SIZES, 4, key=jax.random.key(0)), TooManyClustersError,
        "need k <= n", "euclidean-k-above-n"),
    bad(lambda: iou_kmeans(SIZES, 0, key=jax.random.key(0)), NonPositiveSizeError,
        "k=0 must be >= 1", "k-0"),
    bad(lambda: iou_kmeans(SIZES, -2, key=jax.random.key(0)), NonPositiveSizeError,
        "k=-2 must be >= 1", "k-negative"),
    bad(lambda: iou_kmeans(SIZES, 2.5, key=jax.random.key(0)), NonIntegerError,
        "k=2.5 must be an integer", "k-float"),
    bad(lambda: iou_kmeans([[1, 1], [-1, 2]], 1, key=jax.random.key(0)), NonPositiveSizeError,
        "sizes[1] = [-1, 2]", "kmeans-negative-width"),
    bad(lambda: decode_yolo(HEAD, ANCHORS, num_classes=4), ShapeMismatchError,
        "A*(5+C) = 2*(5+4) = 18 expected", "decode-channels"),
    bad(lambda: decode_yolo(HEAD, [[1, 1], [0, 2]], num_classes=3), NonPositiveSizeError,
        "anchors[1] = [0, 2]", "decode-zero-anchor"),
    bad(lambda: decode_yolo(HEAD, ANCHORS, num_classes=3, class_activation="relu"),
        SymconvError, "class_activation='relu' is not one of", "decode-activation"),
    bad(lambda: decode_yolo(HEAD[0], ANCHORS, num_classes=3), ShapeMismatchError,
        "expected NHWC", "decode-not-4d"),
]


@pytest.mark.parametrize("thunk, error, fragment", BAD_INPUTS)
def test_bad_input_raises_symconv_error_stating_the_condition(thunk, error, fragment) -> None:
    with pytest.raises(error) as info:
        thunk()
    assert isinstance(info.value, SymconvError) and isinstance(info.value, ValueError)
    assert fragment in str(info.value)


def test_check_boxes_refuses_a_tracer_and_jitted_code_assumes_valid_input() -> None:
    with pytest.raises(SymconvError, match="tracer"):
        jax.jit(check_boxes)(GOOD)
    # traced boxes are not validated: a negative-width box gives IoU 0 instead of an error
    value = jax.jit(iou)(NEGATIVE_WIDTH, GOOD)
    assert float(value[1]) == 0.0
