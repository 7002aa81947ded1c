"""The report: LaTeX compiles (CI requires pdflatex), JSON follows the shipped schema, output
is byte-deterministic, pages render, and `symconv derive` LaTeX compiles in a user's document.

The report is written from the session fixture ``all_proofs`` (every proof built once) by the
library's renderers; ``test_cli_prove.py`` runs the ``symconv prove`` command itself.
"""

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import sympy as sp

from symconv.errors import SymconvError
from symconv.report.derive import derive
from symconv.report.notation import derivation_latex, derivation_markdown, to_latex
from symconv.report.proof import (
    Check,
    Claim,
    Compared,
    Derivation,
    Labeled,
    Proof,
    Step,
    Table,
    Verdict,
    decimal,
    values_equal,
)
from symconv.report.render.json import report_schema
from symconv.report.render.latex import compile_pdf
from symconv.report.render.tables import table_latex, table_markdown
from symconv.report.render.write import render_report
from symconv.report.runner import RunResult, environment
from symconv.tools.cli import main

ROOT = Path(__file__).parent.parent
HAVE_PDFLATEX = shutil.which("pdflatex") is not None
need_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX and os.environ.get("CI") != "true",
    reason="pdflatex not installed (CI installs it and then requires it)")


@pytest.fixture(scope="module")
def report(all_proofs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    tex = render_report(all_proofs, out, environment())
    if HAVE_PDFLATEX:
        compile_pdf(tex)
    return RunResult(all_proofs, ()).exit_code(), out


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


def test_files_state_every_claim_of_the_proofs(report, all_proofs):
    """Each written file against the proofs themselves (a second rendering would only repeat the
    renderer that wrote it): the JSON lists every claim, in order, with its verdict; the Markdown
    and the LaTeX give each claim one section."""
    _, out = report
    claims = [c for p in all_proofs for c in p.claims]
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [(c["id"], c["verdict"]) for c in doc["claims"]] == [(c.id, c.verdict.value)
                                                                for c in claims]
    md = (out / "report.md").read_text(encoding="utf-8")
    tex = (out / "report.tex").read_text(encoding="utf-8")
    for c in claims:
        assert md.count(f"#### `{c.id}`") == 1, c.id
        assert tex.count(r"\label{claim:" + c.id + "}") == 1, c.id


def test_strict_fails_on_refuted(all_proofs):
    result = RunResult(tuple(p for p in all_proofs if (p.question, p.part) == ("Q1", "b")), ())
    assert result.exit_code() == 0
    assert result.exit_code(strict=True) == 1  # Q1(b) contains refuted claims (R_3, the recursion)


def test_tables_are_typed_and_in_every_output(report, all_proofs):
    _, out = report
    doc = json.loads((out / "report.json").read_text())
    tables = [t for p in all_proofs for t in p.tables]
    assert tables and all(isinstance(t, Table) for t in tables)
    assert sum(len(p["tables"]) for p in doc["proofs"]) == len(tables)
    md, tex = (out / "report.md").read_text(), (out / "report.tex").read_text()
    for table in tables:
        assert table_markdown(table) in md and table_latex(table) in tex


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
    assert d._repr_latex_() == "$$" + derivation_latex(d) + "$$"
    assert d._repr_latex_().startswith("$$\\begin{aligned}")
    assert "substitution" in derivation_markdown(d)
    assert derivation_latex(d, display=True).startswith("\\[\n\\begin{aligned}")


# --- the data model: typed claims, ids, tables ------------------------------------------------

def _claim(**kw):
    base = dict(id="q4a.v3_depth", statement="255 channels", stated=255, derived=255,
                derivation=Derivation((Step("result", "d", 255),)),
                checks=(Check("numpy", "3 * 85", "-", True),))
    return Claim(**{**base, **kw})


def test_claim_takes_question_and_part_from_its_id():
    c = _claim()
    assert (c.question, c.part, c.verdict) == ("Q4", "a", Verdict.VERIFIED)
    assert (_claim(id="q12c.x.y-z_2").question, _claim(id="q12c.x.y-z_2").part) == ("Q12", "c")
    with pytest.raises(TypeError):
        Claim("q4a.x", "positional", 1, 1)  # keyword-only


@pytest.mark.parametrize("bad", ["q4.x", "Q4a.x", "q4A.x", "q4ab.x", "q4a.", "q4a x", "t.params",
                                 ""])
def test_claim_id_must_name_question_and_part(bad):
    with pytest.raises(SymconvError, match="must read q<question><part>"):
        _claim(id=bad)


def test_claim_values_are_typed_not_prose():
    with pytest.raises(SymconvError, match="derived is text"):
        _claim(derived="one score per box in both")
    with pytest.raises(SymconvError, match="stated is text"):
        _claim(stated="higher")
    with pytest.raises(SymconvError, match="derived value"):
        _claim(derived=None)
    assert _claim(stated=None, derived=None, checks=(), opinion=True).verdict is Verdict.OPINION


def test_proof_claims_belong_to_its_part():
    with pytest.raises(SymconvError, match="another question or part"):
        Proof("Q4", "b", "t", (_claim(),))


def test_typed_values_compare_and_render():
    assert Compared.of(3, 5) is Compared.LOWER and str(Compared.of(5, 3)) == "higher"
    labels = Labeled.of(logistic=("person", "woman"), softmax=("person",))
    assert str(labels) == "logistic: person, woman; softmax: person"
    assert labels["softmax"] == ("person",)
    assert values_equal(Labeled.of(a=1, b=sp.Integer(2)), Labeled.of(a=sp.Integer(1), b=2))
    assert not values_equal(Labeled.of(a=1, b=2), Labeled.of(b=2, a=1))
    assert not values_equal(Compared.HIGHER, Compared.LOWER)
    assert values_equal(decimal(0.5, 3), sp.Rational(1, 2)) and decimal(0.5, 3) == Decimal("0.500")
    assert values_equal(sp.FiniteSet(1, 2), sp.FiniteSet(2, 1))
    assert to_latex(labels) == (r"\text{logistic:}\ \text{person, woman},\quad "
                                r"\text{softmax:}\ \text{person}")
    assert to_latex(Compared.HIGHER) == r"\text{higher}"


def test_table_validates_and_renders():
    with pytest.raises(SymconvError, match="do not have 2 cells"):
        Table("t", ("a", "b"), ((1,),))
    with pytest.raises(SymconvError, match="align"):
        Table("t", ("a", "b"), ((1, 2),), align="lx")
    t = Table("t", ("name", "$k$", "IoU"), (("x_1", 1_000, decimal(0.25, 3)),
                                            ("total", None, sp.Rational(1, 3))), rules=(1,))
    assert t.alignment == "lrr"  # numbers (and empty cells) right
    assert table_markdown(t).splitlines() == [
        "| name | $k$ | IoU |", "|---|---:|---:|", "| x_1 | 1,000 | 0.250 |",
        "| total | — | $\\frac{1}{3}$ |"]
    assert table_latex(t).splitlines() == [
        r"\begin{tabular}{lrr}", r"\toprule", r"name & $k$ & IoU \\", r"\midrule",
        r"x\_1 & 1{,}000 & $0.250$ \\", r"\midrule", r"total & -- & $\frac{1}{3}$ \\",
        r"\bottomrule", r"\end{tabular}"]
