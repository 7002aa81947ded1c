r"""Loops priced at their true trip count, with XLA's own figure beside it.

XLA's HLO cost analysis charges a ``while`` loop's body and condition *once*, whatever the trip
count (jax-ml/jax#18672), so the figure ``cost_analysis()`` reports for a loop is one iteration.
The tracer prices the body at its true trip count $T$:

- ``scan``: $T$ is the static ``length`` (an int, or a dimension such as ``N`` when the scanned
  axis is symbolic). JAX lowers a scan to a ``while`` with a counter: per iteration one
  increment and one compare, which XLA counts as 2 FLOPs (2 more for ``reverse``: the index
  ``length - 1 - i``). With ``unroll`` $k$ XLA's figure is $k$ bodies, the counter (and index)
  once, and the $T \bmod k$ bodies left over, or $T$ bodies when $k \ge T$; the true count is
  the same as without unrolling (the loop as written: one counter step per iteration).
- ``while`` with a counted exit (a ``fori_loop`` whose bounds are not Python ints: the condition
  is ``i < upper``, the body adds 1 to ``i``, ``upper`` passes through): $T =
  \max(\text{upper} - \text{lower}, 0)$ when both bounds are literals or dimensions.
- any other ``while`` (the exit depends on data): there is no closed form; one iteration is
  priced and multiplied by a named symbol ``T_while1``, ``T_while2``, ... (the loop's row in
  :attr:`TraceResult.loops <symconv.checks.trace.result.TraceResult.loops>` says so).

Each iteration's work is split in two. The *payload* is the body's own computation; the
*control* is the loop's bookkeeping: integer or boolean scalar arithmetic of the body (counter
increments, index arithmetic), the condition, and for a scan the counter's increment and
compare. The split is made after one walk of the whole body, so liveness and constants are the
body's: index arithmetic that only the payload reads (``x[i + 1]`` in a ``while``) is live
control work. So a layer stack written with ``nnx.scan`` has the payload of its unrolled twin. The
condition runs $T + 1$ times, the body $T$ times: true cost $= T (\text{payload} +
\text{control}) + \text{condition}$; XLA's figure $=$ payload $+$ control, once. A scan's
carries that no output needs are dropped first, with JAX's own dead-code rule for ``scan`` (as
``jit`` lowering does; e.g. the unused counter of a ``fori_loop`` with static bounds).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
import sympy as sp
from jax.extend import core as jax_core

from symconv.algebra.arith import out
from symconv.checks.trace.result import QUANTITIES, LoopCost, OpCost

_ARITH = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "max": sp.Max, "min": sp.Min}
_PASS = ("convert_element_type", "copy", "copy_p")


def price_loop(walker: Any, eqn: Any, path: str, const_in: list[bool], parent: Any) -> None:
    """Price one ``scan`` or ``while`` equation of ``parent`` into ``walker`` (a
    :class:`~symconv.checks.trace.walker.Walker`): its ops scaled by the trip count, one control
    row, and a :class:`LoopCost` in ``walker.loops``."""
    if eqn.primitive.name == "scan":
        _scan(walker, eqn, path, const_in, parent)
    else:
        _while(walker, eqn, path, const_in, parent)


def _scan(walker, eqn, path, const_in, parent) -> None:
    eqn, const_in = _live(eqn, const_in, parent)
    if eqn is None:  # nothing it computes is used
        return
    p = eqn.params
    trips = walker.shapes.dim(p["length"])
    nconst = p["num_consts"]
    body_const = list(const_in[:nconst]) + [False] * (len(const_in) - nconst)
    rows, payload, control, body_xla, inner = _body(walker, p["jaxpr"].jaxpr, path, body_const)
    one = [sp.Integer(1 if a == "flops" else 0) for a in QUANTITIES]  # a compare, an increment
    index = [2 * x for x in one] if p.get("reverse") else [0] * len(one)  # length - 1 - i
    _record(walker, rows, LoopCost(path, "scan", trips, False, _add(payload),
                                   _add(control, one, one, index), _add(one),
                                   _scan_xla(walker, p, trips, body_xla, _add(one, one, index)),
                                   inner))


def _scan_xla(walker, p, trips, body_pass, step) -> tuple:
    r"""XLA's figure for a scan lowered with ``unroll`` $k$: a ``while`` over blocks of $k$
    bodies (``step``: one increment, one compare, the reversed index) plus $T \bmod k$ bodies
    after it; no loop at all when $k \ge T$ (``unroll=True``). For a symbolic $T$ the figure
    holds for $T > k$, a condition kept in the result."""
    k = p.get("unroll", 1)
    k = trips if k is True else k if isinstance(k, int) else walker.shapes.dim(k)  # True: T
    if k == 1:
        return _add(body_pass, step)
    if sp.expand(k - trips) == 0 or (isinstance(trips, int) and k >= trips):
        return tuple(out(trips * b) for b in body_pass)
    if not isinstance(trips, int):
        walker.shapes.conds.require(sp.Gt(trips, k), ValueError,  # at T = k: no loop
                                    f"scan of {trips} steps unrolled by {k}")
    rest = sp.Mod(trips, k)
    return tuple(out(k * b + c + rest * b) for b, c in zip(body_pass, step))


def _while(walker, eqn, path, const_in, parent) -> None:
    p = eqn.params
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    cond_consts, body_consts, carry = const_in[:cn], const_in[cn:cn + bn], const_in[cn + bn:]
    cond_sub = _sub(walker)
    cond_sub.walk(p["cond_jaxpr"].jaxpr, path, list(cond_consts) + [False] * len(carry))
    walker.unknown.update(cond_sub.unknown)
    cond = _sums(cond_sub.ops)
    body_const = list(body_consts) + [False] * len(carry)
    rows, payload, control, body_xla, inner = _body(walker, p["body_jaxpr"].jaxpr, path,
                                                    body_const)
    trips = _counted_trips(eqn, parent, walker.shapes)
    data = trips is None
    if data:
        walker.whiles[0] += 1
        trips = sp.Symbol(f"T_while{walker.whiles[0]}", integer=True, nonnegative=True)
    _record(walker, rows, LoopCost(path, "while" if data else "fori", trips, data,
                                   _add(payload), _add(control, cond), _add(cond),
                                   _add(body_xla, cond), inner))


def _body(walker, jaxpr, path, const_in):
    """Walk a loop body: ``(payload_rows, payload, control, xla_body, inner_loops)`` per
    iteration.

    ``xla_body`` is what XLA counts for one pass over the body (inner loops at their own
    XLA figure); payload and control hold inner loops at their true counts.
    """
    sub = _sub(walker)  # one walk: liveness and constants over the whole body
    sub.walk(jaxpr, path, const_in, classify=_is_control)
    walker.unknown.update(sub.unknown)
    walker.shapes.conds.items.extend(c for c in sub.shapes.conds.items
                                     if c not in walker.shapes.conds.items)
    rows = {flag: [o for o, c in zip(sub.ops, sub.classes) if c == flag]
            for flag in (False, True)}
    inner: list[LoopCost] = list(sub.loops)
    nested = [o for o in rows[False] if o.primitive.endswith(" control")]  # inner loops' own
    rows[False] = [o for o in rows[False] if not o.primitive.endswith(" control")]
    payload, control = _sums(rows[False]), _sums(rows[True] + nested)
    gap = [sum((lp.true(a) - lp.xla[i] for lp in inner), sp.Integer(0))
           for i, a in enumerate(QUANTITIES)]
    body_xla = [out(p + c - g) for p, c, g in zip(payload, control, gap)]
    return rows[False], payload, control, body_xla, tuple(inner)


def _record(walker, rows: list[OpCost], loop: LoopCost) -> None:
    """Append the payload rows times the trip count, one control row, and the loop itself."""
    for op in rows:
        walker.ops.append(dataclasses.replace(
            op, **{a: out(loop.trips * getattr(op, a)) for a in QUANTITIES}))
    walker.ops.append(OpCost(loop.path, f"{loop.kind} control", (),
                             *(loop.true_control(a) for a in QUANTITIES)))
    walker.loops.append(loop)


def _sub(walker):
    """A walker for a loop's body or condition: own ops, shared symbols and while count."""
    sub = walker.sub()
    sub.whiles = walker.whiles
    return sub


def _add(*columns) -> tuple:
    """Quantity by quantity sums of per-iteration cost lists."""
    return tuple(out(sp.Add(*col)) for col in zip(*columns))


def _sums(ops) -> list:
    return [out(sp.Add(*[getattr(o, a) for o in ops])) if ops else sp.Integer(0)
            for a in QUANTITIES]


def _is_control(eqn) -> bool:
    """Integer or boolean scalar arithmetic: the loop's counters and indices, not its payload."""
    if any(k in eqn.params for k in ("jaxpr", "call_jaxpr", "fun_jaxpr", "branches")):
        return False
    avals = [v.aval for v in eqn.outvars]
    return bool(avals) and all(
        getattr(a, "shape", None) == () and (jax.dtypes.issubdtype(a.dtype, np.integer)
                                            or jax.dtypes.issubdtype(a.dtype, np.bool_))
        for a in avals)  # jax.dtypes: a PRNG key's dtype is neither (and NumPy cannot read it)


def _live(eqn, const_in, parent):
    """The scan with the carries no used output needs removed (JAX's own ``scan`` DCE rule; an
    output is used when ``parent`` reads it); ``(None, [])`` when nothing it computes is used."""
    try:
        from jax._src.interpreters import partial_eval as pe  # JAX's rule, not public API

        rule = pe.dce_rules[eqn.primitive]
    except (ImportError, AttributeError, KeyError):  # another JAX: price the loop as written
        return eqn, const_in
    read = {id(v) for e in parent.eqns for v in e.invars} | {id(v) for v in parent.outvars}
    used = [id(v) in read for v in eqn.outvars]
    used_inputs, new = rule(used, eqn)
    if new is None:
        return None, []
    return new, [c for c, u in zip(const_in, used_inputs) if u]


def _counted_trips(eqn, parent, shapes):
    """``max(upper - lower, 0)`` for a counted ``while`` (``i < upper``, ``i += 1``, ``upper``
    unchanged) with known bounds, else None."""
    p = eqn.params
    cond, body = p["cond_jaxpr"].jaxpr, p["body_jaxpr"].jaxpr
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    if len(cond.eqns) != 1 or cond.eqns[0].primitive.name != "lt":
        return None
    carry = cond.invars[cn:]
    lhs, rhs = cond.eqns[0].invars
    if cond.eqns[0].outvars[0] is not cond.outvars[0] or lhs not in carry:
        return None
    k = carry.index(lhs)
    if not _increments(body, bn + k, k):
        return None
    outer = eqn.invars[cn + bn:]
    if isinstance(rhs, jax_core.Literal):
        upper = _value(rhs, parent, shapes)
    elif rhs in carry and body.outvars[carry.index(rhs)] is body.invars[bn + carry.index(rhs)]:
        upper = _value(outer[carry.index(rhs)], parent, shapes)
    else:
        return None
    lower = _value(outer[k], parent, shapes)
    if lower is None or upper is None:
        return None
    return out(sp.Max(upper - lower, 0))


def _increments(body, invar_index: int, out_index: int) -> bool:
    """Whether the body's output ``out_index`` is its input ``invar_index`` plus literal 1."""
    target = body.outvars[out_index]
    for e in body.eqns:
        if target in e.outvars:
            if e.primitive.name != "add":
                return False
            a, b = e.invars
            one = [v for v in (a, b) if isinstance(v, jax_core.Literal) and v.val == 1]
            return bool(one) and body.invars[invar_index] in (a, b)
    return False


def _value(atom, jaxpr, shapes):
    """The value of a scalar atom of ``jaxpr`` when it is a literal or integer arithmetic on
    dimensions (``dim_as_value``), else None."""
    if isinstance(atom, jax_core.Literal):
        v = np.asarray(atom.val)
        return int(v) if v.shape == () and np.issubdtype(v.dtype, np.integer) else None
    for e in jaxpr.eqns:
        if atom in e.outvars:
            name = e.primitive.name
            if name == "dim_as_value":
                return shapes.dim(e.params["dim"])
            if name in _PASS:
                return _value(e.invars[0], jaxpr, shapes)
            if name in _ARITH:
                a, b = (_value(v, jaxpr, shapes) for v in e.invars)
                return None if a is None or b is None else out(_ARITH[name](a, b))
            return None
    return None
