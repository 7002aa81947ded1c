"""The gradient-flow experiment: deterministic and finite, its norms are the gradient of the loss
it states (computed again here with ``nnx.grad``), and the dense stack's parameter
budget, counted on the Flax models themselves, is comparable to the plain one's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.experiments.gradient_flow import ConvStack, measure_gradient_flow


def test_measure_is_deterministic_and_finite():
    a = measure_gradient_flow("dense", 3, seeds=2)
    b = measure_gradient_flow("dense", 3, seeds=2)
    assert a.norms.shape == (2, 3)
    assert np.isfinite(a.norms).all() and (a.norms > 0).all()
    assert np.array_equal(a.norms, b.norms)
    model = xla.abstract(lambda: ConvStack("dense", 3, rngs=nnx.Rngs(0)))
    assert a.params == xla.param_count(model)


@pytest.mark.parametrize("arch", ["plain", "residual", "dense"])
def test_norms_are_the_gradient_of_the_stated_loss(arch):
    """The module's setting, computed here with Flax's own transforms: the model initialised from
    ``key(seed)``, inputs and targets standard normals from ``key(1000 + seed)``, mean squared
    loss, and the 2-norm of ``nnx.grad`` for each layer's kernel (the experiment initialises
    inside ``jax.jit`` and differentiates a split/merge version at XLA's optimisation level 0)."""
    depth, batch, seed = 2, 2, 0
    measured = measure_gradient_flow(arch, depth, seeds=1, batch=batch)
    model = ConvStack(arch, depth, rngs=nnx.Rngs(params=jax.random.key(seed)))
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


@pytest.mark.parametrize("arch,depth", [("wide", 3), ("plain", 0)])
def test_bad_arguments(arch, depth):
    with pytest.raises(SymconvError):
        measure_gradient_flow(arch, depth, seeds=1)
