"""The report: what its readers see and how it is typeset.

The report is written once per module from the session's proof run (``proof_run``: every proof
built once, with the source document, exclusions and bibliography shipped beside them) by the
library's renderers, and compiled when pdflatex is installed (CI installs it and poppler-utils
and then requires both). ``test_cli_prove.py`` runs the ``symconv prove`` command itself.

What is checked on the real proofs: the PDF's main body and whole length, vector fonts only, no
overfull box, no table shrunk below 0.8; every claim's quote in the Markdown; the summary
separating the source's statements from the toolkit's derived extras (table and counts); the
corrections; the appendix mapping source lines to claims. A small synthetic run with real quotes
of the source checks how quotes, readings, citations and verdicts are typeset.
"""

import json
import os
import re
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
    Basis,
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
from symconv.report.render.json import report_json, report_schema
from symconv.report.render.latex import appendix_page, compile_pdf, report_latex
from symconv.report.render.markdown import report_markdown
from symconv.report.render.outline import Tally, ordinal, summary_rows
from symconv.report.render.quote import (
    quote_latex,
    quote_markdown,
    text_latex,
    text_markdown,
)
from symconv.report.render.tables import table_latex, table_markdown
from symconv.report.render.write import render_report
from symconv.report.runner import RunResult, environment
from symconv.tools.cli import main

ROOT = Path(__file__).parent.parent
CI = os.environ.get("CI") == "true"
HAVE_PDFLATEX = shutil.which("pdflatex") is not None
HAVE_POPPLER = shutil.which("pdfinfo") is not None and shutil.which("pdffonts") is not None
need_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX and not CI,
    reason="pdflatex not installed (CI installs it and then requires it)")
need_poppler = pytest.mark.skipif(
    not (HAVE_PDFLATEX and HAVE_POPPLER) and not CI,
    reason="pdflatex or poppler-utils not installed (CI installs both and then requires them)")

MAIN_PAGES, ALL_PAGES = 20, 35


@pytest.fixture(scope="module")
def report(proof_run, tmp_path_factory):
    """The report of every proof, written (and compiled) once: ``(run, directory)``."""
    out = tmp_path_factory.mktemp("report")
    tex = render_report(proof_run, out, environment())
    if HAVE_PDFLATEX:
        compile_pdf(tex)
    return proof_run, out


def _read(out: Path, name: str) -> str:
    return (out / name).read_text(encoding="utf-8")


def _claims(run: RunResult) -> list[Claim]:
    return [c for p in run.proofs for c in p.claims]


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


# --- the PDF ----------------------------------------------------------------------------------

@need_poppler
def test_pdf_main_body_and_length(report):
    """Main body (up to the appendix, which starts on a page of its own) at most 20 pages, the
    whole PDF at most 35."""
    _, out = report
    first_appendix_page = appendix_page(out)
    assert first_appendix_page is not None, "no \\label{appendix} in report.aux"
    total = _pdf_pages(out / "report.pdf")
    assert first_appendix_page - 1 <= MAIN_PAGES, f"main body: {first_appendix_page - 1} pages"
    assert total <= ALL_PAGES, f"whole report: {total} pages"
    assert first_appendix_page <= total


@need_poppler
def test_pdf_fonts_are_vector(report):
    """Latin Modern (Type 1) and the figures' TrueType: no Type 3 bitmap font."""
    _, out = report
    fonts = subprocess.run(["pdffonts", str(out / "report.pdf")], capture_output=True,
                           text=True, check=True).stdout
    assert "LMRoman" in fonts
    assert "Type 3" not in fonts, fonts


@need_pdflatex
def test_pdf_has_no_overfull_box_nor_shrunk_table(report):
    _, out = report
    log = _read(out, "report.log")
    overfull = [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]
    assert not overfull, "\n".join(overfull[:10])
    for to, natural in re.findall(r"symconv: table scaled to ([\d.]+)pt\s+from\s+([\d.]+)pt",
                                  log):
        assert float(to) / float(natural) >= 0.8, f"a table shrunk to {to}/{natural}"


def test_figures_are_png_for_markdown_and_vector_pdf_for_latex(report):
    run, out = report
    figures = [f for p in run.proofs for f in p.figures]
    assert figures
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    for fig in figures:
        png, pdf = out / fig.path, (out / fig.path).with_suffix(".pdf")
        assert png.read_bytes().startswith(b"\x89PNG") and f"]({fig.path})" in md
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and b"/Type3" not in data, pdf.name
        assert "{" + fig.path[:-4] + ".pdf}" in tex


# --- what the reader sees ---------------------------------------------------------------------

def test_every_claim_has_one_section_and_its_quote(report):
    """Each claim is written once (Markdown heading, LaTeX label), the source's statements with
    their quote, verbatim: every line of it appears in the Markdown."""
    run, out = report
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    for c in _claims(run):
        assert md.count(f"#### `{c.id}`") == 1, c.id
        assert tex.count(r"\label{claim:" + c.id + "}") == 1, c.id
        for line in (c.quote or "").split("\n"):
            assert line.strip() in md, (c.id, line)


def test_summary_separates_the_source_from_derived_extras(report):
    """The summary table has a column for the source's statements and one for the toolkit's
    derived extras, and the counts are given apart, in the text and in the JSON."""
    run, out = report
    md = _read(out, "report.md")
    by_id = {c.id: c for c in _claims(run)}
    summary = md.split("## Summary")[1].split("\n## ")[0]
    rows = re.findall(r"^\| Q(\d+)\(([a-z])\) \| (.*) \| (.*) \|$", summary, re.M)
    assert len(rows) == len(run.proofs)
    seen = []
    for question, part, statements, extras in rows:
        for cell, about_source in ((statements, True), (extras, False)):
            for short in re.findall(r"\[`([^`]+)`\]", cell):
                claim = by_id[f"q{question}{part}.{short}"]
                assert claim.about_source is about_source, claim.id
                seen.append(claim.id)
    assert sorted(seen) == sorted(by_id)
    tally = Tally.of(run.proofs)
    first, second = tally.lines()
    assert first in summary and second in summary
    doc = json.loads(_read(out, "report.json"))
    assert doc["summary"]["source"] == {v.value: n for v, n in tally.source.items()}
    assert doc["summary"]["extras"] == {v.value: n for v, n in tally.extras.items()}
    assert doc["summary"]["extras"]["derived"] == sum(not c.about_source
                                                     for c in _claims(run))


def _section(md: str, cid: str) -> str:
    """The Markdown of one claim: from its heading to the next heading."""
    return md.split(f"#### `{cid}`", 1)[1].split("\n#")[0]


def test_corrections_list_right_values_and_claims_give_quote_and_correction(report):
    """The Corrections section lists every refuted statement with the value the source states
    and the right one, linked to the claim's section in the main body, which gives the source's
    words, the correction in words and the derivation (in both renderings)."""
    run, out = report
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    corrections = md.split("## Corrections")[1].split("\n## ")[0]
    refuted = [c for c in _claims(run) if c.verdict is Verdict.REFUTED]
    entries = corrections.split("\n- ")[1:]
    assert len(entries) == len(refuted)
    main_body = tex.split(r"\label{appendix}")[0]
    tex_corrections = main_body.split(r"\section{Corrections}")[1].split(r"\section{")[0]
    for c, entry in zip(refuted, entries):
        assert f"[`{c.id}`](#" in entry and "the right value is" in entry
        assert to_latex(c.derived) in entry
        section = _section(md, c.id)
        assert all(line.strip() in section for line in (c.quote or "").split("\n"))
        assert "**Correction.**" in section and to_latex(c.derived) in section
        assert r"\hyperref[claim:" + c.id + "]" in tex_corrections
        own = main_body.split(r"\label{claim:" + c.id + "}")[1].split(r"\claimhead")[0]
        assert r"\correction{" + text_latex(c.correction) + "}" in own
        assert r"\begin{srcquote}" in own


def test_appendix_maps_source_lines_to_claims(report):
    run, out = report
    cov = run.coverage()
    doc = json.loads(_read(out, "report.json"))
    lines = {row["line"]: row for row in doc["coverage"]["lines"]}
    for line, ids in cov.claims_by_line().items():
        assert lines[line]["claims"] == list(ids)
    for sentence in cov.uncovered:
        assert lines[sentence.line]["uncovered"]
    for sentence, ex in cov.excluded.items():
        assert ex.reason in lines[sentence.line]["excluded"]
    md = _read(out, "report.md")
    appendix = md.split("source coverage")[1]
    for line, ids in cov.claims_by_line().items():
        assert re.search(rf"^\| {line} \| Q\w+ \| {re.escape(', '.join(f'`{i}`' for i in ids))} \|",
                         appendix, re.M), line
    for ex in cov.excluded.values():
        assert text_markdown(ex.reason).replace("|", r"\|") in appendix
    tex = _read(out, "report.tex")
    assert tex.index(r"\label{appendix}") < tex.index(r"\section{Source coverage}")


def test_check_details_are_in_the_appendix(report):
    """One row per check, grouped by claim, after the appendix label, none in the main body."""
    run, out = report
    tex = _read(out, "report.tex")
    main_body, appendix = tex.split(r"\label{appendix}")
    checks = [k for c in _claims(run) for k in c.checks]
    assert checks
    for k in checks:
        assert text_latex(k.description) in appendix
        assert text_latex(k.description) not in main_body or len(k.description) < 20


def test_verdict_rules_are_stated(report):
    _, out = report
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    rules = md.split("## How to read this report")[1].split("\n## ")[0]
    for verdict in Verdict:
        assert verdict.value in rules.lower()
    assert r"\section*{How to read this report}" in tex
    assert r"\verdict{vunsourced}{unsourced}" in tex  # its own label and colour


def test_json_follows_schema(report):
    _, out = report
    doc = json.loads(_read(out, "report.json"))
    jsonschema.validate(doc, report_schema())
    doc["claims"][0]["verdict"] = "probably"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, report_schema())


def test_tables_are_typed_and_in_every_output(report):
    run, out = report
    tables = [t for p in run.proofs for t in p.tables]
    assert tables and all(isinstance(t, Table) for t in tables)
    doc = json.loads(_read(out, "report.json"))
    assert sum(len(p["tables"]) for p in doc["proofs"]) == len(tables)
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    for table in tables:
        assert table_markdown(table) in md and table_latex(table) in tex
    assert r"\resizebox{\ifdim" not in tex  # a table is wrapped, not shrunk


def test_rendering_slips_are_gone(report):
    """No empty ``aligned`` block, no wrong ordinal, no matrix mixing floats and integers."""
    _, out = report
    md, tex = _read(out, "report.md"), _read(out, "report.tex")
    assert "aligned" not in md
    assert not re.search(r"\\begin\{aligned\}\s*\\end\{aligned\}", tex)
    for text in (md, tex):
        assert not re.search(r"\b(\d*[02-9])?(1th|2th|3th)\b", text)
        for body in re.findall(r"\\begin\{matrix\}(.*?)\\end\{matrix\}", text, re.S):
            entries = [e.strip() for e in re.split(r"&|\\\\", body) if e.strip()]
            assert len({"." in e for e in entries}) == 1, body


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st",
        "111th"]


def test_shape_with_a_sum_keeps_its_brackets():
    H, K, W = sp.symbols("H K W", positive=True, integer=True)
    assert to_latex((H + K - 1, W + K - 1)) == (r"\left(H + K - 1\right) \times "
                                                r"\left(K + W - 1\right)")


# --- a synthetic run with real quotes of the source ---------------------------------------------

def _synthetic(proof_run) -> RunResult:
    """Claims quoting the real source: display math, inline math and percent signs, the middle
    of a display formula, a code block, an unsourced and an opinion statement, a derived extra
    that cites a paper."""
    ok = (Check("numpy", "by hand", "-", True),)
    r3 = Claim(id="q1b.rf.L3", statement="Receptive field of layer 3",
               quote="$$R_3 = 13 + (5 - 1) \\times 2 = 21.$$", stated=21, derived=29,
               derivation=Derivation((Step("closed form", "R_3", 1 + 4 * 1 + 4 * 2 + 4 * 4),)),
               reading="R_3 is the receptive field of the third layer, in input pixels.",
               correction="The source adds (K - 1) times the previous stride only; each layer "
                          "adds (K - 1) times the product of all earlier strides: 1 + 4 + 8 + 16.",
               checks=ok, unit="pixels")
    cut = Claim(id="q1b.cut", statement="Part of a display", quote="128 + 2 \\cdot 2 - 5",
                stated=127, derived=127, checks=ok)
    pct = Claim(id="q1c.reduction", statement="Parameter reduction, layer 2",
                quote="we have about 86% reduction in the number of parameters", stated=86,
                derived=95, correction="1 - (1/N + 1/K^2) = 95% for N = 128, K = 5.",
                checks=ok, unit="%")
    code = Claim(id="q3c.printed", statement="The printed output",
                 quote="tensor([[ 1.,  4.,  4.],", stated=4, derived=4, checks=ok)
    depth = Claim(id="q4a.v3_depth", statement="YOLOv3's depth per cell",
                  quote="$B \\times (4 + 1 + C) = 3 \\times 85 = 255$", stated=255,
                  derived=255, checks=ok)
    unsourced = Claim(id="q4a.accuracy", statement="YOLOv3 is more accurate",
                      quote="These changes make YOLOv3 more accurate and flexible",
                      basis=Basis.UNSOURCED, note="No benchmark is named.")
    opinion = Claim(id="q3a.reason", statement="Why U-Net has skips",
                    quote="The primary reason for these connections is to preserve "
                          "high-resolution spatial features", basis=Basis.JUDGEMENT)
    extra = Claim(id="q2b.params", statement="DenseNet-121 parameters", derived=7978856,
                  checks=(Check("paper", "Table 1 of the paper", "-", True),),
                  cite=("huang2017", "Table 1"))
    proofs = (Proof("Q1", "b", "Receptive field", (r3, cut)),
              Proof("Q1", "c", "Separable", (pct,)), Proof("Q2", "b", "DenseNet", (extra,)),
              Proof("Q3", "a", "U-Net", (opinion,)), Proof("Q3", "c", "Transposed", (code,)),
              Proof("Q4", "a", "YOLO", (depth, unsourced)))
    return RunResult(proofs, (), proof_run.source, proof_run.exclusions, proof_run.bibliography)


@pytest.fixture(scope="module")
def synthetic(proof_run):
    return _synthetic(proof_run)


def test_quotes_are_verbatim_in_markdown_and_typeset_in_latex(synthetic):
    md, tex = report_markdown(synthetic), report_latex(synthetic)
    for c in _claims(synthetic):
        if c.quote:
            assert c.quote in md, c.id
    # display math stays math, the text around it escaped
    assert r"R_3 = 13 + (5 - 1) \times 2 = 21." in tex
    assert r"86\% reduction" in tex
    # a quote cut inside a display formula is still math: Markdown closes the delimiters
    assert "> $$128 + 2 \\cdot 2 - 5$$" in md
    assert quote_latex("128 + 2 \\cdot 2 - 5", synthetic).count(r"\fitmath{") == 1
    # inline math in the source's line
    assert r"\(B \times (4 + 1 + C) = 3 \times 85 = 255\)" in tex
    # a line of a code block is code
    assert quote_markdown("tensor([[ 1.,  4.,  4.],", synthetic).startswith("> ```")
    assert r"\texttt{tensor([[~1.,~~4.,~~4.],}" in tex


def test_reading_correction_citation_and_verdicts_are_visible(synthetic):
    md, tex = report_markdown(synthetic), report_latex(synthetic)
    assert "*Reading:* R\\_3 is the receptive field" in md
    assert r"\reading{R\_\allowbreak{}3 is the receptive field" in tex
    corrections = md.split("## Corrections")[1].split("\n## ")[0]
    assert "[`q1b.rf.L3`]" in corrections and "[`q1c.reduction`]" in corrections
    assert "the right value is $29$ pixels" in corrections
    assert "**Correction.** The source adds (K - 1)" in _section(md, "q1b.rf.L3")
    assert r"\correction{The source adds (K - 1)" in tex
    assert r"\verdict{vunsourced}{unsourced}" in tex and "*unsourced*" in md
    assert r"\verdict{vopinion}{opinion}" in tex
    # the cited paper is listed under References; the claim cites it by number and locator
    assert "## References" in md and "Densely Connected Convolutional Networks" in md
    assert "[[1]](#ref-huang2017), Table 1" in md
    assert r"\hyperref[ref:huang2017]{[1]}, Table 1" in tex
    refs = json.loads(report_json(synthetic))["references"]
    assert refs[0]["key"] == "huang2017"
    assert refs[0]["cited_by"] == [{"claim": "q2b.params", "locator": "Table 1"}]


def test_derived_extras_are_apart(synthetic):
    rows = summary_rows(synthetic.proofs)
    assert [r.extras for r in rows] == [(), (), ("q2b.params",), (), (), ()]
    assert rows[0].statements == {Verdict.REFUTED: ("q1b.rf.L3",),
                                  Verdict.VERIFIED: ("q1b.cut",)} or rows[0].statements == {
        Verdict.VERIFIED: ("q1b.cut",), Verdict.REFUTED: ("q1b.rf.L3",)}
    tally = Tally.of(synthetic.proofs)
    assert tally.source[Verdict.UNSOURCED] == 1 and tally.extras[Verdict.DERIVED] == 1
    tex = report_latex(synthetic)
    main_body, appendix = tex.split(r"\label{appendix}")
    assert r"\label{claim:q2b.params}" in appendix  # derived in the appendix
    assert r"\label{claim:q1b.rf.L3}" in main_body


def test_appendix_lists_the_quoted_lines(synthetic):
    doc = json.loads(report_json(synthetic))
    by_line = {row["line"]: row["claims"] for row in doc["coverage"]["lines"]}
    line = synthetic.source.line_of(synthetic.source.find("$$R_3 = 13 + (5 - 1)")[0][0])
    assert by_line[line] == ["q1b.rf.L3"]
    claim = next(c for c in doc["claims"] if c["id"] == "q1b.rf.L3")
    assert claim["source_line"] == line and claim["quote"].startswith("$$R_3")


@need_poppler
def test_synthetic_report_compiles(synthetic, tmp_path):
    tex = render_report(synthetic, tmp_path)
    pdf = compile_pdf(tex)
    assert pdf is not None and _pdf_pages(pdf) >= 2
    assert appendix_page(tmp_path) is not None
    assert "Overfull \\hbox" not in _read(tmp_path, "report.log")


# --- derivations in a user's own document -----------------------------------------------------

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
    base = dict(id="q4a.v3_depth", statement="YOLOv3's depth per cell",
                quote="3 \\times 85 = 255", stated=255, derived=255,
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
    assert _claim(stated=None, derived=None, checks=(),
                  basis=Basis.JUDGEMENT).verdict is Verdict.OPINION
    assert _claim(stated=None, derived=None, checks=(),
                  basis=Basis.UNSOURCED).verdict is Verdict.UNSOURCED
    assert _claim(quote=None, stated=None).verdict is Verdict.DERIVED


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
    assert to_latex(sp.FiniteSet(0, 1)) == r"\left\{0, 1\right\}"  # a label set, not 0 x 1


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
    wrapped = table_latex(t, r"\linewidth").splitlines()
    assert wrapped[0] == r"\begin{tabularx}{\linewidth}{>{\raggedright\arraybackslash}Xrr}"
    assert wrapped[1:-1] == table_latex(t).splitlines()[1:-1]


def test_matrices_in_a_table_do_not_touch():
    t = Table("steps", ("t", "canvas"), ((1, sp.Matrix([[1, 2], [3, 4]])),
                                         (2, sp.Matrix([[1, 4], [3, 10]]))))
    lines = table_latex(t).splitlines()
    assert lines.index(r"\addlinespace[4pt]") == lines.index(r"\midrule") + 2
