"""Stack tables: totals equal the Flax model's and XLA's counts, symbolic tables evaluate to the
concrete ones, errors name the layer."""

import pytest
import sympy as sp
from flax import nnx

from symconv.algebra import (
    BatchNorm,
    Conv2D,
    Dense,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    SeparableConv2D,
    Softmax,
    Stack,
)
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.algebra.nets.mobilenet import MobileNetConfig, mobilenet_stack
from symconv.algebra.symbols import H, W
from symconv.checks import xla
from symconv.errors import KernelLargerThanInputError, ShapeMismatchError, SymconvError
from symconv.models.layers import flax_layer

STACKS = {
    "assignment": lambda hw: assignment_stack(AssignmentConfig(input_hw=hw)),
    "separable-gap": lambda hw: assignment_stack(AssignmentConfig.mobilenet_style(
        head="gap", input_hw=hw)),
    "mobilenet": lambda hw: mobilenet_stack(MobileNetConfig(alpha=0.25)),
    "mixed": lambda hw: Stack((Conv2D(3, 8, 3, 2, "SAME"), BatchNorm(8), ReLU(),
                               MaxPool2D(3, 2, "SAME"), SeparableConv2D(8, 16, 3, padding=1),
                               GlobalAvgPool2D(), Dense(16, 5), Softmax())),
}


@pytest.mark.parametrize("name", STACKS)
def test_totals_match_the_flax_model(name):
    """The table's totals against the other sides of the triangle: the parameters (and their
    weight/bias split) of the Flax model built from the same stack, read from ``nnx.state``; the
    exact FLOPs and transcendentals of a batch of 2, from XLA's lowered HLO (below 2**24, where
    XLA's float32 totals are exact)."""
    hw = (13, 11)
    stack = STACKS[name](hw)
    totals = stack.table((*hw, 3), batch=2).totals
    model = xla.abstract(lambda: flax_layer(stack, rngs=nnx.Rngs(0)))
    assert totals["params"] == xla.param_count(model)
    assert (totals["weights"], totals["biases"]) == xla.param_split(model)
    measured = xla.cost(model, (2, *hw, 3))
    assert totals["flops"] < xla.FLOAT32_EXACT
    assert totals["flops"] == measured["flops"]
    assert totals["transcendentals"] == measured["transcendentals"]


@pytest.mark.parametrize("name", STACKS)
@pytest.mark.parametrize("hw", [(32, 32), (40, 56), (97, 33), (64, 64)])
def test_symbolic_table_evaluates_to_concrete(name, hw):
    symbolic = STACKS[name]((H, W)).table((H, W, 3))
    concrete = STACKS[name](hw).table((*hw, 3))
    at = symbolic.subs({H: hw[0], W: hw[1]})
    for s_row, c_row in zip(at.rows, concrete.rows):
        for key in ("output_shape", "weights", "biases", "macs_dense", "macs_exact", "flops"):
            assert getattr(s_row, key) == getattr(c_row, key), (s_row.name, key)


def test_mismatched_channels_name_the_layer():
    with pytest.raises(ShapeMismatchError, match=r"layer 2 \(conv2\).*in_features=4"):
        Stack((Conv2D(3, 8, 3), Conv2D(4, 8, 3))).table((16, 16, 3))


def test_shrinking_below_one_pixel_names_the_layer():
    with pytest.raises(KernelLargerThanInputError, match=r"layer 3 \(conv3\)"):
        Stack((Conv2D(3, 8, 3), Conv2D(8, 8, 3), Conv2D(8, 8, 3))).table((5, 5, 3))


def test_dense_after_conv_needs_flatten():
    with pytest.raises(ShapeMismatchError, match=r"layer 2 \(fc1\).*Flatten"):
        Stack((Conv2D(3, 8, 3), Dense(8, 2))).table((5, 5, 3))


@pytest.mark.parametrize("layers,names,match", [
    ((), (), "at least one layer"),
    ((Conv2D(3, 8, 3), "relu"), (), "not a layer spec"),
    ((ReLU(), ReLU()), ("a", "a"), "unique"),
    ((ReLU(),), ("a", "b"), "2 names for 1 layers"),
], ids=["empty", "not-a-layer", "duplicate-names", "name-count"])
def test_bad_stacks(layers, names, match):
    with pytest.raises(SymconvError, match=match):
        Stack(layers, names)


def test_flatten_width_symbolic():
    table = assignment_stack(AssignmentConfig(input_hw=(H, W))).table((H, W, 3))
    flat = {r.name: r for r in table.rows}["flatten"].output_shape[0]
    assert sp.simplify(flat - 256 * sp.ceiling(H / 8) * sp.ceiling(W / 8)) == 0
