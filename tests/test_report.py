"""The report: LaTeX compiles (CI requires pdflatex), JSON follows the shipped schema, output
is byte-deterministic, pages render, and `symconv derive` LaTeX compiles in a user's document."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from symconv.report.derive import derive
from symconv.tools.cli import main
from symconv.report.render.json import report_schema

ROOT = Path(__file__).parent.parent
HAVE_PDFLATEX = shutil.which("pdflatex") is not None
need_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX and os.environ.get("CI") != "true",
    reason="pdflatex not installed (CI installs it and then requires it)")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["prove", str(ROOT / "proofs"), "--out", str(out)])
    return code, out


def test_prove_all_proofs(report):
    code, out = report
    assert code == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"]["inconsistent"] == 0
    assert {c["question"] for c in doc["claims"]} >= {"Q1"}


def test_json_follows_schema(report):
    _, out = report
    jsonschema.validate(json.loads((out / "report.json").read_text()), report_schema())


def test_schema_rejects_a_bad_verdict(report):
    _, out = report
    doc = json.loads((out / "report.json").read_text())
    doc["claims"][0]["verdict"] = "probably"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, report_schema())


def test_every_figure_is_written_and_referenced(report):
    _, out = report
    doc = json.loads((out / "report.json").read_text())
    paths = [f["path"] for p in doc["proofs"] for f in p["figures"]]
    assert paths
    tex = (out / "report.tex").read_text()
    md = (out / "report.md").read_text()
    for path in paths:
        assert (out / path).stat().st_size > 1000
        assert path in tex and path in md


def test_refuted_claims_listed_in_corrections(report):
    _, out = report
    doc = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    corrections = md.split("## Corrections")[1].split("\n## ")[0]
    for claim in doc["claims"]:
        if claim["verdict"] == "refuted":
            assert f"`{claim['id']}`" in corrections


@need_pdflatex
def test_pdf_compiles_and_pages_render(report, tmp_path):
    _, out = report
    pdf = out / "report.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
    log = (out / "report.log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log or _overfull_ok(log)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "p")],
                       check=True)
        pages = sorted(tmp_path.glob("p-*.png"))
        assert len(pages) >= 5


def _overfull_ok(log: str) -> bool:
    """Overfull boxes of under 10pt are typographic noise, not equations off the page."""
    import re

    return all(float(m) < 10 for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide",
                                                 log))


def test_outputs_are_byte_identical(report, tmp_path):
    _, out = report
    assert main(["prove", str(ROOT / "proofs"), "--out", str(tmp_path), "--no-pdf"]) == 0
    for name in ("report.md", "report.tex", "report.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_strict_flag_fails_on_refuted(report, tmp_path):
    code = main(["prove", str(ROOT / "proofs" / "q1b_network.py"), "--out", str(tmp_path),
                 "--no-pdf", "--strict"])
    assert code == 1  # Q1(B) contains refuted claims (R_3, the recursion)


@need_pdflatex
def test_derive_latex_compiles_in_a_user_document(tmp_path, capsys):
    assert main(["derive", "conv2d", "--in", "3", "--out", "64", "-k", "5", "-s", "2",
                 "-p", "2", "--input", "128,128", "--format", "latex"]) == 0
    snippet = capsys.readouterr().out
    assert "\\begin{aligned}" in snippet and "64" in snippet
    (tmp_path / "user.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\nMy layer:\n"
        + snippet + "\n\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "user.tex"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]


@pytest.mark.parametrize("argv", [
    ["derive", "conv2d"],
    ["derive", "separable", "--in", "64", "--out", "128", "-k", "5", "-s", "2", "-p", "2"],
    ["derive", "conv_transpose2d", "--in", "1", "--out", "1", "-k", "2", "--input", "2,2"],
    ["derive", "dense", "--in", "65536", "--out", "200", "--format", "markdown"],
    ["derive", "maxpool", "--in", "8", "-k", "2", "-s", "2", "--input", "8,8"],
], ids=["symbolic", "separable", "transposed", "dense", "maxpool"])
def test_derive_kinds(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("argv,fragment", [
    (["derive", "conv2d", "-k", "2+2"], "-k"),
    (["derive", "conv2d", "--input", "1,2,3"], "two entries"),
    (["derive", "conv_transpose2d", "-p", "SAME"], "integer padding"),
    (["derive", "conv2d", "--in", "3", "-g", "2"], "not divisible"),
], ids=["expression", "input-rank", "transpose-same", "groups"])
def test_derive_bad_input(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_derivation_repr_latex():
    from symconv import Conv2D

    d = derive(Conv2D(3, 64, 5, strides=2, padding=2), (128, 128))
    assert d._repr_latex_().startswith("$$\\begin{aligned}")
    assert "substitution" in d.markdown()
