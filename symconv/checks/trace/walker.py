r"""The jaxpr walk: every live equation priced by :mod:`.rules` and attributed to its module path.

It descends into ``jit``, ``custom_jvp_call``, ``custom_vjp_call`` and ``remat``. What XLA does
not count, the walk does not count:

- dead code (:mod:`.liveness`): equations whose results are never used;
- work on constants only, where XLA folds it (elementwise and shape ops, not reductions, dots
  or random numbers), and the identities $x \cdot 1$, $x + 0$, $x - 0$ with a splat constant
  (:mod:`.folding`); constants are literals, closed-over arrays and ``dim_as_value``, never
  arguments (so parameters handed in as arguments, the NNX path, are counted), and they do not
  cross into a ``jit`` body (lowered as a function of its own);
- a ``cond`` costs its most expensive branch (XLA's rule).

Loops (``scan``, ``while``) are priced by :mod:`.loops` at their true trip count, XLA's own
once-per-body figure kept beside it.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Sequence

import sympy as sp
from jax.extend import core as jax_core

from symconv.algebra.arith import out
from symconv.checks.trace import loops
from symconv.checks.trace.folding import PARTIAL, Constants, folds, is_identity
from symconv.checks.trace.indexing import window_pad
from symconv.checks.trace.liveness import LOOPS, inner_jaxpr, live_vars
from symconv.checks.trace.result import QUANTITIES, OpCost
from symconv.checks.trace.rules import FREE, Shapes, Unpriced, price

#: call primitives lowered inline, so constants flow into their bodies (``jit`` is not)
INLINED = {"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr", "remat", "remat2",
           "checkpoint"}


_TRANSFORMS = re.compile(r"^(?:\w+\()+|\)+$")


def scope_path(stack: str, prefix: str = "", known: frozenset[str] | None = None) -> str:
    """The module path of an equation's name stack: its innermost scope, without the transforms
    that differentiation wraps around it (``jvp(...)``, ``transpose(jvp(...))``); ``prefix`` when
    it has none. With ``known`` module paths, the innermost scope that is one of them (a scope
    a library opens inside a module, such as ``jnp.einsum``'s, is not a module).

    >>> scope_path("transpose(jvp(blocks.0))/blocks.0.conv"), scope_path("jvp()", "fc")
    ('blocks.0.conv', 'fc')
    >>> scope_path("jvp(attn)/BTNH,BSNH->BNTS", known=frozenset({"attn"}))
    'attn'
    """
    scopes = [_TRANSFORMS.sub("", part) for part in stack.split("/")] if stack else []
    if known is not None:
        return next((s for s in reversed(scopes) if s in known), prefix)
    return (scopes[-1] if scopes else "") or prefix


class Walker:
    """Walks one closed jaxpr, collecting :class:`OpCost` rows and unknown primitive names."""

    def __init__(self, shapes: Shapes):
        self.shapes = shapes
        self.ops: list[OpCost] = []
        self.unknown: collections.Counter = collections.Counter()
        self.loops: list = []  # LoopCost of each loop walked (.loops)
        self.whiles = [0]  # data-dependent while loops so far, shared with sub-walkers
        self.classes: list = []  # with walk(classify=...): the class of each op's equation
        #: (index in ``ops`` of its first row, equation) for each live top-level equation, so a
        #: caller can tell which rows an equation of the walked jaxpr produced (:mod:`.training`)
        self.marks: list[tuple[int, object]] = []
        self._depth = 0
        self.known: frozenset[str] | None = None  #: module paths, when scopes must be modules

    def walk(self, jaxpr, prefix: str, const_in: Sequence[bool],
             live_out: Sequence[bool] | None = None, consts: Sequence | None = None,
             values_in: Sequence | None = None,
             classify: Callable[[object], bool] | None = None) -> list[bool]:
        """Price every live equation of ``jaxpr``; returns which outputs are constants.

        ``const_in`` says which inputs are constants (``values_in`` their values where known),
        ``consts`` are the values of the jaxpr's ``constvars`` and ``live_out`` which outputs
        are used (all when None). With ``classify``, the class of the equation that issued each
        op (nested calls' ops take their call's) is appended to :attr:`classes`.
        """
        known = Constants()
        const = {}
        for i, (v, c) in enumerate(zip(jaxpr.invars, const_in)):
            const[v] = c
            if c and values_in is not None and values_in[i] is not None:
                known.set(v, values_in[i])
        for i, v in enumerate(jaxpr.constvars):
            const[v] = True
            if consts is not None and i < len(consts):
                known.set(v, consts[i])

        def is_const(atom):
            return isinstance(atom, jax_core.Literal) or const.get(atom, False)

        flags, used = live_vars(jaxpr, live_out)
        top = self._depth == 0
        self._depth += 1
        for eqn, is_live in zip(jaxpr.eqns, flags):
            if not is_live:
                continue
            if top:
                self.marks.append((len(self.ops), eqn))
            start = len(self.ops)
            self._eqn(eqn, prefix, known, const, is_const, used, jaxpr)
            if classify is not None:
                self.classes.extend([classify(eqn)] * (len(self.ops) - start))
        self._depth -= 1
        return [is_const(v) for v in jaxpr.outvars]

    def _eqn(self, eqn, prefix: str, known: Constants, const: dict, is_const, used: set,
             jaxpr) -> None:
        """Price one live equation of ``jaxpr`` (``const``: which variables are constants)."""
        path = scope_path(str(eqn.source_info.name_stack), prefix, self.known)
        name = eqn.primitive.name
        ins_const = [is_const(v) for v in eqn.invars]
        if name == "cond":
            self.cond(eqn, path, [is_const(v) for v in eqn.invars[1:]],
                      [v in used for v in eqn.outvars])
            for v in eqn.outvars:
                const[v] = False
            return
        if name in ("scan", "while"):
            loops.price_loop(self, eqn, path, ins_const, jaxpr)
            for v in eqn.outvars:
                const[v] = False
            return
        inner = inner_jaxpr(eqn)
        if inner is not None and name not in LOOPS:
            self.call(eqn, inner, path, ins_const, known, const,
                      [v in used for v in eqn.outvars])
            return
        all_const = name in ("dim_as_value", "iota") or (bool(eqn.invars) and all(ins_const))
        folded = all_const and folds(eqn, known, self.shapes.size)
        for v in eqn.outvars:
            const[v] = folded
        if folded:
            known.fold(eqn)
            return
        if name in FREE or is_identity(eqn, known) or window_pad(
                eqn, known.splat(eqn.invars[0]) if eqn.invars else None,
                len(ins_const) > 1 and ins_const[1]):
            return
        if all_const and name in PARTIAL:
            n = self.shapes.size(eqn.outvars[0].aval)
            self.add(path, name, eqn.outvars[0].aval,
                     (PARTIAL[name][0] * n, PARTIAL[name][1] * n, 0, 0))
            return
        try:
            cost = price(eqn, self.shapes, ins_const)
        except Unpriced as e:  # a known primitive in a configuration without a rule
            self.unknown[str(e)] += 1
            return
        if cost is None:
            self.unknown[name] += 1
        else:
            self.add(path, name, eqn.outvars[0].aval, cost)

    def call(self, eqn, inner, path: str, ins_const: list[bool], known: Constants,
             const: dict, outer_live: list[bool]) -> None:
        """Walk a call's body: constants flow in only where the call is lowered inline."""
        closed = next((eqn.params[k] for k in ("jaxpr", "call_jaxpr", "fun_jaxpr")
                       if k in eqn.params), None)
        consts = getattr(closed, "consts", None)
        if eqn.primitive.name in INLINED:
            values = [known.array(v) for v in eqn.invars]
            outs = self.walk(inner, path, ins_const, outer_live, consts, values)
        else:
            self.walk(inner, path, [False] * len(eqn.invars), outer_live, consts)
            outs = [False] * len(eqn.outvars)
        for v, c in zip(eqn.outvars, outs):
            const[v] = c

    def sub(self) -> Walker:
        """A walker for a body walked apart (a branch, a loop body): same shapes scope forked,
        same known module paths."""
        sub = type(self)(self.shapes.fork())
        sub.known = self.known
        return sub

    def cond(self, eqn, path: str, const_in: list[bool], outer_live: list[bool]) -> None:
        """XLA prices a conditional as its most expensive branch (each quantity apart)."""
        costs = []
        for branch in eqn.params["branches"]:
            sub = self.sub()
            sub.walk(branch.jaxpr, path, const_in, outer_live, branch.consts)
            self.unknown.update(sub.unknown)
            costs.append([out(sp.Add(*[getattr(o, a) for o in sub.ops])) for a in QUANTITIES])
        best = [out(sp.Max(*col)) if len(col) > 1 else col[0] for col in zip(*costs)]
        self.ops.append(OpCost(path, "cond", self.shapes.shape(eqn.outvars[0].aval), *best))

    def add(self, path: str, name: str, aval, cost) -> None:
        self.ops.append(OpCost(path, name, self.shapes.shape(aval), *(out(c) for c in cost)))
