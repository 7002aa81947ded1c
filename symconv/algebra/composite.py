r"""Layers made of layers — chains, graphs, blocks — and the one place their totals are summed.

A :class:`Composite` lists its parts in execution order, each with the input it receives
(``named_parts(in_shape)``); every quantity is the sum over them,

.. math::  Q = \sum_i Q_i(x_i) \qquad (Q \in \{\text{weights}, \text{biases}, \text{MACs},
           \text{FLOPs}, \text{transcendentals}\}),

so the closed forms stay those of the parts. A part may be :class:`Repeated`: one layer whose
fields depend on an index $l$, for $l = 1..L$ — its quantities are SymPy sums
$\sum_{l=1}^{L} Q(l)$, exact also for a symbolic $L$ (a dense block). Concatenation, cropping and
reshapes move data without arithmetic and contribute nothing.

:class:`Stack` is a chain (each part's input is the previous output; receptive fields are
tracked); :class:`Graph` is anything else (skips, branches, several outputs), whose subclasses
list their parts themselves. ``table(in_shape)`` gives one :class:`LayerRow` per part.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy as sp

from symconv.algebra.arith import Dim, out
from symconv.algebra.formula import (
    BIASES,
    FLOPS_DENSE,
    FLOPS_EXACT,
    MACS_DENSE,
    MACS_EXACT,
    QUANTITIES,
    TRANSCENDENTALS,
    WEIGHTS,
    FormulaBuilder,
    Formulas,
)
from symconv.algebra.layer import Layer, Shape
from symconv.algebra.receptive import GLOBAL, IDENTITY, Field, step
from symconv.errors import SymconvError

_LHS = {"weights": WEIGHTS, "biases": BIASES, "macs_dense": MACS_DENSE, "macs_exact": MACS_EXACT,
        "flops_dense": FLOPS_DENSE, "flops_exact": FLOPS_EXACT,
        "transcendentals": TRANSCENDENTALS}
_LABEL = {"weights": "weights", "biases": "biases", "macs_dense": "MACs (dense)",
          "macs_exact": "MACs (exact)", "flops_dense": "FLOPs (dense)",
          "flops_exact": "FLOPs (exact)", "transcendentals": "transcendentals"}
_SHORT = {"weights": "w", "biases": "b", "macs_dense": "MACs", "macs_exact": "MACs",
          "flops_dense": "FLOPs", "flops_exact": "FLOPs", "transcendentals": "t"}


class Part(NamedTuple):
    """One part of a composite: its name, the layer, and the input it receives."""

    name: str
    layer: Layer
    in_shape: tuple


@dataclass(frozen=True, slots=True)
class Repeated(Layer):
    r"""``layer`` (whose fields may contain ``index``) once for every ``index`` $= 1..$``count``:
    each quantity is $\sum_{l=1}^{L} Q(l)$, summed by SymPy (exact, also for symbolic $L$).
    ``in_shape`` gives the input of repetition $l$ (a function of ``index`` too)."""

    layer: Layer
    index: sp.Symbol
    count: Dim
    in_shape: tuple

    def _sum(self, value) -> sp.Basic:
        return sp.Sum(sp.expand(value), (self.index, 1, self.count))

    def parameters(self) -> Formulas:
        f = FormulaBuilder(self.label)
        inner = self.layer.parameters()
        for key in ("weights", "biases"):
            _sum_formula(f, key, {self.layer.label: self._sum(inner.value(key))})
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        f = FormulaBuilder(self.label)
        inner = self.layer.formulas(self.in_shape, batch)
        for key in QUANTITIES[2:]:
            _sum_formula(f, key, {self.layer.label: self._sum(inner.value(key))})
        return f.build(inner.shape)

    @property
    def label(self) -> str:
        return f"{self.layer.label}[{self.index}]"


def _sum_formula(f: FormulaBuilder, key: str, terms: Mapping[str, Dim]) -> Dim:
    r"""``key`` $= \sum_i$ the parts' ``key``, over the parts where it is not 0."""
    nonzero = {name: v for name, v in terms.items() if not (isinstance(v, int) and v == 0)}
    if not nonzero:
        return f.add(key, _LABEL[key], _LHS[key], sp.Integer(0))
    symbols = {sp.Symbol(f"{_SHORT[key]}_{{{name}}}"): v for name, v in nonzero.items()}
    return f.add(key, _LABEL[key], _LHS[key], sp.Add(*symbols), symbols)


def merge_conditions(*shapes) -> tuple:
    """The validity conditions of several shapes, each once, in order."""
    conds: list = []
    for s in shapes:
        conds += [c for c in getattr(s, "conditions", ()) if c not in conds]
    return tuple(conds)


class Composite(Layer):
    """A layer made of parts (:class:`Part`); subclasses implement :meth:`named_parts` and,
    when the last part's output is not the result, :meth:`outputs`."""

    __slots__ = ()

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        raise NotImplementedError

    def example_input(self) -> tuple:
        """An input at which the parts (hence the parameters, which do not depend on the input
        size) can be listed."""
        raise NotImplementedError

    def param_parts(self) -> list[Part]:
        """The parts whose parameters are counted (by default those at ``example_input``)."""
        return self.named_parts(self.example_input())

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        shapes = [layer.output_shape(x) for _, layer, x in self.named_parts(in_shape)]
        return (Shape(shapes[-1], merge_conditions(*shapes)),)

    def parameters(self) -> Formulas:
        f = FormulaBuilder(self.label)
        params = [(name, layer.parameters()) for name, layer, _ in self.param_parts()]
        for key in ("weights", "biases"):
            _sum_formula(f, key, _by_name((name, fs.value(key)) for name, fs in params))
        return f.build(())

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        f = FormulaBuilder(self.label)
        parts = [(name, layer.formulas(x, batch)) for name, layer, x in
                 self.named_parts(in_shape)]
        for key in QUANTITIES[2:]:
            _sum_formula(f, key, _by_name((name, fs.value(key)) for name, fs in parts))
        outs = self.outputs(in_shape)
        for c in merge_conditions(*[fs for _, fs in parts], *outs):
            if c not in f.conds.items:
                f.conds.items.append(c)
        shape = outs[0] if len(outs) == 1 else tuple(outs)
        return f.build(shape)

    def table(self, in_shape: Sequence[Dim], *, batch: Dim = 1) -> StackTable:
        """One row per part, in execution order (receptive fields: see :class:`Stack`)."""
        rows, conds = [], []
        for name, layer, x in self.named_parts(in_shape):
            new = layer.output_shape(x)
            conds += [c for c in new.conditions if c not in conds]
            rows.append(LayerRow.of(name, layer, x, new, batch))
        conds += [c for c in self.conditions(in_shape) if c not in conds]
        return StackTable(tuple(rows), tuple(in_shape), batch, tuple(conds))


def _by_name(items) -> dict:
    """Terms keyed by part name; a name used twice (a layer applied twice) gets a suffix."""
    terms: dict = {}
    for name, value in items:
        key, i = name, 2
        while key in terms:
            key, i = f"{name}#{i}", i + 1
        terms[key] = value
    return terms


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One row of a table (everything per example except ``flops`` and ``transcendentals``,
    which are per call on the table's batch)."""

    name: str
    kind: str
    output_shape: tuple
    weights: Dim
    biases: Dim
    macs_dense: Dim
    macs_exact: Dim
    flops: Dim
    transcendentals: Dim
    field_h: Field | None = None  # None: not tracked (a graph)
    field_w: Field | None = None

    @classmethod
    def of(cls, name: str, layer: Layer, x: tuple, new: tuple, batch: Dim,
           fields: tuple[Field | None, Field | None] = (None, None)) -> LayerRow:
        return cls(name=name, kind=layer.label, output_shape=tuple(new),
                   weights=layer.weight_count(), biases=layer.bias_count(),
                   macs_dense=layer.macs(x, "dense"), macs_exact=layer.macs(x, "exact"),
                   flops=layer.batch_flops(x, batch, "exact"),
                   transcendentals=layer.transcendentals(x, batch),
                   field_h=fields[0], field_w=fields[1])

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

    def subs(self, values: Mapping[sp.Symbol, int]) -> StackTable:
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
class Stack(Composite):
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
        names = tuple(self.names) or default_names(layers)
        if len(names) != len(layers):
            raise SymconvError(f"Stack: {len(names)} names for {len(layers)} layers")
        if len(set(names)) != len(names):
            raise SymconvError(f"Stack: layer names must be unique, got {names}")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "names", names)

    def check_input(self, in_shape: Sequence[Dim]) -> None:
        """Hook: reject inputs the whole chain cannot take (e.g. a fixed-size FC head)."""

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        return [Part(name, layer, x) for name, layer, x, _ in _walk(self, tuple(in_shape))]

    def param_parts(self) -> list[Part]:
        return [Part(name, layer, ()) for name, layer in zip(self.names, self.layers)]

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        steps = _walk(self, tuple(in_shape))
        return (Shape(steps[-1][3], merge_conditions(*[s[3] for s in steps])),)

    def table(self, in_shape: Sequence[Dim], *, batch: Dim = 1) -> StackTable:
        """Per-layer rows with receptive fields (height, width) and totals; FLOPs of a call on
        ``batch`` examples (exact convention)."""
        rows, conds = [], []
        fh = fw = IDENTITY
        for name, layer, x, new in _walk(self, tuple(in_shape)):
            conds += [c for c in new.conditions if c not in conds]
            fh, fw = advance(fh, fw, layer, x)
            rows.append(LayerRow.of(name, layer, x, new, batch, (fh, fw)))
        return StackTable(tuple(rows), tuple(in_shape), batch, tuple(conds))

    def fields(self, in_shape: Sequence[Dim]) -> list[tuple[Field, Field]]:
        """Receptive field (height, width) after every layer."""
        return [(r.field_h, r.field_w) for r in self.table(in_shape).rows]

    def windows(self, in_shape: Sequence[Dim]):
        """The windows of every layer in order (``None`` once any of them is global)."""
        out_: list = []
        for _, layer, x, _ in _walk(self, tuple(in_shape)):
            ws = layer.windows(x)
            if ws is None:
                return None
            out_ += ws
        return out_


@functools.lru_cache(maxsize=1024)
def _walk(stack: Stack, in_shape: tuple) -> tuple:
    """(name, layer, input shape, output shape) along the chain, naming the failing layer."""
    stack.check_input(in_shape)
    shape, steps = in_shape, []
    for i, (name, layer) in enumerate(zip(stack.names, stack.layers)):
        try:
            new = layer.output_shape(shape)
        except SymconvError as e:
            raise type(e)(f"layer {i + 1} ({name}): {e}") from None
        for dim in new:
            if isinstance(dim, int) and dim < 1:
                raise SymconvError(f"layer {i + 1} ({name}): output size {dim} < 1 pixel")
        steps.append((name, layer, shape, new))
        shape = tuple(new)
    return tuple(steps)


def advance(fh: Field, fw: Field, layer: Layer, in_shape) -> tuple[Field, Field]:
    """The fields (height, width) after ``layer``."""
    ws = layer.windows(in_shape)
    if ws is None:
        return GLOBAL, GLOBAL
    for wh, ww in ws:
        fh, fw = step(fh, wh), step(fw, ww)
    return fh, fw


class Graph(Composite):
    """A network that is not a chain: subclasses list ``named_parts(in_shape)``, implement
    ``outputs(in_shape)`` when it is not the last part's, and ``example_input()``."""

    __slots__ = ()

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        """The only output; a graph with several outputs lists them with ``outputs``."""
        outs = self.outputs(in_shape)
        if len(outs) != 1:
            raise SymconvError(f"{self.label} has {len(outs)} outputs; use .outputs(in_shape)")
        return outs[0]


_SHORT_NAMES = {"Conv2D": "conv", "SeparableConv2D": "sepconv", "ConvTranspose2D": "upconv",
                "Dense": "fc", "Flatten": "flatten", "ReLU": "relu", "Softmax": "softmax",
                "MaxPool2D": "maxpool", "AvgPool2D": "avgpool", "GlobalAvgPool2D": "gap",
                "BatchNorm": "bn", "Stack": "block", "PixelShuffle": "shuffle", "Add": "add"}


def default_names(layers: Sequence[Layer]) -> tuple[str, ...]:
    """``conv1``, ``relu1``, ``conv2``, ... by kind."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        base = _SHORT_NAMES.get(layer.label, layer.label.lower())
        counts[base] = counts.get(base, 0) + 1
        names.append(f"{base}{counts[base]}")
    return tuple(names)
