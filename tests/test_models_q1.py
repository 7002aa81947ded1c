"""Each built-in model agrees with its algebra Stack: parameters (nnx.state), shapes (also
symbolic, jax.export), and XLA's lowered-HLO FLOPs (exact convention, everything counted)."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from flax import nnx

from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.algebra.nets.mobilenet import MobileNetConfig, mobilenet_stack
from symconv.algebra.symbols import H, W
from symconv.algebra.tidy import tidy
from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.models.assignment import AssignmentCNN
from symconv.models.mobilenet import MobileNetV1
from symconv.models.registry import MODELS

ASSIGNMENT = {
    "standard": AssignmentConfig.standard(),
    "separable": AssignmentConfig.mobilenet_style(),
    "gap": AssignmentConfig.standard(head="gap"),
    "reduce": AssignmentConfig.standard(head="reduce"),
    "all-separable-gap": AssignmentConfig(separable=(True, True, True), head="gap"),
}


#: the deepest DenseNets take seconds to build even abstractly: slow tier (DenseNet-121 stays)
DEEP = {"densenet169", "densenet201", "densenet264"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in DEEP
                                  else name for name in MODELS])
def test_registry_params(name):
    entry = MODELS[name]
    model = xla.abstract(lambda: entry.build(entry.default_hw))
    stack = entry.algebra(entry.default_hw)
    assert xla.param_count(model) == stack.param_count()
    assert xla.param_split(model) == (stack.weight_count(), stack.bias_count())


@pytest.mark.parametrize("variant", ASSIGNMENT)
@pytest.mark.parametrize("hw,batch,filters", [
    ((16, 16), 1, (64, 128, 256)), ((9, 13), 1, (64, 128, 256)), ((33, 17), 2, (8, 16, 32)),
    ((48, 40), 2, (4, 8, 16)),
])
def test_assignment_flops_exact(variant, hw, batch, filters):
    """The assignment's widths at small sizes, narrower ones at larger (float32 limit)."""
    from dataclasses import replace

    cfg = replace(ASSIGNMENT[variant].at(*hw), filters=filters)
    model = xla.abstract(lambda: AssignmentCNN(cfg, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (batch, *hw, 3))
    expected = assignment_stack(cfg).batch_flops((*hw, 3), batch, "exact")
    assert expected < xla.FLOAT32_EXACT  # small enough for XLA's float32 sums to be exact
    assert measured["flops"] == expected
    assert measured["transcendentals"] == assignment_stack(cfg).transcendentals((*hw, 3), batch)


@pytest.mark.parametrize("variant", ["standard", "separable"])
def test_assignment_flops_at_128(variant):
    cfg = ASSIGNMENT[variant]
    model = xla.abstract(lambda: AssignmentCNN(cfg, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (1, 128, 128, 3))
    expected = assignment_stack(cfg).batch_flops((128, 128, 3), 1, "exact")
    assert xla.flops_agree(expected, measured["flops"], measured["ops"])


@pytest.mark.parametrize("variant", ["gap", "all-separable-gap"])
def test_assignment_stage_shapes_symbolic(variant):
    """Every named stage of the Flax model, traced with symbolic H, W, equals the algebra."""
    cfg = ASSIGNMENT[variant]
    model = xla.abstract(lambda: AssignmentCNN(cfg, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    x = jax.ShapeDtypeStruct(jax.export.symbolic_shape("B, H, W, 3"), jnp.float32)
    stages = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x), state, x)
    rows = {r.name: r for r in assignment_stack(cfg.at(H, W)).table((H, W, 3)).rows}
    from symconv.checks.dims import shape_to_sympy

    for name, value in stages.items():
        got = shape_to_sympy(value.shape[1:], {"H": H, "W": W})
        want = rows[name].output_shape
        assert all(sp.simplify(tidy(sp.Integer(g) if isinstance(g, int) else g) - w) == 0
                   for g, w in zip(got, want)), (name, got, want)


@pytest.mark.parametrize("alpha,res,batch", [(0.25, 32, 1), (0.25, 64, 2), (0.5, 32, 1)])
def test_mobilenet_flops_exact(alpha, res, batch):
    cfg = MobileNetConfig(alpha=alpha, resolution=res)
    model = xla.abstract(lambda: MobileNetV1(cfg, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (batch, res, res, 3))
    expected = mobilenet_stack(cfg).batch_flops((res, res, 3), batch, "exact")
    assert expected < xla.FLOAT32_EXACT
    assert measured["flops"] == expected
    assert measured["transcendentals"] == mobilenet_stack(cfg).transcendentals((res, res, 3),
                                                                               batch)


def test_mobilenet_224_within_float32_accumulation():
    model = xla.abstract(lambda: MobileNetV1(rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (1, 224, 224, 3))
    expected = mobilenet_stack().batch_flops((224, 224, 3), 1, "exact")
    assert xla.flops_agree(expected, measured["flops"], measured["ops"])


def test_mobilenet_symbolic_output():
    model = xla.abstract(lambda: MobileNetV1(MobileNetConfig(alpha=0.25), rngs=nnx.Rngs(0)))
    got = xla.output_shape(model, "B, H, W, 3")
    assert got[1:] == (1000,)


def test_flatten_head_needs_concrete_size():
    with pytest.raises(SymconvError, match="concrete input size"):
        AssignmentCNN(AssignmentConfig(input_hw=(H, W)), rngs=nnx.Rngs(0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(head="nope"), "head="), (dict(separable=(True,)), "3 conv layers"),
], ids=["bad-head", "separable-length"])
def test_bad_config(kwargs, match):
    with pytest.raises(SymconvError, match=match):
        AssignmentConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(alpha=0), dict(alpha=-1.0), dict(resolution=16),
                                    dict(resolution=224.0)])
def test_bad_mobilenet_config(kwargs):
    with pytest.raises(SymconvError):
        MobileNetConfig(**kwargs)


def test_abstract_restores_jax_tracer_errors():
    """xla.abstract skips tracer-error provenance only while it builds (see its docstring)."""
    from jax._src.interpreters import partial_eval as pe

    before = pe.DynamicJaxprTracer.__dict__["_origin_msg"]
    xla.abstract(lambda: MODELS["assignment"].build((32, 32)))
    assert pe.DynamicJaxprTracer.__dict__["_origin_msg"] is before
    with pytest.raises(SymconvError):
        xla.abstract(lambda: MODELS["mobilenet_v1"].build((224, 160)))
    assert pe.DynamicJaxprTracer.__dict__["_origin_msg"] is before
