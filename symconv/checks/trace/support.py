r"""The measured receptive field of any NNX model: the support of
$\partial y_u / \partial x$ for one output unit $u$.

Everything is made so that no path cancels and nothing saturates: every parameter
$p \mapsto |p| + 0.01$ (a kernel normalised to sum 1 per output), biases 0 (inside the
jitted function, so the model is compiled once, with the unit an argument), the input
$10^{-3}$ everywhere (a tanh stays unsaturated),
max pooling swapped for sum pooling at the jaxpr level (``reduce_window_max`` ->
``reduce_window_sum``, same window: the max routes the gradient to one pixel), batch norm as
the model has it (build it in inference mode). The bounding box of the non-zero gradient along
each spatial axis is the unit's field clipped to the input, which
:meth:`~.receptive.ReceptiveField.clipped` predicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import lax
from jax.extend import core as jax_core

from symconv.errors import SymconvError

_CALLS = ("jaxpr", "call_jaxpr", "fun_jaxpr")


def _eval(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """Evaluate ``jaxpr`` with max pooling swapped for sum pooling, inlining calls."""
    env: dict[Any, Any] = {}
    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x

    def read(a):
        return a.val if isinstance(a, jax_core.Literal) else env[a]

    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        inner = next((eqn.params[k] for k in _CALLS if k in eqn.params), None)
        if name == "reduce_window_max":
            outs = [lax.reduce_window_sum_p.bind(*ins, **eqn.params)]
        elif inner is not None and name not in ("scan", "while", "cond"):
            closed = inner if hasattr(inner, "jaxpr") else jax_core.ClosedJaxpr(inner, ())
            outs = _eval(closed.jaxpr, closed.consts, ins)
        else:
            got = eqn.primitive.bind(*ins, **eqn.params)
            outs = list(got) if eqn.primitive.multiple_results else [got]
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]


def _positive(path: Any, p: jax.Array) -> jax.Array:
    """A bias -> 0, any other parameter -> ``|p| + 0.01``; a kernel (2-D or more) then divided
    by its sum over each output's inputs (all axes but the last), so that each layer averages:
    nothing overflows through a deep network, and no softmax or tanh saturates."""
    last = str(getattr(path[-1], "key", path[-1])) if path else ""
    if last == "bias":
        return jnp.zeros_like(p)
    q = jnp.abs(p) + 0.01
    if q.ndim >= 2:
        q = q / q.sum(axis=tuple(range(q.ndim - 1)), keepdims=True)
    return q


def unit_gradient(model: nnx.Module, shape: Sequence[int], output: int, out_axes: Sequence[int],
                  call: Callable[[nnx.Module, jax.Array], Any] | None = None
                  ) -> Callable[[np.ndarray], np.ndarray]:
    r"""A compiled ``unit -> |dy_unit/dx|`` for output ``output`` of ``model`` (or of
    ``call(model, x)``) on an all-ones input of ``shape``; ``unit`` indexes ``out_axes`` of the
    output (the other axes at 0)."""
    if not isinstance(model, nnx.Module):
        raise SymconvError(f"gradient support needs an nnx.Module, got {type(model).__name__}")
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    x = jnp.full(tuple(int(v) for v in shape), 1e-3, jnp.float32)
    run = call or (lambda m, v: m(v))

    def forward(p, r, v):
        return jax.tree.leaves(run(nnx.merge(graphdef, p, r), v))

    closed = jax.make_jaxpr(forward)(params, rest, x)

    @jax.jit
    def grad(unit):
        def y(v):
            p = jax.tree_util.tree_map_with_path(_positive, params)
            flat = [*jax.tree.leaves((p, rest)), v]
            outs = _eval(closed.jaxpr, closed.consts, flat)
            target = outs[output]
            index = [0] * target.ndim
            for k, a in enumerate(out_axes):
                index[a] = unit[k]
            return target[tuple(index)]
        return jnp.abs(jax.grad(y)(x))

    return lambda unit: np.asarray(grad(jnp.asarray(unit, jnp.int32)))


def support(grad: np.ndarray, spatial: Sequence[int]) -> list[tuple[int, int] | None]:
    """Per spatial axis, the first and last index where ``grad`` is non-zero."""
    boxes: list[tuple[int, int] | None] = []
    for a in spatial:
        other = tuple(k for k in range(grad.ndim) if k != a)
        hit = np.nonzero(grad.sum(axis=other) > 0)[0]
        boxes.append(None if hit.size == 0 else (int(hit[0]), int(hit[-1])))
    return boxes
