r"""Closed-form cost of any JAX function or Flax model: walk its jaxpr with symbolic dims.

``trace(model, "B, H, W, 3")`` traces the model with ``jax.make_jaxpr`` on inputs whose
dimensions may be symbolic (``jax.export.symbolic_shape``; :mod:`.inputs` reads shapes with
expressions, constraints, dtypes and names, and keyword arguments), then walks every equation
(:mod:`.walker`) and prices it as XLA's HLO cost analysis does (:mod:`.rules`): convolutions by
their taps on real input, dots by $2 \times$ MACs, one FLOP per element for elementwise
arithmetic, one transcendental per element for exponentials and the like, reductions by input
minus output elements; data movement is free. Loops are priced at their trip count, XLA's
once-per-body figure kept beside it (:mod:`.loops`). What XLA does not count is not counted: dead
code, constant work it folds, and identities such as $x \cdot 1$ (:mod:`.walker`).

The model is an NNX module, a Flax Linen module or a JAX function (:mod:`.models`), or a factory
built abstractly with ``factory_args``. A primitive without a rule is reported by name in
``unknown`` and the result is marked incomplete; it is never silently counted as zero. Each
equation is attributed to the module that issued it (its path, e.g. ``blocks.3.0``;
:mod:`.scopes`), and parameters are summed per module path, as expressions of the input's
dimensions when their shapes follow it.

``train_cost(model, "B, 32*h, 32*w, 3", optimizer="adam", labels=True)`` (:mod:`.training`)
prices one training step — forward, loss, ``value_and_grad``, optax update — split per module
into forward, input gradient, weight gradient and optimizer.

>>> import jax.numpy as jnp
>>> result = trace(lambda x: jnp.tanh(x) + 1.0, "N, 8")
>>> result.total("flops"), result.total("transcendentals"), result.complete
(8*N, 8*N, True)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from flax import linen as nn
from flax import nnx

from symconv.algebra.arith import out
from symconv.checks import selfcheck, xla
from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace import inputs as inp
from symconv.checks.trace import models
from symconv.checks.trace.inputs import Dim as Dim
from symconv.checks.trace.inputs import InputSpec as InputSpec
from symconv.checks.trace.receptive import receptive_field as receptive_field
from symconv.checks.trace.result import LoopCost as LoopCost
from symconv.checks.trace.result import ModuleCost as ModuleCost
from symconv.checks.trace.result import OpCost as OpCost
from symconv.checks.trace.result import TraceResult as TraceResult
from symconv.checks.trace.rng import key_constraints
from symconv.checks.trace.rules import CALLS as CALLS
from symconv.checks.trace.rules import ELEMENTWISE as ELEMENTWISE
from symconv.checks.trace.rules import FREE as FREE
from symconv.checks.trace.rules import REDUCE as REDUCE
from symconv.checks.trace.rules import TRANSCENDENTAL as TRANSCENDENTAL
from symconv.checks.trace.rules import Shapes, Unpriced
from symconv.checks.trace.training import TrainCost as TrainCost
from symconv.checks.trace.training import TrainRow as TrainRow
from symconv.checks.trace.training import train_cost as train_cost
from symconv.checks.trace.walker import Walker
from symconv.errors import ShapeMismatchError, SymconvError


def trace(model: Any, input_shape: str | Sequence | None = None, dtype: Any = jnp.float32, *,
          inputs: Sequence[Any] = (), constraints: Sequence[str] = (),
          kwargs: Mapping[str, Any] | None = None,
          factory_args: Mapping[str, Any] | None = None, variables: Any = None) -> TraceResult:
    """Trace ``model`` on symbolic inputs and price every op in closed form.

    ``model``: an ``nnx.Module``, a ``flax.linen.Module`` (``variables`` optional: without them
    ``init`` is evaluated abstractly), a JAX function, or with ``factory_args`` a factory built
    abstractly (:class:`Dim` values become symbolic sizes). ``input_shape``: ``"B, H, W, 3"``,
    ``"B, 32*h, 32*w, 3"``, ``"tokens=B, L:int32"`` or a tuple of ints and JAX dims; ``inputs``
    more of them (named ones are passed by keyword); ``constraints`` such as ``"L <= 2048"``;
    ``kwargs`` for the call (``{"train": False}``). Errors are :class:`SymconvError` s that say
    what went wrong.
    """
    specs = ([] if input_shape is None else [inp.parse_input(input_shape, dtype)]) + \
        [inp.parse_input(t, dtype) for t in inputs]
    if not specs:
        raise SymconvError("give the input's shape, e.g. trace(model, 'B, H, W, 3')")
    where = inp.scope(constraints)
    shapes_in = [inp.shape_of(sp_, where) for sp_ in specs]
    avals = [jax.ShapeDtypeStruct(sh, sp_.dtype) for sh, sp_ in zip(shapes_in, specs)]
    positional = [a for a, sp_ in zip(avals, specs) if sp_.name is None]
    named = {sp_.name: a for a, sp_ in zip(avals, specs) if sp_.name is not None}
    if factory_args is not None:
        model = models.build(model, factory_args, where)
    prepared = models.prepare(model, positional, named, kwargs or {}, variables)
    leaves = jax.tree.leaves(prepared.args)
    names = sorted({v for a in leaves for d in a.shape if not isinstance(d, int)
                    for v in _dim_names(d)})
    symbols = {nm: sp.Symbol(nm, integer=True, positive=True) for nm in names}
    closed = _jaxpr(prepared, specs)
    shapes = Shapes(symbols)
    walker = Walker(shapes)
    try:
        walker.walk(closed.jaxpr, "", [False] * len(closed.jaxpr.invars), consts=closed.consts)
    except Unpriced as e:
        walker.unknown[str(e)] += 1
    outs = closed.out_avals
    out_shape = shapes.shape(outs[0]) if outs else ()
    params = {path: out(sp.Add(*[sp.Mul(*[dim_to_sympy(d, symbols) for d in shape])
                                 for shape in leaf_shapes]))
              for path, leaf_shapes in prepared.params.items()}
    ops = tuple(_untop(op) for op in walker.ops)
    return TraceResult(ops, dict(walker.unknown), params, symbols,
                       tuple(dim_to_sympy(d, symbols) for d in shapes_in[0]), out_shape,
                       tuple(shapes.conds.items), tuple(walker.loops),
                       tuple((sp_.name, tuple(dim_to_sympy(d, symbols) for d in sh))
                             for sp_, sh in zip(specs, shapes_in)),
                       key_constraints(closed.jaxpr, consts=closed.consts))


def lowered_cost(model: Any, inputs: Sequence[Any], kwargs: Mapping[str, Any] | None = None,
                 factory_args: Mapping[str, Any] | None = None,
                 values: Mapping[str, int] | None = None) -> dict:
    """XLA's side at one point: ``{'flops', 'transcendentals', 'ops', 'params'}`` of ``model``
    called on concrete ``inputs`` (specs or shapes of ints), from the lowered (not compiled)
    HLO's ``cost_analysis()``; ``params`` from the model built there (a factory with
    ``factory_args``, :class:`Dim` values taken from ``values``)."""
    selfcheck.ensure()
    specs = [inp.parse_input(t) for t in inputs]
    if factory_args is not None:
        model = models.build(model, factory_args, dict(values or {}))
    avals = [jax.ShapeDtypeStruct(tuple(s.shape), s.dtype) for s in specs]
    prepared = models.prepare(model, [a for a, s in zip(avals, specs) if s.name is None],
                              {s.name: a for a, s in zip(avals, specs) if s.name is not None},
                              kwargs or {})
    with xla.cheap_tracer_errors():
        lowered = jax.jit(prepared.fn).lower(*prepared.args)
    analysis = lowered.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else {}
    result = {k: int((analysis or {}).get(k, 0.0)) for k in ("flops", "transcendentals")}
    result["ops"] = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
    result["params"] = sum(int(np.prod(shape)) for shapes in prepared.params.values()
                           for shape in shapes)
    return result


def _jaxpr(prepared: models.Prepared, specs: list) -> Any:
    """``jax.make_jaxpr`` of the prepared call, each failure told apart."""
    shown = "; ".join((f"{s.name}=" if s.name else "") + (s.shape if isinstance(s.shape, str)
                      else ", ".join(map(str, s.shape))) for s in specs)
    try:
        with xla.cheap_tracer_errors():  # errors are reported in one line below
            return jax.make_jaxpr(prepared.fn)(*prepared.args)
    except models.NotArrays as e:
        got = type(e.value).__name__
        if isinstance(e.value, (nnx.Module, nn.Module)):
            raise SymconvError(
                f"calling it on the input returned a {got} module: it looks like a factory, not "
                f"a model; pass the model it builds, or trace(factory, ..., factory_args={{...}})"
                f", or `symconv cost package.module:factory`") from None
        raise SymconvError(f"the model returned {got}, not JAX arrays: the tracer prices a call "
                           f"that returns an array or a pytree of arrays") from None
    except SymconvError:
        raise
    except Exception as e:
        if type(e).__name__ == "InconclusiveDimensionOperation":
            raise SymconvError(f"tracing on ({shown}): {inp.constraint_hint(e)}") from None
        raise ShapeMismatchError(f"the model rejects an input of shape {shown}: "
                                 f"{type(e).__name__}: {inp.first_line(e)}") from None


def _untop(op: OpCost) -> OpCost:
    """A Linen root's scope is the top (an empty path)."""
    if op.path == models.TOP:
        return dataclasses.replace(op, path="")
    if op.path.startswith(models.TOP + "."):  # pragma: no cover (paths are single scopes)
        return dataclasses.replace(op, path=op.path[len(models.TOP) + 1:])
    return op


def _dim_names(d) -> list[str]:
    """Symbol names in a JAX dimension expression, e.g. ``['H']`` for ``H + 1``."""
    return [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
            if n not in ("floordiv", "mod", "max", "min", "non_negative")]
