r"""Dead code: the equations XLA never sees, because JAX removes them before lowering.

JAX's lowering runs dead-code elimination on the jaxpr (``pe.dce_jaxpr``), into ``jit``,
``custom_jvp_call``, ``custom_vjp_call`` and ``remat`` bodies and ``cond`` branches: an
equation whose outputs are all unused, and that has no effect, is dropped, and so is an unused
output of an inner function together with the work only it needed. So the tracer prices only
*live* equations: walking backwards from the used outputs, an equation is live when one of its
outputs is used (or it has an effect), and then its inputs are used — for a call, only the
inputs its body's live equations read. Measured: ``(exp(x) * 2, x + 1)[1]`` counts only the
add; an unused output of an inner ``jit``, ``custom_jvp`` or ``checkpoint`` function is not
counted, nor a ``reduce_sum`` whose result is discarded (``jax.grad`` of a pooled sum).
Loops (``scan``, ``while``) are kept whole when any output is used, but not every input of a
loop is read: a ``scan`` reads only the inputs JAX's own ``scan`` dead-code rule keeps (a carry
that no used output needs is dropped, and so is the work that computes its initial value), and
a ``while`` does not read a constant of its body or condition that they do not read (JAX turns
a carry the body passes through unchanged, with an unused result, into such a constant, and
the lowering drops the unused operand; measured: ``while_loop(c, lambda s: (s[0] + 1, s[1] * 2,
s[2]), (0, x, x * 3))[1]`` does not count ``x * 3``; a carry updated in the body is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from jax.extend import core as jax_core

CALLS = ("jaxpr", "call_jaxpr", "fun_jaxpr")
LOOPS = ("scan", "while")


def inner_jaxpr(eqn):
    """The open jaxpr a call-like equation runs (None for loops and plain primitives)."""
    if eqn.primitive.name in LOOPS:
        return None
    inner = next((eqn.params[k] for k in CALLS if k in eqn.params), None)
    if inner is None:
        return None
    return inner.jaxpr if hasattr(inner, "jaxpr") else inner


def live(jaxpr, live_out: Sequence[bool] | None = None) -> tuple[list[bool], list[bool]]:
    """Which equations of ``jaxpr`` are live and which of its inputs are read, given which of
    its outputs are used (all when None)."""
    flags, used = live_vars(jaxpr, live_out)
    return flags, [v in used for v in jaxpr.invars]


def live_vars(jaxpr, live_out: Sequence[bool] | None = None) -> tuple[list[bool], set]:
    """Which equations of ``jaxpr`` are live, and the set of variables that are used."""
    if live_out is None:
        live_out = [True] * len(jaxpr.outvars)
    used = {v for v, keep in zip(jaxpr.outvars, live_out)
            if keep and isinstance(v, jax_core.Var)}
    flags = [False] * len(jaxpr.eqns)
    for i in range(len(jaxpr.eqns) - 1, -1, -1):
        eqn = jaxpr.eqns[i]
        outs = [isinstance(v, jax_core.Var) and v in used for v in eqn.outvars]
        if not any(outs) and not eqn.effects:
            continue
        flags[i] = True
        for v, read in zip(eqn.invars, inputs_read(eqn, outs)):
            if read and isinstance(v, jax_core.Var):
                used.add(v)
    return flags, used


def inputs_read(eqn, outs: list[bool]) -> list[bool]:
    """Which inputs of ``eqn`` the computation of its used outputs ``outs`` reads."""
    inner = inner_jaxpr(eqn)
    if inner is not None and len(inner.invars) == len(eqn.invars) and not eqn.effects:
        return live(inner, outs)[1]
    if eqn.primitive.name == "scan" and not eqn.effects:
        return _scan_reads(eqn, outs)
    if eqn.primitive.name == "while" and not eqn.effects:
        return _while_reads(eqn)
    if eqn.primitive.name == "cond" and not eqn.effects:
        read = [False] * (len(eqn.invars) - 1)
        for branch in eqn.params["branches"]:
            read = [a or b for a, b in zip(read, live(branch.jaxpr, outs)[1])]
        return [True, *read]
    return [True] * len(eqn.invars)


def _scan_reads(eqn, outs: list[bool]) -> list[bool]:
    """The inputs of a ``scan`` that JAX's own dead-code rule keeps for the used ``outs``."""
    try:
        from jax._src.interpreters import partial_eval as pe  # JAX's rule, not public API

        used_inputs, _ = pe.dce_rules[eqn.primitive](list(outs), eqn)
    except (ImportError, AttributeError, KeyError):  # another JAX: every input is read
        return [True] * len(eqn.invars)
    return list(used_inputs)


def _while_reads(eqn) -> list[bool]:
    """The inputs of a ``while``: every carry, and the constants its condition or body reads."""
    p = eqn.params
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    cond_in = live(p["cond_jaxpr"].jaxpr)[1][:cn]
    body_in = live(p["body_jaxpr"].jaxpr)[1][:bn]
    return [*cond_in, *body_in, *[True] * (len(eqn.invars) - cn - bn)]
