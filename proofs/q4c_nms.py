"""Q4 part (c): duplicates — non-maximum suppression (class-agnostic and per class) and the
grid-cell assignment on a worked example of six detections, with exact IoUs; checked with
``symconv.detection`` (IoU, NMS, box conversion) and a greedy NMS written in NumPy.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from symconv.detection import convert_boxes, nms, pairwise_iou
from symconv.report.proof import (
    Basis,
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
    claims = [
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
        Claim(id="q4c.iou_training", statement="Optimizing for IoU during training ensures "
              "accurate localization and separation.", basis=Basis.JUDGEMENT,
              note="YOLOv1-v3 regress box coordinates with squared error; IoU enters as the "
                   "confidence target (v1, v2) and in choosing the responsible predictor. How "
                   "well this localizes is an empirical matter.", quote="TODO"),
    ]
    return claims, cells


def _table(exact) -> Table:
    n = len(DETS)
    return Table(
        f"Example detections (x1, y1, x2, y2 in px on a {IMAGE} x {IMAGE} image) and their "
        "pairwise IoU", ("box", "class", "score", *(str(j) for j in range(n))),
        tuple((i, CLASSES[DET_CLASS[i]], decimal(SCORES[i], 2),
               *(None if i == j else decimal(float(exact[i][j]), 3) for j in range(n)))
              for i in range(n)),
        align="llr" + "r" * n)


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


def build() -> Proof:
    exact = [[exact_iou(a, b) for b in DETS] for a in DETS]
    nms_claims, runs = _nms_claims(exact)
    cell_claims, cells = _cell_claims()
    fig = Figure("q4c_nms", "The six detections (left), after class-agnostic NMS (middle) and "
                 f"after per-class NMS (right), tau = {TAU}, on YOLOv1's 7 x 7 grid; dots mark "
                 "the object centres and their cells are shaded.",
                 lambda: _nms_figure(runs, cells))
    return Proof("Q4", "c", "Duplicates: non-maximum suppression and grid cells",
                 tuple(nms_claims + cell_claims), figures=(fig,), tables=(_table(exact),))
