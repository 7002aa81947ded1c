r"""The jaxpr walk: every equation priced by :mod:`.rules` and attributed to its module path.

It descends into ``jit``, ``custom_jvp_call``, ``custom_vjp_call`` and ``remat``; work on
constants only (literals, ``dim_as_value``) is free, as XLA folds it at concrete shapes; a
``cond`` costs its most expensive branch (XLA's rule). Loops (``scan``, ``while``) are priced by
:mod:`.loops` at their true trip count, XLA's own once-per-body figure kept beside it.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import sympy as sp
from jax.extend import core as jax_core

from symconv.algebra.arith import out
from symconv.checks.trace import loops
from symconv.checks.trace.result import QUANTITIES, OpCost
from symconv.checks.trace.rules import CALLS, FREE, Shapes, price


class Walker:
    """Walks one closed jaxpr, collecting :class:`OpCost` rows and unknown primitive names."""

    def __init__(self, shapes: Shapes):
        self.shapes = shapes
        self.ops: list[OpCost] = []
        self.unknown: collections.Counter = collections.Counter()
        self.loops: list = []  # LoopCost of each loop walked (.loops)
        self.whiles = [0]  # data-dependent while loops so far, shared with sub-walkers

    def walk(self, jaxpr, prefix: str, const_in: Sequence[bool]) -> list[bool]:
        """Price every equation of ``jaxpr``; returns which outputs depend on constants only."""
        const = {}
        for v, c in zip(jaxpr.invars, const_in):
            const[v] = c
        for v in jaxpr.constvars:
            const[v] = True

        def is_const(atom):
            return isinstance(atom, jax_core.Literal) or const.get(atom, False)

        for eqn in jaxpr.eqns:
            stack = str(eqn.source_info.name_stack)
            path = stack.split("/")[-1] if stack else prefix
            name = eqn.primitive.name
            ins_const = [is_const(v) for v in eqn.invars]
            if name == "cond":
                self.cond(eqn, path, [is_const(v) for v in eqn.invars[1:]])
                for v in eqn.outvars:
                    const[v] = False
                continue
            if name in ("scan", "while"):
                loops.price_loop(self, eqn, path, ins_const, jaxpr)
                for v in eqn.outvars:
                    const[v] = False
                continue
            inner = next((eqn.params[k] for k in CALLS if k in eqn.params), None)
            if inner is not None:
                inner_jaxpr = inner.jaxpr if hasattr(inner, "jaxpr") else inner
                outs = self.walk(inner_jaxpr, path, ins_const)
                for v, c in zip(eqn.outvars, outs):
                    const[v] = c
                continue
            all_const = name == "dim_as_value" or (bool(eqn.invars) and all(ins_const))
            for v in eqn.outvars:
                const[v] = all_const
            if all_const or name in FREE:
                continue
            cost = price(eqn, self.shapes)
            if cost is None:
                self.unknown[name] += 1
            else:
                self.add(path, name, eqn.outvars[0].aval, cost)
        return [is_const(v) for v in jaxpr.outvars]

    def cond(self, eqn, path: str, const_in: list[bool]) -> None:
        """XLA prices a conditional as its most expensive branch (each quantity apart)."""
        costs = []
        for branch in eqn.params["branches"]:
            sub = Walker(self.shapes.fork())
            sub.walk(branch.jaxpr, path, const_in)
            self.unknown.update(sub.unknown)
            costs.append([out(sp.Add(*[getattr(o, a) for o in sub.ops])) for a in QUANTITIES])
        best = [out(sp.Max(*col)) if len(col) > 1 else col[0] for col in zip(*costs)]
        self.ops.append(OpCost(path, "cond", self.shapes.shape(eqn.outvars[0].aval), *best))

    def add(self, path: str, name: str, aval, cost) -> None:
        self.ops.append(OpCost(path, name, self.shapes.shape(aval), *(out(c) for c in cost)))
