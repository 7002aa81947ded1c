r"""Batch normalisation at inference (running statistics), as ``nnx.BatchNorm`` lowers.

.. math::  y = (x - \mu)\,\gamma / \sqrt{\sigma^2 + \epsilon} + \beta

Parameters: $\gamma, \beta$ ($2C$; the running $\mu, \sigma^2$ are batch statistics, not
parameters). XLA counts, for a batch of $B$ maps $H \times W \times C$: a subtraction, a
multiplication and an addition per element, plus $\sigma^2 + \epsilon$ and the product with
$\gamma$ once per channel per call (not per example), and $C$ reciprocal square roots
(transcendentals):

.. math::  \text{FLOPs} = 3 B H W C + 2C .
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from symconv.algebra.arith import Dim, as_dim, out, prod
from symconv.algebra.layer import Layer, Shape, check_convention
from symconv.errors import ShapeMismatchError


@dataclass(frozen=True, slots=True)
class BatchNorm(Layer):
    r"""``nnx.BatchNorm(num_features, use_running_average=True)`` over the last axis."""

    num_features: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_features",
                           as_dim(self.num_features, "BatchNorm: num_features"))

    def _dims(self, in_shape: Sequence[Dim]) -> list[Dim]:
        if not isinstance(in_shape, (tuple, list)) or not in_shape:
            raise ShapeMismatchError(f"BatchNorm: input shape {in_shape!r} must be a tuple")
        dims = [as_dim(d, f"BatchNorm: input dim {i}") for i, d in enumerate(in_shape)]
        c = dims[-1]
        if isinstance(c, int) and isinstance(self.num_features, int) and c != self.num_features:
            raise ShapeMismatchError(
                f"BatchNorm: input has {c} channels but num_features={self.num_features}")
        return dims

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return Shape(self._dims(in_shape))

    def weight_count(self) -> Dim:
        r"""$\gamma$: $C$."""
        return self.num_features

    def bias_count(self) -> Dim:
        r"""$\beta$: $C$."""
        return self.num_features

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        self._dims(in_shape)
        return 0

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        r"""One example alone: $3 H W C + 2C$."""
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        r"""$3 B H W C + 2C$: the per-channel terms are paid once per call."""
        check_convention(convention)
        return out(3 * batch * prod(self._dims(in_shape)) + 2 * self.num_features)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        self._dims(in_shape)
        return self.num_features
