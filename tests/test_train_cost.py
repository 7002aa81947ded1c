"""The closed-form cost of a training step (``symconv.checks.trace.train_cost``) equals XLA's
count of the same jitted step (``cost_analysis()`` of the lowered HLO, never compiled) at every
size tried, with SGD (momentum) and Adam; the per-part split is a partition with the expected
structure; bad input gets a clear ``SymconvError``."""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from symconv.algebra.nets.assignment import AssignmentConfig
from symconv.algebra.nets.darknet import YoloV1Config
from symconv.algebra.nets.densenet import DenseNetConfig
from symconv.algebra.nets.resnet import ResNetConfig
from symconv.algebra.nets.unet import UNetGraph
from symconv.checks.trace import trace, train_cost
from symconv.checks.trace.steps import lowered_flops
from symconv.checks.trace.training import PARTS
from symconv.checks.xla import FLOAT32_EXACT, flops_agree
from symconv.errors import SymconvError
from symconv.models.assignment import AssignmentCNN
from symconv.models.densenet import DenseNet
from symconv.models.resnet import ResNet
from symconv.models.unet import UNet
from symconv.models.yolo import YoloV1


def _abstract(make):
    return nnx.eval_shape(make)


def _yolov1():
    return YoloV1(YoloV1Config(grid=1, width=4, hidden=16, boxes=3, classes=4), rngs=nnx.Rngs(0))


CASES = {  # name: (model, symbolic batch, labels, points, concrete batch shape)
    "assignment": (
        lambda: AssignmentCNN(AssignmentConfig(input_hw=(8, 8), filters=(4, 8, 8), classes=5),
                              rngs=nnx.Rngs(0)),
        "B, 8, 8, 3", True, [{"B": 1}, {"B": 3}], lambda v: (v["B"], 8, 8, 3)),
    "densenet": (
        lambda: DenseNet(DenseNetConfig(growth_rate=2, block_config=(2, 2), num_init_features=4,
                                        classes=5, stem="cifar"), rngs=nnx.Rngs(0)),
        "B, 4*h, 4*h, 3", True, [{"B": 1, "h": 2}, {"B": 2, "h": 3}],
        lambda v: (v["B"], 4 * v["h"], 4 * v["h"], 3)),
    "unet": (
        lambda: UNet(UNetGraph(base=2, depth=2, padded=True, classes=3), rngs=nnx.Rngs(0)),
        "B, 4*h, 4*w, 1", False, [{"B": 1, "h": 4, "w": 4}, {"B": 2, "h": 5, "w": 3}],
        lambda v: (v["B"], 4 * v["h"], 4 * v["w"], 1)),
    # unpadded: its skips are centre-cropped, a gather with B symbolic whose gradient must be
    # priced as the pad the concrete program has (the side is fixed: JAX cannot differentiate
    # it over a symbolic side, the transposed convolution's padding needs max() of the side)
    "unet-valid": (
        lambda: UNet(UNetGraph(base=2, depth=2, classes=3), rngs=nnx.Rngs(0)),
        "B, 44, 44, 1", False, [{"B": 1}, {"B": 3}], lambda v: (v["B"], 44, 44, 1)),
    "yolov1": (
        _yolov1, "B, 64, 64, 3", False, [{"B": 1}, {"B": 2}], lambda v: (v["B"], 64, 64, 3)),
}


def _check(model, shape, labels, points, concrete, optimizer):
    tc = train_cost(model, shape, labels=labels, optimizer=optimizer)
    assert tc.result.complete, tc.result.unknown
    for v in points:
        xla, ops = lowered_flops(model, concrete(v), labels=labels, optimizer_kind=optimizer)
        exact = tc.at(v, figure="xla")
        if exact < FLOAT32_EXACT:
            assert exact == xla, (v, exact, xla)
        else:  # XLA sums in float32
            assert flops_agree(exact, xla, ops), (v, exact, xla)
        assert sum(tc.at(v, part) for part in PARTS) == tc.at(v)
    return tc


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(CASES))
def test_step_equals_xla(name, optimizer):
    make, shape, labels, points, concrete = CASES[name]
    _check(_abstract(make), shape, labels, points, concrete, optimizer)


def test_resnet_small_agrees_within_float32():
    """ResNet with one basic block per stage on 32h x 32h: the strided convolutions are
    differentiable over sides that are multiples of 32 (the closed form holds for every h)."""
    model = _abstract(lambda: ResNet(ResNetConfig(layers=(1, 1, 1, 1), classes=10),
                                     rngs=nnx.Rngs(0)))
    tc = _check(model, "B, 32*h, 32*h, 3", True, [{"B": 1, "h": 1}, {"B": 2, "h": 1}],
                lambda v: (v["B"], 32 * v["h"], 32 * v["h"], 3), "sgd")
    assert "32*h" in tc.domain


def test_parts_have_the_expected_structure():
    model = _abstract(CASES["assignment"][0])
    tc = train_cost(model, "B, 8, 8, 3", labels=True, optimizer="adam")
    rows = {r.path: r for r in tc.by_module()}
    first = rows["convs.0"]
    assert first.backward_input == 0 and first.backward_weights != 0  # no input gradient
    params = {r.path: r.params for r in tc.by_module()}
    for path in ("convs.1", "convs.2", "fc"):
        r = rows[path]
        assert r.backward_input != 0 and r.backward_weights != 0 and r.forward != 0
        # Adam's elementwise update: a fixed count per parameter, independent of the batch
        assert isinstance(r.optimizer, int) and r.optimizer % params[path] == 0
    assert rows["(optimizer)"].optimizer != 0  # step count and bias corrections
    assert rows["loss"].forward != 0
    total = sum((r.total for r in rows.values()), 0)
    assert (total - tc.total()).expand() == 0


def test_adamw_and_softmax_cross_entropy_of_logits():
    params = {"dense": {"kernel": jnp.zeros((6, 3)), "bias": jnp.zeros((3,))}}

    def loss(p, x, y):
        with jax.named_scope("dense"):
            logits = x @ p["dense"]["kernel"] + p["dense"]["bias"]
        from symconv.checks.trace.steps import logits_loss
        return logits_loss(logits, y)

    tc = train_cost(loss, "N, 6", params=params, labels=True, optimizer="adamw")
    for n in (1, 5):
        xla, _ = lowered_flops(loss, (n, 6), labels=True, params=params, optimizer_kind="adamw")
        assert tc.at({"N": n}) == xla
    rows = {r.path: r for r in tc.by_module()}
    assert rows["dense"].optimizer != 0 and rows["dense"].backward_weights != 0


@pytest.mark.parametrize("y", [-1, -2, -3, -4, 3])
def test_rules_used_by_gradients(y):
    """The gradient of a softmax has ``integer_pow(t, -2)`` (a multiply and a divide); Adam's
    bias correction ``pow(beta, count)`` converts its integer exponent first."""
    f = lambda x: jax.lax.integer_pow(x, y)  # noqa: E731
    assert trace(f, "5, 3").total() == jax.jit(f).lower(
        jax.ShapeDtypeStruct((5, 3), jnp.float32)).cost_analysis()["flops"]
    g = lambda c: jax.lax.pow(jnp.float32(0.9), c)  # noqa: E731
    assert trace(g, "4:int32").total() == jax.jit(g).lower(
        jax.ShapeDtypeStruct((4,), jnp.int32)).cost_analysis()["flops"]


class _NoParams(nnx.Module):
    def __call__(self, x):
        return x * 2.0


@pytest.mark.parametrize("call,match", [
    (lambda m: train_cost(m, "B, 8, 8, 3", optimizer="rmsprop"), "unknown optimizer"),
    (lambda m: train_cost(_NoParams(), "B, 4"), "no parameters"),
    (lambda m: train_cost(m, "B, 8, 8, 3", loss="hinge"), "unknown loss"),
    (lambda m: train_cost(m, "B, 8, 8, 3", loss="cross_entropy"), "needs labels"),
    (lambda m: train_cost(lambda p, x: x.sum(), "B, 4"), "params="),
    (lambda m: train_cost(m, "B, 9, 9, 3, 1"), "rejects"),
    (lambda m: train_cost(AssignmentCNN, "B, 8, 8, 3"), "nnx.Module"),
])
def test_bad_input(call, match):
    model = _abstract(CASES["assignment"][0])
    with pytest.raises(SymconvError, match=match):
        call(model)


def test_strided_conv_over_an_arbitrary_side_is_explained():
    model = _abstract(lambda: AssignmentCNN(AssignmentConfig(
        input_hw=(8, 8), filters=(4, 8, 8), classes=5, head="gap"), rngs=nnx.Rngs(0)))
    with pytest.raises(SymconvError, match="32\\*h"):
        train_cost(model, "B, H, H, 3", labels=True)
    for r in (0, 3):  # the side as the model accepts it, or one residue class mod 8
        tc = train_cost(model, f"B, 8*h + {r}, 8*w + {r}, 3", labels=True)
        assert f"8*h + {r}" in tc.domain or (r == 0 and "8*h" in tc.domain)
        for v in ({"B": 1, "h": 1, "w": 2}, {"B": 2, "h": 3, "w": 1}):
            xla, _ = lowered_flops(model, (v["B"], 8 * v["h"] + r, 8 * v["w"] + r, 3),
                                   labels=True)
            assert tc.at(v) == xla


class _Dropout(nnx.Module):
    def __init__(self, rngs):
        self.fc = nnx.Linear(4, 3, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        return self.drop(self.fc(x))


def test_dropout_and_key_constraints():
    """A dropout draws random numbers in the step; its key crosses the jit boundary, where the
    lowering puts two sharding constraints that XLA's cost analysis counts as -1 FLOP each."""
    model = _abstract(lambda: _Dropout(nnx.Rngs(0)))
    tc = train_cost(model, "B, 4")
    assert tc.key_constraints == 2
    for b in (1, 2, 5):
        assert tc.at({"B": b}, figure="xla") == lowered_flops(model, (b, 4))[0]
        assert tc.at({"B": b}) == tc.at({"B": b}, figure="xla") + 2


def test_cli_cost_train(capsys):
    from symconv.tools.cli import main

    assert main(["cost", "assignment-gap", "--train", "--input", "B,32,32,3", "--at", "B=1",
                 "--optimizer", "adam", "--format", "plain"]) == 0
    text = capsys.readouterr().out
    assert "backward input" in text and "convs.0" in text and "(step)" in text
    assert "agrees" in text or "(equal)" in text
    with pytest.raises(SystemExit) as bad:  # argparse: one line, exit code 2
        main(["cost", "assignment-gap", "--train", "--optimizer", "rmsprop"])
    assert bad.value.code == 2


@pytest.mark.slow
@pytest.mark.parametrize("name,batch", [("resnet18", 2), ("unet", 1)])  # DenseNet-121 at 224:
# tests/test_step_cost.py (SGD, fresh run of the report's committed step)
def test_full_size_built_ins(name, batch):
    """Full-size built-ins at their default size: the closed form agrees with XLA's float32 sum
    (within its rounding, flops_agree), with SGD and Adam."""
    from symconv.models.registry import get
    from symconv.tools.bench.workload import is_classifier

    entry = get(name)
    hw = entry.default_hw
    model = _abstract(lambda: entry.build(hw))
    labels = True if is_classifier(name, hw) else None
    for optimizer in ("sgd", "adam"):
        tc = train_cost(model, f"B, {hw[0]}, {hw[1]}, {entry.channels}", labels=labels,
                        optimizer=optimizer)
        xla, ops = lowered_flops(model, (batch, *hw, entry.channels), labels=bool(labels),
                                 optimizer_kind=optimizer)
        assert flops_agree(tc.at({"B": batch}, figure="xla"), xla, ops)


def _forward_xla(model, shape, labels) -> int:
    """XLA's count of the forward pass and loss alone (training mode, batch statistics kept)."""
    from symconv.checks.trace.steps import loss_of

    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)
    loss = loss_of("auto", labels)

    def forward(st, x, *y):
        m = nnx.merge(graphdef, st)
        m.train()
        return loss(m(x), *y), nnx.state(m, nnx.Not(nnx.Param))

    args = (state, jax.ShapeDtypeStruct(shape, jnp.float32))
    args += (jax.ShapeDtypeStruct(shape[:1], jnp.int32),) if labels else ()
    return int(jax.jit(forward).lower(*args).cost_analysis()["flops"])


def _optimizer_xla(model, optimizer) -> int:
    """XLA's count of ``nnx.Optimizer.update`` alone, the gradients given."""
    from symconv.checks.trace.steps import optimizer as make

    def build():
        m = nnx.merge(*nnx.split(model))
        return m, nnx.Optimizer(m, make(optimizer), wrt=nnx.Param)

    graphdef, state = nnx.split(nnx.eval_shape(build))
    state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)
    grads = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
                         nnx.state(model, nnx.Param))

    def update(st, g):
        m, opt = nnx.merge(graphdef, st)
        opt.update(m, g)
        return nnx.state((m, opt))

    return int(jax.jit(update).lower(state, grads).cost_analysis()["flops"])


@pytest.mark.parametrize("name", ["assignment", "densenet", "yolov1"])
def test_forward_and_optimizer_parts_equal_xla_alone(name):
    """The forward part equals XLA's count of the forward pass and loss alone, the optimizer part
    XLA's count of the update alone: the split is checked part by part, not only in total."""
    make, shape, labels, points, concrete = CASES[name]
    model = _abstract(make)
    for optimizer in ("sgd", "adam"):
        tc = train_cost(model, shape, labels=labels, optimizer=optimizer)
        # each function alone passes the model's PRNG keys in and out, as the step does
        assert tc.at(points[0], "optimizer") - tc.key_constraints == _optimizer_xla(
            model, optimizer)
    for v in points:
        assert tc.at(v, "forward") - tc.key_constraints == _forward_xla(model, concrete(v), labels)


class _Attention(nnx.Module):
    def __init__(self, d: int, heads: int, rngs: nnx.Rngs):
        self.attn = nnx.MultiHeadAttention(heads, d, decode=False, rngs=rngs)

    def __call__(self, x):
        return self.attn(x)


def test_attention_over_batch_and_sequence():
    """Self-attention over ``B x L`` tokens of width d, h heads: the closed form in B and L equals
    XLA's count; forward + backward is 6 N T for the projections (T = B L tokens, short by their
    bias terms) plus 12 B L^2 (d + h) for the scores, the softmax and the weighted sum, which
    have no parameters (so they are input gradient); a module named ``value`` keeps its
    parameters (not mistaken for a Variable's ``.value``)."""
    d, heads = 16, 2
    model = _abstract(lambda: _Attention(d, heads, nnx.Rngs(0)))
    tc = train_cost(model, f"B, L, {d}")
    for b, length in ((1, 3), (2, 5)):
        assert tc.at({"B": b, "L": length}, figure="xla") == lowered_flops(
            model, (b, length, d))[0]
    rows = {r.path: r for r in tc.by_module()}
    assert rows["attn.value"].params == d * d + d
    assert rows["attn"].backward_weights == 0 and rows["attn"].forward != 0
    B, L = tc.result.symbols["B"], tc.result.symbols["L"]
    n = sum(r.params for r in rows.values())
    work = tc.total("forward") + tc.total("backward_input") + tc.total("backward_weights")
    quadratic = (work - 6 * n * B * L).expand().coeff(L, 2)
    assert quadratic == 12 * B * (d + heads)
