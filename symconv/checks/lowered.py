r"""How :mod:`symconv.checks.reference` lowers a piece of a function so that XLA counts it as it
counts it inside the whole function: the PRNG-key boundary XLA charges, and the constants an
equation reads.

- Keys: XLA's cost analysis counts the sharding constraint JAX puts on each key-typed argument
  read and each key-typed result of a lowered function as $-1$ FLOP
  (:mod:`symconv.checks.trace.rng`). :func:`counts` adds a piece's own key boundary back;
  :func:`key_boundary` is the whole function's, subtracted once.
- Constants: XLA folds identities with a visible constant ($x + 0$ with ``0`` a broadcast
  literal costs nothing). An equation lowered alone with such an operand as an *argument* is
  counted in full, although the whole function folds it (measured: the Flax PPO network's
  training step, whose critic head is dead, so its zero gradients are added to the momentum: 513
  FLOPs with SGD, 1,026 with Adam, that XLA's whole figure does not count). :func:`in_context`
  lowers the equation after the constant equations that make those operands, and subtracts
  what they cost alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax.extend import core as jax_core

QUANTITIES = ("flops", "transcendentals")


def is_key(v: Any) -> bool:
    """Whether a jaxpr variable holds PRNG keys."""
    dtype = getattr(getattr(v, "aval", None), "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def key_boundary(live: jax_core.Jaxpr, consts: Sequence[Any], used: Sequence[bool]) -> int:
    """Key-typed arguments read, key-typed results, and key-typed constants that are tracers
    (lifted into arguments by ``jax.jit``) and read, of a function (its dead code dropped)."""
    read = {v for eqn in live.eqns for v in eqn.invars if not isinstance(v, jax_core.Literal)}
    read |= {v for v in live.outvars if not isinstance(v, jax_core.Literal)}
    lifted = [v for v, c in zip(live.constvars, consts) if isinstance(c, jax.core.Tracer)]
    return (sum(1 for v, u in zip(live.invars, used) if u and is_key(v) and v in read)
            + sum(1 for v in lifted if is_key(v) and v in read)
            + sum(1 for v in live.outvars if not isinstance(v, jax_core.Literal) and is_key(v)))


def counts(fun: Any, args: Sequence[Any], ins: Sequence[Any], outs: Sequence[Any]
           ) -> tuple[dict[str, int], int]:
    """XLA's counts of ``jax.jit(fun).lower(*args)`` with its key boundary added back (``ins``
    and ``outs``: the piece's argument and result variables), and its number of HLO ops."""
    lowered = jax.jit(fun).lower(*args)
    analysis = lowered.cost_analysis() or {}
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
    found = {q: int(analysis.get(q, 0.0)) for q in QUANTITIES}
    found["flops"] += sum(1 for v in ins if is_key(v)) + sum(1 for v in outs if is_key(v))
    return found, ops


def in_context(eqn: Any, cone: Sequence[Any], constvars: Sequence[Any], consts: Sequence[Any]
               ) -> dict[str, int] | None:
    """XLA's counts for ``eqn`` when operands of it are made by constant equations (``cone``,
    in order, on ``constvars`` bound to ``consts``): the equation lowered after them, less them
    alone. None when no operand is made by the cone."""
    made = {v: e for e in cone for v in e.outvars}
    operands = list(dict.fromkeys(v for v in eqn.invars if not isinstance(v, jax_core.Literal)))
    wanted = [v for v in operands if v in made]
    if not wanted:
        return None
    need, stack = set(), list(wanted)
    while stack:  # the cone equations the operands depend on
        e = made[stack.pop()]
        if id(e) not in need:
            need.add(id(e))
            stack.extend(v for v in e.invars if not isinstance(v, jax_core.Literal) and v in made)
    piece = [e for e in cone if id(e) in need]
    args = [v for v in operands if v not in made and v not in constvars]
    used = {v for e in [*piece, eqn] for v in e.invars if not isinstance(v, jax_core.Literal)}
    cvars = [v for v in constvars if v in used]
    cvals = [c for v, c in zip(constvars, consts) if v in used]
    avals = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in args]

    def lowered(eqns: list, ins: list, outs: list) -> dict[str, int]:
        closed = jax_core.ClosedJaxpr(jax_core.Jaxpr(cvars, ins, outs, eqns), cvals)
        return counts(jax_core.jaxpr_as_fun(closed), [avals[args.index(v)] for v in ins], ins,
                      outs)[0]

    whole = lowered([*piece, eqn], args, list(eqn.outvars))
    alone = lowered(piece, [], wanted)
    return {q: whole[q] - alone[q] for q in QUANTITIES}
