r"""The layer protocol: what every layer spec states once, and everything derived from it.

A layer kind is one class in one module of :mod:`symconv.algebra`. It states

- its fields and their validation (a frozen dataclass and ``__post_init__``);
- :meth:`Layer.parameters`: weights and biases as general formulas with their substitution;
- :meth:`Layer.formulas`: on one input, the output shape, MACs (dense and exact), FLOPs (as
  XLA counts them, per call on a batch of $B$) and transcendentals, each a general formula
  over the shared symbols (:mod:`symconv.algebra.symbols`) with the substitution from the
  layer's own fields, plus the validity conditions;
- :meth:`Layer.windows`: what it does to a receptive field (:mod:`symconv.algebra.receptive`).

Every number a user asks for (``output_shape``, ``macs``, ``flops``, ...) is read off those
formulas, so what a derivation shows (:func:`symconv.report.derive.derive`) is what computes
the value. Conventions: ``dense`` MACs count every tap, padded zeros included; ``exact`` only
taps on real input (what XLA's HLO cost analysis counts); FLOPs $= 2\,$MACs plus one per
elementwise operation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, out
from symconv.algebra.formula import FormulaBuilder, Formulas
from symconv.errors import InvalidConventionError, ShapeMismatchError, SymconvError

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
    """``'dense'`` or ``'exact'``, else :class:`InvalidConventionError` saying what each means."""
    if convention not in CONVENTIONS:
        raise InvalidConventionError(
            f"convention={convention!r} is not one of {CONVENTIONS}: 'dense' counts every tap "
            f"(padded zeros included), 'exact' only taps on real input (what XLA counts)"
        )
    return convention


def dims_of(layer: str, in_shape: object, rank: int | None = None, names: str = "") -> tuple:
    """Validate a per-example input shape (a tuple of sizes); ``rank`` fixes its length."""
    if (not isinstance(in_shape, (tuple, list)) or not in_shape
            or any(isinstance(x, (tuple, list)) for x in in_shape)
            or (rank is not None and len(in_shape) != rank)):
        want = f"({', '.join(names)})" if names else (
            f"a tuple of {rank} sizes" if rank else "a non-empty tuple of sizes")
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be {want}, batch "
                                 f"excluded")
    labels = names or [f"dim {i}" for i in range(len(in_shape))]
    return tuple(as_dim(x, f"{layer}: input {n}") for x, n in zip(in_shape, labels))


def same_size(layer: str, what: str, got: Dim, expected: Dim, field: str = "") -> None:
    """``got`` must equal ``expected`` (decided when concrete, or provably different); the
    error names the layer's ``field`` that sets the expected size."""
    same = got == expected if isinstance(got, int) and isinstance(expected, int) else sp.Eq(
        got, expected)
    if same is False or same == sp.false:
        raise ShapeMismatchError(f"{layer}: input has {got} {what} but the layer expects "
                                 f"{field + '=' if field else ''}{expected}")


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
        same_size(layer, "channels", c, channels, "in_features")
    return h, w


@functools.lru_cache(maxsize=8192)
def _formulas(layer: Layer, in_shape: tuple, batch: Dim) -> Formulas:
    return layer.formulas(in_shape, batch)


@functools.lru_cache(maxsize=4096)
def _parameters(layer: Layer) -> Formulas:
    return layer.parameters()


def _key(in_shape: object) -> tuple:
    if not isinstance(in_shape, (tuple, list)):
        return in_shape  # type: ignore[return-value]  # the layer's own check rejects it
    return tuple(_key(x) if isinstance(x, (tuple, list)) else x for x in in_shape)


class Layer:
    """Base of the layer specs. Subclasses implement :meth:`parameters`, :meth:`formulas` and
    (for the receptive field) :meth:`windows`; everything else is derived here, once."""

    __slots__ = ()

    # --- what a layer kind states ---------------------------------------------------------

    def parameters(self) -> Formulas:
        """Weights and biases as formulas (none: a layer without parameters)."""
        return FormulaBuilder(self.label).build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        """Output shape, MACs, FLOPs (one call on ``batch`` examples) and transcendentals."""
        raise NotImplementedError(f"{type(self).__name__} states no formulas")

    def windows(self, in_shape: Sequence[Dim]):
        """Receptive-field windows, height and width (:mod:`symconv.algebra.receptive`):
        ``[]`` leaves the field unchanged, ``None`` makes it global."""
        raise SymconvError(f"no receptive-field rule is known for {type(self).__name__}")

    # --- derived from the formulas --------------------------------------------------------

    def derivation(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        """Every formula of this layer on ``in_shape`` (parameters first), cached."""
        params = _parameters(self)
        costs = _formulas(self, _key(in_shape), batch)
        return Formulas(costs.layer, params.items + costs.items, costs.shape, costs.conditions)

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        f = _formulas(self, _key(in_shape), 1)
        return Shape(f.shape, f.conditions)

    def conditions(self, in_shape: Sequence[Dim]) -> tuple:
        """Validity conditions on a symbolic input that SymPy could not decide."""
        return _formulas(self, _key(in_shape), 1).conditions

    def weight_count(self) -> Dim:
        return _parameters(self).value("weights")

    def bias_count(self) -> Dim:
        return _parameters(self).value("biases")

    def param_count(self) -> Dim:
        r"""Weights plus biases."""
        return out(self.weight_count() + self.bias_count())

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        """Multiply-accumulates of one example, ``convention`` 'dense' or 'exact'."""
        check_convention(convention)
        return _formulas(self, _key(in_shape), 1).value("macs_" + convention)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        """FLOPs of one example alone (a call on a batch of 1)."""
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        """FLOPs of one call on ``batch`` examples (per-call terms counted once)."""
        check_convention(convention)
        return _formulas(self, _key(in_shape), batch).value("flops_" + convention)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        """Exponentials, square roots, ... counted apart from FLOPs (XLA's convention)."""
        return _formulas(self, _key(in_shape), batch).value("transcendentals")

    @property
    def label(self) -> str:
        return type(self).__name__


class ParameterFree(Layer):
    """A layer without weights (activations, pooling, reshapes, masks)."""

    __slots__ = ()
