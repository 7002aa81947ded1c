"""Every built-in model's training step but the DenseNets (``DEEPER``), priced by
``symconv.checks.trace.train_cost`` with the batch ``B`` symbolic, against XLA's count of the
same jitted step, lowered and never compiled, at two batches with SGD (momentum) and Adam, at the
model's smallest valid input (YOLOv1's fixed 448 x 448: the batch varies). XLA sums in float32:
equal below 2^24, within its rounding above (``flops_agree``); for the small models the exact
per-equation reference (``symconv.checks.reference``) is compared too, to the FLOP. ``slow``
tier: tracing and lowering a step takes up to 20 s (YOLOv3).
"""

import pytest

from symconv.checks import xla
from symconv.checks.reference import reference_jaxpr
from symconv.checks.trace import train_cost
from symconv.checks.trace.steps import lowered_flops, step_jaxpr
from symconv.checks.xla import FLOAT32_EXACT, flops_agree
from symconv.models.registry import MODELS, get
from symconv.tools.bench import small_valid_hw

BATCHES = (1, 2)
#: The DenseNets' steps took 32-105 s each here, so CI leaves them to ``python
#: benchmarks/train_reference.py`` (every built-in model, SGD and Adam, against the exact
#: per-equation reference; its table is in the README). In CI DenseNet-121's full-size step is
#: checked against XLA at two batches by tests/test_step_cost.py, a small DenseNet's with SGD and
#: Adam, exactly, by tests/test_train_cost.py.
DEEPER = ("densenet121", "densenet169", "densenet201", "densenet264", "densenet_bc_100_12")
#: small enough that the exact per-equation reference of the step takes seconds
EXACT = ("assignment", "assignment-separable", "espcn", "unet-padded")


def _step_reference(model, shape, labels, optimizer) -> int:
    """The exact per-equation reference of the concrete step (each distinct equation lowered
    once, counts summed as Python ints)."""
    ref = reference_jaxpr(step_jaxpr(model, shape, labels=bool(labels),
                                     optimizer_kind=optimizer))
    assert ref.exact, ref.methods
    return ref.total("flops")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in MODELS if n not in DEEPER])
def test_every_built_in_step_equals_xla(name):
    entry = get(name)
    hw = small_valid_hw(name)
    model = xla.abstract(lambda: entry.build(hw))
    labels = entry.is_classifier(hw)
    for optimizer in ("sgd", "adam"):
        tc = train_cost(model, f"B, {hw[0]}, {hw[1]}, {entry.channels}", labels=labels or None,
                        optimizer=optimizer)
        assert tc.result.complete, tc.result.unknown
        for b in BATCHES:
            shape = (b, *hw, entry.channels)
            seen, ops = lowered_flops(model, shape, labels=labels, optimizer_kind=optimizer)
            closed = tc.at({"B": b}, figure="xla")
            if closed < FLOAT32_EXACT:
                assert closed == seen, (optimizer, b, closed, seen)
            else:
                assert flops_agree(closed, seen, ops), (optimizer, b, closed, seen)
            if name in EXACT:
                assert closed == _step_reference(model, shape, labels, optimizer), (optimizer, b)
