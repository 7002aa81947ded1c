"""The model and compiler sides of the triangle: shapes by ``jax.eval_shape``, parameters from
``nnx.state``, FLOPs from the lowered (not compiled) HLO's ``cost_analysis()``.

Lowering is enough: the cost analysis of the lowered module counts every HLO op without running
XLA's backend, costs milliseconds, and avoids the compiled analysis's known gaps on GPU.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from symconv._dimexpr import shape_to_sympy
from symconv.errors import SymconvError


def abstract(module_factory: Callable[[], nnx.Module]) -> nnx.Module:
    """Build a module abstractly (``nnx.eval_shape``): parameters are shapes, no memory."""
    return nnx.eval_shape(module_factory)


def _as_function(model: nnx.Module | Callable) -> tuple[Callable, Any]:
    """A pure ``f(state, x)`` and the abstract state for a module; plain functions pass through."""
    if isinstance(model, nnx.Module):
        graphdef, state = nnx.split(model)
        abstract_state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)

        def f(state, x):
            return nnx.merge(graphdef, state)(x)

        return f, abstract_state
    return (lambda _, x: model(x)), None


def _input(shape: Sequence[Any] | str, dtype) -> jax.ShapeDtypeStruct:
    if isinstance(shape, str):
        shape = jax.export.symbolic_shape(shape)
    return jax.ShapeDtypeStruct(tuple(shape), dtype)


def output_shape(model: nnx.Module | Callable, input_shape: Sequence[Any] | str,
                 dtype=jnp.float32, *, sympy: bool = True) -> tuple:
    """Output shape of ``model`` on an input of ``input_shape`` via ``jax.eval_shape``.

    ``input_shape`` may hold ints and JAX symbolic dimensions, or be a string such as
    ``"B, H, W, 3"`` (parsed by ``jax.export.symbolic_shape``). With ``sympy=True`` symbolic
    dimensions come back as SymPy expressions.
    """
    f, state = _as_function(model)
    y = jax.eval_shape(f, state, _input(input_shape, dtype))
    if not hasattr(y, "shape"):
        raise SymconvError(f"the model returned {type(y).__name__}, not a single array")
    return shape_to_sympy(y.shape) if sympy else tuple(y.shape)


def cost(model: nnx.Module | Callable, input_shape: Sequence[int], dtype=jnp.float32) -> dict:
    """``{'flops', 'transcendentals', 'bytes accessed'}`` of the lowered HLO (0 when absent)."""
    f, state = _as_function(model)
    lowered = jax.jit(f).lower(state, _input(input_shape, dtype))
    analysis = lowered.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else {}
    analysis = analysis or {}
    return {key: int(analysis.get(key, 0.0))
            for key in ("flops", "transcendentals", "bytes accessed")}


def flops(model: nnx.Module | Callable, input_shape: Sequence[int], dtype=jnp.float32) -> int:
    """FLOPs XLA's HLO cost analysis counts for one call on ``input_shape``."""
    return cost(model, input_shape, dtype)["flops"]


def param_count(model: nnx.Module) -> int:
    """Number of scalars in the model's ``nnx.Param`` state (works on abstract models)."""
    return sum(int(x.size) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
