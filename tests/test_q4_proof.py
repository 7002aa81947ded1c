"""Q4 (YOLO) proof modules: one per part, every claim has a verdict computed from passing checks,
the source's statements are all covered, the typed values hold the facts, tables and figures
render, and the facts they rest on hold when derived here in another way.

The proofs come from the session fixture ``all_proofs`` (built once); their modules' constants
from ``sys.modules`` under the runner's names.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import sympy as sp

from symconv.report.proof import Basis, Compared, Labeled, Verdict
from symconv.report.render.figures import write_figures
from symconv.report.render.json import report_json, report_schema
from symconv.report.render.latex import report_latex
from symconv.report.render.markdown import report_markdown
from symconv.report.render.tables import table_latex, table_markdown
from symconv.report.runner import module_name

ROOT = Path(__file__).parent.parent
PARTS = {"a": "q4a_outputs", "b": "q4b_classes", "c": "q4c_nms", "d": "q4d_anchors",
         "e": "q4e_networks"}


@pytest.fixture(scope="module")
def proofs(all_proofs):
    return [p for p in all_proofs if p.question == "Q4"]


@pytest.fixture(scope="module")
def modules(all_proofs):
    """The loaded proof modules by part, and the shared helpers under ``"common"``."""
    mods = {part: sys.modules[module_name(ROOT / "proofs" / f"{stem}.py")]
            for part, stem in PARTS.items()}
    mods["common"] = sys.modules[module_name(ROOT / "proofs" / "_yolo_common.py")]
    return mods


@pytest.fixture(scope="module")
def claims(proofs):
    return {c.id: c for p in proofs for c in p.claims}


def test_one_module_per_part_in_order(proofs):
    assert [(p.question, p.part) for p in proofs] == [("Q4", x) for x in "abcde"]
    for p in proofs:
        assert p.claims and all(c.question == "Q4" and c.part == p.part for c in p.claims)
        assert all(c.id.startswith(f"q4{p.part}.") for c in p.claims)
    for stem in PARTS.values():
        assert len((ROOT / "proofs" / f"{stem}.py").read_text().splitlines()) <= 400, stem


def test_every_claim_has_a_consistent_verdict(claims):
    for claim in claims.values():
        assert claim.verdict is not Verdict.INCONSISTENT, (
            claim.id, [c.detail for c in claim.checks if not c.passed])
        if claim.basis is not Basis.CHECKED:
            assert claim.verdict in (Verdict.OPINION, Verdict.UNSOURCED) and claim.note
            assert not claim.checks, claim.id
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
        if claim.basis is Basis.CHECKED:
            assert {c.side for c in claim.checks} & {"model", "xla", "numpy"}, claim.id


# The source's statements, part by part, and the claims that quote them.
QUOTED = {
    "a": ["q4a.v1_boxes", "q4a.v1_layout", "q4a.v1_depth", "q4a.v3_boxes", "q4a.v3_per_box",
          "q4a.v3_depth", "q4a.scales", "q4a.boxes_increase", "q4a.objectness_new",
          "q4a.class_per_box", "q4a.multiscale_sizes", "q4a.output_complexity",
          "q4a.more_accurate", "q4a.flexible", "q4a.cost"],
    "b": ["q4b.replaces", "q4b.max_labels", "q4b.objectness", "q4b.robustness"],
    "c": ["q4c.nms_rule", "q4c.cell_assignment", "q4c.iou_training"],
    "d": ["q4d.issue_dimensions", "q4d.centre_unconstrained", "q4d.kmeans",
          "q4d.centre_logistic", "q4d.stability"],
    "e": ["q4e.darknet53_layers", "q4e.has_residual", "q4e.gradient_flow", "q4e.deeper",
          "q4e.v2_scales", "q4e.v3_scales", "q4e.varying_sizes", "q4e.logistic",
          "q4e.v3_anchors", "q4e.anchors_increase", "q4e.accuracy"],
}
# The toolkit's own additions (no quote): derived.
EXTRAS = {"q4a.depth_difference", "q4a.box_count", "q4b.woman_example", "q4b.no_class",
          "q4c.iou_pairs", "q4c.nms_agnostic", "q4c.nms_per_class", "q4c.crowd", "q4c.cells",
          "q4d.small_boxes", "q4d.hand_picked", "q4e.darknet19_layers", "q4e.residual",
          "q4e.conv_layers", "q4e.params.yolov1", "q4e.params.yolov2", "q4e.params.yolov3",
          "q4e.params.darknet19", "q4e.params.darknet53", "q4e.train_step"}


def test_the_source_statements_are_quoted(claims):
    quoted = {i for ids in QUOTED.values() for i in ids}
    assert quoted | EXTRAS == set(claims), sorted(set(claims) ^ (quoted | EXTRAS))
    for cid in quoted:
        assert claims[cid].quote and claims[cid].verdict is not Verdict.DERIVED, cid
    for cid in EXTRAS:
        assert claims[cid].quote is None and claims[cid].verdict is Verdict.DERIVED, cid


def test_verdicts_of_what_is_not_checked(claims):
    """Only 'flexible' is a value judgement; the empirical statements that name no measurement
    are unsourced, never opinions."""
    opinions = {cid for cid, c in claims.items() if c.verdict is Verdict.OPINION}
    unsourced = {cid for cid, c in claims.items() if c.verdict is Verdict.UNSOURCED}
    assert opinions == {"q4a.flexible"}
    assert unsourced == {"q4b.robustness", "q4e.accuracy"}


def test_statements_about_papers_cite_them(claims):
    for cid in ("q4a.v1_boxes", "q4a.multiscale_sizes", "q4a.more_accurate", "q4b.replaces",
                "q4c.nms_rule", "q4c.iou_training", "q4d.kmeans", "q4d.issue_dimensions",
                "q4d.stability", "q4e.darknet53_layers", "q4e.varying_sizes"):
        assert claims[cid].cite and claims[cid].cite[0].startswith("redmon"), cid


def test_stated_values_are_the_sources(claims, modules):
    """The numbers the source states (transcribed here from its part (a): 2 x 5 + 80 = 90,
    3 x 85 = 255, 4 + 1 + 80 = 85) sit in ``stated``; the values they are compared with come
    from the toolkit (a transcription error would show up as a refutation)."""
    for cid, value in (("q4a.v1_depth", 90), ("q4a.v3_depth", 255), ("q4a.v3_per_box", 85),
                       ("q4a.v1_boxes", 2), ("q4a.v3_boxes", 3)):
        assert claims[cid].stated == value
    common = modules["common"]
    assert claims["q4b.max_labels"].stated == claims["q4e.logistic"].stated == Labeled.of(
        logistic=common.LabelMode.MULTI, softmax=common.LabelMode.SINGLE)
    assert claims["q4a.cost"].stated is claims["q4e.anchors_increase"].stated is Compared.HIGHER


def test_refutations_give_the_right_value_and_say_why(claims):
    refuted = {cid for cid, c in claims.items() if c.verdict is Verdict.REFUTED}
    assert refuted == {"q4a.objectness_new", "q4c.iou_training", "q4e.anchors_increase"}
    for cid in refuted:
        assert claims[cid].correction and claims[cid].derived != claims[cid].stated
    assert claims["q4a.objectness_new"].derived == Labeled.of(YOLOv1=1, YOLOv3=1)
    assert claims["q4e.anchors_increase"].derived is Compared.LOWER
    assert claims["q4c.iou_training"].derived is False


def test_quotes_are_unique_in_the_source(claims):
    """Each quote occurs once in the assignment, so it covers the sentence it is meant for."""
    text = (ROOT / "proofs" / "source" / "assignment3.txt").read_text(encoding="utf-8")
    for claim in claims.values():
        if claim.quote:
            assert text.count(claim.quote) == 1, claim.id


# --- the facts again, derived here another way -------------------------------------------------

def test_depths_and_box_count_from_the_papers_layouts(claims):
    """YOLOv1: per cell B x (x, y, w, h, confidence) + C; YOLOv3: per cell and scale B x (4 + 1 +
    C); three grids n/32, n/16, n/8 of 3 boxes each."""
    assert claims["q4a.v1_depth"].derived == 2 * len("xywh") + 2 + 80
    assert claims["q4a.v3_depth"].derived == 3 * (len("xywh") + 1 + 80)
    assert claims["q4a.box_count"].derived == sum(3 * (416 // s) ** 2 for s in (8, 16, 32))
    assert claims["q4a.depth_difference"].derived == (3 * 85) - (2 * 5 + 80)


def test_class_scores_by_their_bounds(claims, modules):
    """At most one softmax probability exceeds 1/2 (they sum to 1); all 80 logistic ones can
    (sigmoid(1) > 1/2); the woman box's labels from float64 sigmoid / softmax."""
    common, b = modules["common"], modules["b"]
    mode = common.LabelMode
    assert claims["q4b.max_labels"].derived == Labeled.of(logistic=mode.MULTI,
                                                          softmax=mode.SINGLE)
    assert 1 / (1 + np.exp(-1.0)) > 0.5
    sig = 1 / (1 + np.exp(-b.WOMAN_LOGITS))
    soft = np.exp(b.WOMAN_LOGITS) / np.exp(b.WOMAN_LOGITS).sum()
    assert claims["q4b.woman_example"].derived == Labeled.of(
        logistic=tuple(n for n, p in zip(b.NAMES, sig) if p > 0.5),
        softmax=tuple(n for n, p in zip(b.NAMES, soft) if p > 0.5))
    assert claims["q4b.objectness"].derived is True


def test_nms_example_by_hand(modules, claims):
    """Duplicates of the example, from exact IoUs computed here: one kept box per cluster of
    IoU > 1/2, the best-scoring one."""
    c = modules["c"]
    dets, scores, cls = c.DETS, c.SCORES, c.DET_CLASS

    def iou(a, b):
        iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
        return Fraction(iw * ih, area(a) + area(b) - iw * ih)

    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6) if iou(dets[i], dets[j]) > 0.5]
    assert claims["q4c.iou_pairs"].derived == sp.FiniteSet(*(sp.Tuple(*p) for p in pairs))
    # the two overlap clusters: {0, 1, 2, 5} and {3, 4}; per class: dog, person, bicycle
    best = lambda group: max(group, key=lambda i: scores[i])  # noqa: E731
    agnostic = [best([0, 1, 2, 5]), best([3, 4])]
    per_class = [best([i for i in range(6) if cls[i] == k]) for k in range(3)]
    assert claims["q4c.nms_agnostic"].derived == sp.FiniteSet(*agnostic)
    assert claims["q4c.nms_per_class"].derived == sp.FiniteSet(*per_class)
    assert claims["q4c.crowd"].derived == 1


def test_cells_by_integer_arithmetic(modules, claims):
    c = modules["c"]
    cell = c.IMAGE // c.GRID
    want = Labeled.of((k, sp.Tuple((y1 + y2) // 2 // cell, (x1 + x2) // 2 // cell))
                      for k, (x1, y1, x2, y2) in c.OBJECTS.items())
    assert claims["q4c.cells"].derived == want


def test_box_set_is_reproducible_and_documented(modules):
    d = modules["d"]
    a, b = d.box_set(), d.box_set()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (d.N_BOXES, 2) and ((a > 0) & (a <= 1)).all()
    assert abs(sum(w for _, _, w in d.SHAPES) - 1) < 1e-12
    assert len(d.hand_anchors()) == 9


def test_anchor_claims_rest_on_the_measured_table(proofs, claims):
    """The k-means verdict follows the table: 1 - IoU above Euclidean at every k >= 2; k* is
    the first k whose mean IoU reaches the hand-picked anchors'."""
    table = proofs[3].tables[0]
    ks = [row[0] for row in table.rows]
    iou, euc = [row[1] for row in table.rows], [row[2] for row in table.rows]
    assert ks == list(range(1, 10))
    higher = all(a > b for k, a, b in zip(ks, iou, euc) if k > 1)
    assert (claims["q4d.kmeans"].derived is Compared.HIGHER) == higher
    hand = claims["q4d.hand_picked"].derivation.steps[0].rhs
    assert claims["q4d.hand_picked"].derived == next(k for k, a in zip(ks, iou) if a >= hand)


def test_layer_counts_from_the_papers(claims, modules):
    """Darknet-53: 52 convolutions + 1 FC; the detectors' conv/FC counts as typed values."""
    layers = modules["common"].Layers
    assert claims["q4e.darknet53_layers"].derived == 52 + 1
    assert claims["q4e.residual"].derived == 1 + 2 + 8 + 8 + 4
    assert claims["q4e.conv_layers"].derived == Labeled.of(
        YOLOv1=layers(24, 2), YOLOv2=layers(23), YOLOv3=layers(75))


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
    for table in tables:
        md, tex = table_markdown(table), table_latex(table)
        lines = md.splitlines()
        assert len(lines) == 2 + len(table.rows)
        cols = lines[0].count("|")
        assert all(line.count("|") == cols for line in lines), table.caption
        assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
        assert tex.count(r"\midrule") == 1 + len(table.rules)
        body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
        rows = [r for r in (r.strip() for r in body.split(" \\\\\n")) if r]
        assert len(rows) == len(table.rows), table.caption


def test_report_renders_and_follows_the_schema(proofs):
    md = report_markdown(proofs)
    tex = report_latex(proofs)
    doc = json.loads(report_json(proofs))
    jsonschema.validate(doc, report_schema())
    for p in proofs:
        for c in p.claims:
            assert f"`{c.id}`" in md and c.id in tex
    assert doc["summary"]["inconsistent"] == 0
