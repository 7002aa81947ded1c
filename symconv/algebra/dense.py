r"""Fully connected layers and flattening.

``Dense(F, U)`` on a vector of $F$ features: $F U$ weights, $U$ biases, $F U$ MACs and
$2 F U + U$ FLOPs. ``Flatten`` turns $(H, W, C)$ into $(H W C,)$ at no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out, prod
from symconv.algebra.conv import check_bool
from symconv.algebra.layer import Layer, ParameterFree, Shape, check_convention
from symconv.errors import ShapeMismatchError


def _features(layer: str, in_shape: Sequence[Dim], expected: Dim) -> Dim:
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 1:
        raise ShapeMismatchError(
            f"{layer}: input shape {in_shape!r} must be (features,); add a Flatten or "
            f"GlobalAvgPool2D before it"
        )
    f = as_dim(in_shape[0], f"{layer}: input features")
    same = (f == expected) if isinstance(f, int) and isinstance(expected, int) else sp.Eq(f, expected)
    if same is False or same == sp.false:
        raise ShapeMismatchError(f"{layer}: input has {f} features but in_features={expected}")
    return f


@dataclass(frozen=True, slots=True)
class Dense(Layer):
    r"""``nnx.Linear(in_features, out_features)``: $y = x W + b$.

    >>> Dense(65536, 200).param_count()
    13107400
    """

    in_features: Dim
    out_features: Dim
    use_bias: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_features", as_dim(self.in_features, "Dense: in_features"))
        object.__setattr__(self, "out_features", as_dim(self.out_features, "Dense: out_features"))
        check_bool(self.use_bias, "Dense: use_bias")

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        _features(self.label, in_shape, self.in_features)
        return Shape((self.out_features,))

    def weight_count(self) -> Dim:
        r"""$F U$."""
        return out(self.in_features * self.out_features)

    def bias_count(self) -> Dim:
        r"""$U$ with a bias, else 0."""
        return self.out_features if self.use_bias else 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$F U$ (no padding, so dense = exact)."""
        check_convention(convention)
        _features(self.label, in_shape, self.in_features)
        return self.weight_count()

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""$2 F U + U$."""
        return out(2 * self.macs(in_shape, convention) + self.bias_count())


@dataclass(frozen=True, slots=True)
class Flatten(ParameterFree):
    r"""$(d_1, \dots, d_k) \mapsto (\prod_i d_i,)$: no parameters, no FLOPs (a reshape)."""

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        if not isinstance(in_shape, (tuple, list)) or not in_shape:
            raise ShapeMismatchError(f"Flatten: input shape {in_shape!r} must be a non-empty tuple")
        dims = [as_dim(d, f"Flatten: input dim {i}") for i, d in enumerate(in_shape)]
        return Shape((prod(dims),))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.macs(in_shape, convention)
