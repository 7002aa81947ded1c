r"""A sequential stack of layer specs: per-layer table and totals, symbolic or concrete.

``Stack([...]).table((H, W, C))`` gives, for every layer, the output shape, weights and biases,
dense and exact MACs, FLOPs (exact convention: what XLA counts) and the receptive field
$(r, j, \text{start})$ along the height axis; totals are sums over the layers. Errors name the
layer (index and name) that cannot take its input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sympy as sp

from symconv.algebra.arith import Dim, out
from symconv.algebra.layer import Layer, Shape
from symconv.algebra.receptive import IDENTITY, GLOBAL, Field, step, windows
from symconv.errors import SymconvError


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One row of a stack table (everything per example except ``flops``, which is per call)."""

    name: str
    kind: str
    output_shape: tuple
    weights: Dim
    biases: Dim
    macs_dense: Dim
    macs_exact: Dim
    flops: Dim
    transcendentals: Dim
    field_h: Field | None  # None: not tracked (a Graph)
    field_w: Field | None

    @property
    def params(self) -> Dim:
        return out(self.weights + self.biases)


@dataclass(frozen=True, slots=True)
class StackTable:
    """Rows, totals and the validity conditions SymPy could not decide."""

    rows: tuple[LayerRow, ...]
    input_shape: tuple
    batch: Dim
    conditions: tuple = ()

    def total(self, attr: str) -> Dim:
        return out(sp.Add(*[getattr(r, attr) for r in self.rows])) if self.rows else 0

    @property
    def totals(self) -> dict[str, Dim]:
        return {a: self.total(a) for a in ("weights", "biases", "params", "macs_dense",
                                           "macs_exact", "flops", "transcendentals")}

    def subs(self, values: Mapping[sp.Symbol, int]) -> "StackTable":
        """The same table with symbols replaced by integers."""
        def s(x):
            if isinstance(x, sp.Basic):
                return out(x.subs(values))
            if isinstance(x, tuple):
                return tuple(s(v) for v in x)
            if isinstance(x, Field):
                return Field(s(x.size), s(x.jump), s(x.start)) if not x.is_global else x
            return x

        rows = tuple(LayerRow(*(s(getattr(r, f)) for f in LayerRow.__slots__)) for r in
                     self.rows)
        return StackTable(rows, s(self.input_shape), s(self.batch), ())


@dataclass(frozen=True, slots=True)
class Stack(Layer):
    """Layers applied in order. ``names`` default to ``conv1``, ``relu1``, ... by kind."""

    layers: tuple[Layer, ...]
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise SymconvError("Stack: needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SymconvError(f"Stack: layer {i} is {type(layer).__name__}, not a layer spec")
        names = tuple(self.names) or _default_names(layers)
        if len(names) != len(layers):
            raise SymconvError(f"Stack: {len(names)} names for {len(layers)} layers")
        if len(set(names)) != len(names):
            raise SymconvError(f"Stack: layer names must be unique, got {names}")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "names", names)

    def _walk(self, in_shape: Sequence[Dim]):
        """Yield (index, name, layer, input shape, output shape), naming the failing layer."""
        shape = tuple(in_shape)
        for i, (name, layer) in enumerate(zip(self.names, self.layers)):
            try:
                new = layer.output_shape(shape)
            except SymconvError as e:
                raise type(e)(f"layer {i + 1} ({name}): {e}") from None
            for d in new:
                ok = d >= 1 if isinstance(d, int) else None
                if ok is False:
                    raise SymconvError(f"layer {i + 1} ({name}): output size {d} < 1 pixel")
            yield i, name, layer, shape, new
            shape = tuple(new)

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        conds: list = []
        last = tuple(in_shape)
        for *_, new in self._walk(in_shape):
            conds += [c for c in new.conditions if c not in conds]
            last = new
        return Shape(last, conds)

    def weight_count(self) -> Dim:
        return out(sp.Add(*[layer.weight_count() for layer in self.layers]))

    def bias_count(self) -> Dim:
        return out(sp.Add(*[layer.bias_count() for layer in self.layers]))

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return out(sp.Add(*[layer.macs(x, convention) for _, _, layer, x, _ in
                            self._walk(in_shape)]))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        return out(sp.Add(*[layer.batch_flops(x, batch, convention) for _, _, layer, x, _ in
                            self._walk(in_shape)]))

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return out(sp.Add(*[layer.transcendentals(x, batch) for _, _, layer, x, _ in
                            self._walk(in_shape)]))

    def table(self, in_shape: Sequence[Dim], *, batch: Dim = 1) -> StackTable:
        """Per-layer rows and totals; FLOPs of a call on ``batch`` examples (exact)."""
        rows, conds = [], []
        fh = fw = IDENTITY
        for _, name, layer, x, new in self._walk(in_shape):
            conds += [c for c in new.conditions if c not in conds]
            fh, fw = _advance(fh, fw, layer, x)
            rows.append(LayerRow(
                name=name, kind=layer.label, output_shape=tuple(new),
                weights=layer.weight_count(), biases=layer.bias_count(),
                macs_dense=layer.macs(x, "dense"), macs_exact=layer.macs(x, "exact"),
                flops=layer.batch_flops(x, batch, "exact"),
                transcendentals=layer.transcendentals(x, batch), field_h=fh, field_w=fw,
            ))
        return StackTable(tuple(rows), tuple(in_shape), batch, tuple(conds))

    def fields(self, in_shape: Sequence[Dim]) -> list[tuple[Field, Field]]:
        """Receptive field (height, width) after every layer."""
        return [(r.field_h, r.field_w) for r in self.table(in_shape).rows]


def _advance(fh: Field, fw: Field, layer: Layer, in_shape) -> tuple[Field, Field]:
    if isinstance(layer, Stack):
        for _, _, inner, x, _ in layer._walk(in_shape):
            fh, fw = _advance(fh, fw, inner, x)
        return fh, fw
    ws = windows(layer, in_shape)
    if ws is None:
        return GLOBAL, GLOBAL
    for wh, ww in ws:
        fh, fw = step(fh, wh), step(fw, ww)
    return fh, fw


_SHORT = {"Conv2D": "conv", "SeparableConv2D": "sepconv", "ConvTranspose2D": "upconv",
          "Dense": "fc", "Flatten": "flatten", "ReLU": "relu", "Softmax": "softmax",
          "MaxPool2D": "maxpool", "AvgPool2D": "avgpool", "GlobalAvgPool2D": "gap",
          "BatchNorm": "bn", "Stack": "block"}


def _default_names(layers: Sequence[Layer]) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        base = _SHORT.get(layer.label, layer.label.lower())
        counts[base] = counts.get(base, 0) + 1
        names.append(f"{base}{counts[base]}")
    return tuple(names)
