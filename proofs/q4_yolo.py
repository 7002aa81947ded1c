"""Q4: YOLO v1-v3 — output depths and box counts (a), logistic class scores and objectness (b),
non-maximum suppression and grid-cell assignment on a worked example (c), anchor k-means and the
logistic centre constraint (d), and the architectures in numbers (e).

Every number the source states is in a Claim's ``stated`` field only; the derived values come from
``symconv.algebra.nets.yolo_head`` and the registry's algebra, and the checks compare them with the
Flax models (``jax.eval_shape``, ``nnx.state`` of abstract models), ``symconv.detection`` and small
NumPy re-implementations written here (IoU, greedy NMS, softmax/sigmoid, k-means fixed point).
Nothing large is compiled or allocated: models are built with ``xla.abstract``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.checks import xla
from symconv.algebra import Conv2D, Dense
from symconv.algebra.darknet_layers import DarknetResidual
from symconv.algebra.nets.darknet import (YoloV1Config, YoloV2Config, darknet19_stack,
                                          darknet53_stack, yolov1_stack)
from symconv.algebra.nets.yolo import yolov2_graph
from symconv.algebra.composite import Graph
from symconv.algebra.nets.yolo_head import (anchor_depth, box_count, grid_sizes,
                                       max_confident_classes, v1_depth, v1_output)
from symconv.detection import (convert_boxes, decode_yolo, euclidean_kmeans, iou_kmeans,
                               mean_best_iou, nms, pairwise_iou)
from symconv.errors import ShapeMismatchError
from symconv.models.registry import MODELS
from symconv.models.units import ResidualUnit
from symconv.models.yolo import YoloV1, YoloV2
from symconv.report.proof import (Check, Claim, Derivation, Figure, Proof, Step, human, sample_check,
                           values_equal)

Q = "Q4"
C = 80  # classes, as in the question (COCO)
# The source's numbers (transcribed; never used as expectations).
STATED = {"v1_depth": 90, "v3_depth": 255, "v3_per_box": 85, "v3_scales": 3,
          "v3_anchors_per_cell": 3}
B_, C_, A_, n_ = sp.symbols("B C A n", integer=True, positive=True)
t_ = sp.Symbol("t", real=True)


def _check(side: str, description: str, points: str, passed, detail: str = "") -> Check:
    """A Check whose ``passed`` is a Python bool (comparisons of NumPy scalars give NumPy's)."""
    return Check(side, description, points, bool(passed), detail)


def _s(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


# --- independent NumPy / plain-Python sides ------------------------------------------------------

def _v1_layout(b: int, c: int) -> list[str]:
    """YOLOv1's channels of one cell, named: B boxes of (x, y, w, h, confidence), then C class
    probabilities shared by the cell (Redmon et al. 2016, Sec. 2)."""
    return ([f"box{i}.{f}" for i in range(b) for f in ("x", "y", "w", "h", "conf")]
            + [f"P(class{j}|object)" for j in range(c)])


def _v3_layout(a: int, c: int) -> list[str]:
    """YOLOv2/v3's channels of one cell, named: per anchor t_x, t_y, t_w, t_h, t_o, then C class
    scores (Darknet's order)."""
    return [f"anchor{i}.{f}" for i in range(a)
            for f in ("tx", "ty", "tw", "th", "obj", *(f"cls{j}" for j in range(c)))]


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _np_softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_iou(a, b) -> float:
    """IoU of two xyxy boxes, in float64."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _exact_iou(a, b) -> Fraction:
    """IoU of two integer xyxy boxes as an exact fraction."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return Fraction(inter, (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _np_nms(boxes, scores, tau: float, classes=None) -> list[int]:
    """Textbook greedy NMS: sort by score (ties to the lower index), keep the best remaining box,
    drop the rest that overlap it by IoU > tau (of its own class when ``classes`` is given)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if all(_np_iou(boxes[i], boxes[j]) <= tau
               or (classes is not None and classes[i] != classes[j]) for j in kept):
            kept.append(i)
    return kept


def _np_wh_iou(sizes, anchors):
    s, a = np.asarray(sizes, np.float64)[:, None, :], np.asarray(anchors, np.float64)[None]
    inter = np.minimum(s[..., 0], a[..., 0]) * np.minimum(s[..., 1], a[..., 1])
    return inter / (s[..., 0] * s[..., 1] + a[..., 0] * a[..., 1] - inter)


# --- (a) output depth per cell --------------------------------------------------------------------

def _decode_shapes(grid: int, depth: int, candidates: bool = False):
    """Shapes of ``decode_yolo`` on a (1, grid, grid, depth) head, 3 anchors, C = 80, by
    ``jax.eval_shape`` (traced, not compiled)."""
    def f(head):
        d = decode_yolo(head, jnp.ones((3, 2)), num_classes=C)
        return d.candidates() if candidates else d

    return jax.eval_shape(f, jax.ShapeDtypeStruct((1, grid, grid, depth), jnp.float32))


DEPTH_POINTS = [{"B": b, "C": c} for b in (1, 2, 3, 5) for c in (1, 20, 80)]


def _part_a(models: dict) -> list[Claim]:
    """Part (a); ``models`` holds the model-side checks and the cost claim
    (:func:`_model_checks_a`)."""
    d1, d3 = v1_depth(2, C), anchor_depth(3, C)
    claims = [Claim(
        "q4a.v1_depth", Q, "a", "YOLOv1 with B = 2 boxes per cell and C = 80 classes: "
        "B x 5 + C = 2 x 5 + 80 = 90 channels per cell.", STATED["v1_depth"], d1,
        Derivation((Step("formula", "d_{v1}", v1_depth(B_, C_)),
                    Step("substitution", "d_{v1}", v1_depth(B_, C_), {B_: "2", C_: "80"}),
                    Step("result", "d_{v1}", d1))),
        (sample_check("numpy", "channels of YOLOv1's cell layout, named one by one "
                      "(B x (x, y, w, h, conf), then C class probabilities) and counted",
                      DEPTH_POINTS, lambda p: int(v1_depth(p["B"], p["C"])),
                      lambda p: len(_v1_layout(p["B"], p["C"]))),
         *models["v1_depth_checks"]),
        unit="channels")]
    dec = _decode_shapes(13, d3)
    try:
        _decode_shapes(13, d3 - 1)
        rejects = False
    except ShapeMismatchError:
        rejects = True
    claims.append(Claim(
        "q4a.v3_depth", Q, "a", "YOLOv3 with B = 3 boxes per cell (per scale) and C = 80: "
        "B x (4 + 1 + C) = 3 x 85 = 255 channels per cell.", STATED["v3_depth"], d3,
        Derivation((Step("formula", "d_{v3}", anchor_depth(A_, C_)),
                    Step("substitution", "d_{v3}", anchor_depth(A_, C_), {A_: "3", C_: "80"}),
                    Step("result", "d_{v3}", d3))),
        (sample_check("numpy", "channels of YOLOv3's cell layout, named one by one "
                      "(per anchor t_x, t_y, t_w, t_h, t_o, C class scores) and counted",
                      [{"A": p["B"], "C": p["C"]} for p in DEPTH_POINTS],
                      lambda p: int(anchor_depth(p["A"], p["C"])),
                      lambda p: len(_v3_layout(p["A"], p["C"]))),
         _check("model", "symconv.detection.decode_yolo takes a 13x13x255 head as 3 anchors x "
                "(4 box + 1 objectness + 80 classes) and rejects 254 channels", "A=3, C=80",
                dec.boxes.shape == (1, 13, 13, 3, 4) and dec.class_probs.shape[-1] == C
                and dec.objectness.shape == (1, 13, 13, 3) and rejects,
                f"boxes {dec.boxes.shape}, class_probs {dec.class_probs.shape}"),
         *models["v3_depth_checks"]),
        unit="channels"))
    per_box = sp.Integer(anchor_depth(1, C))
    claims.append(Claim(
        "q4a.v3_per_box", Q, "a", "Each YOLOv3 box outputs 4 coordinates, 1 objectness score "
        "and 80 class probabilities: 4 + 1 + C = 85.", STATED["v3_per_box"], per_box,
        Derivation((Step("per anchor", "d_{v3} / B", sp.simplify(anchor_depth(A_, C_) / A_)),
                    Step("C = 80", "d_{v3} / B", per_box))),
        (_check("model", "decode_yolo's per-anchor split: 4 box + 1 objectness + C class "
                "entries", "A=3, C=80",
                dec.boxes.shape[-1] + 1 + dec.class_probs.shape[-1] == int(per_box),
                f"{dec.boxes.shape[-1]} + 1 + {dec.class_probs.shape[-1]}"),),
        unit="channels"))
    # Where the 165 extra channels come from
    b1, b3 = sp.symbols("B_1 B_3", integer=True, positive=True)
    diff = sp.expand(anchor_depth(b3, C_) - v1_depth(b1, C_))
    split = 5 * (b3 - b1) + (b3 - 1) * C_
    lay1, lay3 = _v1_layout(2, C), _v3_layout(3, C)
    cls1 = sum(1 for x in lay1 if x.startswith("P(class"))
    cls3 = sum(1 for x in lay3 if ".cls" in x)
    claims.append(Claim(
        "q4a.depth_difference", Q, "a", "The difference in depth comes from more boxes per "
        "cell, an objectness score per box and class probabilities per box (not per cell).",
        None, d3 - d1,
        Derivation((Step("difference", "d_{v3} - d_{v1}", diff),
                    Step("regrouped", "d_{v3} - d_{v1}", split),
                    Step("B_1 = 2, B_3 = 3, C = 80", "d_{v3} - d_{v1}",
                         sp.Add(sp.Integer(5 * (3 - 2)), sp.Integer((3 - 1) * C),
                                evaluate=False)),
                    Step("result", "d_{v3} - d_{v1}", d3 - d1))),
        (_check("sympy", "B_3(5 + C) - (5 B_1 + C) - [5(B_3 - B_1) + (B_3 - 1)C] simplifies to 0",
                "all B_1, B_3, C", sp.simplify(diff - split) == 0),
         _check("numpy", "class channels in the named layouts: v3 minus v1", "B=2 vs 3, C=80",
                cls3 - cls1 == (3 - 1) * C and len(lay3) - len(lay1) == d3 - d1,
                f"{cls3} - {cls1} = {cls3 - cls1} class channels; "
                f"{len(lay3) - len(lay1)} in all")),
        note=f"{(3 - 1) * C} of the {d3 - d1} extra channels are class scores: v3 repeats the C "
             "scores for every box instead of sharing one set per cell. Only 5 come from the "
             "third box (4 coordinates + 1 score).", unit="channels"))
    claims.append(Claim(
        "q4a.objectness_new", Q, "a", "YOLOv3 introduces an explicit objectness score for each "
        "box.", "new in YOLOv3",
        "one score per box in both" if (v1_depth(B_, C_) - C_ == 5 * B_
                                        and sp.simplify(anchor_depth(A_, C_) / A_ - C_) == 5)
        else "new in YOLOv3",
        Derivation((Step("v1: per box", "(d_{v1} - C) / B", sp.simplify((v1_depth(B_, C_) - C_)
                                                                         / B_)),
                    Step("v3: per box", "d_{v3} / B - C", sp.simplify(anchor_depth(A_, C_) / A_
                                                                      - C_)))),
        (_check("numpy", "entries named 'conf' (v1) and 'obj' (v3) in the cell layouts",
                "B=2 vs 3, C=80",
                sum(x.endswith(".conf") for x in lay1) == 2
                and sum(x.endswith(".obj") for x in lay3) == 3,
                f"v1: {sum(x.endswith('.conf') for x in lay1)} per cell, "
                f"v3: {sum(x.endswith('.obj') for x in lay3)} per cell per scale"),),
        note="Both papers predict 4 coordinates and one score per box: YOLOv1's 'confidence' "
             "Pr(Object) x IoU (the source itself says so for v1 above), YOLOv3's objectness "
             "(trained by logistic regression). What is new in v3 is per-box class scores, and "
             "the count of scores per cell (2 -> 3 per scale), not the score itself."))
    # three scales, box count
    grids = grid_sizes(416)
    count = box_count(n_)
    count416 = box_count(416)
    dec_n = sum(_decode_shapes(g, d3, candidates=True)[0].shape[1] for g in grids)
    claims.append(Claim(
        "q4a.scales", Q, "a", "YOLOv3 performs detection at three different scales.",
        STATED["v3_scales"], len(models["v3_outputs_algebra"]),
        Derivation((Step("grid per scale", "n / s_i", sp.Tuple(*grid_sizes(n_))),
                    Step("n = 416", "n / s_i", sp.Tuple(*grids)))),
        (*models["v3_scale_checks"],
         _check("sympy", "grid sides n/32, n/16, n/8 at n = 416 are integers", "n = 416",
                all(isinstance(g, int) for g in grids), f"{grids}")),
        note="Strides 32, 16 and 8: cells of 32, 16 and 8 input pixels."))
    v1_boxes = sp.Mul(*v1_output(7, 2, C)[:2]) * 2
    claims.append(Claim(
        "q4a.box_count", Q, "a", "Boxes YOLOv3 predicts on a 416 x 416 image (three scales, "
        "3 boxes per cell per scale).", None, count416,
        Derivation((Step("formula", "N(n)", sp.Add(*[3 * g ** 2 for g in grid_sizes(n_)],
                                                      evaluate=False)),
                    Step("closed form", "N(n)", count),
                    Step("n = 416", "N", sp.Add(*[sp.Integer(3 * g * g) for g in grids],
                                                evaluate=False)),
                    Step("result", "N", count416),
                    Step("YOLOv1 (7 x 7 grid, B = 2)", "N_{v1}", v1_boxes))),
        (_check("sympy", "closed form at n = 416 equals the sum over scales", "n = 416",
                values_equal(count.subs(n_, 416), count416)),
         _check("model", "boxes from decode_yolo(...).candidates() on zero heads at 13, 26, 52",
                "A=3, C=80", dec_n == count416, f"{dec_n}"),
         *models["box_count_checks"]),
        note=f"YOLOv1 predicts {v1_boxes} boxes on its 7 x 7 grid; YOLOv3 at 416 predicts "
             f"{count416:,}, {count416 / int(v1_boxes):.0f} times as many.", unit="boxes"))
    claims += models["a_cost"]
    claims += [
        Claim("q4a.multiscale_sizes", Q, "a", "YOLOv3's multi-scale prediction enhances its "
              "ability to detect objects of different sizes.", None, None, Derivation(()),
              opinion=True,
              note="An empirical claim of the YOLOv3 paper (AP_S improves). What the scales are "
                   "in numbers is in q4a.scales."),
        Claim("q4a.more_accurate", Q, "a", "These changes make YOLOv3 more accurate and "
              "flexible.", None, None, Derivation(()), opinion=True,
              note="Accuracy is measured on a data set (the YOLOv3 paper's COCO table), not "
                   "derived; not checked here. The cost side of the trade-off is in "
                   "q4a.cost."),
    ]
    return claims


# --- (b) logistic vs softmax, objectness --------------------------------------------------------

NAMES = ("person", "woman", "man", "car", "dog")
# Logits of one box around a woman: she is a person and a woman; the rest are unlikely.
WOMAN_LOGITS = np.array([4.0, 2.5, -3.0, -6.0, -5.0])
WOMAN_OBJ = 3.0
BACKGROUND_OBJ = -4.0  # a box on background: low objectness, the class logits as above


def _head(obj: float, logits) -> jnp.ndarray:
    """A (1, 1, 1, 5 + C) head, one anchor: t = 0 box, objectness logit, class logits."""
    return jnp.asarray(np.concatenate([[0, 0, 0, 0, obj], logits])[None, None, None],
                       jnp.float32)


def _part_b():
    thr = 0.5
    one = np.ones((1, 2), np.float32)
    k = len(NAMES)
    dec = {r: decode_yolo(_head(WOMAN_OBJ, WOMAN_LOGITS), one, num_classes=k,
                          class_activation=r) for r in ("logistic", "softmax")}
    probs = {r: np.asarray(d.class_probs).reshape(-1) for r, d in dec.items()}
    ref = {"logistic": _np_sigmoid(WOMAN_LOGITS), "softmax": _np_softmax(WOMAN_LOGITS)}
    labels = {r: [NAMES[i] for i in np.flatnonzero(p > thr)] for r, p in probs.items()}
    ref_labels = {r: [NAMES[i] for i in np.flatnonzero(p > thr)] for r, p in ref.items()}
    example = "; ".join(f"{r}: {', '.join(v) or 'none'}" for r, v in labels.items())
    table_rows = [(n, probs["logistic"][i], probs["softmax"][i]) for i, n in enumerate(NAMES)]

    # Most classes above 1/2 at once, over 10,000 logit vectors (C = 80): random ones and four
    # made up: all logits 1 (every class likely), two tied leaders, one leader, all -8.
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 4, (100, 100, C)).astype(np.float32)
    logits[0, 0] = 1.0
    logits[0, 1] = -20.0
    logits[0, 1, :2] = 20.0  # a tie: softmax gives exactly 1/2 to each, which is not > 1/2
    logits[0, 2] = -20.0
    logits[0, 2, 7] = 20.0
    logits[0, 3] = -8.0  # no class at all
    heads = np.concatenate([np.zeros((100, 100, 4), np.float32),
                            rng.normal(0, 3, (100, 100, 1)).astype(np.float32), logits], -1)
    batch = {r: decode_yolo(jnp.asarray(heads[None]), one, num_classes=C, class_activation=r)
             for r in ("logistic", "softmax")}
    counts = {r: int((np.asarray(d.class_probs) > thr).sum(-1).max()) for r, d in batch.items()}
    np_counts = {"logistic": int((_np_sigmoid(logits) > thr).sum(-1).max()),
                 "softmax": int((_np_softmax(logits) > thr).sum(-1).max())}
    bound = {r: max_confident_classes(C, r, thr) for r in ("logistic", "softmax")}

    claims = [Claim(
        "q4b.max_labels", Q, "b", "YOLOv3 replaces the softmax with independent logistic "
        "classifiers, so an object can belong to several classes at once (multi-label).",
        "multi-label with logistic, one label with softmax",
        ("multi-label with logistic, one label with softmax"
         if bound["logistic"] > 1 and bound["softmax"] == 1 else
         f"logistic: at most {bound['logistic']}, softmax: at most {bound['softmax']}"),
        Derivation((Step("a softmax sums to one, so two classes cannot both exceed 1/2",
                         r"\sum_i p_i", sp.Integer(1)),
                    Step("softmax, C = 80", r"\max |\{i : p_i > 1/2\}|", bound["softmax"]),
                    Step("logistic (independent), C = 80", r"\max |\{i : \sigma(t_i) > 1/2\}|",
                         bound["logistic"])),
                   ("threshold 1/2 on the class probability",)),
        (_check("model", "most classes above 1/2 in one box, decode_yolo(class_activation="
                "'softmax' / 'logistic') on 10,000 logit vectors: random, and four made up (all "
                "ones, two tied leaders, one leader, all -8)", "C = 80, logits ~ N(0, 4^2), seed 3",
                counts["softmax"] == bound["softmax"] and counts["logistic"] == bound["logistic"],
                f"softmax: {counts['softmax']}, logistic: {counts['logistic']}"),
         _check("numpy", "same count with NumPy softmax / sigmoid in float64",
                "same logits", np_counts == counts, f"{np_counts}")),
        note="With a softmax the C probabilities sum to 1, so two of them cannot both exceed "
             "1/2: a box is forced into one class. Logistic scores are independent: all 80 "
             "can exceed 1/2 (all logits = 1 gives sigmoid(1) = 0.731 each)."),
        Claim(
        "q4b.woman_example", Q, "b", "A box around a woman, who is also a person (the YOLOv3 "
        "paper's Open Images example): which labels score above 1/2?", None, example,
        Derivation(tuple(Step(f"{n}: logit {WOMAN_LOGITS[i]:g}", r"\sigma,\ \mathrm{softmax}",
                              f"{_s(probs['logistic'][i])}, {_s(probs['softmax'][i])}")
                         for i, n in enumerate(NAMES))),
        (_check("model", "decode_yolo class probabilities, logistic and softmax",
                f"{k} classes, one box", labels == ref_labels
                and all(np.allclose(probs[r], ref[r], atol=1e-6) for r in probs),
                example),
         _check("numpy", "NumPy sigmoid / softmax in float64", "same logits",
                all(np.allclose(probs[r], ref[r], atol=1e-6) for r in probs),
                f"max |diff| {max(np.abs(probs[r] - ref[r]).max() for r in probs):.1e}")),
        note="Softmax splits the mass between person and woman and keeps only one; the "
             "logistic head says both. Classes: " + ", ".join(NAMES) + ".")]

    # objectness: class-specific score = objectness x class probability <= objectness
    bg = decode_yolo(_head(BACKGROUND_OBJ, WOMAN_LOGITS), one, num_classes=k)
    bg_scores = np.asarray(bg.scores).reshape(-1)
    bg_ref = _np_sigmoid(BACKGROUND_OBJ) * _np_sigmoid(WOMAN_LOGITS)
    sc = {r: np.asarray(d.scores) for r, d in batch.items()}
    obj = np.asarray(batch["logistic"].objectness)[..., None]
    bounded = all(bool((s <= obj + 1e-7).all()) for s in sc.values())
    suppressed = bool((bg_scores < thr).all()) and bounded
    o_, pi_ = sp.Function("sigma")(sp.Symbol("t_o")), sp.Symbol("p_i")
    claims.append(Claim(
        "q4b.objectness", Q, "b", "The objectness score suppresses predictions for samples "
        "that do not belong to any class.", "suppressed",
        "suppressed" if suppressed else "not suppressed",
        Derivation((Step("class-specific confidence", "s_i", o_ * pi_),
                    Step("since p_i <= 1", "s_i", sp.LessThan(o_ * pi_, o_)),
                    Step(f"background box, t_o = {BACKGROUND_OBJ:g}", r"\sigma(t_o)",
                         _s(float(_np_sigmoid(BACKGROUND_OBJ)), 4)),
                    Step("its best class score", r"\max_i s_i", _s(float(bg_scores.max()), 4))),
                   ("a detection needs s_i > 1/2",)),
        (_check("model", "decode_yolo(...).scores <= objectness for every class of every box",
                "10,000 random heads (C = 80), logistic and softmax", bounded),
         _check("numpy", "background box scores = sigmoid(t_o) x sigmoid(t_i) in NumPy",
                f"t_o = {BACKGROUND_OBJ:g}, woman logits",
                np.allclose(bg_scores, bg_ref, atol=1e-7),
                f"max score {bg_scores.max():.4f} (person), NumPy {bg_ref.max():.4f}")),
        note="Even with the class logits of a confident 'person, woman' box, an objectness of "
             f"{_np_sigmoid(BACKGROUND_OBJ):.3f} caps every score below it. Not new in v3: "
             "YOLOv1's per-box confidence Pr(Object) x IoU multiplies its class probabilities "
             "the same way."))
    soft_min = float(np.asarray(batch["softmax"].class_probs).max(-1).min())
    none_p = float(np.asarray(batch["logistic"].class_probs)[0, 0, 3].max())
    claims.append(Claim(
        "q4b.no_class", Q, "b", "Only independent logistic scores can say 'none of the C "
        "classes': a softmax's largest probability is at least 1/C.", None, sp.Rational(1, C),
        Derivation((Step("softmax: they sum to 1, so the largest is at least their mean",
                         r"\min_t \max_i p_i", 1 / C_),
                    Step("C = 80", r"\min_t \max_i p_i", sp.Rational(1, C)),
                    Step("logistic: each p_i -> 0 as t_i -> -oo", r"\inf_t \max_i \sigma(t_i)",
                         sp.limit(1 / (1 + sp.exp(-t_)), t_, -sp.oo)))),
        (_check("model", "smallest top softmax probability over the random logits is >= 1/80",
                "10,000 random logit vectors", soft_min >= 1 / C - 1e-7, f"{soft_min:.4f}"),
         _check("model", "logistic head, decode_yolo, all class logits -8: top probability",
                "C = 80", none_p < 1e-3, f"{none_p:.2e}")),
        note="The source's 'samples that do not belong to any class' are handled twice in v3: "
             "a low objectness, and class scores that may all be low."))
    claims.append(Claim(
        "q4b.robustness", Q, "b", "The objectness score ensures robustness to background or "
        "unlabeled data.", None, None, Derivation(()), opinion=True,
        note="A statement about training and data, not checkable in closed form. What the "
             "score does to the outputs is checked in q4b.objectness."))
    md = "| class | logit | logistic σ(t) | softmax |\n|---|---:|---:|---:|\n" + "\n".join(
        f"| {n} | {WOMAN_LOGITS[i]:g} | {lp:.3f} | {sp_:.3f} |"
        for i, (n, lp, sp_) in enumerate(table_rows))
    tex = ("\\begin{tabular}{lrrr}\\toprule class & logit & logistic $\\sigma(t)$ & softmax \\\\"
           "\\midrule\n" + "\n".join(f"{n} & {WOMAN_LOGITS[i]:g} & {lp:.3f} & {sp_:.3f} \\\\"
                                     for i, (n, lp, sp_) in enumerate(table_rows))
           + "\n\\bottomrule\\end{tabular}")
    return claims, ("Class probabilities of the woman box (labels above 1/2: " + example + ")",
                    md, tex)


# --- (c) NMS and grid-cell assignment -----------------------------------------------------------

IMAGE, GRID = 448, 7  # YOLOv1's input and grid: cells of 64 px
CLASSES = ("dog", "person", "bicycle")
# Ground truth, integer pixels (x1, y1, x2, y2), and six detections: three near the dog, two
# near the person, one bicycle that overlaps the dog.
OBJECTS = {"dog": (48, 150, 208, 360), "person": (250, 40, 360, 330),
           "bicycle": (70, 190, 230, 390)}
DETS = ((50, 148, 210, 358), (40, 160, 200, 370), (60, 140, 215, 345),
        (248, 45, 362, 325), (258, 30, 370, 320), (72, 192, 232, 388))
SCORES = (0.92, 0.81, 0.64, 0.88, 0.71, 0.77)
DET_CLASS = (0, 0, 0, 1, 1, 2)
TAU = 0.5
# Two people, one partly behind the other: distinct objects of one class.
CROWD = ((100, 100, 200, 300), (125, 110, 225, 310))


def _fmt_idx(idx) -> str:
    return "boxes " + ", ".join(str(i) for i in idx) if len(idx) else "none"


def _part_c():
    n = len(DETS)
    boxes = np.asarray(DETS, np.float32)
    ious = np.asarray(pairwise_iou(boxes, boxes))
    exact = [[_exact_iou(DETS[i], DETS[j]) for j in range(n)] for i in range(n)]
    np_ious = np.array([[_np_iou(DETS[i], DETS[j]) for j in range(n)] for i in range(n)])
    err32 = float(np.abs(ious - np.array(exact, dtype=np.float64)).max())
    err64 = float(np.abs(np_ious - np.array(exact, dtype=np.float64)).max())
    dup = [(i, j) for i in range(n) for j in range(i + 1, n) if exact[i][j] > TAU]
    runs = {}
    for mode, cls in (("agnostic", None), ("per-class", DET_CLASS)):
        r = nms(boxes, np.asarray(SCORES, np.float32), max_outputs=n, iou_threshold=TAU,
                classes=None if cls is None else np.asarray(cls, np.int32))
        runs[mode] = ([int(i) for i in np.asarray(r.indices) if i >= 0],
                      _np_nms(DETS, SCORES, TAU, cls))
    cliques = all(exact[i][j] > TAU for i in range(n) for j in range(i + 1, n)
                  if DET_CLASS[i] == DET_CLASS[j])
    best_per_class = sorted(max((i for i in range(n) if DET_CLASS[i] == c),
                                key=lambda i: SCORES[i]) for c in range(len(CLASSES)))
    crowd_iou = _exact_iou(*CROWD)
    # padded to the example's six slots with -inf scores (never kept): one compiled program
    crowd = nms(np.asarray(CROWD + ((0, 0, 1, 1),) * (n - 2), np.float32),
                np.asarray([0.9, 0.8] + [-np.inf] * (n - 2), np.float32), max_outputs=n,
                iou_threshold=TAU, classes=np.asarray([1] * n, np.int32))
    crowd_kept = [int(i) for i in np.asarray(crowd.indices) if i >= 0]

    claims = [Claim(
        "q4c.iou_pairs", Q, "c", f"Pairwise IoU of the six example detections: the pairs above "
        f"tau = {TAU} are the duplicates NMS will remove.", None,
        ", ".join(f"({i},{j})" for i, j in dup),
        Derivation((Step("IoU", r"\mathrm{IoU}(A, B)", sp.Symbol("|A \\cap B|")
                         / sp.Symbol("|A \\cup B|")),
                    Step("box 0 vs box 5 (dog vs bicycle), exact", r"\mathrm{IoU}_{0,5}",
                         sp.Rational(exact[0][5].numerator, exact[0][5].denominator)))),
        (_check("model", "symconv.detection.pairwise_iou (float32) against the exact fractions",
                "6 x 6 pairs", err32 < 1e-6, f"max |error| {err32:.1e}"),
         _check("numpy", "float64 IoU written in this proof against the exact fractions",
                "6 x 6 pairs", err64 < 1e-12, f"max |error| {err64:.1e}")),
        note="Integer pixel boxes, so each IoU is an exact fraction; the table above lists "
             "them to 3 decimals."),
        Claim(
        "q4c.nms_agnostic", Q, "c", "NMS eliminates duplicate detections by retaining only the "
        "highest-confidence box when overlapping boxes have a high IoU (class-agnostic).",
        None, _fmt_idx(runs["agnostic"][0]),
        Derivation((Step("keep the best, drop IoU > tau, repeat", "R",
                         sp.Symbol(r"\{ i \in R : \mathrm{IoU}(b_i, b_{j^*}) \le \tau \}")),
                    Step(f"tau = {TAU}", r"\mathrm{kept}", _fmt_idx(runs["agnostic"][0])))),
        (_check("model", "symconv.detection.nms against the NumPy greedy NMS in this proof",
                f"6 boxes, tau = {TAU}", runs["agnostic"][0] == runs["agnostic"][1],
                f"symconv {runs['agnostic'][0]}, NumPy {runs['agnostic'][1]}"),),
        note="One box per duplicate cluster survives, the best-scoring one; but the bicycle "
             "(box 5), a different object that overlaps the dog by IoU "
             f"{float(exact[0][5]):.3f} > {TAU}, is removed as well."),
        Claim(
        "q4c.nms_per_class", Q, "c", "Per-class NMS (a kept box removes only boxes of its own "
        "class) keeps one box per object, the overlapping bicycle included.", None,
        _fmt_idx(runs["per-class"][0]),
        Derivation((Step("per class", "R", sp.Symbol(r"\{ i \in R : \mathrm{IoU} \le \tau "
                                                     r"\lor k_i \ne k_{j^*} \}")),
                    Step(f"tau = {TAU}", r"\mathrm{kept}", _fmt_idx(runs["per-class"][0])))),
        (_check("model", "symconv.detection.nms(classes=...) against the NumPy greedy NMS",
                f"6 boxes, 3 classes, tau = {TAU}",
                runs["per-class"][0] == runs["per-class"][1],
                f"symconv {runs['per-class'][0]}, NumPy {runs['per-class'][1]}"),
         _check("numpy", "by hand: within each class every pair overlaps by IoU > tau "
                "(exact), so each class keeps exactly its best-scoring box", "3 classes",
                cliques and sorted(runs["per-class"][0]) == best_per_class,
                f"best per class: {best_per_class}")),
        note="Darknet's YOLO runs NMS per class."),
        Claim(
        "q4c.crowd", Q, "c", "NMS alone cannot keep two distinct objects of one class that "
        "overlap by more than tau (two people, one partly behind the other).", None,
        f"{len(crowd_kept)} of 2 kept",
        Derivation((Step("IoU of the two people, exact", r"\mathrm{IoU}",
                          sp.Rational(crowd_iou.numerator, crowd_iou.denominator)),
                    Step(f"> tau = {TAU}: the weaker is removed", r"\mathrm{kept}",
                         len(crowd_kept)))),
        (_check("model", "symconv.detection.nms against the NumPy greedy NMS", "2 boxes",
                crowd_kept == _np_nms(CROWD, (0.9, 0.8), TAU, (1, 1)), f"{crowd_kept}"),),
        note="So 'differentiate between distinct objects' rests on the grid-cell (and, in v2/v3, "
             "anchor) assignment at training time, not on NMS.")]
    # grid cell of each object's centre: floor(c * S / image)
    cxcy = np.asarray(convert_boxes(np.asarray(list(OBJECTS.values()), np.float32), "xyxy",
                                    "xywh"))[:, :2]
    cells = [(int(math.floor(cy / IMAGE * GRID)), int(math.floor(cx / IMAGE * GRID)))
             for cx, cy in cxcy]
    cells_int = [((y1 + y2) * GRID // (2 * IMAGE), (x1 + x2) * GRID // (2 * IMAGE))
                 for x1, y1, x2, y2 in OBJECTS.values()]
    text = ", ".join(f"{k} {r},{c}" for k, (r, c) in zip(OBJECTS, cells))
    claims += [Claim(
        "q4c.cells", Q, "c", "Distinct objects are differentiated by assigning each object to "
        "the grid cell containing its center.", None, text,
        Derivation((Step("cell (row, column)", "(i, j)",
                         sp.Tuple(sp.floor(sp.Symbol("c_y") * sp.Symbol("S") / sp.Symbol("I")),
                                  sp.floor(sp.Symbol("c_x") * sp.Symbol("S") / sp.Symbol("I")))),
                    *(Step(f"{k}: centre ({(b[0] + b[2]) / 2:g}, {(b[1] + b[3]) / 2:g})",
                           "(i, j)", sp.Tuple(*cell))
                      for (k, b), cell in zip(OBJECTS.items(), cells))),
                   (f"I = {IMAGE} px, S = {GRID}: cells of {IMAGE // GRID} px",)),
        (_check("model", "centres by symconv.detection.convert_boxes(xyxy -> xywh), cell = "
                "floor(c S / I), against integer arithmetic (x1 + x2) S // 2I", "3 objects",
                cells == cells_int, text),),
        note=f"The {len(cells)} centres fall in {len(set(cells))} different cells. "
             "The cell containing the centre is 'responsible' for the object in training; among "
             "its boxes (v1) or anchors (v2/v3) the one with the highest IoU with the object is "
             "trained on it. In YOLOv1 a cell has one set of class probabilities, so two "
             "objects centred in one cell cannot both be found (a limitation the v1 paper "
             "states)."),
        Claim("q4c.iou_training", Q, "c", "Optimizing for IoU during training ensures accurate "
              "localization and separation.", None, None, Derivation(()), opinion=True,
              note="YOLOv1-v3 regress box coordinates with squared error; IoU enters as the "
                   "confidence target (v1, v2) and in choosing the responsible predictor. "
                   "How well this localizes is an empirical matter.")]
    md = ("| box | class | score | " + " | ".join(str(j) for j in range(n)) + " |\n|---|---|---:|"
          + "---:|" * n + "\n" + "\n".join(
              f"| {i} | {CLASSES[DET_CLASS[i]]} | {SCORES[i]:.2f} | "
              + " | ".join("—" if i == j else f"{float(exact[i][j]):.3f}" for j in range(n))
              + " |" for i in range(n)))
    tex = ("\\begin{tabular}{llr" + "r" * n + "}\\toprule box & class & score & "
           + " & ".join(str(j) for j in range(n)) + " \\\\\\midrule\n" + "\n".join(
               f"{i} & {CLASSES[DET_CLASS[i]]} & {SCORES[i]:.2f} & "
               + " & ".join("--" if i == j else f"{float(exact[i][j]):.3f}" for j in range(n))
               + " \\\\" for i in range(n)) + "\n\\bottomrule\\end{tabular}")
    table = (f"Example detections (x1, y1, x2, y2 in px on a {IMAGE} x {IMAGE} image) and their "
             "pairwise IoU", md, tex)
    fig = Figure("q4c_nms", "The six detections (left), after class-agnostic NMS (middle) and "
                 f"after per-class NMS (right), tau = {TAU}, on YOLOv1's 7 x 7 grid; dots mark "
                 "the object centres and their cells are shaded.",
                 lambda: _nms_figure(runs, cells))
    return claims, table, fig


def _nms_figure(runs, cells) -> plt.Figure:
    colors = ("tab:orange", "tab:blue", "tab:green")
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.3))
    panels = (("before NMS", list(range(len(DETS)))), ("class-agnostic NMS", runs["agnostic"][0]),
              ("per-class NMS", runs["per-class"][0]))
    for ax, (title, keep) in zip(axes, panels):
        cell = IMAGE / GRID
        for r, c in cells:
            ax.add_patch(plt.Rectangle((c * cell, r * cell), cell, cell, color="0.9"))
        for i in range(GRID + 1):
            ax.axhline(i * cell, color="0.75", lw=0.5)
            ax.axvline(i * cell, color="0.75", lw=0.5)
        for i in keep:
            x1, y1, x2, y2 = DETS[i]
            col = colors[DET_CLASS[i]]
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=col, lw=1.3))
            # labels in a column beside each group: the person's right, the others' left
            right = DET_CLASS[i] == 1
            group = [j for j in keep if (DET_CLASS[j] == 1) == right]
            ax.text(max(DETS[j][2] for j in group) + 4 if right else
                    min(DETS[j][0] for j in group) - 4,
                    min(DETS[j][1] for j in group) + 14 + 20 * group.index(i),
                    f"{i}: {SCORES[i]:.2f}", color=col, fontsize=7,
                    ha="left" if right else "right")
        for name, (x1, y1, x2, y2) in OBJECTS.items():
            ax.plot((x1 + x2) / 2, (y1 + y2) / 2, "o", ms=3,
                    color=colors[CLASSES.index(name)])
        ax.set_xlim(0, IMAGE)
        ax.set_ylim(IMAGE, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(title)
    handles = [plt.Line2D([], [], color=c, label=n) for c, n in zip(colors, CLASSES)]
    axes[0].legend(handles=handles, fontsize=7, loc="lower right")
    return fig


# --- (d) anchors: k-means with 1 - IoU, and the logistic centre ---------------------------------

# The box set (widths, heights as fractions of the image side), drawn here with a fixed seed:
# a mixture of six object shapes, each log-normal around its centre (sigma = 0.3), weighted
# towards small objects as in street scenes. Synthetic: not measured on any data set.
SHAPES = (("small objects (signs, balls)", (0.04, 0.05), 0.30),
          ("pedestrians far away (tall, narrow)", (0.08, 0.22), 0.20),
          ("cars from the side (wide, short)", (0.22, 0.10), 0.20),
          ("people close up (tall)", (0.30, 0.60), 0.12),
          ("buses, trucks (large, wide)", (0.65, 0.40), 0.10),
          ("near full-frame objects", (0.85, 0.85), 0.08))
N_BOXES, SEED, SIGMA, KS = 1500, 2017, 0.3, tuple(range(1, 10))
# Hand-picked priors: Faster R-CNN's 9 anchors (areas 128^2, 256^2, 512^2 px x aspect ratios
# h/w = 1/2, 1, 2) on its 600 px image side, as fractions of the side.
HAND_SCALES, HAND_RATIOS = (128 / 600, 256 / 600, 512 / 600), (0.5, 1.0, 2.0)


def box_set() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    centres = np.asarray([c for _, c, _ in SHAPES])
    pick = rng.choice(len(SHAPES), size=N_BOXES, p=[w for _, _, w in SHAPES])
    logs = np.log(centres[pick]) + SIGMA * rng.standard_normal((N_BOXES, 2))
    return np.minimum(np.exp(logs), 1.0).astype(np.float32)


def hand_anchors() -> np.ndarray:
    return np.asarray([(s / math.sqrt(r), s * math.sqrt(r)) for s in HAND_SCALES
                       for r in HAND_RATIOS], np.float32)


def _lloyd_fixed_point(sizes, anchors, metric: str) -> float:
    """Largest move of a centroid under one more NumPy Lloyd step (0 at a k-means solution)."""
    s = np.asarray(sizes, np.float64)
    a = np.asarray(anchors, np.float64)
    d = (1 - _np_wh_iou(s, a)) if metric == "iou" else ((s[:, None] - a[None]) ** 2).sum(-1)
    z = d.argmin(1)
    moved = [np.abs(s[z == j].mean(0) - a[j]).max() for j in range(len(a)) if (z == j).any()]
    return float(max(moved))


def _fits(fit, sizes) -> list:
    """One k-means fit per k = 1..9 (one compiled program for all of them), key 0."""
    return [fit(sizes, k, key=jax.random.key(0), restarts=5) for k in KS]


def _part_d(sizes, fits):
    mean = {m: [float(f.mean_iou) for f in fs] for m, fs in fits.items()}
    np_mean = {m: [float(_np_wh_iou(sizes, f.anchors).max(1).mean()) for f in fs]
               for m, fs in fits.items()}
    moves = {m: max(_lloyd_fixed_point(sizes, f.anchors, m) for f in fs) for m, fs in fits.items()}
    mean_diff = max(abs(a - b) for m in mean for a, b in zip(mean[m], np_mean[m]))
    worse = [k for k, a, b in zip(KS, mean["iou"], mean["euclidean"]) if k > 1 and a <= b]
    hand = hand_anchors()
    hand_iou = float(_np_wh_iou(sizes, hand).max(1).mean())
    hand_sym = float(jax.jit(mean_best_iou)(sizes, hand))
    k_star = next((k for k, m in zip(KS, mean["iou"]) if m >= hand_iou), None)
    # small boxes: the third with the smallest area, at k = 5
    area = sizes.prod(1)
    small = area <= np.quantile(area, 1 / 3)
    small_iou = {m: float(_np_wh_iou(sizes[small], fits[m][4].anchors).max(1).mean())
                 for m in fits}
    best_iou = jax.jit(mean_best_iou)
    small_sym = {m: float(best_iou(sizes[small], fits[m][4].anchors)) for m in fits}
    np_k_star = next((k for k, m in zip(KS, np_mean["iou"]) if m >= hand_iou), None)
    rows = list(zip(KS, mean["iou"], mean["euclidean"]))
    claims = [Claim(
        "q4d.kmeans", Q, "d", "YOLOv2 chooses anchor dimensions by k-means with an IoU-based "
        "distance (1 - IoU) so that they align better with the boxes of the data set than "
        "Euclidean k-means.", "higher mean IoU",
        "higher mean IoU" if not worse else f"not higher at k = {worse}",
        Derivation((Step("distance", "d(b, a)", 1 - sp.Symbol(r"\mathrm{IoU}_{wh}(b, a)")),
                    Step("quality (YOLOv2's Avg IOU)", r"\overline{\mathrm{IoU}}",
                         sp.Symbol(r"\frac{1}{n}\sum_i \max_j \mathrm{IoU}_{wh}(b_i, a_j)")),
                    *(Step(f"k = {k}", r"\overline{\mathrm{IoU}}_{1-IoU},\ "
                           r"\overline{\mathrm{IoU}}_{L_2}", f"{a:.3f}, {b:.3f}")
                      for k, a, b in rows if k in (1, 3, 5, 9))),
                   (f"{N_BOXES} synthetic boxes, seed {SEED}; 5 k-means++ restarts, key 0",)),
        (_check("numpy", "mean best-anchor IoU recomputed in NumPy (float64) from each fit's "
                "anchors", "k = 1..9, both distances",
                mean_diff < 1e-5, f"max |diff| {mean_diff:.1e}"),
         _check("numpy", "each fit is a k-means fixed point of its own distance: one more NumPy "
                "Lloyd step moves no centroid", "k = 1..9, both distances",
                max(moves.values()) < 1e-4,
                ", ".join(f"{m}: {v:.1e}" for m, v in moves.items())),
         _check("numpy", "k = 1: both give the mean box, so the same mean IoU", "k = 1",
                abs(mean["iou"][0] - mean["euclidean"][0]) < 1e-6
                and np.allclose(np.asarray(fits["iou"][0].anchors)[0], sizes.mean(0), rtol=1e-5))),
        note=f"Mean IoU at k = 5: {mean['iou'][4]:.3f} (1 - IoU) vs {mean['euclidean'][4]:.3f} "
             "(Euclidean). The YOLOv2 paper reports the same ordering on VOC (Table 1)."),
        Claim(
        "q4d.small_boxes", Q, "d", "Why not Euclidean: larger boxes generate more error than "
        "smaller ones, so Euclidean k-means fits the large boxes and neglects the small.", None,
        f"{small_iou['iou']:.3f} (1 - IoU) "
        f"{'>' if small_iou['iou'] > small_iou['euclidean'] else '<='} "
        f"{small_iou['euclidean']:.3f} (Euclidean)",
        Derivation((Step("smallest third of the boxes by area, k = 5",
                         r"\overline{\mathrm{IoU}}_{small}",
                         f"{small_iou['iou']:.3f}, {small_iou['euclidean']:.3f}"),)),
        (_check("model", "symconv.detection.mean_best_iou on the small boxes against the "
                "NumPy value", "k = 5, smallest third by area",
                all(abs(small_sym[m] - small_iou[m]) < 1e-5 for m in fits),
                ", ".join(f"{m}: {small_sym[m]:.4f}" for m in fits)),),
        note="The YOLOv2 paper's reason for the 1 - IoU distance, measured on this box set."),
        Claim(
        "q4d.hand_picked", Q, "d", "Predefined (hand-picked) anchor dimensions do not match the "
        "object distribution: with k-means priors fewer anchors reach the same mean IoU.",
        None, k_star,
        Derivation((Step("Faster R-CNN's 9 anchors: 128, 256, 512 px of 600 x h/w = 1/2, 1, 2",
                         r"\overline{\mathrm{IoU}}_{hand}", f"{hand_iou:.3f}"),
                    Step("fewest k-means (1 - IoU) anchors that match it", "k^*",
                         k_star if k_star is not None else "none up to 9"))),
        (_check("model", "symconv.detection.mean_best_iou of the hand-picked anchors against "
                "the NumPy value", "9 anchors", abs(hand_sym - hand_iou) < 1e-5,
                f"{hand_sym:.4f} vs {hand_iou:.4f}"),
         _check("numpy", "k* again from the NumPy-recomputed mean IoU curve", "k = 1..9",
                np_k_star == k_star, f"{np_k_star}")),
        note="YOLOv2 reports 5 clusters matching 9 hand-picked anchors on VOC (61.0 vs 60.9 "
             "Avg IOU); here, on a synthetic set, the count is derived.", unit="anchors")]
    # the centre: sigma(t) + c stays in the cell; t * w_a + x_a does not
    S = 13
    ts = np.linspace(-30, 30, 241, dtype=np.float32)
    head = np.zeros((len(ts), S, S, 6), np.float32)
    head[..., 0] = ts[:, None, None]
    head[..., 1] = ts[:, None, None]
    dec = decode_yolo(jnp.asarray(head), np.ones((1, 2), np.float32), num_classes=1)
    b = np.asarray(dec.boxes, np.float64)[:, :, :, 0, :2] * S
    cx = np.arange(S)[None, None, :]
    cy = np.arange(S)[None, :, None]
    off = np.stack([b[..., 0] - cx, b[..., 1] - cy], -1)
    closed = bool(((off >= -1e-5) & (off <= 1 + 1e-5)).all())
    inner = np.abs(ts) <= 8
    open_ = bool(((off[inner] > 0) & (off[inner] < 1)).all())
    sig = 1 / (1 + sp.exp(-t_))
    lims = (sp.limit(sig, t_, -sp.oo), sp.limit(sig, t_, sp.oo))
    monotone = sp.simplify(sp.diff(sig, t_) - sig * (1 - sig)) == 0
    # RPN-style: x = t w_a + x_a, the anchor centred in its cell (x_a = c_x + 1/2), w_a = 1 cell
    w_a, x_a = sp.symbols("w_a x_a", positive=True)
    rpn = t_ * w_a + x_a
    rpn_range = sp.Interval(sp.limit(rpn, t_, -sp.oo), sp.limit(rpn, t_, sp.oo))
    rpn_off = ts.astype(np.float64) * 1.0 + 0.5  # x - c_x in NumPy
    rpn_sym = sp.lambdify(t_, rpn.subs({w_a: 1, x_a: sp.Rational(1, 2)}), "numpy")(
        ts.astype(np.float64))
    outside = float(((rpn_off < 0) | (rpn_off > 1)).mean())
    claims += [Claim(
        "q4d.centre_logistic", Q, "d", "YOLOv2 predicts box centres relative to the grid cell "
        "with a logistic constraint: b_x = sigma(t_x) + c_x stays inside the cell.", None,
        sp.Interval.open(*lims),
        Derivation((Step("centre", "b_x", sig + sp.Symbol("c_x")),
                    Step("range of the offset", "b_x - c_x", sp.Interval.open(*lims))),),
        (_check("sympy", "limits of sigma at -oo and +oo are 0 and 1, and sigma' = "
                "sigma(1 - sigma) > 0 (increasing)", "symbolic", lims == (0, 1) and monotone,
                f"limits {lims}"),
         _check("model", "decode_yolo centres x S - (c_x, c_y) in [0, 1] for every cell and t, "
                "and in (0, 1) for |t| <= 8", f"13 x 13 grid, t_x = t_y in [-30, 30] "
                f"({len(ts)} values)", closed and open_,
                f"offset range [{off.min():.2e}, {off.max():.6f}]")),
        note="In float32 sigma(t) rounds to exactly 0 or 1 for |t| > ~17, so the decoded centre "
             "can reach the cell's edge, never beyond it."),
        Claim(
        "q4d.centre_unconstrained", Q, "d", "The unconstrained offset of RPN-style anchors "
        "(x = t_x w_a + x_a) can put a box centre anywhere in the image.", None,
        rpn_range,
        Derivation((Step("centre (YOLOv2, Sec. 2)", "x", rpn),
                    Step("range over t", "x", rpn_range),
                    Step("t_x = 1", "x - x_a", rpn.subs(t_, 1) - x_a))),
        (_check("numpy", "offsets x - c_x in NumPy against the SymPy expression, for an anchor "
                "centred in its cell (w_a = 1 cell)", f"t in [-30, 30] ({len(ts)} values)",
                np.allclose(rpn_off, rpn_sym, rtol=0, atol=1e-12),
                f"x - c_x from {rpn_off.min():g} to {rpn_off.max():g} cells; {outside:.1%} of "
                "the t values leave the cell"),),
        note="'A prediction of t_x = 1 would shift the box to the right by the width of the "
             "anchor box' (YOLOv2): any anchor can end up at any location, which the paper "
             "blames for the unstable early training."),
        Claim("q4d.stability", Q, "d", "Absolute (unconstrained) location predictions cause "
              "training instability; the logistic constraint stabilizes training and improves "
              "localization accuracy.", None, None, Derivation(()), opinion=True,
              note="YOLOv2 reports this empirically (about 5% mAP from dimension clusters with "
                   "direct location prediction); the bounded range is checked in "
                   "q4d.centre_logistic.")]
    md = ("| k | 1 − IoU k-means | Euclidean k-means |\n|---:|---:|---:|\n"
          + "\n".join(f"| {k} | {a:.3f} | {b:.3f} |" for k, a, b in rows))
    tex = ("\\begin{tabular}{rrr}\\toprule $k$ & $1-\\mathrm{IoU}$ k-means & Euclidean k-means "
           "\\\\\\midrule\n" + "\n".join(f"{k} & {a:.3f} & {b:.3f} \\\\" for k, a, b in rows)
           + "\n\\bottomrule\\end{tabular}")
    table = (f"Mean best-anchor IoU against k ({N_BOXES} synthetic boxes, seed {SEED}); Faster "
             f"R-CNN's 9 hand-picked anchors reach {hand_iou:.3f}", md, tex)
    shapes = "; ".join(f"{name} ({w:g} x {h:g}, {p:.0%})" for name, (w, h), p in SHAPES)
    fig = Figure("q4d_anchors", "Mean IoU of the boxes with their best anchor against the "
                 "number of anchors k (left), and the boxes with the k = 5 anchors of each "
                 f"method (right). Box set: {shapes}; sigma = {SIGMA} in log space.",
                 lambda: _anchor_figure(sizes, mean, hand_iou, fits))
    return claims, table, fig


def _anchor_figure(sizes, mean, hand_iou, fits) -> plt.Figure:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    ax.plot(KS, mean["iou"], "o-", label="k-means, 1 - IoU")
    ax.plot(KS, mean["euclidean"], "s--", label="k-means, Euclidean")
    ax.plot([9], [hand_iou], "k^", label="9 hand-picked")
    ax.set_xlabel("anchors k")
    ax.set_ylabel("mean best-anchor IoU")
    ax.legend(fontsize=7)
    bx.scatter(sizes[:, 0], sizes[:, 1], s=2, color="0.6", label="boxes")
    for m, mk, name in (("iou", "o", "1 - IoU"), ("euclidean", "s", "Euclidean")):
        a = np.asarray(fits[m][4].anchors)
        bx.scatter(a[:, 0], a[:, 1], marker=mk, s=40, label=f"k = 5, {name}")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("width / image")
    bx.set_ylabel("height / image")
    bx.legend(fontsize=7)
    return fig


# --- (e) the networks in numbers --------------------------------------------------------------

class Net:
    """One network: its algebra (a Stack or Graph), its abstract Flax model (built with
    ``xla.abstract``, or a submodule of one), its input side."""

    def __init__(self, name: str, algebra, model, side: int, source: str, top=None):
        self.name, self.algebra, self.side, self.source = name, algebra, side, source
        self.model = model if isinstance(model, nnx.Module) else xla.abstract(model)
        self.in_shape = (side, side, 3)
        self.top = top  # the classifier version's algebra, for a backbone
        self._outputs = None

    def parts(self, algebra=None):
        """Every layer spec, composites opened (a Darknet unit, a residual block)."""
        algebra = algebra or self.algebra
        top = ([layer for _, layer, _ in algebra.named_parts(self.in_shape)]
               if isinstance(algebra, Graph) else list(algebra.layers))
        todo, out_ = top[::-1], []
        while todo:
            layer = todo.pop()
            out_.append(layer)
            if hasattr(layer, "stack") and not isinstance(layer, (Conv2D, Dense)):
                todo += list(layer.stack().layers)[::-1]
        return out_

    def algebra_layers(self, algebra=None) -> dict:
        parts = self.parts(algebra)
        return {"conv": sum(isinstance(x, Conv2D) for x in parts),
                "fc": sum(isinstance(x, Dense) for x in parts),
                "residual": sum(isinstance(x, DarknetResidual) for x in parts)}

    def model_layers(self) -> dict:
        """Counted on the Flax side: 4-D kernels (convolutions), 2-D kernels (dense layers) in
        ``nnx.state``, and ``ResidualUnit`` modules in the graph."""
        conv = fc = 0
        for path, leaf in jax.tree_util.tree_flatten_with_path(nnx.state(self.model,
                                                                         nnx.Param))[0]:
            names = [str(getattr(k, "key", getattr(k, "name", k))) for k in path]
            if "kernel" in names:
                conv += len(leaf.shape) == 4
                fc += len(leaf.shape) == 2
        res = sum(isinstance(m, ResidualUnit) for _, m in nnx.iter_graph(self.model))
        return {"conv": conv, "fc": fc, "residual": res}

    def outputs_algebra(self) -> tuple:
        if isinstance(self.algebra, Graph):
            return tuple(tuple(o) for o in self.algebra.outputs(self.in_shape))
        return (tuple(self.algebra.output_shape(self.in_shape)),)

    def outputs_model(self) -> tuple:
        """Per-example output shapes by ``jax.eval_shape`` (traced once, not compiled)."""
        if self._outputs is None:
            graphdef, state = nnx.split(self.model)
            y = jax.eval_shape(lambda st, x: nnx.merge(graphdef, st)(x), state,
                               jax.ShapeDtypeStruct((1, *self.in_shape), jnp.float32))
            self._outputs = tuple(tuple(a.shape[1:]) for a in (y if isinstance(y, tuple)
                                                               else (y,)))
        return self._outputs

    def flops(self) -> int:
        return int(self.algebra.batch_flops(self.in_shape, 1, "exact"))


def networks() -> dict[str, Net]:
    """The three detectors with C = 80 classes (COCO, as in the question) and their backbones.
    YOLOv3 is the registry's entry; the registry's YOLOv1 and YOLOv2 are the VOC versions
    (C = 20), so those two are built from their configs with C = 80 (YOLOv2 as yolov2.cfg).
    Darknet-19 and Darknet-53 are the backbones inside YOLOv2 and YOLOv3 (the classifiers
    without their top; the registry's ``darknet19``/``darknet53`` add it), which saves building
    two more models."""
    v1, v2 = YoloV1Config(classes=C), YoloV2Config(classes=C)
    y3 = MODELS["yolov3"]
    nets = {
        "YOLOv1": Net("YOLOv1", yolov1_stack(v1), lambda: YoloV1(v1, rngs=nnx.Rngs(0)),
                      v1.side, "YoloV1Config(classes=80)"),
        "YOLOv2": Net("YOLOv2", yolov2_graph(v2), lambda: YoloV2(v2, rngs=nnx.Rngs(0)), 416,
                      "YoloV2Config(classes=80)"),
        "YOLOv3": Net("YOLOv3", y3.algebra((416, 416)), lambda: y3.build((416, 416)), 416,
                      "registry yolov3"),
    }
    nets["Darknet-19"] = Net("Darknet-19", darknet19_stack(include_top=False),
                             nets["YOLOv2"].model.backbone, 416, "YOLOv2's backbone",
                             top=MODELS["darknet19"].algebra((224, 224)))
    nets["Darknet-53"] = Net("Darknet-53", darknet53_stack(include_top=False),
                             nets["YOLOv3"].model.backbone, 416, "YOLOv3's backbone",
                             top=MODELS["darknet53"].algebra((256, 256)))
    return {k: nets[k] for k in ("YOLOv1", "Darknet-19", "YOLOv2", "Darknet-53", "YOLOv3")}


def _model_checks_a(nets: dict[str, Net]) -> dict:
    """The model-side checks of part (a): eval_shape of YOLOv1 and YOLOv3 (C = 80)."""
    v1, v3 = nets["YOLOv1"], nets["YOLOv3"]
    o1, o3 = v1.outputs_model(), v3.outputs_model()
    a3 = v3.outputs_algebra()
    d1, d3 = v1_depth(2, C), anchor_depth(3, C)
    cells = sum(h * w * (c // anchor_depth(1, C)) for h, w, c in o3)
    f1, f3 = v1.flops(), v3.flops()
    c1 = xla.cost(v1.model, (1, v1.side, v1.side, 3))
    c3 = xla.cost(v3.model, (1, 416, 416, 3))
    higher = f3 > f1
    p1, p3 = v1.algebra.param_count(), v3.algebra.param_count()
    cost = Claim(
        "q4a.cost", Q, "a", "These changes increase the computational cost (YOLOv3 against "
        "YOLOv1).", "higher", "higher" if higher else "lower",
        Derivation((Step("YOLOv1 at 448 x 448 (its only size)", "F_{v1}", f1),
                    Step("YOLOv3 at 416 x 416", "F_{v3}", f3),
                    Step("ratio", "F_{v3} / F_{v1}", sp.Float(f3 / f1, 3))),
                   ("FLOPs = 2 x MACs plus every elementwise op, as XLA counts them",
                    "C = 80 for both")),
        (_check("xla", "cost_analysis() of the lowered YOLOv1 and YOLOv3 (not compiled) against "
                "the algebra, within float32 accumulation", "448 and 416, batch 1",
                xla.flops_agree(f1, c1["flops"], c1["ops"])
                and xla.flops_agree(f3, c3["flops"], c3["ops"]),
                f"XLA: {human(c1['flops'])}, {human(c3['flops'])}FLOPs"),),
        note=f"YOLOv3 costs {f3 / f1:.2f}x the FLOPs of YOLOv1 ({human(f3)} vs {human(f1)}) with "
             f"{p3 / p1:.2f}x its parameters ({human(p3)} vs {human(p1)}): YOLOv1's "
             "7 x 7 x 1024 -> 4096 fully connected layer alone holds "
             f"{human(7 * 7 * 1024 * 4096 + 4096)} parameters.", unit="FLOPs")
    return {
        "v1_depth_checks": (_check("model", "jax.eval_shape of the Flax YOLOv1 (C = 80)",
                                   "1 x 448 x 448 x 3", o1 == ((7, 7, d1),), f"{o1}"),),
        "v3_depth_checks": (_check("model", "jax.eval_shape of the Flax YOLOv3: every output's "
                                   "depth", "1 x 416 x 416 x 3",
                                   all(o[-1] == d3 for o in o3), f"{o3}"),),
        "v3_outputs_algebra": a3,
        "v3_scale_checks": (_check("model", "jax.eval_shape of the Flax YOLOv3 returns one map "
                                   "per scale, the algebra's shapes", "1 x 416 x 416 x 3",
                                   o3 == a3 and tuple(o[0] for o in o3) == grid_sizes(416),
                                   f"{o3}"),),
        "box_count_checks": (_check("model", "cells x anchors of the Flax YOLOv3's output maps "
                                    "(jax.eval_shape)", "1 x 416 x 416 x 3",
                                    cells == box_count(416), f"{cells}"),),
        "a_cost": [cost],
    }


def _part_e(nets: dict[str, Net], b_checks: tuple[Check, ...]):
    lay = {k: n.algebra_layers() for k, n in nets.items()}
    mlay = {k: n.model_layers() for k, n in nets.items()}
    params = {k: int(n.algebra.param_count()) for k, n in nets.items()}
    mparams = {k: xla.param_count(n.model) for k, n in nets.items()}
    outs = {k: n.outputs_algebra() for k, n in nets.items() if k.startswith("YOLO")}
    mouts = {k: nets[k].outputs_model() for k in outs}
    per_cell = {k: outs[k][0][-1] // anchor_depth(1, C) for k in ("YOLOv2", "YOLOv3")}
    d53, d19 = lay["Darknet-53"], lay["Darknet-19"]
    t53 = nets["Darknet-53"].algebra_layers(nets["Darknet-53"].top)
    t19 = nets["Darknet-19"].algebra_layers(nets["Darknet-19"].top)
    n53, n19 = t53["conv"] + t53["fc"], t19["conv"] + t19["fc"]

    def backbone_check(k, d):
        m = mlay[k]
        return _check("model", f"4-D and 2-D kernels in nnx.state of the Flax {k} inside "
                      f"{'YOLOv3' if k == 'Darknet-53' else 'YOLOv2'} (no classifier) against "
                      "the algebra's backbone", nets[k].source,
                      (m["conv"], m["fc"]) == (d["conv"], d["fc"]),
                      f"{m['conv']} conv + {m['fc']} dense")

    claims = [Claim(
        "q4e.darknet53_layers", Q, "e", "YOLOv3 replaces the backbone with Darknet-53 (53 "
        "layers with weights), for deeper feature extraction.", 53, n53,
        Derivation((Step("stem + 5 downsampling convolutions", "L_{down}", 1 + 5),
                    Step("residual blocks 1 + 2 + 8 + 8 + 4, two convolutions each", "L_{res}",
                         2 * d53["residual"]),
                    Step("backbone", "L_{conv}", d53["conv"]),
                    Step("classifier (global pool, FC 1000)", "L_{fc}", t53["fc"]),
                    Step("total", "L", n53))),
        (backbone_check("Darknet-53", d53),),
        note=f"{t53['conv']} convolutions and one dense layer (the classifier's, not used in "
             f"YOLOv3). YOLOv2's Darknet-19 has {n19} (q4e.darknet19_layers): "
             f"{n53 / n19:.1f}x as deep; as backbones, {human(params['Darknet-53'])} vs "
             f"{human(params['Darknet-19'])} parameters and {human(nets['Darknet-53'].flops())}"
             f" vs {human(nets['Darknet-19'].flops())} FLOPs at 416.", unit="layers"),
        Claim(
        "q4e.darknet19_layers", Q, "e", "YOLOv2's backbone, Darknet-19: its number of layers "
        "with weights.", None, n19,
        Derivation((Step("3x3 and 1x1 convolutions (YOLO9000, Table 6)", "L_{conv}",
                         d19["conv"]),
                    Step("1x1 classifier convolution (to 1000 classes)", "L_{cls}",
                         t19["conv"] - d19["conv"]),
                    Step("total", "L", n19))),
        (backbone_check("Darknet-19", d19),), unit="layers"),
        Claim(
        "q4e.residual", Q, "e", "Darknet-53 includes residual connections (Darknet-19 has "
        "none).", None, d53["residual"],
        Derivation((Step("blocks per stage", "R", "1 + 2 + 8 + 8 + 4"),
                    Step("total", "R", d53["residual"]))),
        (_check("model", "ResidualUnit modules in the Flax Darknet-53 and Darknet-19 graphs",
                 "the backbones inside YOLOv3 and YOLOv2",
                mlay["Darknet-53"]["residual"] == d53["residual"]
                and mlay["Darknet-19"]["residual"] == d19["residual"] == 0,
                f"{mlay['Darknet-53']['residual']} and {mlay['Darknet-19']['residual']}"),),
        unit="blocks"),
        Claim("q4e.gradient_flow", Q, "e", "The residual connections give better gradient flow.",
              None, None, Derivation(()), opinion=True,
              note="A statement about training; for plain vs residual stacks it is measured "
                   "in q2b.gradient_flow (symconv.experiments.gradient_flow), not for "
                   "Darknet-53 itself."),
        Claim(
        "q4e.v2_scales", Q, "e", "YOLOv2 uses a single-scale detection approach.", 1,
        len(outs["YOLOv2"]),
        Derivation((Step("outputs at 416", "Y_{v2}", outs["YOLOv2"]),)),
        (_check("model", "jax.eval_shape of the Flax YOLOv2 (C = 80): output maps",
                "1 x 416 x 416 x 3", mouts["YOLOv2"] == outs["YOLOv2"], f"{mouts['YOLOv2']}"),),
        note="The passthrough layer brings 26 x 26 features into the 13 x 13 map, but there is "
             "one output.", unit="scales"),
        Claim(
        "q4e.v3_scales", Q, "e", "YOLOv3 predicts bounding boxes at three different scales.",
        STATED["v3_scales"], len(outs["YOLOv3"]),
        Derivation((Step("outputs at 416", "Y_{v3}", outs["YOLOv3"]),)),
        (_check("model", "jax.eval_shape of the Flax YOLOv3: output maps", "1 x 416 x 416 x 3",
                mouts["YOLOv3"] == outs["YOLOv3"], f"{mouts['YOLOv3']}"),),
        note="As q4a.scales.", unit="scales"),
        Claim(
        "q4e.logistic", Q, "e", "YOLOv3 replaces the softmax with independent logistic "
        "classifiers, enabling multi-label predictions for overlapping classes.",
        "multi-label with logistic, one label with softmax",
        "multi-label with logistic, one label with softmax"
        if max_confident_classes(C, "logistic") > 1 == max_confident_classes(C, "softmax")
        else "no difference",
        Derivation((Step("most classes above 1/2, softmax / logistic", "m",
                         f"{max_confident_classes(C, 'softmax')} / "
                         f"{max_confident_classes(C, 'logistic')}"),)),
        b_checks, note="The checks of q4b.max_labels."),
        Claim(
        "q4e.v3_anchors", Q, "e", "YOLOv3 uses three anchor boxes per grid cell.",
        STATED["v3_anchors_per_cell"], per_cell["YOLOv3"],
        Derivation((Step("output depth / (5 + C)", "A_{v3}", sp.Mul(
            outs["YOLOv3"][0][-1], sp.Pow(5 + C, -1, evaluate=False), evaluate=False)),
                    Step("result", "A_{v3}", per_cell["YOLOv3"]))),
        (_check("model", "depth of every Flax YOLOv3 output / (5 + C)", "1 x 416 x 416 x 3",
                {o[-1] // (5 + C) for o in mouts["YOLOv3"]} == {per_cell["YOLOv3"]}
                and all(o[-1] % (5 + C) == 0 for o in mouts["YOLOv3"])),),
        note="Per cell and per scale; nine anchor shapes in all, three for each scale.",
        unit="anchors"),
        Claim(
        "q4e.anchors_increase", Q, "e", "YOLOv3 increases the number of anchor boxes per grid "
        "cell to three.", "increase",
        "increase" if per_cell["YOLOv3"] > per_cell["YOLOv2"] else
        f"decrease ({per_cell['YOLOv2']} -> {per_cell['YOLOv3']} per cell)",
        Derivation((Step("YOLOv2: output depth / (5 + C)", "A_{v2}", per_cell["YOLOv2"]),
                    Step("YOLOv3: output depth / (5 + C)", "A_{v3}", per_cell["YOLOv3"]),
                    Step("boxes per 416 image, v2", "N_{v2}", box_count(416, per_cell["YOLOv2"],
                                                                     (32,))),
                    Step("boxes per 416 image, v3", "N_{v3}", box_count(416)))),
        (_check("model", "jax.eval_shape of the Flax YOLOv2 (C = 80): depth / (5 + C)",
                "1 x 416 x 416 x 3", mouts["YOLOv2"][0][-1] == anchor_depth(per_cell["YOLOv2"], C),
                f"{mouts['YOLOv2'][0][-1]} = {mouts['YOLOv2'][0][-1] // (5 + C)} x {5 + C}"),),
        note="YOLOv2 already used 5 anchors per cell (k = 5 dimension clusters); YOLOv3 has "
             "fewer per cell, 3, but at three scales: 9 anchor shapes and "
             f"{box_count(416) / box_count(416, per_cell['YOLOv2'], (32,)):.1f}x as many boxes "
             "per image."),
        Claim(
        "q4e.conv_layers", Q, "e", "Depth of the three detectors: convolutional and fully "
        "connected layers.", None,
        ", ".join(f"{k}: {lay[k]['conv']} conv" + (f" + {lay[k]['fc']} FC" if lay[k]["fc"]
                                                    else "") for k in outs),
        Derivation(tuple(Step(k, "L_{conv} + L_{fc}", f"{lay[k]['conv']} + {lay[k]['fc']}")
                         for k in outs)),
        (_check("model", "4-D and 2-D kernels in nnx.state of the Flax models", "C = 80",
                all((mlay[k]["conv"], mlay[k]["fc"]) == (lay[k]["conv"], lay[k]["fc"])
                   for k in outs), "; ".join(f"{k} {mlay[k]['conv']}+{mlay[k]['fc']}"
                                             for k in outs)),)),
    ]
    for k, n in nets.items():
        claims.append(Claim(
            f"q4e.params.{k.lower().replace('-', '')}", Q, "e", f"Parameters of {k}"
            + (f" ({n.source}, without the classifier)." if n.top else f" (C = {C})."), None,
            params[k], Derivation((Step("weights + biases (incl. batch norm's scale and "
                                        "offset)", "P", params[k]),)),
            (_check("model", "nnx.Param scalars of the abstract Flax model", n.source,
                    mparams[k] == params[k], f"{mparams[k]:,}"),), unit="params"))
    claims.append(Claim(
        "q4e.accuracy", Q, "e", "Three scales improve detection for objects of varying sizes; "
        "three anchors per cell enhance detection flexibility and accuracy.", None, None,
        Derivation(()),
        opinion=True, note="Empirical (the YOLOv3 paper's COCO results); the architecture "
                           "itself is in the table."))
    rows = []
    for k, n in nets.items():
        o = n.outputs_algebra()
        anchors = ("2 boxes, no anchors" if k == "YOLOv1" else
                   str(per_cell[k]) if k in per_cell else "—")
        rows.append((k + (" (backbone)" if n.top else ""), lay[k]["conv"], lay[k]["fc"],
                     lay[k]["residual"], params[k], n.flops(), f"{n.side}",
                     len(o) if k in outs else "—", anchors,
                     ", ".join(f"{h}x{w}x{c}" for h, w, c in o)))
    head = ("network", "conv", "FC", "residual", "params", "FLOPs", "input", "scales",
            "per cell", "output")
    md = ("| " + " | ".join(head) + " |\n|---|" + "---:|" * (len(head) - 1) + "\n" + "\n".join(
        "| " + " | ".join(f"{v:,}" if isinstance(v, int) and v > 9999 else str(v) for v in r)
        + " |" for r in rows))
    tex = ("\\begin{tabular}{l" + "r" * (len(head) - 1) + "}\\toprule " + " & ".join(head)
           + " \\\\\\midrule\n" + "\n".join(
               " & ".join((f"{v:,}".replace(",", "{,}") if isinstance(v, int) and v > 9999
                           else str(v)).replace("x", "$\\times$").replace("—", "--")
                          if i else str(v) for i, v in enumerate(r)) + " \\\\" for r in rows)
           + "\n\\bottomrule\\end{tabular}")
    table = ("The networks in numbers (algebra; parameters and layers checked against "
             "nnx.state). Detectors with C = 80, backbones without their classifier; FLOPs for "
             "one image at the input side shown, as XLA counts them (2 per MAC, batch norm and "
             "activations included)", md, tex)
    return claims, table


# --- build --------------------------------------------------------------------------------------

def build() -> list[Proof]:
    # Compiling the two k-means programs (XLA, outside the GIL) is the slowest step; it runs in
    # two threads while this one builds the abstract models and everything else.
    sizes = box_set()
    with ThreadPoolExecutor(2) as pool:
        fitting = {m: pool.submit(_fits, f, sizes)
                   for m, f in (("iou", iou_kmeans), ("euclidean", euclidean_kmeans))}
        nets = networks()
        models = _model_checks_a(nets)
        claims_b, table_b = _part_b()
        claims_e, table_e = _part_e(nets, claims_b[0].checks)
        claims_c, table_c, fig_c = _part_c()
        fits = {m: f.result() for m, f in fitting.items()}
    claims_d, table_d, fig_d = _part_d(sizes, fits)
    return [
        Proof(Q, "a", "YOLOv1 vs YOLOv3: output depth per cell", tuple(_part_a(models))),
        Proof(Q, "b", "Multi-label classes and objectness", tuple(claims_b), tables=(table_b,)),
        Proof(Q, "c", "Duplicates: non-maximum suppression and grid cells", tuple(claims_c),
              figures=(fig_c,), tables=(table_c,)),
        Proof(Q, "d", "Anchors: dimension clusters and direct location prediction",
              tuple(claims_d), figures=(fig_d,), tables=(table_d,)),
        Proof(Q, "e", "YOLOv1, YOLOv2, YOLOv3 and their backbones in numbers", tuple(claims_e),
              tables=(table_e,)),
    ]
