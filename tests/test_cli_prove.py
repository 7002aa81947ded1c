"""`symconv prove`: report files, JSON content, verdicts computed (not typed), exit codes.

One test runs the real command on a small proof module; its output must equal what the
renderers write for the same module as the session fixture ``proof_run`` built it, with the
source, exclusions and bibliography shipped beside it (a second, independent build: the report
is deterministic and the CLI adds nothing of its own).
"""

import json
from pathlib import Path

import pytest

from symconv.report.render import report_json, report_markdown
from symconv.report.runner import RunResult, environment
from symconv.tools.cli import main

ROOT = Path(__file__).parent.parent
SMALL = ROOT / "proofs" / "q1a_conv_cost.py"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["prove", str(SMALL), "--out", str(out), "--no-pdf"])
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
        assert claim["verdict"] in {"verified", "refuted", "derived", "opinion", "unsourced"}
        assert claim["checks"] or claim["verdict"] in {"opinion", "unsourced"}
        assert all(c["passed"] for c in claim["checks"])
        assert (claim["quote"] is None) is (claim["verdict"] == "derived")
    md = (out / "report.md").read_text()
    assert "## Summary" in md and "$$" in md and "q1a.cost_exact" in md
    assert doc["coverage"]["source"] == "assignment3.txt"


def test_cli_report_equals_the_renderers_on_the_session_build(report, proof_run):
    _, out = report
    run = RunResult(tuple(p for p in proof_run.proofs if (p.question, p.part) == ("Q1", "a")),
                    (), proof_run.source, proof_run.exclusions, proof_run.bibliography)
    env = environment()
    assert (out / "report.md").read_text(encoding="utf-8") == report_markdown(run, env)
    assert (out / "report.json").read_text(encoding="utf-8") == report_json(run, env)


_REFUTED = '''
import sympy as sp
from symconv.algebra import Conv2D
from symconv.report.proof import Check, Claim, Derivation, Proof, Step

def build():
    derived = Conv2D(3, 64, 5, strides=2, padding=2).param_count()
    claim = Claim(id="q9z.params", statement="params", quote="4800 parameters", stated=4800,
                  derived=derived,
                  derivation=Derivation((Step("result", "n", derived),)),
                  checks=(Check("sympy", "trivial", "-", True),),
                  correction="weights only; with the 64 biases the layer has 4,864")
    return Proof("Q9", "z", "test", (claim,))
'''

_INCONSISTENT = _REFUTED.replace('Check("sympy", "trivial", "-", True)',
                                 'Check("xla", "disagrees", "-", False)')


def test_strict_fails_on_refuted(tmp_path):
    proof = tmp_path / "p.py"
    proof.write_text(_REFUTED)
    assert main(["prove", str(proof), "--out", str(tmp_path / "o")]) == 0
    assert main(["prove", str(proof), "--out", str(tmp_path / "o"), "--strict",
                 "--no-pdf"]) == 1
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert doc["claims"][0]["verdict"] == "refuted"
    md = (tmp_path / "o" / "report.md").read_text()
    corrections = md.split("## Corrections")[1]
    assert "> 4800 parameters" in corrections and "**Correction.** weights only" in corrections


def test_inconsistent_fails(tmp_path):
    proof = tmp_path / "p.py"
    proof.write_text(_INCONSISTENT)
    assert main(["prove", str(proof), "--out", str(tmp_path / "o"), "--no-pdf"]) == 1


def test_proofs_share_private_helpers(tmp_path):
    """A proof imports a private helper of its directory (``from ._shared import ...``); files
    starting with ``_`` are never run as proofs."""
    (tmp_path / "_shared.py").write_text("STATED = 4800\n")
    (tmp_path / "p.py").write_text(_REFUTED.replace("stated=4800", "stated=STATED").replace(
        "def build():", "from ._shared import STATED\n\n\ndef build():"))
    assert main(["prove", str(tmp_path), "--out", str(tmp_path / "o"), "--no-pdf"]) == 0
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [c["id"] for c in doc["claims"]] == ["q9z.params"]
    assert doc["claims"][0]["stated"] == "4800"


def test_broken_proof_is_reported_not_fatal(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def build():\n    raise RuntimeError('boom')\n")
    assert main(["prove", str(bad), "--out", str(tmp_path / "o"), "--no-pdf"]) == 1
    assert "boom" in capsys.readouterr().err


def test_missing_path_is_one_line_exit_2(tmp_path, capsys):
    assert main(["prove", str(tmp_path / "nope.py"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a .py file" in err[0]


def test_unknown_command_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
