"""U-Net: the size chain (algebra) equals jax.eval_shape, parameters equal nnx.state, FLOPs
equal XLA's; invalid sizes are rejected with the nearest valid ones."""

import pytest
import sympy as sp
from flax import nnx

from symconv.algebra.nets.unet import InvalidUNetInputError, is_valid, output_size
from symconv.algebra.nets.unet import UNetGraph as Spec
from symconv.checks import xla
from symconv.models.unet import UNet


def test_paper_tile():
    spec = Spec()
    model = xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0)))
    assert tuple(spec.output_shape((572, 572, 1))) == xla.output_shape(
        model, (1, 572, 572, 1), sympy=False)[1:]
    assert xla.param_count(model) == spec.param_count()


def test_symbolic_output_size_is_affine():
    n = sp.Symbol("n", integer=True, positive=True)
    for depth in (1, 2, 3, 4):
        expr = output_size(n, depth)
        assert sp.degree(expr, n) == 1 and expr.coeff(n) == 1
        for m in range(8, 300):
            if is_valid(m, depth):
                assert expr.subs(n, m) == Spec(depth=depth, base=2).output_shape((m, m, 1))[0]


@pytest.mark.parametrize("depth,padded,sizes", [(2, False, (44, 60)), (3, False, (92, 108)),
                                                (2, True, (16, 36)), (1, False, (20, 34))])
def test_flops_exact(depth, padded, sizes):
    spec = Spec(base=4, depth=depth, padded=padded, classes=3)
    model = xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0)))
    h, w = sizes
    measured = xla.cost(model, (2, h, w, 1))
    assert measured["flops"] == spec.batch_flops((h, w, 1), 2, "exact")
    assert xla.output_shape(model, (2, h, w, 1), sympy=False)[1:] == tuple(
        spec.output_shape((h, w, 1)))
    assert xla.param_count(model) == spec.param_count()


@pytest.mark.parametrize("n", [570, 573, 100])
def test_invalid_sizes_name_the_nearest_valid(n):
    with pytest.raises(InvalidUNetInputError, match="nearest valid sizes"):
        Spec().output_shape((n, n, 1))


@pytest.mark.parametrize("depth,padded", [(1, False), (2, False), (4, False), (3, True)])
def test_valid_condition_closed_form(depth, padded):
    from symconv.algebra.nets.unet import valid_condition

    n = sp.Symbol("n", integer=True, positive=True)
    cond = valid_condition(n, depth, padded)
    for m in range(1, 400):
        assert bool(cond.subs(n, m)) == is_valid(m, depth, padded), m


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_symbolic_eval_shape_equals_the_algebra(depth):
    """jax.eval_shape on the valid sides n = n_min + 2^d t (t symbolic) gives the closed form."""
    from symconv.algebra.nets.unet import nearest_valid

    n_min = nearest_valid(1, depth)[1]
    model = xla.abstract(lambda: UNet(Spec(base=2, depth=depth), rngs=nnx.Rngs(0)))
    got = xla.output_shape(model, f"B, {2 ** depth}*t + {n_min}, {2 ** depth}*t + {n_min}, 1")
    t = next(iter(got[1].free_symbols))
    assert sp.expand(got[1] - output_size(2 ** depth * t + n_min, depth)) == 0
