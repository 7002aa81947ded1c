r"""Step-by-step derivations of any layer spec, network or block, for users' own reports.

``derive(layer, in_shape)`` turns the layer's own formulas (:meth:`Layer.derivation
<symconv.algebra.layer.Layer.derivation>`) into a :class:`~symconv.report.proof.Derivation`:
for every quantity the general formula, the substitution of this layer's values, and the
result — the same formulas that compute the numbers, never retyped. A composite (a chain, a
graph, a block) first lists its parts with their output shapes, then each total as the sum of
its parts. Values left symbolic stay symbolic; conditions SymPy could not decide are listed as
assumptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symconv.algebra.arith import Dim
from symconv.algebra.composite import Composite
from symconv.algebra.formula import Formula
from symconv.algebra.layer import Layer
from symconv.errors import SymconvError
from symconv.report.notation import to_latex
from symconv.report.proof import Derivation, Step


def formula_steps(f: Formula) -> list[Step]:
    """General formula, substitution and result of one formula (fewer lines when a line
    would repeat the previous one)."""
    lhs = to_latex(f.lhs)
    if f.general is None:
        return [Step(f.label, lhs, f.value)]
    general = f.general
    if isinstance(general, sp.Basic) and not general.free_symbols:
        return [Step(f.label, lhs, f.value)]
    steps = [Step(f"{f.label}: general formula", lhs, general)]
    names = {sym: value for sym, value in f.subs if sym in general.free_symbols}
    if names:
        steps.append(Step(f"{f.label}: substitution", lhs, general, names))
    via = f" (exact: {f.via})" if f.via else ""
    steps.append(Step(f"{f.label}: result{via}", lhs, f.value))
    return steps


def derive(layer: Layer, in_shape: Sequence[Dim], *, batch: Dim = 1,
           keys: Sequence[str] | None = None) -> Derivation:
    """General formula, substitution and result for every quantity of ``layer`` on
    ``in_shape`` (batch excluded; FLOPs are those of one call on ``batch`` examples), or only
    for the formulas named in ``keys`` (e.g. ``("out_h", "macs_dense")``; ``"shape"`` adds
    the output shape), in derivation order.

    >>> from symconv.algebra import Conv2D
    >>> d = derive(Conv2D(3, 64, 5, strides=2, padding=2), (128, 128))
    >>> [s.rhs for s in d.steps if s.label == "output height: result"]
    [64]
    """
    if not isinstance(layer, Layer):
        raise SymconvError(f"derive: {type(layer).__name__} is not a layer spec of "
                           f"symconv.algebra")
    formulas = layer.derivation(tuple(in_shape), batch)
    steps: list[Step] = []
    if keys is not None:
        missing = sorted(set(keys) - {f.key for f in formulas.items} - {"shape"})
        if missing:
            raise SymconvError(f"derive: {layer.label} states no formula {missing}; it states "
                               f"{[f.key for f in formulas.items]}")
        for f in formulas.items:
            if f.key in keys:
                steps += formula_steps(f)
        if "shape" in keys:
            steps.append(Step("output shape", r"\mathrm{output}", tuple(formulas.shape)))
        return Derivation(tuple(steps), tuple(str(c) for c in formulas.conditions))
    if isinstance(layer, Composite):
        for name, part, x in layer.named_parts(tuple(in_shape)):
            label = name.replace("_", r"\_")
            steps.append(Step(f"{name} ({part.label})", r"\text{" + label + "}",
                              tuple(part.output_shape(x))))
    for f in formulas.items:
        steps += formula_steps(f)
    if not isinstance(layer, Composite):
        steps.append(Step("output shape", r"\mathrm{output}", tuple(formulas.shape)))
    return Derivation(tuple(steps), tuple(str(c) for c in formulas.conditions))
