"""Q4 part (a): YOLOv1 against YOLOv3 — output depth per cell, where the extra channels come
from, objectness, the three scales, the number of boxes and the cost, checked against the Flax
models (``jax.eval_shape``, XLA's lowered-HLO count), ``decode_yolo`` and named cell layouts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from symconv.algebra.nets.yolo_head import anchor_depth, box_count, grid_sizes, v1_depth, v1_output
from symconv.checks import xla
from symconv.detection import decode_yolo
from symconv.errors import ShapeMismatchError
from symconv.report.notation import human
from symconv.report.proof import (
    Claim,
    Compared,
    Derivation,
    Labeled,
    Proof,
    Step,
    sample_check,
    values_equal,
)

from ._yolo_common import (
    A_,
    B_,
    C_,
    STATED,
    C,
    check,
    n_,
    networks,
    v1_layout,
    v3_layout,
)
from ._yolo_papers import accuracy_claims, paper

DEPTH_POINTS = [{"B": b, "C": c} for b in (1, 2, 3, 5) for c in (1, 20, 80)]


def _decode_shapes(grid: int, depth: int, candidates: bool = False):
    """Shapes of ``decode_yolo`` on a (1, grid, grid, depth) head, 3 anchors, C = 80, by
    ``jax.eval_shape`` (traced, not compiled)."""
    def f(head):
        d = decode_yolo(head, jnp.ones((3, 2)), num_classes=C)
        return d.candidates() if candidates else d

    return jax.eval_shape(f, jax.ShapeDtypeStruct((1, grid, grid, depth), jnp.float32))


def _depth_claims(o1, o3) -> list[Claim]:
    d1, d3 = v1_depth(2, C), anchor_depth(3, C)
    dec = _decode_shapes(13, d3)
    try:
        _decode_shapes(13, d3 - 1)
        rejects = False
    except ShapeMismatchError:
        rejects = True
    per_box = sp.Integer(anchor_depth(1, C))
    return [
        Claim(id="q4a.v1_depth", statement="YOLOv1 with B = 2 boxes per cell and C = 80 "
              "classes: B x 5 + C = 2 x 5 + 80 = 90 channels per cell.",
              stated=STATED["v1_depth"], derived=d1,
              derivation=Derivation((
                  Step("formula", "d_{v1}", v1_depth(B_, C_)),
                  Step("substitution", "d_{v1}", v1_depth(B_, C_), {B_: "2", C_: "80"}),
                  Step("result", "d_{v1}", d1))),
              checks=(sample_check("numpy", "channels of YOLOv1's cell layout, named one by one "
                                   "(B x (x, y, w, h, conf), then C class probabilities) and "
                                   "counted", DEPTH_POINTS, lambda p: int(v1_depth(p["B"], p["C"])),
                                   lambda p: len(v1_layout(p["B"], p["C"]))),
                      check("model", "jax.eval_shape of the Flax YOLOv1 (C = 80)",
                            "1 x 448 x 448 x 3", o1 == ((7, 7, d1),), f"{o1}")),
              unit="channels", cite=("redmon2016", "Sec. 2"),
              quote="This results in a total output depth of $B \\times 5 + C = 2 \\times 5 + "
                    "80 = 90$ channels per cell."),
        Claim(id="q4a.v3_depth", statement="YOLOv3 with B = 3 boxes per cell (per scale) and "
              "C = 80: B x (4 + 1 + C) = 3 x 85 = 255 channels per cell.",
              stated=STATED["v3_depth"], derived=d3,
              derivation=Derivation((
                  Step("formula", "d_{v3}", anchor_depth(A_, C_)),
                  Step("substitution", "d_{v3}", anchor_depth(A_, C_), {A_: "3", C_: "80"}),
                  Step("result", "d_{v3}", d3))),
              checks=(sample_check("numpy", "channels of YOLOv3's cell layout, named one by one "
                                   "(per anchor t_x, t_y, t_w, t_h, t_o, C class scores) and "
                                   "counted", [{"A": p["B"], "C": p["C"]} for p in DEPTH_POINTS],
                                   lambda p: int(anchor_depth(p["A"], p["C"])),
                                   lambda p: len(v3_layout(p["A"], p["C"]))),
                      check("model", "symconv.detection.decode_yolo takes a 13x13x255 head as 3 "
                            "anchors x (4 box + 1 objectness + 80 classes) and rejects 254 "
                            "channels", "A=3, C=80",
                            dec.boxes.shape == (1, 13, 13, 3, 4) and dec.class_probs.shape[-1] == C
                            and dec.objectness.shape == (1, 13, 13, 3) and rejects,
                            f"boxes {dec.boxes.shape}, class_probs {dec.class_probs.shape}"),
                      check("model", "jax.eval_shape of the Flax YOLOv3: every output's depth",
                            "1 x 416 x 416 x 3", all(o[-1] == d3 for o in o3), f"{o3}")),
              unit="channels", cite=("redmon2018", "Sec. 2.3"),
              quote="This gives $B \\times (4 + 1 + C) = 3 \\times 85 = 255$ channels per "
                    "cell."),
        Claim(id="q4a.v3_per_box", statement="Each YOLOv3 box outputs 4 coordinates, 1 "
              "objectness score and 80 class probabilities: 4 + 1 + C = 85.",
              stated=STATED["v3_per_box"], derived=per_box,
              derivation=Derivation((
                  Step("per anchor", "d_{v3} / B", sp.simplify(anchor_depth(A_, C_) / A_)),
                  Step("C = 80", "d_{v3} / B", per_box))),
              checks=(check("model", "decode_yolo's per-anchor split: 4 box + 1 objectness + C "
                            "class entries", "A=3, C=80",
                            dec.boxes.shape[-1] + 1 + dec.class_probs.shape[-1] == int(per_box),
                            f"{dec.boxes.shape[-1]} + 1 + {dec.class_probs.shape[-1]}"),),
              quote="with each bounding box outputting 4 coordinates, 1 objectness score, and 80 "
                    "class probabilities",
              reading="4 + 1 + 80 = 85 channels per box (the sum is the source's own, in "
                      "'3 \\times 85' of the next sentence).",
              unit="channels", cite=("redmon2018", "Sec. 2.3")),
    ]


def _layout_claims(o1, o3) -> list[Claim]:
    """What each cell holds in YOLOv1 and YOLOv3: boxes, per-box entries, class sets."""
    lay1, lay3 = v1_layout(2, C), v3_layout(3, C)
    b1 = (o1[0][-1] - C) // 5  # YOLOv1's boxes per cell, from the Flax model's depth
    b3 = {o[-1] // anchor_depth(1, C) for o in o3}
    per_box = Labeled.of(coordinates=sum(x in ("box0.x", "box0.y", "box0.w", "box0.h")
                                         for x in lay1),
                         confidence=sum(x == "box0.conf" for x in lay1),
                         classes_per_cell=sum(x.startswith("P(class") for x in lay1))

    def sets(layout, boxes):
        """'per box' when every box has its own C class scores, 'per cell' when they share."""
        n = sum(x.startswith("P(class") or ".cls" in x for x in layout)
        return "per box" if n == boxes * C else "per cell" if n == C else "other"

    return [
        Claim(id="q4a.v1_boxes", statement="YOLOv1 predicts B = 2 boxes per cell.",
              quote="For a model with $C = 80$ classes, YOLOv1 predicts $B = 2$ bounding boxes "
                    "per cell.", stated=STATED["v1_boxes"], derived=b1,
              cite=("redmon2016", "Sec. 2.2"),
              reading="The paper's B = 2 is for PASCAL VOC (C = 20); the question keeps it for "
                      "C = 80.",
              derivation=Derivation((
                  Step("boxes from the output depth", "B", sp.Mul(
                      sp.Add(o1[0][-1], -C, evaluate=False), sp.Pow(5, -1, evaluate=False),
                      evaluate=False)),
                  Step("result", "B", b1))),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv1 (C = 80): (depth - C) / 5",
                            "1 x 448 x 448 x 3", (o1[0][-1] - C) % 5 == 0 and b1 == 2,
                            f"{o1}"),
                      check("numpy", "the paper's B for VOC, typed in from Sec. 2.2 ('S = 7, "
                            "B = 2')", "redmon2016 Sec. 2.2", b1 == paper("v1_boxes"))),
              unit="boxes per cell"),
        Claim(id="q4a.v1_layout", statement="YOLOv1: each box has 4 coordinates and 1 "
              "confidence; the cell has one set of 80 class probabilities.",
              quote="Each bounding box includes 4 coordinates (x, y, w, h) and 1 confidence "
                    "score, while the grid cell as a whole predicts 80 class probabilities.",
              stated=Labeled.of(coordinates=4, confidence=1, classes_per_cell=80),
              derived=per_box, cite=("redmon2016", "Sec. 2"),
              derivation=Derivation((Step("entries of box 0 and of the cell, named and counted",
                                          r"\mathrm{entries}", per_box),)),
              checks=(check("model", "the Flax YOLOv1's depth: B x (4 + 1) + 80 class "
                            "probabilities", "C = 80",
                            o1[0][-1] == b1 * (per_box["coordinates"] + per_box["confidence"])
                            + per_box["classes_per_cell"], f"{o1[0][-1]}"),),
              unit="entries"),
        Claim(id="q4a.v3_boxes", statement="YOLOv3 predicts B = 3 boxes per cell (at each "
              "scale).", quote="In YOLOv3, $B = 3$ bounding boxes are predicted per cell",
              stated=STATED["v3_boxes"], derived=min(b3), cite=("redmon2018", "Sec. 2.3"),
              reading="Per cell at each of the three scales.",
              derivation=Derivation(tuple(
                  Step(f"{o[0]} x {o[1]} map: depth / (5 + C)", "B",
                       sp.Mul(o[-1], sp.Pow(5 + C, -1, evaluate=False), evaluate=False))
                  for o in o3)),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv3: every output's depth / "
                            "(5 + C)", "1 x 416 x 416 x 3", b3 == {paper("v3_boxes")},
                            f"{o3}"),),
              unit="boxes per cell"),
        Claim(id="q4a.boxes_increase", statement="YOLOv3 predicts more boxes per cell than "
              "YOLOv1.", quote="YOLOv3 increases the number of bounding boxes per cell",
              stated=Compared.HIGHER, derived=Compared.of(min(b3), b1),
              reading="Per cell and per scale: 3 against 2.",
              derivation=Derivation((Step("YOLOv1", "B_{v1}", b1),
                                     Step("YOLOv3, per scale", "B_{v3}", min(b3)))),
              checks=(check("model", "boxes per cell from the Flax models' depths (q4a.v1_boxes, "
                            "q4a.v3_boxes) against the papers'", "C = 80",
                            (b1, b3) == (paper("v1_boxes"), {paper("v3_boxes")})),),
              unit="boxes per cell (YOLOv3 against YOLOv1)"),
        Claim(id="q4a.class_per_box", statement="Unlike YOLOv1, YOLOv3 predicts class "
              "probabilities for each box.",
              quote="Unlike YOLOv1, it predicts class probabilities for each bounding box "
                    "independently, enabling multi-label predictions.",
              stated=Labeled.of(YOLOv1="per cell", YOLOv3="per box"),
              derived=Labeled.of(YOLOv1=sets(lay1, 2), YOLOv3=sets(lay3, 3)),
              cite=("redmon2016", "Sec. 2"),
              reading="One set of C class probabilities per cell (YOLOv1: 'We only predict one "
                      "set of class probabilities per grid cell, regardless of the number of "
                      "boxes B') against one per box (YOLOv3). That independent logistic scores "
                      "allow several labels is checked in q4b.max_labels.",
              derivation=Derivation((
                  Step("class entries per cell, YOLOv1", r"n_{v1}", sp.Integer(C)),
                  Step("class entries per cell and scale, YOLOv3", r"n_{v3}",
                       sp.Mul(3, C, evaluate=False)))),
              checks=(check("numpy", "class entries in the named cell layouts", "B = 2 vs 3",
                            sets(lay1, 2) == "per cell" and sets(lay3, 3) == "per box"),
                      check("model", "the Flax models' depths leave C class channels per cell "
                            "(v1) and per box (v3)", "C = 80",
                            o1[0][-1] - 5 * b1 == C and all(o[-1] == 3 * (5 + C) for o in o3)))),
    ]


def _extra_channel_claims() -> list[Claim]:
    """Where the 165 extra channels come from, and whether objectness is new."""
    d1, d3 = v1_depth(2, C), anchor_depth(3, C)
    b1, b3 = sp.symbols("B_1 B_3", integer=True, positive=True)
    diff = sp.expand(anchor_depth(b3, C_) - v1_depth(b1, C_))
    split = 5 * (b3 - b1) + (b3 - 1) * C_
    lay1, lay3 = v1_layout(2, C), v3_layout(3, C)
    cls1 = sum(1 for x in lay1 if x.startswith("P(class"))
    cls3 = sum(1 for x in lay3 if ".cls" in x)
    # scores per box: what is left of a box's channels after its 4 coordinates
    v1_scores = sp.simplify((v1_depth(B_, C_) - C_) / B_ - 4)
    v3_scores = sp.simplify(anchor_depth(A_, C_) / A_ - C_ - 4)
    conf1 = sum(x.endswith(".conf") for x in lay1)
    obj3 = sum(x.endswith(".obj") for x in lay3)
    return [
        Claim(id="q4a.depth_difference", statement="The difference in depth comes from more "
              "boxes per cell, an objectness score per box and class probabilities per box (not "
              "per cell).", derived=d3 - d1,
              derivation=Derivation((
                  Step("difference", "d_{v3} - d_{v1}", diff),
                  Step("regrouped", "d_{v3} - d_{v1}", split),
                  Step("B_1 = 2, B_3 = 3, C = 80", "d_{v3} - d_{v1}",
                       sp.Add(sp.Integer(5 * (3 - 2)), sp.Integer((3 - 1) * C), evaluate=False)),
                  Step("result", "d_{v3} - d_{v1}", d3 - d1))),
              checks=(check("sympy", "B_3(5 + C) - (5 B_1 + C) - [5(B_3 - B_1) + (B_3 - 1)C] "
                            "simplifies to 0", "all B_1, B_3, C", sp.simplify(diff - split) == 0),
                      check("numpy", "class channels in the named layouts: v3 minus v1",
                            "B=2 vs 3, C=80",
                            cls3 - cls1 == (3 - 1) * C and len(lay3) - len(lay1) == d3 - d1,
                            f"{cls3} - {cls1} = {cls3 - cls1} class channels; "
                            f"{len(lay3) - len(lay1)} in all")),
              note=f"{(3 - 1) * C} of the {d3 - d1} extra channels are class scores: v3 repeats "
                   "the C scores for every box instead of sharing one set per cell. Only 5 come "
                   "from the third box (4 coordinates + 1 score).", unit="channels"),
        Claim(id="q4a.objectness_new", statement="YOLOv3 introduces an explicit objectness score "
              "for each box.", quote="introduces an explicit objectness score for each box",
              stated=Labeled.of(YOLOv1=0, YOLOv3=1),
              derived=Labeled.of(YOLOv1=int(v1_scores), YOLOv3=int(v3_scores)),
              cite=("redmon2016", "Sec. 2"),
              reading="'Introduces' read as: YOLOv1 has no such score (0 per box), YOLOv3 one.",
              derivation=Derivation((
                  Step("v1: per box, after 4 coordinates", "(d_{v1} - C) / B - 4", v1_scores),
                  Step("v3: per box, after 4 coordinates", "d_{v3} / B - C - 4", v3_scores))),
              checks=(check("numpy", "entries named 'conf' (v1) and 'obj' (v3) in the cell "
                            "layouts", "B=2 vs 3, C=80", conf1 == 2 and obj3 == 3,
                            f"v1: {conf1} per cell, v3: {obj3} per cell per scale"),),
              correction="The source says YOLOv3 introduces a per-box objectness score; YOLOv1 "
                         "already had one: each of its boxes predicts x, y, w, h and a "
                         "confidence, Pr(Object) x IoU (the YOLOv1 paper, Sec. 2, and the source's "
                         "own '1 confidence score' two sentences earlier). YOLOv3 keeps one score "
                         "per box (now trained by logistic regression); what is new is a set of "
                         "class scores per box.",
              note="Borderline in wording only: YOLOv1's confidence is trained towards the IoU "
                   "with the object, YOLOv3's objectness towards 1 for the best prior; both are "
                   "the box's 'is there an object' score.", unit="scores per box"),
    ]


def _scale_claims(v1, v3) -> list[Claim]:
    o1, o3, a3 = v1.outputs_model(), v3.outputs_model(), v3.outputs_algebra()
    d3 = anchor_depth(3, C)
    grids = grid_sizes(416)
    count, count416 = box_count(n_), box_count(416)
    dec_n = sum(_decode_shapes(g, d3, candidates=True)[0].shape[1] for g in grids)
    cells = sum(h * w * (c // anchor_depth(1, C)) for h, w, c in o3)
    v1_boxes = sp.Mul(*v1_output(7, 2, C)[:2]) * 2
    values = {k: sum(int(np.prod(o)) for o in outs) for k, outs in (("v1", o1), ("v3", o3))}
    alg_values = {"v1": int(sp.Mul(*v1_output(7, 2, C))),
                  "v3": sum(g * g * d3 for g in grids)}
    return [
        Claim(id="q4a.scales", statement="YOLOv3 performs detection at three different scales.",
              quote="Since YOLOv3 performs detection at three different scales, it generates "
                    "three separate sets of predictions.",
              stated=STATED["v3_scales"], derived=len(a3), cite=("redmon2018", "Sec. 2.3"),
              derivation=Derivation((Step("grid per scale", "n / s_i", sp.Tuple(*grid_sizes(n_))),
                                     Step("n = 416", "n / s_i", sp.Tuple(*grids)))),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv3 returns one map per "
                            "scale, the algebra's shapes", "1 x 416 x 416 x 3",
                            o3 == a3 and tuple(o[0] for o in o3) == grids, f"{o3}"),
                      check("sympy", "grid sides n/32, n/16, n/8 at n = 416 are integers",
                            "n = 416", all(isinstance(g, int) for g in grids), f"{grids}")),
              note="Strides 32, 16 and 8: cells of 32, 16 and 8 input pixels.", unit="scales"),
        Claim(id="q4a.output_complexity", statement="Multi-scale prediction adds to YOLOv3's "
              "output.", quote="contributing to its increased output complexity",
              stated=Compared.HIGHER, derived=Compared.of(values["v3"], values["v1"]),
              reading="Read as: more output values per image than YOLOv1.",
              derivation=Derivation((
                  Step("YOLOv1: 7 x 7 x 90", "V_{v1}", alg_values["v1"]),
                  Step("YOLOv3 at 416: three maps of depth 255", "V_{v3}",
                       sp.Add(*[sp.Mul(g, g, d3, evaluate=False) for g in grids],
                              evaluate=False)),
                  Step("result", "V_{v3}", alg_values["v3"]))),
              checks=(check("model", "output elements of the Flax models (jax.eval_shape) "
                            "against the algebra", "448 and 416", values == alg_values,
                            f"{values}"),),
              unit="output values per image (YOLOv3 against YOLOv1)"),
        Claim(id="q4a.box_count", statement="Boxes YOLOv3 predicts on a 416 x 416 image (three "
              "scales, 3 boxes per cell per scale).", derived=count416,
              derivation=Derivation((
                  Step("formula", "N(n)", sp.Add(*[3 * g ** 2 for g in grid_sizes(n_)],
                                                 evaluate=False)),
                  Step("closed form", "N(n)", count),
                  Step("n = 416", "N", sp.Add(*[sp.Integer(3 * g * g) for g in grids],
                                              evaluate=False)),
                  Step("result", "N", count416),
                  Step("YOLOv1 (7 x 7 grid, B = 2)", "N_{v1}", v1_boxes))),
              checks=(check("sympy", "closed form at n = 416 equals the sum over scales",
                            "n = 416", values_equal(count.subs(n_, 416), count416)),
                      check("model", "boxes from decode_yolo(...).candidates() on zero heads at "
                            "13, 26, 52", "A=3, C=80", dec_n == count416, f"{dec_n}"),
                      check("model", "cells x anchors of the Flax YOLOv3's output maps "
                            "(jax.eval_shape)", "1 x 416 x 416 x 3", cells == count416,
                            f"{cells}")),
              note=f"YOLOv1 predicts {v1_boxes} boxes on its 7 x 7 grid; YOLOv3 at 416 predicts "
                   f"{count416:,}, {count416 / int(v1_boxes):.0f} times as many.", unit="boxes"),
    ]


def _cost_claims(v1, v3) -> list[Claim]:
    f1, f3 = v1.flops(), v3.flops()
    c1 = xla.cost(v1.model, (1, v1.side, v1.side, 3))
    c3 = xla.cost(v3.model, (1, 416, 416, 3))
    p1, p3 = v1.algebra.param_count(), v3.algebra.param_count()
    return [
        Claim(id="q4a.cost", statement="These changes increase the computational cost (YOLOv3 "
              "against YOLOv1).", quote="but increase computational cost",
              stated=Compared.HIGHER, derived=Compared.of(f3, f1),
              derivation=Derivation((Step("YOLOv1 at 448 x 448 (its only size)", "F_{v1}", f1),
                                     Step("YOLOv3 at 416 x 416", "F_{v3}", f3),
                                     Step("ratio", "F_{v3} / F_{v1}", sp.Float(f3 / f1, 3))),
                                    ("FLOPs = 2 x MACs plus every elementwise op, as XLA counts "
                                     "them", "C = 80 for both")),
              checks=(check("xla", "cost_analysis() of the lowered YOLOv1 and YOLOv3 (not "
                            "compiled) against the algebra, within float32 accumulation",
                            "448 and 416, batch 1",
                            xla.flops_agree(f1, c1["flops"], c1["ops"])
                            and xla.flops_agree(f3, c3["flops"], c3["ops"]),
                            f"XLA: {human(c1['flops'])}, {human(c3['flops'])}FLOPs"),),
              note=f"YOLOv3 costs {f3 / f1:.2f}x the FLOPs of YOLOv1 ({human(f3)} vs "
                   f"{human(f1)}) with {p3 / p1:.2f}x its parameters ({human(p3)} vs "
                   f"{human(p1)}): YOLOv1's 7 x 7 x 1024 -> 4096 fully connected layer alone "
                   f"holds {human(7 * 7 * 1024 * 4096 + 4096)} parameters.",
              unit="FLOPs (YOLOv3 against YOLOv1)"),
    ]


ORDER = ("v1_boxes", "v1_layout", "v1_depth", "v3_boxes", "v3_per_box", "v3_depth", "scales",
         "depth_difference", "boxes_increase", "objectness_new", "class_per_box",
         "multiscale_sizes", "output_complexity", "box_count", "more_accurate", "flexible",
         "cost")


def build() -> Proof:
    nets = networks(("YOLOv1", "YOLOv3"))
    v1, v3 = nets["YOLOv1"], nets["YOLOv3"]
    o1, o3 = v1.outputs_model(), v3.outputs_model()
    claims = {c.id: c for c in _depth_claims(o1, o3) + _layout_claims(o1, o3)
              + _extra_channel_claims() + _scale_claims(v1, v3) + accuracy_claims(o3)
              + _cost_claims(v1, v3)}
    return Proof("Q4", "a", "YOLOv1 vs YOLOv3: output depth per cell",
                 tuple(claims[f"q4a.{k}"] for k in ORDER))
