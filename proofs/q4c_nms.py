"""Q4 part (c): duplicates — non-maximum suppression (class-agnostic and per class) and the
grid-cell assignment on a worked example of six detections, with exact IoUs; checked with
``symconv.detection`` (IoU, NMS, box conversion) and a greedy NMS written in NumPy.
"""

from __future__ import annotations

import math
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from symconv.detection import convert_boxes, nms, pairwise_iou
from symconv.report.proof import (
    Claim,
    Derivation,
    Figure,
    Labeled,
    Proof,
    Step,
    Table,
    decimal,
)

from ._yolo_common import check, exact_iou, np_iou, np_nms
from ._yolo_papers import paper

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


def _rational(f) -> sp.Rational:
    return sp.Rational(f.numerator, f.denominator)


def _nms_claims(exact) -> tuple[list[Claim], dict]:
    n = len(DETS)
    boxes = np.asarray(DETS, np.float32)
    ious = np.asarray(pairwise_iou(boxes, boxes))
    np_ious = np.array([[np_iou(DETS[i], DETS[j]) for j in range(n)] for i in range(n)])
    err32 = float(np.abs(ious - np.array(exact, dtype=np.float64)).max())
    err64 = float(np.abs(np_ious - np.array(exact, dtype=np.float64)).max())
    dup = [(i, j) for i in range(n) for j in range(i + 1, n) if exact[i][j] > TAU]
    runs = {}
    for mode, cls in (("agnostic", None), ("per-class", DET_CLASS)):
        r = nms(boxes, np.asarray(SCORES, np.float32), max_outputs=n, iou_threshold=TAU,
                classes=None if cls is None else np.asarray(cls, np.int32))
        runs[mode] = ([int(i) for i in np.asarray(r.indices) if i >= 0],
                      np_nms(DETS, SCORES, TAU, cls))
    kept = {mode: sp.FiniteSet(*run[0]) for mode, run in runs.items()}
    cliques = all(exact[i][j] > TAU for i in range(n) for j in range(i + 1, n)
                  if DET_CLASS[i] == DET_CLASS[j])
    best_per_class = sorted(max((i for i in range(n) if DET_CLASS[i] == c),
                                key=lambda i: SCORES[i]) for c in range(len(CLASSES)))
    crowd_iou = exact_iou(*CROWD)
    # padded to the example's six slots with -inf scores (never kept): one compiled program
    crowd = nms(np.asarray(CROWD + ((0, 0, 1, 1),) * (n - 2), np.float32),
                np.asarray([0.9, 0.8] + [-np.inf] * (n - 2), np.float32), max_outputs=n,
                iou_threshold=TAU, classes=np.asarray([1] * n, np.int32))
    crowd_kept = [int(i) for i in np.asarray(crowd.indices) if i >= 0]
    agn = runs["agnostic"][0]
    over = [[exact[i][j] > TAU for j in range(n)] for i in range(n)]
    rule = (all(SCORES[i] >= SCORES[j] for i in agn for j in range(n) if over[i][j] and j != i)
            and all(any(over[i][j] and SCORES[j] > SCORES[i] for j in agn)
                    for i in range(n) if i not in agn))
    claims = [
        Claim(id="q4c.nms_rule", statement="NMS removes duplicates, keeping only the "
              "highest-scoring of boxes that overlap with a high IoU.",
              quote="YOLO uses Non-Maximum Suppression (NMS) to eliminate duplicate detections by "
                    "retaining only the highest-confidence bounding box when overlapping boxes "
                    "have a high IoU.",
              stated=True, derived=rule, cite=("redmon2016", "Sec. 2.4"),
              reading=f"Read as: among boxes overlapping by IoU > tau (tau = {TAU} here) only the "
                      "highest-scoring survives; checked on the six detections of the table: "
                      "every kept box outscores each box it overlaps, every removed box overlaps "
                      "a kept box with a higher score.",
              derivation=Derivation((
                  Step("boxes kept (class-agnostic)", r"\mathrm{kept}", sp.FiniteSet(*agn)),
                  Step("boxes removed", r"\mathrm{removed}",
                       sp.FiniteSet(*(i for i in range(n) if i not in agn))))),
              checks=(check("model", "symconv.detection.nms against the NumPy greedy NMS in this "
                            "proof, and the rule above on the exact IoUs", f"6 boxes, tau = {TAU}",
                            runs["agnostic"][0] == runs["agnostic"][1] and rule,
                            f"kept {agn}"),),
              note="The YOLOv1 paper: 'Non-maximal suppression can be used to fix these multiple "
                   "detections. While not critical to performance as it is for R-CNN or DPM, "
                   "non-maximal suppression adds 2-3% in mAP.' Darknet applies it per class "
                   "(q4c.nms_per_class); applied across classes it also removes the bicycle "
                   "(q4c.nms_agnostic)."),
        Claim(id="q4c.iou_pairs", statement="Pairwise IoU of the six example detections: the "
              f"pairs above tau = {TAU} are the duplicates NMS will remove.",
              derived=sp.FiniteSet(*(sp.Tuple(i, j) for i, j in dup)),
              derivation=Derivation((
                  Step("IoU", r"\mathrm{IoU}(A, B)", sp.Symbol("|A \\cap B|")
                       / sp.Symbol("|A \\cup B|")),
                  Step("box 0 vs box 5 (dog vs bicycle), exact", r"\mathrm{IoU}_{0,5}",
                       _rational(exact[0][5])))),
              checks=(check("model", "symconv.detection.pairwise_iou (float32) against the "
                            "exact fractions", "6 x 6 pairs", err32 < 1e-6,
                            f"max |error| {err32:.1e}"),
                      check("numpy", "float64 IoU written in this proof against the exact "
                            "fractions", "6 x 6 pairs", err64 < 1e-12, f"max |error| {err64:.1e}")),
              note="Integer pixel boxes, so each IoU is an exact fraction; the table lists them "
                   "to 3 decimals.", unit="box pairs"),
        Claim(id="q4c.nms_agnostic", statement="NMS eliminates duplicate detections by retaining "
              "only the highest-confidence box when overlapping boxes have a high IoU "
              "(class-agnostic).", derived=kept["agnostic"],
              derivation=Derivation((
                  Step("keep the best, drop IoU > tau, repeat", "R",
                       sp.Symbol(r"\{ i \in R : \mathrm{IoU}(b_i, b_{j^*}) \le \tau \}")),
                  Step(f"tau = {TAU}", r"\mathrm{kept}", kept["agnostic"]))),
              checks=(check("model", "symconv.detection.nms against the NumPy greedy NMS in this "
                            "proof", f"6 boxes, tau = {TAU}",
                            runs["agnostic"][0] == runs["agnostic"][1],
                            f"symconv {runs['agnostic'][0]}, NumPy {runs['agnostic'][1]}"),),
              note="One box per duplicate cluster survives, the best-scoring one; but the bicycle "
                   "(box 5), a different object that overlaps the dog by IoU "
                   f"{float(exact[0][5]):.3f} > {TAU}, is removed as well.",
              unit="boxes kept"),
        Claim(id="q4c.nms_per_class", statement="Per-class NMS (a kept box removes only boxes of "
              "its own class) keeps one box per object, the overlapping bicycle included.",
              derived=kept["per-class"],
              derivation=Derivation((
                  Step("per class", "R", sp.Symbol(r"\{ i \in R : \mathrm{IoU} \le \tau "
                                                   r"\lor k_i \ne k_{j^*} \}")),
                  Step(f"tau = {TAU}", r"\mathrm{kept}", kept["per-class"]))),
              checks=(check("model", "symconv.detection.nms(classes=...) against the NumPy "
                            "greedy NMS", f"6 boxes, 3 classes, tau = {TAU}",
                            runs["per-class"][0] == runs["per-class"][1],
                            f"symconv {runs['per-class'][0]}, NumPy {runs['per-class'][1]}"),
                      check("numpy", "by hand: within each class every pair overlaps by IoU > "
                            "tau (exact), so each class keeps exactly its best-scoring box",
                            "3 classes", cliques and sorted(runs["per-class"][0]) == best_per_class,
                            f"best per class: {best_per_class}")),
              note="Darknet's YOLO runs NMS per class.", unit="boxes kept"),
        Claim(id="q4c.crowd", statement="NMS alone cannot keep two distinct objects of one class "
              "that overlap by more than tau (two people, one partly behind the other).",
              derived=len(crowd_kept),
              derivation=Derivation((
                  Step("IoU of the two people, exact", r"\mathrm{IoU}", _rational(crowd_iou)),
                  Step(f"> tau = {TAU}: the weaker is removed", r"\mathrm{kept}",
                       len(crowd_kept)))),
              checks=(check("model", "symconv.detection.nms against the NumPy greedy NMS",
                            "2 boxes", crowd_kept == np_nms(CROWD, (0.9, 0.8), TAU, (1, 1)),
                            f"{crowd_kept}"),),
              note="So 'differentiate between distinct objects' rests on the grid-cell (and, in "
                   "v2/v3, anchor) assignment at training time, not on NMS.",
              unit="of 2 boxes kept"),
    ]
    return claims, runs


def _cell_claims() -> tuple[list[Claim], list]:
    """Grid cell of each object's centre: floor(c * S / image)."""
    cxcy = np.asarray(convert_boxes(np.asarray(list(OBJECTS.values()), np.float32), "xyxy",
                                    "xywh"))[:, :2]
    cells = [(math.floor(cy / IMAGE * GRID), math.floor(cx / IMAGE * GRID))
             for cx, cy in cxcy]
    cells_int = [((y1 + y2) * GRID // (2 * IMAGE), (x1 + x2) * GRID // (2 * IMAGE))
                 for x1, y1, x2, y2 in OBJECTS.values()]
    derived = Labeled.of((k, sp.Tuple(*cell)) for k, cell in zip(OBJECTS, cells))
    claims = [
        Claim(id="q4c.cells", statement="Distinct objects are differentiated by assigning each "
              "object to the grid cell containing its center.", derived=derived,
              derivation=Derivation((
                  Step("cell (row, column)", "(i, j)",
                       sp.Tuple(sp.floor(sp.Symbol("c_y") * sp.Symbol("S") / sp.Symbol("I")),
                                sp.floor(sp.Symbol("c_x") * sp.Symbol("S") / sp.Symbol("I")))),
                  *(Step(f"{k}: centre ({(b[0] + b[2]) / 2:g}, {(b[1] + b[3]) / 2:g})",
                         "(i, j)", sp.Tuple(*cell))
                    for (k, b), cell in zip(OBJECTS.items(), cells))),
                  (f"I = {IMAGE} px, S = {GRID}: cells of {IMAGE // GRID} px",)),
              checks=(check("model", "centres by symconv.detection.convert_boxes(xyxy -> xywh), "
                            "cell = floor(c S / I), against integer arithmetic (x1 + x2) S // 2I",
                            "3 objects", cells == cells_int, str(derived)),),
              note=f"The {len(cells)} centres fall in {len(set(cells))} different cells. "
                   "The cell containing the centre is 'responsible' for the object in training; "
                   "among its boxes (v1) or anchors (v2/v3) the one with the highest IoU with the "
                   "object is trained on it. In YOLOv1 a cell has one set of class "
                   "probabilities, so two objects centred in one cell cannot both be found (a "
                   "limitation the v1 paper states).", unit="(row, column)"),
        Claim(id="q4c.cell_assignment", statement="Distinct objects are told apart by the grid "
              "cell that contains each one's centre.",
              quote="Distinct objects are differentiated by assigning each object to the grid "
                    "cell containing its center",
              stated=True, derived=len(set(cells)) == len(cells), cite=("redmon2016", "Sec. 2"),
              reading="Read as: each object is assigned to the cell of its centre, so objects "
                      "centred in different cells are predicted by different cells; the three "
                      "objects of the example (q4c.cells).",
              derivation=Derivation((Step("cells of the three objects' centres", "(i, j)",
                                          derived),
                                     Step("different cells", r"|\{(i, j)\}|",
                                          len(set(cells))))),
              checks=(check("model", "centres by symconv.detection.convert_boxes, cells by "
                            "floor(c S / I), against integer arithmetic", "3 objects",
                            cells == cells_int, str(derived)),),
              note="The YOLOv1 paper: 'If the center of an object falls into a grid cell, that "
                   "grid cell is responsible for detecting that object.' It only separates "
                   "objects whose centres fall in different cells: a YOLOv1 cell has one set of "
                   "class probabilities, and the paper lists small objects in groups as a "
                   "limitation (Sec. 2.4); YOLOv2/v3 assign an object to a cell and an anchor."),
        _iou_training_claim(),
    ]
    return claims, cells


def _iou_training_claim() -> Claim:
    """YOLO's box loss is sum-squared error on the coordinates, not a function of the IoU: two
    predictions with the same IoU with the object get different losses (exact fractions)."""
    truth = (Fraction(1, 2), Fraction(1, 2), Fraction(2, 5), Fraction(2, 5))  # cx, cy, w, h

    def xyxy(b):
        cx, cy, w, h = b
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    shifted = (truth[0] + Fraction(1, 10), *truth[1:])  # moved right by 1/10
    iou_shift = exact_iou(xyxy(truth), xyxy(shifted))
    # a box with the same centre and height, wider until its IoU is the same: IoU = w / w'
    wider = (truth[0], truth[1], truth[2] / iou_shift, truth[3])
    iou_wider = exact_iou(xyxy(truth), xyxy(wider))
    loss = {name: (float(b[0] - truth[0]) ** 2 + float(b[1] - truth[1]) ** 2
                   + (float(b[2]) ** 0.5 - float(truth[2]) ** 0.5) ** 2
                   + (float(b[3]) ** 0.5 - float(truth[3]) ** 0.5) ** 2)
            for name, b in (("shifted", shifted), ("wider", wider))}
    model_iou = np.asarray(pairwise_iou(np.asarray([xyxy(truth)], np.float32),
                                        np.asarray([xyxy(shifted), xyxy(wider)], np.float32)))[0]
    same_loss = abs(loss["shifted"] - loss["wider"]) < 1e-12
    x, y, w, h = sp.symbols("x y w h", positive=True)
    xh, yh, wh, hh = sp.symbols(r"\hat{x} \hat{y} \hat{w} \hat{h}", positive=True)
    return Claim(
        id="q4c.iou_training", statement="Training optimizes IoU, which ensures accurate "
        "localization and the separation of objects.",
        quote="and optimizing for IoU during training, ensuring accurate localization and "
              "separation.",
        stated=True, derived=same_loss, cite=("redmon2016", "Sec. 2.2"),
        reading="Read as: the box coordinates are trained to maximize their IoU with the "
                "object, i.e. the box loss depends on the IoU alone. Checked: do two predictions "
                "with the same IoU get the same loss?",
        derivation=Derivation((
            Step("YOLOv1's coordinate loss for one box (paper, eq. 3, without lambda_coord)",
                 r"\mathcal{L}", (x - xh) ** 2 + (y - yh) ** 2 + (sp.sqrt(w) - sp.sqrt(wh)) ** 2
                 + (sp.sqrt(h) - sp.sqrt(hh)) ** 2),
            Step("object (cx, cy, w, h), image units", "b", sp.Tuple(*truth)),
            Step("prediction moved right by 1/10: IoU", r"\mathrm{IoU}_1",
                 sp.Rational(iou_shift.numerator, iou_shift.denominator)),
            Step("prediction widened to the same IoU", r"\mathrm{IoU}_2",
                 sp.Rational(iou_wider.numerator, iou_wider.denominator)),
            Step("their losses", r"(\mathcal{L}_1, \mathcal{L}_2)",
                 sp.Tuple(decimal(loss["shifted"], 4), decimal(loss["wider"], 4))))),
        checks=(check("model", "symconv.detection.pairwise_iou of the two predictions with the "
                      "object: equal", "float32",
                      abs(float(model_iou[0]) - float(model_iou[1])) < 1e-6
                      and abs(float(model_iou[0]) - float(iou_shift)) < 1e-6,
                      f"{model_iou.tolist()}"),
                check("numpy", "the sum-squared-error loss of each, in float64: different",
                      "2 predictions", not same_loss,
                      f"{loss['shifted']:.4f} vs {loss['wider']:.4f}")),
        correction="The source says YOLO optimizes IoU during training, which ensures accurate "
                   "localization. YOLOv1 trains its box coordinates with sum-squared error on x, "
                   "y, sqrt(w), sqrt(h) (Sec. 2.2; YOLOv3 likewise: 'During training we use sum "
                   "of squared error loss', Sec. 2.1). That loss is not a function of the IoU: "
                   "the two predictions above have the same IoU with the object and different "
                   "losses. IoU enters only as the confidence target and to pick the predictor "
                   "responsible for an object. Nor is localization YOLO's strength: in the "
                   f"YOLOv1 paper's error analysis {paper('v1_loc_errors'):g} % of its top "
                   f"detections are localization errors, against {paper('frcnn_loc_errors'):g} % "
                   "for Fast R-CNN (Fig. 4).",
        note="Borderline in wording: 'optimizing for IoU' could be read loosely as 'trained "
             "to predict the IoU' (YOLOv1's confidence target), which is true but does not "
             "localize boxes.")


def _table(exact) -> Table:
    n = len(DETS)
    return Table(
        f"Example detections (x1, y1, x2, y2 in px on a {IMAGE} x {IMAGE} image) and their "
        "pairwise IoU", ("box", "class", "score", *(str(j) for j in range(n))),
        tuple((i, CLASSES[DET_CLASS[i]], decimal(SCORES[i], 2),
               *(None if i == j else decimal(float(exact[i][j]), 3) for j in range(n)))
              for i in range(n)),
        align="llr" + "r" * n)


# Where each box's tag sits, inside the box: corners chosen so that no two tags overlap.
TAG_CORNER = {0: "top left", 1: "bottom left", 2: "top right", 3: "top left",
              4: "bottom right", 5: "bottom right"}


def _tag(ax, i: int, color: str) -> None:
    """``i: score`` in the box's own corner (:data:`TAG_CORNER`), on a white ground."""
    x1, y1, x2, y2 = DETS[i]
    v, h = TAG_CORNER[i].split()
    ax.text(x1 + 4 if h == "left" else x2 - 4, y1 + 4 if v == "top" else y2 - 4,
            f"{i}: {SCORES[i]:.2f}", color=color, fontsize=6.5, ha=h, va=v,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9})


def _nms_figure(runs, cells) -> plt.Figure:
    colors = ("tab:orange", "tab:blue", "tab:green")
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.6), constrained_layout=True)
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
            _tag(ax, i, col)
        for name, (x1, y1, x2, y2) in OBJECTS.items():
            ax.plot((x1 + x2) / 2, (y1 + y2) / 2, "o", ms=3,
                    color=colors[CLASSES.index(name)])
        ax.set_xlim(0, IMAGE)
        ax.set_ylim(IMAGE, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"{title}: {len(keep)} box{'es' if len(keep) > 1 else ''}")
    handles = [plt.Line2D([], [], color=c, label=n) for c, n in zip(colors, CLASSES)]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=3)
    return fig


def build() -> Proof:
    exact = [[exact_iou(a, b) for b in DETS] for a in DETS]
    nms_claims, runs = _nms_claims(exact)
    cell_claims, cells = _cell_claims()
    fig = Figure("q4c_nms", "Non-maximum suppression on six detections of a dog, a person and "
                 f"a bicycle (448 x 448 image, YOLOv1's 7 x 7 grid, tau = {TAU}): all six "
                 "(left), what class-agnostic NMS keeps (middle: the bicycle is lost under the "
                 "dog) and what per-class NMS keeps (right: one box per object). Each box is "
                 "tagged with its number and score; dots mark the object centres, whose cells "
                 "are shaded.",
                 lambda: _nms_figure(runs, cells))
    return Proof("Q4", "c", "Duplicates: non-maximum suppression and grid cells",
                 tuple(nms_claims + cell_claims), figures=(fig,), tables=(_table(exact),))
