"""The gradient-flow experiment: deterministic and finite, its norms are the gradient of the loss
it states (computed again here with ``nnx.grad``), the dense stack's parameter budget, counted on
the Flax models themselves, is comparable to the plain one's; the committed result the proofs
read is what the experiment measures, and ``symconv prove`` without ``--experiments`` reads it
instead of running the experiment."""

import importlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.experiments import gradient_flow, training_step
from symconv.experiments.gradient_flow import VARIANTS, ConvStack, measure_gradient_flow
from symconv.report.runner import experiments_enabled, module_name, run_proofs

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "proofs" / "results" / "gradient_flow.json"


def test_measure_is_deterministic_and_finite():
    a = measure_gradient_flow("dense", 3, seeds=2)
    b = measure_gradient_flow("dense", 3, seeds=2)
    assert a.norms.shape == (2, 3)
    assert np.isfinite(a.norms).all() and (a.norms > 0).all()
    assert np.array_equal(a.norms, b.norms)
    model = xla.abstract(lambda: ConvStack("dense", 3, rngs=nnx.Rngs(0)))
    assert a.params == xla.param_count(model)


@pytest.mark.parametrize("arch,batch_norm", VARIANTS,
                         ids=[gradient_flow.variant_name(*v) for v in VARIANTS])
def test_norms_are_the_gradient_of_the_stated_loss(arch, batch_norm):
    """The module's setting, computed here with Flax's own transforms: the model initialised from
    ``key(seed)``, inputs and targets standard normals from ``key(1000 + seed)``, mean squared
    loss, and the 2-norm of ``nnx.grad`` for each layer's kernel (the experiment initialises
    inside ``jax.jit`` and differentiates a split/merge version at XLA's optimisation level 0).
    With batch norm, its statistics are the batch's (training mode)."""
    depth, batch, seed = 2, 2, 0
    measured = measure_gradient_flow(arch, depth, seeds=1, batch=batch, batch_norm=batch_norm)
    model = ConvStack(arch, depth, rngs=nnx.Rngs(params=jax.random.key(seed)),
                      batch_norm=batch_norm)
    kx, ky = jax.random.split(jax.random.key(1000 + seed))
    x = jax.random.normal(kx, (batch, 16, 16, 3))
    target = jax.random.normal(ky, (batch, 10))

    @nnx.jit  # one compile (eagerly, every op would compile on its own)
    def kernel_norms(m):
        grads = nnx.grad(lambda m: jnp.mean((m(x) - target) ** 2))(m)
        return [jnp.linalg.norm(grads.convs[i].kernel[...]) for i in range(depth)]

    expected = [float(n) for n in kernel_norms(model)]
    np.testing.assert_allclose(measured.norms[0], expected, rtol=1e-4)


@pytest.mark.parametrize("depth", [6, 12, 24])
def test_dense_budget_is_comparable(depth):
    """The growth rate the dense stack uses gives it about the plain stack's convolution
    weights: counted from ``nnx.state`` of both Flax models (an abstract build), not from the
    formula ``dense_growth`` minimises."""
    def conv_weights(arch: str) -> int:
        model = xla.abstract(lambda: ConvStack(arch, depth, rngs=nnx.Rngs(0)))
        return sum(xla.param_split(conv)[0] for conv in model.convs)

    dense, plain = conv_weights("dense"), conv_weights("plain")
    assert plain == 9 * 16 * 16 * depth  # 3x3 convolutions, 16 -> 16 maps
    assert abs(dense - plain) / plain < 0.35


@pytest.mark.parametrize("arch,depth,batch_norm", [("wide", 3, False), ("plain", 0, False),
                                                   ("residual", 3, True)])
def test_bad_arguments(arch, depth, batch_norm):
    with pytest.raises(SymconvError):
        measure_gradient_flow(arch, depth, seeds=1, batch_norm=batch_norm)


def test_committed_result_is_stamped_and_complete():
    results, stamp = gradient_flow.load(RESULT)
    record = json.loads(RESULT.read_text(encoding="utf-8"))
    assert record["stamp"] == stamp
    assert set(stamp["versions"]) == {"jax", "flax", "numpy"}
    assert stamp["command"].startswith("python benchmarks/q2_experiments.py")
    setting = stamp["setting"]
    assert setting["depths"] == list(gradient_flow.DEPTHS)
    assert setting["init seeds"] == list(range(gradient_flow.SEEDS))
    assert sorted((r.arch, r.batch_norm, r.depth) for r in results) == sorted(
        (a, bn, d) for a, bn in VARIANTS for d in gradient_flow.DEPTHS)
    assert all(r.norms.shape == (gradient_flow.SEEDS, r.depth) for r in results)


def _committed(arch, batch_norm, depth):
    results, _ = gradient_flow.load(RESULT)
    return next(r for r in results if (r.arch, r.batch_norm, r.depth) == (arch, batch_norm, depth))


@pytest.mark.parametrize("arch,batch_norm", [("plain", False), ("residual", True)])
def test_committed_result_is_a_fresh_run_small(arch, batch_norm):
    """Two of the committed entries (depth 6, the same seeds) measured again: the same numbers
    up to float32 rounding (the whole file: the slow test below)."""
    fresh = measure_gradient_flow(arch, 6, batch_norm=batch_norm)
    kept = _committed(arch, batch_norm, 6)
    assert fresh.params == kept.params
    np.testing.assert_allclose(fresh.norms, kept.norms, rtol=1e-5)


@pytest.mark.slow
def test_committed_result_is_a_fresh_run():
    committed, _ = gradient_flow.load(RESULT)
    fresh = {(r.arch, r.batch_norm, r.depth): r for r in gradient_flow.run()}
    for kept in committed:
        again = fresh[(kept.arch, kept.batch_norm, kept.depth)]
        assert again.params == kept.params
        np.testing.assert_allclose(again.norms, kept.norms, rtol=1e-5, err_msg=kept.name)


def _proof_helper(name: str):
    """A helper module of ``proofs/`` (``_q2_common``, ``_q2_gradient``), imported into the
    package the runner loads proof modules into."""
    return importlib.import_module(module_name(ROOT / "proofs" / f"{name}.py"))


def test_run_proofs_sets_the_experiments_switch(tmp_path):
    proof = tmp_path / "p1.py"
    proof.write_text(
        "from symconv.report.proof import Proof\n"
        "from symconv.report.runner import experiments_enabled\n"
        "def build():\n"
        "    return Proof('Q9', 'a', str(experiments_enabled()), ())\n")
    assert [p.title for p in run_proofs([proof]).proofs] == ["False"]
    assert [p.title for p in run_proofs([proof], experiments=True).proofs] == ["True"]
    assert experiments_enabled() is False  # reset after the run


def test_proofs_read_committed_results_unless_asked(monkeypatch, tmp_path):
    """Without ``--experiments`` no experiment runs (they are replaced by functions that fail);
    with it, both run and the report says the numbers were measured in this run."""
    common, gradient = _proof_helper("_q2_common"), _proof_helper("_q2_gradient")

    def fail(*args, **kwargs):
        raise AssertionError("an experiment ran without --experiments")

    monkeypatch.setattr(gradient_flow, "run", fail)
    monkeypatch.setattr(training_step, "run", fail)
    gradient._committed.cache_clear()
    g = gradient.gradients()
    memory, where_memory, _ = common.training_step_results()
    assert len(g.results) == len(VARIANTS) * len(gradient_flow.DEPTHS) and len(memory) == 2
    assert "committed result" in g.where and "committed result" in where_memory

    calls = []
    monkeypatch.setattr(gradient_flow, "run", lambda: calls.append("gradient") or g.results)
    monkeypatch.setattr(training_step, "run", lambda: calls.append("memory") or memory)
    common._fresh_steps.cache_clear()
    proof = tmp_path / "p2.py"
    proof.write_text(
        "import importlib\n"
        "from symconv.report.proof import Proof\n"
        "def build():\n"
        f"    gradient = importlib.import_module({gradient.__name__!r})\n"
        f"    common = importlib.import_module({common.__name__!r})\n"
        "    _, b, _ = common.training_step_results()\n"
        "    return Proof('Q9', 'b', gradient.gradients().where + ' | ' + b, ())\n")
    run = run_proofs([proof], experiments=True)
    assert not run.errors and sorted(calls) == ["gradient", "memory"]
    assert run.proofs[0].title.count("measured in this run") == 2
    common._fresh_steps.cache_clear()
