"""Q4 (YOLO) proof module: it loads through the runner, every claim has a verdict computed from
passing checks, the source's statements are all covered, its tables and figures render, and the
facts it rests on hold when derived here in another way."""

from __future__ import annotations

import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from symconv.report.proof import Verdict
from symconv.report.render.figures import write_figures
from symconv.report.render.json import report_json, report_schema
from symconv.report.render.latex import report_latex
from symconv.report.render.markdown import report_markdown
from symconv.report.runner import load_proofs

ROOT = Path(__file__).parent.parent
FILE = ROOT / "proofs" / "q4_yolo.py"


@pytest.fixture(scope="module")
def proofs():
    return load_proofs(FILE)


@pytest.fixture(scope="module")
def module(proofs):
    return sys.modules[f"symconv_proof_{FILE.stem}"]


@pytest.fixture(scope="module")
def claims(proofs):
    return {c.id: c for p in proofs for c in p.claims}


def test_one_proof_per_part_in_order(proofs):
    assert [(p.question, p.part) for p in proofs] == [("Q4", x) for x in "abcde"]
    for p in proofs:
        assert p.claims and all(c.question == "Q4" and c.part == p.part for c in p.claims)
        assert all(c.id.startswith(f"q4{p.part}.") for c in p.claims)


def test_every_claim_has_a_consistent_verdict(claims):
    for claim in claims.values():
        assert claim.verdict is not Verdict.INCONSISTENT, (
            claim.id, [c.detail for c in claim.checks if not c.passed])
        if claim.opinion:
            assert claim.verdict is Verdict.OPINION and claim.note
            continue
        assert claim.checks, claim.id
        assert all(c.passed is True for c in claim.checks), claim.id
        assert all(c.side in {"sympy", "model", "xla", "numpy", "experiment"}
                   for c in claim.checks), claim.id
        assert claim.derived is not None, claim.id


def test_every_checked_claim_is_checked_from_outside_the_algebra(claims):
    """At least one check per claim runs code other than the closed form it derives from: a
    model, XLA, symconv.detection, or NumPy written in the proof."""
    for claim in claims.values():
        if not claim.opinion:
            assert {c.side for c in claim.checks} & {"model", "xla", "numpy"}, claim.id


# The source's checkable statements, part by part, and the claim that covers each.
COVERED = {
    "a": ["q4a.v1_depth", "q4a.v3_depth", "q4a.v3_per_box", "q4a.scales", "q4a.depth_difference",
          "q4a.objectness_new", "q4a.box_count", "q4a.cost", "q4a.more_accurate"],
    "b": ["q4b.max_labels", "q4b.woman_example", "q4b.objectness", "q4b.no_class",
          "q4b.robustness"],
    "c": ["q4c.iou_pairs", "q4c.nms_agnostic", "q4c.nms_per_class", "q4c.cells",
          "q4c.iou_training"],
    "d": ["q4d.kmeans", "q4d.hand_picked", "q4d.centre_logistic", "q4d.centre_unconstrained",
          "q4d.stability"],
    "e": ["q4e.darknet53_layers", "q4e.residual", "q4e.gradient_flow", "q4e.v2_scales",
          "q4e.v3_scales", "q4e.logistic", "q4e.v3_anchors", "q4e.anchors_increase",
          "q4e.conv_layers", "q4e.params.yolov1", "q4e.params.yolov2", "q4e.params.yolov3",
          "q4e.params.darknet19", "q4e.params.darknet53"],
}


def test_the_source_statements_are_covered(claims):
    for part, ids in COVERED.items():
        missing = [i for i in ids if i not in claims]
        assert not missing, (part, missing)


def test_judgements_are_opinions_not_checks(claims):
    for cid in ("q4a.more_accurate", "q4a.multiscale_sizes", "q4b.robustness",
                "q4c.iou_training", "q4d.stability", "q4e.gradient_flow", "q4e.accuracy"):
        assert claims[cid].opinion and not claims[cid].checks, cid


def test_stated_values_are_the_sources(claims):
    """The numbers the source states sit in ``stated``; the values they are compared with come
    from the toolkit (a transcription error here would show up as a refutation)."""
    source = (ROOT.parent / "shared" / "seed" / "assignment3.txt")
    text = source.read_text() if source.exists() else None
    for cid, value in (("q4a.v1_depth", 90), ("q4a.v3_depth", 255), ("q4a.v3_per_box", 85)):
        assert claims[cid].stated == value
        if text is not None:
            assert re.search(rf"\b{value}\b", text), (cid, value)


def test_refutations_give_the_right_value_and_say_why(claims):
    refuted = {cid for cid, c in claims.items() if c.verdict is Verdict.REFUTED}
    assert refuted == {"q4a.objectness_new", "q4e.anchors_increase"}
    for cid in refuted:
        assert claims[cid].note and claims[cid].derived != claims[cid].stated


# --- the facts again, derived here another way -------------------------------------------------

def test_depths_and_box_count_from_the_papers_layouts(claims):
    """YOLOv1: per cell B x (x, y, w, h, confidence) + C; YOLOv3: per cell and scale B x (4 + 1 +
    C); three grids n/32, n/16, n/8 of 3 boxes each."""
    assert claims["q4a.v1_depth"].derived == 2 * len("xywh") + 2 + 80
    assert claims["q4a.v3_depth"].derived == 3 * (len("xywh") + 1 + 80)
    assert claims["q4a.box_count"].derived == sum(3 * (416 // s) ** 2 for s in (8, 16, 32))
    assert claims["q4a.depth_difference"].derived == (3 * 85) - (2 * 5 + 80)


def test_nms_example_by_hand(module, claims):
    """Duplicates of the example, from exact IoUs computed here: one kept box per cluster of
    IoU > 1/2, the best-scoring one."""
    dets, scores, cls = module.DETS, module.SCORES, module.DET_CLASS

    def iou(a, b):
        iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
        return Fraction(iw * ih, area(a) + area(b) - iw * ih)

    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6) if iou(dets[i], dets[j]) > 0.5]
    assert claims["q4c.iou_pairs"].derived == ", ".join(f"({i},{j})" for i, j in pairs)
    # the two overlap clusters: {0, 1, 2, 5} and {3, 4}; per class: dog, person, bicycle
    best = lambda group: max(group, key=lambda i: scores[i])  # noqa: E731
    agnostic = sorted([best([0, 1, 2, 5]), best([3, 4])], key=lambda i: -scores[i])
    per_class = sorted([best([i for i in range(6) if cls[i] == c]) for c in range(3)],
                       key=lambda i: -scores[i])
    assert claims["q4c.nms_agnostic"].derived == "boxes " + ", ".join(map(str, agnostic))
    assert claims["q4c.nms_per_class"].derived == "boxes " + ", ".join(map(str, per_class))


def test_cells_by_integer_arithmetic(module, claims):
    cell = module.IMAGE // module.GRID
    want = ", ".join(f"{k} {(y1 + y2) // 2 // cell},{(x1 + x2) // 2 // cell}"
                     for k, (x1, y1, x2, y2) in module.OBJECTS.items())
    assert claims["q4c.cells"].derived == want


def test_box_set_is_reproducible_and_documented(module):
    a, b = module.box_set(), module.box_set()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (module.N_BOXES, 2) and ((a > 0) & (a <= 1)).all()
    assert abs(sum(w for _, _, w in module.SHAPES) - 1) < 1e-12
    assert len(module.hand_anchors()) == 9


def test_anchor_claim_rests_on_the_measured_table(proofs, claims):
    """The k-means verdict follows the table: 1 - IoU above Euclidean at every k >= 2."""
    _, md, _ = proofs[3].tables[0]
    rows = [r.split("|")[1:4] for r in md.splitlines()[2:]]
    ks = [int(r[0]) for r in rows]
    iou, euc = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    assert ks == list(range(1, 10))
    higher = all(a > b for k, a, b in zip(ks, iou, euc) if k > 1)
    assert (claims["q4d.kmeans"].derived == "higher mean IoU") == higher
    assert claims["q4d.hand_picked"].derived == next(
        k for k, a in zip(ks, iou) if a >= float(re.search(r"reach ([\d.]+)",
                                                           proofs[3].tables[0][0]).group(1)))


# --- rendering ----------------------------------------------------------------------------------

def test_figures_are_written(proofs, tmp_path):
    written = write_figures(proofs, tmp_path)
    names = {p.name for p in written}
    assert names == {"q4c_nms.png", "q4d_anchors.png"}
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000, path


def test_tables_render_in_markdown_and_latex(proofs):
    tables = [t for p in proofs for t in p.tables]
    assert len(tables) == 4
    for caption, md, tex in tables:
        lines = md.splitlines()
        cols = lines[0].count("|")
        assert all(line.count("|") == cols for line in lines), caption
        assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
        spec = re.search(r"\\begin\{tabular\}\{(\w+)\}", tex).group(1)
        body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
        for row in filter(None, (r.strip() for r in body.split(r"\\"))):
            assert row.count("&") == len(spec) - 1, (caption, row)


def test_report_renders_and_follows_the_schema(proofs):
    md = report_markdown(proofs)
    tex = report_latex(proofs)
    doc = json.loads(report_json(proofs))
    jsonschema.validate(doc, report_schema())
    for p in proofs:
        for c in p.claims:
            assert f"`{c.id}`" in md and c.id in tex
    assert doc["summary"]["inconsistent"] == 0
