"""DenseNet and ResNet agree with their algebra: parameters (nnx.state), symbolic shapes,
and XLA's FLOPs (exact convention, batch norm, ReLU, pooling, concatenation, additions)."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from flax import nnx

from symconv.algebra.blocks import DenseBlock, ResidualBlock, dense_layer_channels, transition
from symconv.algebra.nets.densenet import DenseNetConfig, densenet_stack
from symconv.algebra.nets.resnet import ResNetConfig, resnet_stack
from symconv.algebra.symbols import H, W
from symconv.algebra.tidy import tidy
from symconv.checks import xla
from symconv.checks.dims import shape_to_sympy
from symconv.errors import NonPositiveSizeError, SymconvError
from symconv.models.densenet import DenseNet
from symconv.models.resnet import ResidualBlockModule, ResNet

TINY = DenseNetConfig(growth_rate=4, block_config=(2, 3), num_init_features=8, classes=5)
TINY_CIFAR = DenseNetConfig.bc_cifar(16, 4)  # (16 - 4) / 6 = 2 layers per block


@pytest.mark.parametrize("cfg", [DenseNetConfig.densenet121(), DenseNetConfig.densenet169(),
                                 DenseNetConfig.bc_cifar(100, 12), TINY,
                                 DenseNetConfig(bottleneck=False, block_config=(3, 4))],
                         ids=["121", "169", "bc-100-12", "tiny", "basic-layers"])
def test_densenet_params(cfg):
    model = xla.abstract(lambda: DenseNet(cfg, rngs=nnx.Rngs(0)))
    stack = densenet_stack(cfg)
    assert xla.param_count(model) == stack.param_count()
    assert xla.param_split(model) == (stack.weight_count(), stack.bias_count())


@pytest.mark.parametrize("cfg,hw,batch", [(TINY, (32, 32), 1), (TINY, (40, 24), 2),
                                          (TINY_CIFAR, (16, 16), 1), (TINY_CIFAR, (9, 13), 2)],
                         ids=["tiny-32", "tiny-40x24-b2", "cifar-16", "cifar-9x13-b2"])
def test_densenet_flops_exact(cfg, hw, batch):
    model = xla.abstract(lambda: DenseNet(cfg, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (batch, *hw, 3))
    stack = densenet_stack(cfg)
    expected = stack.batch_flops((*hw, 3), batch, "exact")
    assert expected < xla.FLOAT32_EXACT
    assert measured["flops"] == expected
    assert measured["transcendentals"] == stack.transcendentals((*hw, 3), batch)


def test_densenet121_flops_at_224():
    cfg = DenseNetConfig.densenet121()
    model = xla.abstract(lambda: DenseNet(cfg, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (1, 224, 224, 3))
    expected = densenet_stack(cfg).batch_flops((224, 224, 3), 1, "exact")
    assert xla.flops_agree(expected, measured["flops"], measured["ops"])


def test_densenet_symbolic_features():
    model = xla.abstract(lambda: DenseNet(TINY_CIFAR, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    x = jax.ShapeDtypeStruct(jax.export.symbolic_shape("B, H, W, 3"), jnp.float32)
    y = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x), state, x)
    got = shape_to_sympy(y.shape[1:], {"H": H, "W": W})
    rows = densenet_stack(TINY_CIFAR).table((H, W, 3)).rows
    want = next(r for r in rows if r.name == "relu5").output_shape
    assert all(sp.simplify(tidy(sp.Integer(g) if isinstance(g, int) else g) - w) == 0
               for g, w in zip(got, want))


@pytest.mark.parametrize("cfg", [ResNetConfig.resnet18(), ResNetConfig.resnet50()],
                         ids=["18", "50"])
def test_resnet_params_and_flops(cfg):
    model = xla.abstract(lambda: ResNet(cfg, rngs=nnx.Rngs(0)))
    stack = resnet_stack(cfg)
    assert xla.param_count(model) == stack.param_count()
    measured = xla.cost(model, (1, 64, 64, 3))
    assert xla.flops_agree(stack.batch_flops((64, 64, 3), 1, "exact"), measured["flops"],
                           measured["ops"])


@pytest.mark.parametrize("c,p,s,kind,hw,batch", [
    (8, 8, 1, "basic", (9, 9), 2), (8, 16, 2, "basic", (10, 7), 1),
    (16, 4, 1, "bottleneck", (8, 8), 1), (8, 4, 2, "bottleneck", (11, 6), 2)])
def test_residual_block_flops_exact(c, p, s, kind, hw, batch):
    block = xla.abstract(lambda: ResidualBlockModule(c, p, s, kind, False, nnx.Rngs(0)))
    spec = ResidualBlock(c, p, s, kind)
    measured = xla.cost(block, (batch, *hw, c))
    assert measured["flops"] == spec.batch_flops((*hw, c), batch, "exact")
    assert xla.param_count(block) == spec.param_count()
    assert xla.output_shape(block, (batch, *hw, c), sympy=False)[1:] == spec.output_shape(
        (*hw, c))


def test_dense_block_closed_form_is_the_sum():
    """SymPy's closed form equals the sum of the per-layer counts, computed layer by layer."""
    k0, L, k = sp.symbols("k_0 L k", integer=True, positive=True)
    closed = DenseBlock(k0, L, k, bottleneck=True).param_count()
    for k0v, lv, kv in [(64, 6, 32), (24, 16, 12), (3, 1, 5)]:
        layer_by_layer = 0
        for layer in range(1, lv + 1):
            c = k0v + kv * (layer - 1)
            layer_by_layer += 2 * c + c * 4 * kv + 2 * 4 * kv + 9 * 4 * kv * kv
        assert closed.subs({k0: k0v, L: lv, k: kv}) == layer_by_layer
    assert dense_layer_channels(k0, k, L) == k0 + k * (L - 1)


@pytest.mark.parametrize("build,match", [
    (lambda: DenseNetConfig(growth_rate=0), "growth_rate"),
    (lambda: DenseNetConfig(block_config=(6, 0, 3)), "at least|>= 1 layer"),
    (lambda: DenseNetConfig(compression=0.0), "compression"),
    (lambda: DenseNetConfig(compression=1.5), "compression"),
    (lambda: DenseNetConfig.bc_cifar(depth=50), "depth"),
    (lambda: transition(64, 1.5), "compression"),
    (lambda: ResNetConfig(layers=(2, 2)), "4 ints"),
], ids=["growth-0", "zero-layers", "compression-0", "compression-1.5", "bc-depth",
        "transition", "resnet-layers"])
def test_bad_densenet_input(build, match):
    with pytest.raises(SymconvError, match=match):
        build()


def test_dense_block_of_zero_layers():
    with pytest.raises(NonPositiveSizeError, match="num_layers"):
        DenseBlock(16, 0, 4)


def test_train_mode_updates_batch_statistics():
    model = DenseNet(TINY, train=True, rngs=nnx.Rngs(0))
    before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
    model(jnp.ones((2, 16, 16, 3)))
    after = nnx.state(model, nnx.BatchStat)
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, after)
    assert any(jax.tree.leaves(changed))
    model.eval()
    frozen = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
    model(jnp.ones((2, 16, 16, 3)))
    same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), frozen,
                        nnx.state(model, nnx.BatchStat))
    assert all(jax.tree.leaves(same))
