"""`symconv cost` / `symconv models`: closed forms, the XLA cross-check, strict input handling."""

import json

import pytest

from symconv.tools.cli import main


def test_models_lists_builtins(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "assignment" in out and "mobilenet_v1" in out


def test_cost_symbolic_and_checked(capsys):
    assert main(["cost", "assignment", "--input", "1,H,W,3", "--at", "H=128,W=128"]) == 0
    out = capsys.readouterr().out
    assert "⌈H/8⌉" in out and "agree" in out and "DISAGREE" not in out


def test_cost_json(capsys):
    assert main(["cost", "assignment-gap", "--input", "2,H,W,3", "--at", "H=8,W=12",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["check"]["agrees"] is True
    assert doc["check"]["algebra_flops"] == doc["check"]["xla_flops"]  # small: exact
    assert [layer["name"] for layer in doc["layers"]][-1] == "softmax"


@pytest.mark.parametrize("fmt,marker", [("markdown", "|---"), ("latex", r"\toprule")])
def test_cost_formats(fmt, marker, capsys):
    assert main(["cost", "mobilenet_v1", "--input", "1,224,224,3", "--format", fmt]) == 0
    assert marker in capsys.readouterr().out


@pytest.mark.parametrize("argv,fragment", [
    (["cost", "nope"], "unknown model"),
    (["cost", "assignment", "--input", "1,__import__('os'),2,3"], "neither a dimension name"),
    (["cost", "assignment", "--input", "1,H,W"], "NHWC"),
    (["cost", "assignment", "--input", "1,H,W,4"], "input channels"),
    (["cost", "assignment", "--at", "H=1e3,W=2"], "positive integer"),
    (["cost", "assignment", "--at", "H=64,X=3"], "not dimensions"),
    (["cost", "assignment", "--at", "H=64"], "missing"),
    (["cost", "assignment", "--at", "H=__import__('os').getcwd()"], "positive integer"),
], ids=["unknown-model", "hostile-input", "rank", "channels", "float", "unknown-name",
        "missing-name", "hostile-at"])
def test_cost_bad_input_is_one_line_exit_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_terminal_table_reads_as_math_and_fits_100_columns(capsys):
    """The default format: Unicode math (⌈H/2⌉, ·, superscripts) in a table 100 columns wide,
    long expressions wrapped; ``plain`` stays ASCII for scripts."""
    assert main(["cost", "assignment", "--input", "1,H,W,3"]) == 0
    out = capsys.readouterr().out
    assert "⌈H/2⌉ × ⌈W/2⌉ × 64" in out and "4800·⌈H/2⌉·⌈W/2⌉" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert main(["cost", "assignment", "--input", "1,H,W,3", "--format", "plain"]) == 0
    assert capsys.readouterr().out.isascii()


def test_notebook_shows_the_table_with_math():
    from symconv.algebra.parse import parse_shape
    from symconv.tools.cost import cost

    page = cost("assignment", parse_shape("1,H,W,3"))._repr_html_()
    assert page.startswith("<table>") and r"\left\lceil{\frac{H}{2}}\right\rceil" in page


def test_derivation_text_is_unicode_math(capsys):
    assert main(["derive", "conv2d", "-s", "2", "-p", "SAME", "--in", "3", "--out", "8"]) == 0
    out = capsys.readouterr().out
    assert "output height ('SAME'): result: ⌈H/2⌉" in out
    assert main(["derive", "conv2d", "-s", "2", "--format", "plain"]) == 0
    assert capsys.readouterr().out.isascii()
