"""`symconv prove`: report files, JSON content, verdicts computed (not typed), exit codes."""

import json
from pathlib import Path

import pytest

from symconv.tools.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["prove", str(ROOT / "proofs" / "q1a_conv_cost.py"), "--out", str(out)])
    return code, out


def test_prove_writes_report(report):
    code, out = report
    assert code == 0
    doc = json.loads((out / "report.json").read_text())
    ids = {c["id"] for c in doc["claims"]}
    assert {"q1a.output_size", "q1a.cost", "q1a.cost_exact"} <= ids
    for claim in doc["claims"]:
        assert set(claim) >= {"id", "question", "statement", "stated", "derived", "verdict",
                              "checks"}
        assert claim["verdict"] in {"verified", "refuted", "derived", "opinion"}
        assert claim["checks"] and all(c["passed"] for c in claim["checks"])
    md = (out / "report.md").read_text()
    assert "## Summary" in md and "$$" in md and "q1a.cost_exact" in md


def test_report_is_deterministic(report, tmp_path):
    _, out = report
    assert main(["prove", str(ROOT / "proofs" / "q1a_conv_cost.py"), "--out", str(tmp_path)]) == 0
    for name in ("report.md", "report.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


_REFUTED = '''
import sympy as sp
from symconv.algebra import Conv2D
from symconv.report.proof import Check, Claim, Derivation, Proof, Step

def build():
    derived = Conv2D(3, 64, 5, strides=2, padding=2).param_count()
    claim = Claim("t.params", "T", "A", "params", stated=4800, derived=derived,
                  derivation=Derivation((Step("result", "n", derived),)),
                  checks=(Check("sympy", "trivial", "-", True),))
    return Proof("T", "A", "test", (claim,))
'''

_INCONSISTENT = _REFUTED.replace('Check("sympy", "trivial", "-", True)',
                                 'Check("xla", "disagrees", "-", False)')


def test_strict_fails_on_refuted(tmp_path):
    proof = tmp_path / "p.py"
    proof.write_text(_REFUTED)
    assert main(["prove", str(proof), "--out", str(tmp_path / "o")]) == 0
    assert main(["prove", str(proof), "--out", str(tmp_path / "o"), "--strict"]) == 1
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert doc["claims"][0]["verdict"] == "refuted"
    assert "Corrections" in (tmp_path / "o" / "report.md").read_text()


def test_inconsistent_fails(tmp_path):
    proof = tmp_path / "p.py"
    proof.write_text(_INCONSISTENT)
    assert main(["prove", str(proof), "--out", str(tmp_path / "o")]) == 1


def test_broken_proof_is_reported_not_fatal(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def build():\n    raise RuntimeError('boom')\n")
    assert main(["prove", str(bad), "--out", str(tmp_path / "o")]) == 1
    assert "boom" in capsys.readouterr().err


def test_missing_path_is_one_line_exit_2(tmp_path, capsys):
    assert main(["prove", str(tmp_path / "nope.py"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a .py file" in err[0]


def test_unknown_command_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
