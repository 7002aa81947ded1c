"""What the Q4 proofs take from the YOLO papers' own tables: the numbers (each with its
bibliography key and locator), and the claims of parts (a) and (e) that are checked against them
(detection of small objects, accuracy from YOLOv1 to YOLOv3).

The numbers are the papers', typed in from the cited table or section, never the source's; the
checks compare them as the claims read them, and cross-check with the Flax models where those
say something (the size of the finest cell). A private module (leading ``_``): the runner never
runs it as a proof.
"""

from __future__ import annotations

import sympy as sp

from symconv.report.proof import Basis, Claim, Compared, Derivation, Step

from ._yolo_common import check

# The papers' own numbers, typed in from the cited table or section (they are the papers', not
# the source's): each with its bibliography key and locator.
PAPER = {
    # boxes per cell: YOLOv1 paper Sec. 2.2 ("S = 7, B = 2"), YOLOv3 paper Sec. 2.3 ("3 boxes
    # at each scale")
    "v1_boxes": (2, ("redmon2016", "Sec. 2.2")),
    "v3_boxes": (3, ("redmon2018", "Sec. 2.3")),
    # YOLOv3 paper, Table 3 (COCO test-dev): AP on small objects and AP50
    "v2_ap_small": (5.0, ("redmon2018", "Table 3")),
    "v3_ap_small": (18.3, ("redmon2018", "Table 3")),
    "v2_ap50": (44.0, ("redmon2018", "Table 3")),
    "v3_ap50": (57.9, ("redmon2018", "Table 3")),
    # YOLO9000 paper, Table 3 (PASCAL VOC 2007 test): mAP of YOLO (v1) and YOLOv2 416 x 416
    "v1_voc_map": (63.4, ("redmon2017", "Table 3")),
    "v2_voc_map": (76.8, ("redmon2017", "Table 3")),
    # YOLO9000 paper, Table 1 (VOC 2007): Avg IOU of the boxes with their closest prior
    "iou_sse_5": (58.7, ("redmon2017", "Table 1")),
    "iou_cluster_5": (61.0, ("redmon2017", "Table 1")),
    "iou_hand_9": (60.9, ("redmon2017", "Table 1")),
    "iou_cluster_9": (67.2, ("redmon2017", "Table 1")),
    # YOLO9000 paper, Sec. 2 (Direct location prediction): "improves YOLO by almost 5% over the
    # version with anchor boxes" (dimension clusters and direct location prediction together)
    "location_gain": (5.0, ("redmon2017", "Sec. 2")),
    # YOLOv1 paper, Sec. 4.2 / Fig. 4 (VOC 2007 error analysis): share of the top detections
    # that are localization errors
    "v1_loc_errors": (19.0, ("redmon2016", "Fig. 4")),
    "frcnn_loc_errors": (8.6, ("redmon2016", "Fig. 4")),
}


def paper(name: str) -> float:
    """A number of :data:`PAPER`, without its locator."""
    return PAPER[name][0]


def small_objects_claim(cid: str, quote: str, o3) -> Claim:
    """Multi-scale prediction and small objects: the YOLOv3 paper's AP_S (Table 3), and the
    finest cell of the Flax YOLOv3 (``o3``: its output shapes at 416)."""
    finest = 416 // max(o[0] for o in o3)
    return Claim(
        id=cid, statement="YOLOv3's three scales improve detection across object sizes (small "
        "objects in particular).", quote=quote, stated=Compared.HIGHER,
        derived=Compared.of(paper("v3_ap_small"), paper("v2_ap_small")),
        cite=PAPER["v3_ap_small"][1],
        reading="Read as: small objects are found better than by the single-scale "
                "predecessor; the YOLOv3 paper's COCO AP on small objects.",
        derivation=Derivation((
            Step("YOLOv2 (one 13 x 13 scale), COCO AP on small objects, the YOLOv3 paper's "
                 "Table 3", r"AP_S^{v2}", sp.Float(paper("v2_ap_small"), 3)),
            Step("YOLOv3 608 x 608, three scales", r"AP_S^{v3}",
                 sp.Float(paper("v3_ap_small"), 3)),
            Step("finest cell of YOLOv3 at 416 (input pixels)", r"416 / n_{max}", finest))),
        checks=(check("numpy", "the paper's AP_S, typed in from Table 3: YOLOv3 above YOLOv2",
                      "redmon2018 Table 3", paper("v3_ap_small") > paper("v2_ap_small")),
                check("model", "the Flax YOLOv3's finest output map has cells of 8 input "
                      "pixels, against 32 for a single 13 x 13 map", "1 x 416 x 416 x 3",
                      finest == 8, f"{tuple(o3)}")),
        note="The paper credits the multi-scale predictions ('With the new multi-scale "
             "predictions we see YOLOv3 has relatively high AP_S performance', Sec. 3); the "
             "backbone changed as well, and no ablation separates the two. YOLOv1 has no COCO "
             "result; its paper notes it 'struggles with small objects that appear in groups' "
             "(Sec. 2.4).", unit="AP on small objects")


def accuracy_claims(o3) -> list[Claim]:
    """Q4(a): multi-scale and small objects; 'more accurate' (through YOLOv2: VOC 2007 for v1 to
    v2, COCO for v2 to v3); 'flexible' (a judgement)."""
    steps = {"v1 to v2": paper("v2_voc_map") - paper("v1_voc_map"),
             "v2 to v3": paper("v3_ap50") - paper("v2_ap50")}
    return [
        small_objects_claim("q4a.multiscale_sizes", "YOLOv3's multi-scale prediction also "
                            "enhances its ability to detect objects of different sizes", o3),
        Claim(id="q4a.more_accurate", statement="These changes make YOLOv3 more accurate.",
              quote="These changes make YOLOv3 more accurate",
              stated=Compared.HIGHER, derived=Compared.of(min(steps.values()), 0),
              cite=PAPER["v3_ap50"][1],
              reading="Read as: higher mAP than YOLOv1. No paper compares the two on one data "
                      "set, so the comparison goes through YOLOv2: VOC 2007 for v1 to v2 (the "
                      "YOLO9000 paper, Table 3), COCO for v2 to v3 (the YOLOv3 paper, Table 3).",
              derivation=Derivation((
                  Step("YOLOv1, VOC 2007 mAP (YOLO9000 paper, Table 3)", r"mAP_{v1}",
                       sp.Float(paper("v1_voc_map"), 3)),
                  Step("YOLOv2 416 x 416, VOC 2007 mAP (same table)", r"mAP_{v2}",
                       sp.Float(paper("v2_voc_map"), 3)),
                  Step("YOLOv2, COCO AP50 (YOLOv3 paper, Table 3)", r"AP50_{v2}",
                       sp.Float(paper("v2_ap50"), 3)),
                  Step("YOLOv3 608 x 608, COCO AP50 (same table)", r"AP50_{v3}",
                       sp.Float(paper("v3_ap50"), 3)))),
              checks=(check("numpy", "the papers' numbers, typed in from their tables: each "
                            "step up", "redmon2017 Table 3, redmon2018 Table 3",
                            all(v > 0 for v in steps.values()),
                            ", ".join(f"{k}: +{v:.1f}" for k, v in steps.items())),),
              unit="mAP (YOLOv3 against YOLOv1)"),
        Claim(id="q4a.flexible", statement="These changes make YOLOv3 more flexible.",
              quote="and flexible but", basis=Basis.JUDGEMENT,
              note="'Flexible' names no measurable property. The architecture itself is in "
                   "q4a.scales and q4a.class_per_box."),
    ]
