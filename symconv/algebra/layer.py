"""What every layer spec offers, and the shape type its ``output_shape`` returns."""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.errors import InvalidConventionError, ShapeMismatchError

CONVENTIONS = ("dense", "exact")


class Shape(tuple):
    """A per-example shape (batch excluded), e.g. ``(H', W', N)``.

    It compares equal to the plain tuple; ``.conditions`` holds the validity conditions that
    SymPy could not decide for symbolic inputs (empty when everything is concrete or proven).
    """

    conditions: tuple

    def __new__(cls, dims: Sequence[Dim], conditions: Sequence[sp.Basic] = ()):
        self = super().__new__(cls, tuple(out(d) if isinstance(d, sp.Expr) else d for d in dims))
        self.conditions = tuple(conditions)
        return self

    def __repr__(self) -> str:
        base = tuple.__repr__(self)
        return base if not self.conditions else f"{base} if {list(self.conditions)}"


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise InvalidConventionError(
            f"convention={convention!r} is not one of {CONVENTIONS}: 'dense' counts every tap "
            f"(padded zeros included), 'exact' only taps on real input (what XLA counts)"
        )
    return convention


def spatial_input(layer: str, in_shape: Sequence[Dim], channels: Dim | None) -> tuple[Dim, Dim]:
    """Accept ``(H, W)`` or ``(H, W, C)``; check ``C`` against the layer's ``in_features``."""
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) not in (2, 3):
        raise ShapeMismatchError(
            f"{layer}: input shape {in_shape!r} must be (H, W) or (H, W, C), batch excluded"
        )
    h = as_dim(in_shape[0], f"{layer}: input height")
    w = as_dim(in_shape[1], f"{layer}: input width")
    if len(in_shape) == 3 and channels is not None:
        c = as_dim(in_shape[2], f"{layer}: input channels")
        same = sp.Eq(c, channels) if not (isinstance(c, int) and isinstance(channels, int)) else (
            c == channels
        )
        if same is False or same == sp.false:
            raise ShapeMismatchError(
                f"{layer}: input has {c} channels but the layer expects in_features={channels}"
            )
    return h, w


class Layer:
    """Base of the layer specs: shapes, parameters, MACs and FLOPs in closed form.

    Subclasses implement ``output_shape``, ``weight_count``, ``bias_count``, ``macs`` and
    ``flops``. ``flops`` counts what XLA's HLO cost analysis counts for the equivalent Flax
    layer: 2 per MAC plus one per bias add or other elementwise op.
    """

    def param_count(self) -> Dim:
        r"""Weights plus biases."""
        return out(self.weight_count() + self.bias_count())

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        r"""FLOPs of one call on a batch: $B \cdot$ ``flops`` unless per-call work exists."""
        return out(batch * self.flops(in_shape, convention))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        """Exponentials, square roots, ... counted apart from FLOPs (XLA's convention)."""
        return 0

    def conditions(self, in_shape: Sequence[Dim]) -> tuple:
        """Validity conditions on a symbolic input that SymPy could not decide."""
        return self.output_shape(in_shape).conditions

    def derive(self, in_shape: Sequence[Dim]):
        """Step-by-step derivation (:func:`symconv.report.derive.derive`): ``.latex()``,
        ``.markdown()``, and rendered math in Jupyter."""
        from symconv.report.derive import derive

        return derive(self, in_shape)

    @property
    def label(self) -> str:
        return type(self).__name__


class ParameterFree(Layer):
    """A layer without weights or MACs (activations, pooling masks, reshapes, masks): both
    counts are 0; ``macs`` still validates the input through ``output_shape``."""

    __slots__ = ()

    def weight_count(self) -> Dim:
        return 0

    def bias_count(self) -> Dim:
        return 0

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        self.output_shape(in_shape)
        return 0
