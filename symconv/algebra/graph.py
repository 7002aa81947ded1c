r"""Networks that are not a chain (skips, branches, several outputs) as one spec.

A :class:`Graph` lists its parts in execution order, each with the input it receives; every
total is the sum over its parts,

.. math::  P = \sum_i P_i, \qquad F(x) = \sum_i F_i(x_i),

so the closed forms stay those of the layers in ``symconv.algebra``. Concatenation, cropping,
reshapes and upsampling by repetition move data without arithmetic and contribute nothing.
Receptive fields are tracked only along chains (``Stack``); a graph's table leaves them out.
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, out
from symconv.algebra.layer import Layer, Shape
from symconv.algebra.stack import LayerRow, StackTable


class Graph(Layer):
    """Base of non-sequential network specs.

    Subclasses implement ``named_parts(in_shape)`` -> ``[(name, layer, its input shape)]`` in
    execution order, ``outputs(in_shape)`` -> the output shapes, and ``example_input()`` -> an
    input shape at which parameters are counted (they do not depend on the input size).
    """

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        raise NotImplementedError

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        raise NotImplementedError

    def example_input(self) -> tuple:
        raise NotImplementedError

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        """The only output; a graph with several outputs lists them with ``outputs``."""
        outs = self.outputs(in_shape)
        if len(outs) != 1:
            from symconv.errors import SymconvError

            raise SymconvError(f"{self.label} has {len(outs)} outputs; use .outputs(in_shape)")
        return outs[0]

    def _parts(self, in_shape=None):
        return self.named_parts(self.example_input() if in_shape is None else in_shape)

    def weight_count(self) -> Dim:
        return out(sp.Add(*[layer.weight_count() for _, layer, _ in self._parts()]))

    def bias_count(self) -> Dim:
        return out(sp.Add(*[layer.bias_count() for _, layer, _ in self._parts()]))

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return out(sp.Add(*[layer.macs(x, convention) for _, layer, x in
                            self._parts(in_shape)]))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        return out(sp.Add(*[layer.batch_flops(x, batch, convention) for _, layer, x in
                            self._parts(in_shape)]))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return out(sp.Add(*[layer.transcendentals(x, batch) for _, layer, x in
                            self._parts(in_shape)]))

    def table(self, in_shape: Sequence[Dim], *, batch: Dim = 1) -> StackTable:
        """One row per part, in execution order (receptive fields not tracked: ``None``)."""
        rows, conds = [], []
        for name, layer, x in self.named_parts(in_shape):
            new = layer.output_shape(x)
            conds += [c for c in new.conditions if c not in conds]
            rows.append(LayerRow(
                name=name, kind=layer.label, output_shape=tuple(new),
                weights=layer.weight_count(), biases=layer.bias_count(),
                macs_dense=layer.macs(x, "dense"), macs_exact=layer.macs(x, "exact"),
                flops=layer.batch_flops(x, batch, "exact"),
                transcendentals=layer.transcendentals(x, batch), field_h=None, field_w=None))
        return StackTable(tuple(rows), tuple(in_shape), batch, tuple(conds))
