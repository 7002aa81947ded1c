r"""Closed-form cost of any JAX function or Flax NNX model: walk its jaxpr with symbolic dims.

``trace(model, "B, H, W, 3")`` traces the model with ``jax.make_jaxpr`` on an input whose
dimensions may be symbolic (``jax.export.symbolic_shape``), then walks every equation
(:mod:`.walker`) and prices it as XLA's HLO cost analysis does (:mod:`.rules`): convolutions by
their taps on real input, dots by $2 \times$ MACs, one FLOP per element for elementwise
arithmetic, one transcendental per element for exponentials and the like, reductions by input
minus output elements; data movement is free. What XLA does not count is not counted: dead
code, constant work it folds, and identities such as $x \cdot 1$ (:mod:`.walker`).

A primitive without a rule is reported by name in ``unknown`` and the result is marked
incomplete; it is never silently counted as zero. Each equation is attributed to the NNX module
that issued it (its path, e.g. ``blocks.3.0``; :mod:`.scopes`), and parameters are summed per
module from ``nnx.state``.

>>> import jax.numpy as jnp
>>> result = trace(lambda x: jnp.tanh(x) + 1.0, "N, 8")
>>> result.total("flops"), result.total("transcendentals"), result.complete
(8*N, 8*N, True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import sympy as sp
from flax import nnx

from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace.result import ModuleCost as ModuleCost
from symconv.checks.trace.result import OpCost as OpCost
from symconv.checks.trace.result import TraceResult as TraceResult
from symconv.checks.trace.rules import CALLS as CALLS
from symconv.checks.trace.rules import ELEMENTWISE as ELEMENTWISE
from symconv.checks.trace.rules import FREE as FREE
from symconv.checks.trace.rules import REDUCE as REDUCE
from symconv.checks.trace.rules import TRANSCENDENTAL as TRANSCENDENTAL
from symconv.checks.trace.rules import Shapes, Unpriced
from symconv.checks.trace.scopes import module_scopes, param_paths
from symconv.checks.trace.walker import Walker
from symconv.errors import ShapeMismatchError, SymconvError


def trace(model: nnx.Module | Callable, input_shape: str | Sequence, dtype=jnp.float32
          ) -> TraceResult:
    """Trace ``model`` on an input of ``input_shape`` (e.g. ``"B, H, W, 3"`` or a tuple of ints
    and JAX symbolic dims) and price every op in closed form."""
    if isinstance(input_shape, str):
        try:
            shape = jax.export.symbolic_shape(input_shape)
        except Exception as e:  # JAX's own parser: report, do not crash
            raise SymconvError(f"bad input shape {input_shape!r}: {e}") from None
    else:
        shape = tuple(input_shape)
    names = sorted({str(v) for d in shape if not isinstance(d, int)
                    for v in _dim_names(d)})
    symbols = {nm: sp.Symbol(nm, integer=True, positive=True) for nm in names}
    x = jax.ShapeDtypeStruct(shape, dtype)
    if isinstance(model, nnx.Module):
        graphdef, state = nnx.split(model)
        abstract_state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)

        def f(s, x):
            merged = nnx.merge(graphdef, s)
            with module_scopes(merged):
                return merged(x)

        args = (abstract_state, x)
        params = param_paths(model)
    else:
        def f(x):
            return model(x)

        args = (x,)
        params = {}
    try:
        closed = jax.make_jaxpr(f)(*args)
    except Exception as e:  # the model rejects the input: one clear message
        raise ShapeMismatchError(f"the model rejects an input of shape {input_shape}: "
                                 f"{type(e).__name__}: {str(e).splitlines()[0]}") from None
    shapes = Shapes(symbols)
    walker = Walker(shapes)
    nstate = len(jax.tree.leaves(args[0])) if len(args) == 2 else 0
    try:
        walker.walk(closed.jaxpr, "", [False] * (nstate + 1), consts=closed.consts)
    except Unpriced as e:
        walker.unknown[str(e)] += 1
    outs = closed.out_avals
    out_shape = shapes.shape(outs[0]) if outs else ()
    return TraceResult(tuple(walker.ops), dict(walker.unknown), params, symbols,
                       tuple(dim_to_sympy(d, symbols) for d in shape), out_shape,
                       tuple(shapes.conds.items))


def _dim_names(d) -> list[str]:
    """Symbol names in a JAX dimension expression, e.g. ``['H']`` for ``H + 1``."""
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
