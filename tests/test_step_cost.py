"""The training-step cost experiment behind the report's four ``*.train_step`` claims: the
committed result the proofs read is what a fresh run measures (the assignment's CNN in the default
tier, all four networks in the slow tier: DenseNet-121's and YOLOv3's steps take about 15 s to
trace and lower), and it agrees with XLA's count of the lowered step."""

import dataclasses
from pathlib import Path

import pytest

from symconv.checks.xla import flops_agree
from symconv.errors import SymconvError
from symconv.experiments import step_cost

RESULT = Path(__file__).resolve().parent.parent / "proofs" / "results" / "step_cost.json"


def _committed() -> dict[str, step_cost.StepCost]:
    return {r.model: r for r in step_cost.load(RESULT)[0]}


def _same(fresh: step_cost.StepCost, kept: step_cost.StepCost) -> None:
    assert dataclasses.replace(fresh, seconds=None) == dataclasses.replace(kept, seconds=None)


def test_committed_result_is_stamped_and_agrees_with_xla():
    results, stamp = step_cost.load(RESULT)
    assert [r.model for r in results] == list(step_cost.NETWORKS.values())
    assert stamp["command"] == "python benchmarks/step_cost.py --write"
    assert set(stamp["versions"]) == {"jax", "flax", "numpy"}
    for r in results:
        assert [n for n, _, _ in r.xla] == list(step_cost.BATCHES)
        assert all(flops_agree(r.at(n), flops, ops) for n, flops, ops in r.xla), r.model
        assert r.parts["optimizer"][0] == 0  # the update does not depend on the batch


def test_assignment_step_is_the_committed_one():
    _same(step_cost.measure("assignment"), _committed()["assignment"])


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in step_cost.NETWORKS.values() if n != "assignment"])
def test_committed_result_is_a_fresh_run(name):
    _same(step_cost.measure(name), _committed()[name])


def test_unknown_network_and_bad_file(tmp_path):
    with pytest.raises(SymconvError):
        step_cost.measure("vgg16")
    bad = tmp_path / "bad.json"
    bad.write_text('{"stamp": {}, "results": [{"model": "x"}]}')
    with pytest.raises(SymconvError, match="not a step-cost result"):
        step_cost.load(bad)
