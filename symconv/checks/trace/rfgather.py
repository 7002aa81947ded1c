"""Crops written as ``gather`` (``x[:, top:top + h]`` where JAX cannot prove the bounds: a
U-Net's centre crop on symbolic sizes): small index arrays computed from literals are evaluated
(:func:`fold`), and a gather of one index vector that keeps every operand axis is a slice,
start $b$ per axis: the window $P = -b$ of :mod:`.rfwalk`'s ``slice`` rule (:func:`as_slice`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from jax.extend import core as jax_core

MAX_FOLDED = 64  #: the largest constant (in elements) evaluated while walking


_SYMBOLIC = {"dim_as_value", "convert_element_type", "broadcast_in_dim", "concatenate", "add",
             "sub", "mul", "reshape"}


def _symbolic(eqn: Any, vals: list, dim: Callable[[Any], Any]) -> np.ndarray | None:
    """The few index computations on symbolic sizes, as NumPy arrays of SymPy expressions."""
    name, p = eqn.primitive.name, eqn.params
    shape = eqn.outvars[0].aval.shape
    if name == "dim_as_value":
        return np.array(dim(p["dim"]), dtype=object)
    args = [np.asarray(v, dtype=object) for v in vals]
    if name in ("convert_element_type", "reshape"):
        return args[0].reshape(shape)
    if name == "broadcast_in_dim":
        expanded = args[0].reshape([shape[k] if k in p["broadcast_dimensions"] else 1
                                    for k in range(len(shape))])
        return np.broadcast_to(expanded, shape).copy()
    if name == "concatenate":
        return np.concatenate(args, axis=p["dimension"])
    ops = {"add": np.add, "sub": np.subtract, "mul": np.multiply}
    return ops[name](*args) if name in ops else None


def fold(eqn: Any, known: dict, dim: Callable[[Any], Any]) -> None:
    """Evaluate ``eqn`` into ``known`` when all its inputs are literals or known constants and
    its outputs are small and of concrete shape (anything else is left alone); sizes read with
    ``dim_as_value`` stay symbolic (``dim`` converts them)."""
    vals = []
    for v in eqn.invars:
        if isinstance(v, jax_core.Literal):
            vals.append(v.val)
        elif v in known:
            vals.append(known[v])
        else:
            return
    for v in eqn.outvars:
        shape, dtype = getattr(v.aval, "shape", None), getattr(v.aval, "dtype", None)
        if shape is None or not all(isinstance(d, int) for d in shape) \
                or int(np.prod(shape)) > MAX_FOLDED or not _integer(dtype):
            return
    if any(k in eqn.params for k in ("jaxpr", "call_jaxpr", "branches")):
        return
    symbolic = eqn.primitive.name == "dim_as_value" or any(
        isinstance(v, np.ndarray) and v.dtype == object for v in vals)
    if symbolic:
        got = _symbolic(eqn, vals, dim) if eqn.primitive.name in _SYMBOLIC else None
        if got is not None:
            known[eqn.outvars[0]] = got
        return
    try:
        got = eqn.primitive.bind(*vals, **eqn.params)
        outs = got if eqn.primitive.multiple_results else [got]
        for v, x in zip(eqn.outvars, outs):
            known[v] = np.asarray(x)
    except Exception:  # a primitive that will not run eagerly: not a constant then
        return


def _integer(dtype: Any) -> bool:
    """Index arrays only (integers): never floats, random keys or other extended dtypes."""
    try:
        return np.issubdtype(np.dtype(dtype), np.integer)
    except TypeError:
        return False


def as_slice(eqn: Any, known: dict) -> dict[int, int] | None:
    """Operand axis -> start index, when the gather is a plain slice with known starts."""
    dn = eqn.params["dimension_numbers"]
    idx = known.get(eqn.invars[1]) if not isinstance(eqn.invars[1], jax_core.Literal) \
        else np.asarray(eqn.invars[1].val)
    rank = len(eqn.invars[0].aval.shape)
    if idx is None or idx.ndim != 1 or dn.collapsed_slice_dims or dn.operand_batching_dims \
            or tuple(dn.offset_dims) != tuple(range(rank)):
        return None
    starts = dict.fromkeys(range(rank), 0)
    for axis, value in zip(dn.start_index_map, idx.tolist()):
        starts[axis] = value if isinstance(value, sp.Basic) else int(value)
    return starts
