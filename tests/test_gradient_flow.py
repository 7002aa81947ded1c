"""The gradient-flow experiment: deterministic, finite, and the dense stack's parameter budget
is comparable to the plain one's."""

import numpy as np
import pytest

from symconv.errors import SymconvError
from symconv.experiments.gradient_flow import WIDTH, dense_growth, measure_gradient_flow


def test_measure_is_deterministic_and_finite():
    a = measure_gradient_flow("dense", 3, seeds=2)
    b = measure_gradient_flow("dense", 3, seeds=2)
    assert a.norms.shape == (2, 3)
    assert np.isfinite(a.norms).all() and (a.norms > 0).all()
    assert np.array_equal(a.norms, b.norms)


@pytest.mark.parametrize("depth", [6, 12, 24])
def test_dense_budget_is_comparable(depth):
    k = dense_growth(depth)
    dense = sum(9 * (WIDTH + k * layer) * k for layer in range(depth))
    plain = 9 * WIDTH * WIDTH * depth
    assert abs(dense - plain) / plain < 0.35


@pytest.mark.parametrize("arch,depth", [("wide", 3), ("plain", 0)])
def test_bad_arguments(arch, depth):
    with pytest.raises(SymconvError):
        measure_gradient_flow(arch, depth, seeds=1)
