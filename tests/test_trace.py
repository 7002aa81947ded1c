"""The tracer: closed forms from the jaxpr equal XLA's count at every point, equal the algebra's
closed forms (SymPy), and never silently drop an op it cannot price."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra.symbols import B, H, W
from symconv.checks import xla
from symconv.checks.trace import trace
from symconv.errors import SymconvError
from symconv.models.registry import MODELS
from symconv.tools.cli import main

SYMBOLIC = ["assignment-gap", "mobilenet_v1", "mobilenet_v1_0.5"]  # heads without flatten


@pytest.fixture(scope="module")
def traced():
    out = {}
    for name in SYMBOLIC:
        entry = MODELS[name]
        model = xla.abstract(lambda: entry.build(entry.default_hw))  # noqa: B023 (called here)
        out[name] = (model, trace(model, "B, H, W, 3"))
    return out


@pytest.mark.parametrize("name", SYMBOLIC)
def test_traced_closed_form_is_the_algebra(traced, name):
    _, result = traced[name]
    sym = {result.symbols[k]: v for k, v in {"B": B, "H": H, "W": W}.items()}
    stack = MODELS[name].algebra((H, W))
    flops = result.total("flops").subs(sym)
    assert sp.expand(flops - stack.batch_flops((H, W, 3), B, "exact")) == 0
    dense = result.total("macs_dense").subs(sym)
    assert sp.expand(dense - B * stack.macs((H, W, 3), "dense")) == 0
    assert result.complete and sum(result.params.values()) == stack.param_count()


# Each example lowers a whole model once more: 12 in the default tier, 40 in the slow sweep.
@settings(max_examples=12)
@given(st.sampled_from(SYMBOLIC), st.integers(1, 2), st.integers(8, 96), st.integers(8, 96))
def test_traced_value_equals_xla(traced, name, b, h, w):
    check_traced_value(traced, name, b, h, w)


@pytest.mark.slow
@settings(max_examples=40)
@given(st.sampled_from(SYMBOLIC), st.integers(1, 2), st.integers(8, 96), st.integers(8, 96))
def test_traced_value_equals_xla_sweep(traced, name, b, h, w):
    check_traced_value(traced, name, b, h, w)


def check_traced_value(traced, name, b, h, w):
    model, result = traced[name]
    value = result.at({"B": b, "H": h, "W": w})
    measured = xla.cost(model, (b, h, w, 3))
    assert xla.flops_agree(value, measured["flops"], measured["ops"])
    if value < xla.FLOAT32_EXACT:
        assert value == measured["flops"]
    assert result.at({"B": b, "H": h, "W": w}, "transcendentals") == measured["transcendentals"]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["assignment", "assignment-separable", "assignment-reduce"]),
       st.integers(8, 40), st.integers(8, 40))
def test_flatten_models_traced_at_concrete_sizes(name, h, w):
    """Flatten heads size their FC from the input: traced at the size they were built for."""
    model = xla.abstract(lambda: MODELS[name].build((h, w)))
    result = trace(model, f"1, {h}, {w}, 3")
    measured = xla.cost(model, (1, h, w, 3))
    assert result.complete
    assert xla.flops_agree(result.total(), measured["flops"], measured["ops"])


def test_per_module_paths_and_params(traced):
    _, result = traced["mobilenet_v1_0.5"]
    rows = {r.path: r for r in result.by_module(depth=1)}
    assert {"stem", "stem_bn", "blocks", "fc"} <= set(rows)
    model = traced["mobilenet_v1_0.5"][0]
    assert rows["fc"].params == xla.param_count(model.fc)
    assert rows["blocks"].params == xla.param_count(model.blocks)


def test_plain_functions_and_transcendentals():
    def f(x):
        return jnp.tanh(x) * 2.0 + jax.nn.sigmoid(x)

    result = trace(f, "N, 8")
    n = result.symbols["N"]
    measured = xla.cost(f, (5, 8))
    assert result.at({"N": 5}) == measured["flops"]
    assert result.at({"N": 5}, "transcendentals") == measured["transcendentals"]
    assert sp.expand(result.total("transcendentals") - 16 * n) == 0


def test_unknown_primitive_is_reported_not_zero():
    result = trace(lambda x: jax.lax.igamma(x, x) + 1.0, "N, 8")
    assert not result.complete and "igamma" in result.unknown


def test_unknown_primitive_marked_in_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "usermod.py").write_text(
        "import jax\nfrom flax import nnx\n"
        "class M(nnx.Module):\n    def __init__(self, rngs):\n"
        "        self.l = nnx.Linear(4, 4, rngs=rngs)\n"
        "    def __call__(self, x):\n        return jax.lax.igamma(self.l(x), self.l(x))\n"
        "def make(rngs):\n    return M(rngs)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "usermod:make", "--input", "N,4"]) == 0
    assert "INCOMPLETE" in capsys.readouterr().out
    assert main(["cost", "usermod:make", "--input", "N,4", "--at", "N=3"]) == 1


def test_user_factory_agrees_with_xla(tmp_path, monkeypatch, capsys):
    (tmp_path / "mynet.py").write_text(
        "import jax\nfrom flax import nnx\n"
        "class Net(nnx.Module):\n    def __init__(self, rngs):\n"
        "        self.c = nnx.Conv(3, 8, (3, 3), strides=2, rngs=rngs)\n"
        "        self.fc = nnx.Linear(8, 4, rngs=rngs)\n"
        "    def __call__(self, x):\n"
        "        return self.fc(jax.nn.gelu(self.c(x)).mean(axis=(1, 2)))\n"
        "def make(rngs):\n    return Net(rngs)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "mynet:make", "--input", "1,H,W,3", "--at", "H=33,W=20",
                 "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "agree" in out and "⌈H/2⌉" in out


@pytest.mark.parametrize("model", ["__import__('os'):system", "os.path:join()", "a b:c",
                                   "mod:", ":f", "x;y:z"])
def test_hostile_model_paths_import_nothing(model, monkeypatch, capsys):
    import importlib

    imported = []
    monkeypatch.setattr(importlib, "import_module", lambda *a, **k: imported.append(a))
    assert main(["cost", model, "--input", "1,H,W,3"]) == 2
    assert not imported
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_model_rejecting_input_is_one_line(capsys):
    assert main(["cost", "assignment-gap", "--engine", "trace", "--input", "1,H,W,4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rejects" in err[0]


def test_bad_shape_string():
    with pytest.raises(SymconvError):
        trace(lambda x: x, "B, H +, 3")


def test_cond_is_priced_as_its_most_expensive_branch():
    def f(a):
        return jax.lax.cond(a.sum() > 0, lambda: a * 2 + 1, lambda: jnp.exp(a) * 3)

    result = trace(f, "N, 10")
    assert result.complete
    for n in (1, 2, 7):
        measured = xla.cost(f, (n, 10))
        assert result.at({"N": n}) == measured["flops"]
        assert result.at({"N": n}, "transcendentals") == measured["transcendentals"]


def test_loops_are_priced_not_unknown():
    """Loops are priced at their trip count (tests/test_trace_loops.py checks against XLA)."""
    result = trace(lambda a: jax.lax.fori_loop(0, 5, lambda i, c: c * 2.0, a), "N, 10")
    assert result.complete and result.loops[0].trips == 5
