"""Q1 proof modules: every claim's checks pass, each quote is the source's words at one place,
every checkable sentence of Q1's solutions is quoted or excluded, the verdicts the issue names
come out as it says, the derivations show the steps it asks for, and the numbers they rest on
hold when computed here in another way.

The proofs come from the session fixture ``proof_run`` (built once, with every module).
"""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import matplotlib
import pytest

from symconv.report.notation import step_text
from symconv.report.proof import Basis, Verdict

matplotlib.use("Agg")

ROOT = Path(__file__).parent.parent
STEMS = ("q1a_conv_cost", "q1b_network", "q1c_separable", "q1d_fc_head")


@pytest.fixture(scope="module")
def proofs(proof_run):
    mine = [p for p in proof_run.proofs if p.question == "Q1"]
    errors = [e for e in proof_run.errors
              if e[0].startswith("q1") or any(s in e[0] for s in STEMS) or "_q1" in e[0]]
    assert not errors, errors
    return mine


@pytest.fixture(scope="module")
def claims(proofs):
    return {c.id: c for p in proofs for c in p.claims}


def _steps(claim) -> list[str]:
    return [step_text(s) for s in claim.derivation.steps]


def test_one_module_per_part_and_every_check_passes(proofs):
    assert [p.part for p in proofs] == list("abcd")
    for p in proofs:
        for c in p.claims:
            assert c.verdict is not Verdict.INCONSISTENT, c.id
            assert all(ch.passed for ch in c.checks), c.id
            if c.basis is Basis.CHECKED:
                assert c.derivation.steps, c.id
    for stem in STEMS:
        assert len((ROOT / "proofs" / f"{stem}.py").read_text().splitlines()) <= 400, stem


def test_each_quote_is_found_once(proof_run, claims):
    source = proof_run.source
    for c in claims.values():
        if c.quote is not None:
            assert len(source.find(c.quote)) == 1, c.id
            assert "TODO" not in c.quote and "TODO" not in c.correction, c.id


def test_every_checkable_sentence_of_q1_is_covered(proof_run):
    cov = proof_run.coverage()
    uncovered = [(s.line, s.text[:60]) for s in cov.uncovered if s.part.startswith("Q1")]
    assert not uncovered
    q1_excluded = [s for s in cov.excluded if s.part.startswith("Q1")]
    text = (ROOT / "proofs" / "source" / "excluded.toml").read_text(encoding="utf-8")
    block = text[text.index("# Q1"):]
    ours = tomllib.loads(block.split("\n# Q", 1)[0])["excluded"]
    assert len(q1_excluded) == len(ours) == 3


EXPECTED = {
    "q1a.output_size": ("verified", None), "q1a.cost": ("verified", None),
    "q1b.rf.L2": ("verified", 13), "q1b.rf.L3": ("refuted", 29),
    "q1b.rf.formula": ("refuted", None), "q1b.neurons.growth": ("refuted", 2),
    "q1b.neurons.doubling": ("verified", 4),
    "q1c.std.L1.cost": ("refuted", 64 * 64 * 64 * 25 * 3),
    "q1c.std.L2.params": ("refuted", 25 * 64 * 128),
    "q1c.sep.L2.params": ("verified", 64 * 25 + 64 * 128),
    "q1c.reduction.L2.params": ("refuted", 95), "q1c.reduction.L3.cost": ("refuted", 96),
    "q1d.fc.params": ("verified", 65536 * 200 + 200),
    "q1d.total.standard": ("refuted", None), "q1d.total.separable": ("refuted", None),
    "q1d.con.nonlinearity": ("refuted", False), "q1d.con.capacity": ("verified", True),
    "q1d.pro.overfitting": ("unsourced", None), "q1d.con.underfitting": ("unsourced", None),
}


@pytest.mark.parametrize("cid", EXPECTED)
def test_verdicts(claims, cid):
    verdict, derived = EXPECTED[cid]
    assert claims[cid].verdict.value == verdict
    if derived is not None:
        assert claims[cid].derived == derived


def test_totals_count_every_layer(claims):
    """Recounted by hand from the layer definitions: 5x5 kernels, 3 -> 64 -> 128 -> 256
    channels (layers 2-3 depthwise separable in the second approach), FC 16*16*256 -> 200."""
    conv1 = 5 * 5 * 3 * 64
    fc = 16 * 16 * 256 * 200 + 200
    standard = conv1 + 5 * 5 * 64 * 128 + 5 * 5 * 128 * 256 + fc
    separable = conv1 + (25 * 64 + 64 * 128) + (25 * 128 + 128 * 256) + fc
    assert claims["q1d.total.standard"].derived == standard == 14_136_200
    assert claims["q1d.total.separable"].derived == separable == 13_157_960
    for cid in ("q1d.total.standard", "q1d.total.separable"):
        assert "layer 1" in claims[cid].correction and f"{conv1:,}" in claims[cid].correction


def test_receptive_field_shows_the_sum(claims):
    assert "the terms: 1 + 4*1 + 4*2 + 4*4" in _steps(claims["q1b.rf.L3"])
    assert "result: 29" in _steps(claims["q1b.rf.L3"])
    # the field of one layer-3 output, by composing input intervals back through the layers
    lo, hi = 0, 0
    for _ in range(3):
        lo, hi = 2 * lo - 2, 2 * hi - 2 + 4
    assert hi - lo + 1 == claims["q1b.rf.L3"].derived


def test_exact_taps_define_mu_and_r_and_explain_316(claims):
    c = claims["q1b.cost_exact.L1"]
    text = "\n".join(_steps(c))
    assert "mu(p)" in text and "overshoot" in text and "mu(2): result: 2" in text
    assert "316" in c.note and "317" in c.note
    taps = sum(1 for o in range(64) for k in range(5) if 0 <= 2 * o + k - 2 < 128)
    assert taps == 317 and c.derived == taps * taps * 3 * 64
    assert 5 * 64 - 2 * 3 // 2 - 1 == 316  # mu(2) = p(p+1)/2 = 3 at stride 1, mu(1) = 1


def test_reductions_show_the_numbers(claims):
    c = claims["q1c.reduction.L2.params"]
    assert any("9792" in s and "204800" in s for s in _steps(c))
    assert round(100 * (1 - Fraction(9792, 204800))) == c.derived


def test_growth_figure_is_log_log_with_slope_two(proofs):
    fig = next(f for p in proofs for f in p.figures if f.name == "q1b_neurons").draw()
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("fitted slope 2.0" in label for label in labels), labels
    assert any("slope 1" in label for label in labels) and any("slope 2" in label
                                                               for label in labels)
