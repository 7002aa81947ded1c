r"""The receptive field of any traced model, per output and per spatial axis, in closed form.

``receptive_field(model, "1, H, W, 3")`` traces the model as :func:`symconv.checks.trace.trace`
does (``jax.make_jaxpr`` on symbolic shapes; NNX, Linen or a function, :mod:`.models`) and walks
its jaxpr (:mod:`.rfwalk`): each output's field along each spatial axis of the input is either
a size $r$, jump $j$ (the stride product, $\prod S / \prod u$: rational after upsampling) and
offset (centre of output 0's field, in input pixels; negative: it starts in the padding), or
*global* with the op that made it so. Fields are theoretical (not clipped at the border; see
:meth:`ReceptiveField.clipped`). Through merges (skips, concatenations, heads) the field is the
hull of the paths (:mod:`.fields`); after upsampling it depends on the output's phase, and the
size is the largest over phases (``phased``).

>>> pool = lambda x: jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 3, 1), (1, 2, 1), "VALID")
>>> rf = receptive_field(lambda x: pool(pool(x)), "1, T, 4")
>>> axis = rf.axes(0)[0]
>>> axis.size, axis.jump, axis.offset
(7, 4, 3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import sympy as sp
from flax import linen as nn
from flax import nnx

from symconv.algebra.arith import Dim
from symconv.checks import xla
from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace import inputs as inp
from symconv.checks.trace import models
from symconv.checks.trace.fields import Paths, Summary, clipped, summary
from symconv.checks.trace.rfwalk import Deps, Global, Row, Tied, Walker
from symconv.checks.trace.rules import Shapes
from symconv.errors import ShapeMismatchError, SymconvError

Axis = Summary | Global  #: one axis of one output: a field, or global and why


@dataclass(frozen=True)
class Layer:
    """One row of the table: a windowed op (or the op that made a field global)."""

    path: str
    op: str
    shape: tuple
    axes: tuple[Axis | None, ...]


@dataclass(frozen=True)
class ReceptiveField:
    """Fields of every output (:meth:`axes`) and of every windowed op on the way
    (``layers``), in the input's symbols."""

    input_shape: tuple
    spatial: tuple[int, ...]
    symbols: dict[str, sp.Symbol]
    outputs: tuple[Deps, ...]
    output_shapes: tuple[tuple, ...]
    layers: tuple[Layer, ...]
    unknown: dict[str, int]

    def axes(self, output: int = 0) -> tuple[Axis | None, ...]:
        """Per input spatial axis: the :class:`~.fields.Summary` or :class:`~.rfwalk.Global`
        (None: the output does not depend on the input)."""
        return _axes(self.outputs[self._check(output)], len(self.spatial))

    def output_axis(self, output: int, axis: int) -> int | None:
        """Which axis of output ``output`` carries input spatial axis ``axis``."""
        deps = self.outputs[self._check(output)]
        entry = deps[axis] if deps is not None else None
        return entry.axis if isinstance(entry, Tied) else None

    def clipped(self, output: int, axis: int, unit: int, values: Mapping[str, int] | None = None
                ) -> tuple[int, int] | None:
        """Input pixels (first, last) unit ``unit`` of ``output`` reads along input axis
        ``axis``, clipped to the input at ``values`` of the symbols; None: only padding."""
        deps = self.outputs[self._check(output)]
        entry = None if deps is None else deps[axis]
        subs = {self.symbols[k]: v for k, v in (values or {}).items() if k in self.symbols}
        n = int(sp.sympify(self.input_shape[self.spatial[axis]]).subs(subs))
        if not isinstance(entry, Tied):
            return (0, n - 1) if isinstance(entry, Global) else None
        return clipped(entry.paths, unit, n, subs)

    def at(self, values: Mapping[str, int], output: int = 0) -> tuple[Any, ...]:
        """(size, jump, offset) per axis evaluated at ``values`` (``'global'`` for global)."""
        subs = {self.symbols[k]: v for k, v in values.items() if k in self.symbols}
        got = []
        for ax in self.axes(output):
            if isinstance(ax, Summary):
                got.append(tuple(sp.sympify(v).subs(subs) for v in (ax.size, ax.jump,
                                                                     ax.offset)))
            else:
                got.append("global" if ax is not None else None)
        return tuple(got)

    @property
    def complete(self) -> bool:
        return not self.unknown

    def _check(self, output: int) -> int:
        if not 0 <= output < len(self.outputs):
            raise SymconvError(f"output {output} out of range: the model has "
                               f"{len(self.outputs)} output(s)")
        return output


def _axes(deps: Deps, n: int) -> tuple[Axis | None, ...]:
    if deps is None:
        return (None,) * n
    return tuple(summary(e.paths) if isinstance(e, Tied) else e for e in deps)


def receptive_field(model: Any, input_shape: str | Sequence, dtype: Any = jnp.float32, *,
                    spatial: Sequence[int] | None = None, constraints: Sequence[str] = (),
                    kwargs: Mapping[str, Any] | None = None,
                    factory_args: Mapping[str, Any] | None = None,
                    variables: Any = None) -> ReceptiveField:
    """Receptive fields of every output of ``model`` on input ``input_shape``.

    ``model`` and the other arguments as for :func:`symconv.checks.trace.trace`; ``spatial``
    the input's spatial axes (default: all but the first and the last, e.g. H, W of NHWC, T of
    ``(B, T, C)``). Errors are :class:`SymconvError` s.
    """
    spec = inp.parse_input(input_shape, dtype)
    where = inp.scope(constraints)
    shape = inp.shape_of(spec, where)
    rank = len(shape)
    axes = tuple(range(1, rank - 1)) if spatial is None else tuple(spatial)
    if not axes or any(not 0 <= a < rank for a in axes) or len(set(axes)) != len(axes):
        raise SymconvError(f"spatial axes {list(axes)} do not fit an input of rank {rank}: "
                           f"give spatial=(1, 2) for NHWC, (1,) for (B, T, C)")
    if factory_args is not None:
        model = models.build(model, factory_args, where)
    aval = jax.ShapeDtypeStruct(shape, spec.dtype)
    prepared = models.prepare(model, [aval] if spec.name is None else [],
                              {} if spec.name is None else {spec.name: aval}, kwargs or {},
                              variables)
    names = sorted({n for d in shape if not isinstance(d, int) for n in _dim_names(d)})
    symbols = {n: sp.Symbol(n, integer=True, positive=True) for n in names}
    closed = _jaxpr(prepared, spec)
    shapes = Shapes(symbols)
    walker = Walker(shapes, models.TOP)
    start = tuple(Tied(a, Paths.start()) for a in axes)
    ins: list[Deps] = [None] * (len(closed.jaxpr.invars) - 1) + [start]
    outs = walker.walk(closed.jaxpr, ins)
    layers = tuple(Layer(r.path, r.op, r.shape, _axes(r.deps, len(axes)))
                   for r in _collapse(walker.rows))
    return ReceptiveField(tuple(dim_to_sympy(d, symbols) for d in shape), axes, symbols,
                          tuple(outs), tuple(shapes.shape(a) for a in closed.out_avals), layers,
                          dict(walker.unknown))


def _collapse(rows: list[Row]) -> list[Row]:
    """Consecutive rows of one module path: its last."""
    kept: list[Row] = []
    for row in rows:
        if kept and kept[-1].path == row.path and row.path:
            kept[-1] = row
        else:
            kept.append(row)
    return kept


def _jaxpr(prepared: models.Prepared, spec: inp.InputSpec) -> Any:
    try:
        with xla.cheap_tracer_errors():  # errors are reported in one line below
            return jax.make_jaxpr(prepared.fn)(*prepared.args)
    except models.NotArrays as e:
        what = "a module (a factory?)" if isinstance(e.value, (nnx.Module, nn.Module)) \
            else type(e.value).__name__
        raise SymconvError(f"the model returned {what}, not JAX arrays") from None
    except SymconvError:
        raise
    except Exception as e:
        if type(e).__name__ == "InconclusiveDimensionOperation":
            raise SymconvError(f"tracing on ({spec.shape}): {inp.constraint_hint(e)}") from None
        raise ShapeMismatchError(
            f"the model rejects an input of shape {spec.shape}: {type(e).__name__}: "
            f"{inp.first_line(e)} (a model with a dense head sized for one input needs "
            f"concrete sizes, e.g. 1,128,128,3)") from None


def _dim_names(d: Any) -> list[str]:
    return [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
            if n not in ("floordiv", "mod", "max", "min", "non_negative")]


def field_size(axis: Axis | None) -> Dim | None:
    """The size of one axis's field; None when global or independent of the input."""
    return axis.size if isinstance(axis, Summary) else None
