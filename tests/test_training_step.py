"""The training-step experiment: XLA's memory plan of a training step holds the parameters the
algebra counts, and the committed result the proofs read is what it measures (compiling a step
takes seconds for ResNet-50 and minutes for DenseNet-121: the slow tier). Step times depend on
the machine and its load: only their presence is checked."""

from pathlib import Path

import pytest

from symconv.algebra.nets.resnet import ResNetConfig, resnet_stack
from symconv.errors import SymconvError
from symconv.experiments import training_step

RESULT = Path(__file__).resolve().parent.parent / "proofs" / "results" / "training_step.json"


def test_committed_result_is_stamped():
    results, stamp = training_step.load(RESULT)
    assert {r.model for r in results} == set(training_step.MODELS)
    assert all(r.batch == training_step.BATCH and r.seconds > 0 for r in results)
    assert set(stamp["versions"]) == {"jax", "flax", "numpy"}
    assert stamp["command"].startswith("python benchmarks/q2_experiments.py")


@pytest.mark.parametrize("name,batch", [("vgg16", 1), ("resnet50", 0)])
def test_bad_arguments(name, batch):
    with pytest.raises(SymconvError):
        training_step.measure_step_memory(name, batch)


@pytest.mark.slow
def test_step_memory_holds_the_parameters():
    """ResNet-50's step at batch 1: its arguments hold the parameters the algebra counts, in
    float32, and its outputs (the gradients) about as many."""
    m = training_step.measure_step_memory("resnet50", batch=1)
    params = resnet_stack(ResNetConfig.resnet50()).param_count()
    assert m.argument_bytes >= 4 * params
    assert 4 * params <= m.output_bytes < 4.1 * params
    assert m.temp_bytes > 0 and m.total_bytes > m.argument_bytes and m.seconds is None


@pytest.mark.slow
def test_committed_memory_is_a_fresh_plan():
    committed, _ = training_step.load(RESULT)
    for kept in committed:
        again = training_step.measure_step_memory(kept.model, kept.batch)
        assert (again.argument_bytes, again.output_bytes, again.temp_bytes) == (
            kept.argument_bytes, kept.output_bytes, kept.temp_bytes), kept.model
