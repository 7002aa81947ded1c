r"""The closed-form cost of one training step: forward, loss, ``value_and_grad``, optax update.

``train_cost(model, "B, 32*h, 32*w, 3", optimizer="adam", labels=True)`` traces the step that
``symconv bench --train`` runs (:mod:`.steps`: ``nnx.value_and_grad`` of the loss, then
``nnx.Optimizer.update``; batch norm in training mode, its running statistics kept) as *one*
jaxpr and prices it with the tracer's walker, so the total is what XLA's ``cost_analysis()`` of
the same jitted step counts. Every priced op then goes to one of four parts, by the data flow
between the step's top-level equations — a partition, so the parts sum to the total exactly:

- **forward**: the ancestors of the loss and of the model's non-parameter state (batch-norm
  running statistics);
- **backward**: the other ancestors of the gradients. Residuals computed in the forward pass
  only for the backward one (a ReLU's mask, $1/p$ of the loss's log) are backward work. A
  backward equation is **input gradient** when its result flows into a backward equation of
  *another* module (it carries the cotangent on towards the input), else **weight gradient**
  (it feeds only this module's parameter gradients). Work both need (batch norm's
  $\sum g \hat x$) counts as input gradient. The first layer has no input gradient: the step
  never differentiates with respect to the data, so JAX does not compute it;
- **optimizer**: the rest (the optax update), each equation attributed to the module whose
  parameters it updates (the data flow into the new parameters); work shared by all of them
  (the step count, Adam's bias corrections) to the row ``(optimizer)``.

Checked against XLA (``tests/test_train_cost.py``): the total equals ``cost_analysis()`` of the
jitted step, the forward part that of the forward pass and loss alone, the optimizer part that
of ``nnx.Optimizer.update`` alone.

An equation's module is its innermost name scope that is a module path of the model, without
differentiation's ``jvp(...)`` and ``transpose(...)`` (:func:`~.walker.scope_path`; scopes that
libraries open inside a module, such as ``jnp.einsum``'s, are not modules); the loss's scope is
``loss``. JAX cannot
differentiate a strided convolution over an arbitrary symbolic side, so the closed form holds
over the sides as written: write them as the model accepts them (``32*h`` for five stride-2
stages, or a residue class ``32*h + 5``); :attr:`TrainCost.domain` says which.

>>> import jax.numpy as jnp
>>> params = {"w": jnp.zeros((8, 4))}
>>> tc = train_cost(lambda p, x: jnp.mean((x @ p["w"]) ** 2), "N, 8", params=params)
>>> tc.total("forward"), tc.total("backward_weights"), tc.total("optimizer")
(72*N, 72*N, 128)
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import sympy as sp

from symconv.algebra.arith import out
from symconv.checks import xla
from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace import inputs as inp
from symconv.checks.trace import models
from symconv.checks.trace.result import OpCost, TraceResult
from symconv.checks.trace.rng import key_constraints
from symconv.checks.trace.rules import Shapes, Unpriced
from symconv.checks.trace.steps import OPTIMIZERS, SHARED, _module_of, setup
from symconv.checks.trace.walker import Walker, scope_path
from symconv.errors import ShapeMismatchError, SymconvError

PARTS = ("forward", "backward_input", "backward_weights", "optimizer")


@dataclasses.dataclass(frozen=True)
class TrainRow:
    """One module's share of the step (SymPy expressions or ints), and its parameters."""

    path: str
    params: Any
    forward: Any
    backward_input: Any
    backward_weights: Any
    optimizer: Any

    @property
    def total(self) -> Any:
        """forward + backward input + backward weights + optimizer."""
        return out(self.forward + self.backward_input + self.backward_weights + self.optimizer)


@dataclasses.dataclass(frozen=True)
class TrainCost:
    """Every priced op of the step (``result``, paths as attributed) with its part (``parts``).

    ``domain`` says where the closed forms hold; ``optimizer`` and ``loss`` what was traced.
    ``key_constraints``: the sharding constraints JAX's lowering puts on PRNG keys crossing the
    jit boundary (a model with random state, e.g. dropout: one per key argument used, one per key
    returned); XLA's cost analysis counts each as $-1$ FLOP (measured, jax 0.10), which
    ``figure="xla"`` reproduces. They are no work: the true figure leaves them out.
    """

    result: TraceResult
    parts: tuple[str, ...]
    optimizer: str
    loss: str
    domain: str
    key_constraints: int = 0

    def part(self, part: str | None) -> TraceResult:
        """The trace restricted to one part (None: the whole step)."""
        if part is None:
            return self.result
        if part not in PARTS:
            raise SymconvError(f"unknown part {part!r}: choose one of {PARTS}")
        ops = tuple(op for op, p in zip(self.result.ops, self.parts) if p == part)
        return dataclasses.replace(self.result, ops=ops, loops=())

    def total(self, part: str | None = None, attr: str = "flops") -> Any:
        r"""$\sum$ ``attr`` over the ops of ``part`` (None: the whole step, loops at their trip
        count)."""
        return self.part(part).total(attr)

    def at(self, values: Mapping[str, int], part: str | None = None, attr: str = "flops",
           figure: str = "true") -> int:
        """The closed form of ``part`` (None: the step) at concrete sizes; ``figure="xla"`` is
        what ``cost_analysis()`` reports for the whole step: each loop charged once, and
        :attr:`key_constraints` FLOPs less."""
        if part is not None or figure != "xla":
            return self.part(part).at(values, attr, "true" if part is not None else figure)
        return self.result.at(values, attr, "xla") - (self.key_constraints
                                                       if attr == "flops" else 0)

    def by_module(self, depth: int | None = None) -> list[TrainRow]:
        """One :class:`TrainRow` per module path (truncated to ``depth`` components), in the
        order the step first touches them; the shared optimizer work last."""
        sums: dict[str, dict[str, list]] = {}
        for op, p in zip(self.result.ops, self.parts):
            key = op.path if op.path == SHARED else _truncate(op.path, depth)
            sums.setdefault(key, {q: [] for q in PARTS})[p].append(op.flops)
        params: dict[str, Any] = {}
        for path, n in self.result.params.items():
            key = _truncate(path, depth)
            params[key] = params.get(key, 0) + n
        keys = sorted(sums, key=lambda k: k == SHARED)
        return [TrainRow(k or "(top)", out(params.get(k, 0)),
                         *(out(sp.Add(*sums[k][q])) for q in PARTS)) for k in keys]


def train_cost(model: Any, input_shape: str | Sequence, *, loss: str | Callable = "auto",
               optimizer: str = "sgd", labels: bool | str | Sequence | None = None,
               learning_rate: float = 1e-3, params: Any = None, dtype: Any = jnp.float32,
               constraints: Sequence[str] = (),
               factory_args: Mapping[str, Any] | None = None) -> TrainCost:
    """Trace one training step of ``model`` on a batch of ``input_shape`` and price it per part
    and per module (see the module doc).

    ``model``: an ``nnx.Module`` (or a factory with ``factory_args``), or a loss function
    ``fn(params, batch[, labels])`` with ``params``. ``optimizer``: ``"sgd"`` (momentum 0.9, the
    default of ``symconv bench --train``), ``"adam"`` or ``"adamw"``. ``loss``: ``"auto"``
    (cross-entropy of the softmax output when there are labels, as ``bench`` does for the
    built-in classifiers, else the mean squared output), ``"cross_entropy"``,
    ``"softmax_cross_entropy"`` (of logits), ``"mse"`` or ``fn(outputs, labels) -> scalar``.
    ``labels``: True for one int32 label per example, or a shape such as ``"B:int32"``.
    """
    if optimizer not in OPTIMIZERS:
        raise SymconvError(f"unknown optimizer {optimizer!r}: choose one of {OPTIMIZERS}")
    spec = inp.parse_input(input_shape, dtype)
    where = inp.scope(constraints)
    shape = inp.shape_of(spec, where)
    if not shape:
        raise SymconvError("the batch must have a leading batch dimension, e.g. 'B, H, W, 3'")
    x = jax.ShapeDtypeStruct(shape, spec.dtype)
    y = None
    if labels is True:
        y = jax.ShapeDtypeStruct((shape[0],), jnp.int32)
    elif labels not in (None, False):
        lab = inp.parse_input(labels, jnp.int32)
        y = jax.ShapeDtypeStruct(inp.shape_of(lab, where), lab.dtype)
    if factory_args is not None:
        model = models.build(model, factory_args, where)
    step = setup(model, x, y, loss=loss, optimizer_kind=optimizer,
                 learning_rate=learning_rate, params=params)
    closed, tree = _jaxpr(step.fn, step.args, spec)
    names = sorted({n for a in (x, y) if a is not None for d in a.shape
                    if not isinstance(d, int) for n in _dim_names(d)})
    symbols = {n: sp.Symbol(n, integer=True, positive=True) for n in names}
    shapes = Shapes(symbols)
    walker = Walker(shapes)
    walker.known = step.modules
    try:
        walker.walk(closed.jaxpr, "", [False] * len(closed.jaxpr.invars), consts=closed.consts)
    except Unpriced as e:  # pragma: no cover (the walker reports configurations itself)
        walker.unknown[str(e)] += 1
    ops, parts = _attribute(closed.jaxpr, tree, walker)
    param_counts = {path: out(sp.Add(*[sp.Mul(*[dim_to_sympy(d, symbols) for d in s])
                                       for s in leaf_shapes]))
                    for path, leaf_shapes in step.params.items()}
    dims = tuple(dim_to_sympy(d, symbols) for d in shape)
    result = TraceResult(tuple(ops), dict(walker.unknown), param_counts, symbols, dims, (),
                         tuple(shapes.conds.items), tuple(walker.loops), ((None, dims),))
    domain = (f"every batch of shape ({', '.join(map(str, dims))})"
              + (f" with {', '.join(map(str, symbols.values()))} positive integers"
                 if symbols else "")
              + "".join(f"; {c}" for c in shapes.conds.items))
    return TrainCost(result, tuple(parts), optimizer,
                     loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
                     domain, key_constraints(closed.jaxpr, sum(
                         len(jax.tree.leaves(t)) for t in tree[:2]), closed.consts))


def _jaxpr(fn: Callable, args: tuple, spec: inp.InputSpec) -> tuple[Any, Any]:
    shown = spec.shape if isinstance(spec.shape, str) else ", ".join(map(str, spec.shape))
    try:
        with xla.cheap_tracer_errors():  # errors are reported in one line below
            return jax.make_jaxpr(fn, return_shape=True)(*args)
    except SymconvError:
        raise
    except Exception as e:
        strided = ("write the side as the model accepts it, e.g. 32*h for five stride-2 stages "
                   "(or a residue class, 32*h + 5): JAX cannot differentiate a strided "
                   "convolution over an arbitrary symbolic side")
        if type(e).__name__ == "InconclusiveDimensionOperation":
            raise SymconvError(f"differentiating on ({shown}): {inp.constraint_hint(e)}; or "
                               f"{strided}") from None
        if "floordiv" in str(e) or "mod(" in str(e):
            raise SymconvError(f"differentiating on ({shown}): {strided}") from None
        raise ShapeMismatchError(f"the training step rejects a batch of shape {shown}: "
                                 f"{type(e).__name__}: {inp.first_line(e)}") from None


def _attribute(jaxpr: Any, tree: Any, walker: Walker) -> tuple[list[OpCost], list[str]]:
    """Each walked op with its part, optimizer ops re-pathed to the module they update."""
    new_params = tree[3]
    counts = [len(jax.tree.leaves(t)) for t in tree]
    outs = list(jaxpr.outvars)
    start = [sum(counts[:i]) for i in range(len(counts))]
    is_var = [not hasattr(v, "val") for v in outs]
    roots = [v for i, v in enumerate(outs)
             if is_var[i] and (i == start[1] or start[4] <= i < start[4] + counts[4])]
    grad_vars = [v for i, v in enumerate(outs[start[2]:start[3]]) if is_var[start[2] + i]]
    owner_of_out: dict[Any, str] = {}
    for (path, _), v, var in zip(jax.tree_util.tree_flatten_with_path(new_params)[0],
                                 outs[start[3]:start[4]], is_var[start[3]:start[4]]):
        if var:
            owner_of_out[v] = _module_of(path)
    eqns = jaxpr.eqns
    producer = {v: i for i, e in enumerate(eqns) for v in e.outvars}
    forward = _ancestors(roots, eqns, producer)
    backward = _ancestors(grad_vars, eqns, producer) - forward
    consumers: list[list[int]] = [[] for _ in eqns]
    for i, e in enumerate(eqns):
        for v in _vars(e.invars):
            if v in producer:
                consumers[producer[v]].append(i)
    path = [scope_path(str(e.source_info.name_stack), "", walker.known) for e in eqns]
    to_input = [False] * len(eqns)
    owner: list[str | None] = [None] * len(eqns)
    for i in reversed(range(len(eqns))):
        if i in backward:
            to_input[i] = any(j in backward and (path[j] != path[i] or to_input[j])
                              for j in consumers[i])
        elif i not in forward:
            found = {owner_of_out[v] for v in _vars(eqns[i].outvars) if v in owner_of_out}
            found |= {owner[j] for j in consumers[i] if owner[j] is not None}
            owner[i] = found.pop() if len(found) == 1 else SHARED if found else None
    index = {id(e): i for i, e in enumerate(eqns)}
    marks = [*walker.marks, (len(walker.ops), None)]
    ops, parts = [], []
    for (first, eqn), (end, _) in itertools.pairwise(marks):
        i = index[id(eqn)]
        part = ("forward" if i in forward else
                ("backward_input" if to_input[i] else "backward_weights") if i in backward
                else "optimizer")
        for op in walker.ops[first:end]:
            if part == "optimizer":
                op = dataclasses.replace(op, path=owner[i] or SHARED)
            ops.append(op)
            parts.append(part)
    return ops, parts


def _ancestors(vars_: Sequence, eqns: Sequence, producer: Mapping) -> set[int]:
    seen: set[int] = set()
    todo = [producer[v] for v in _vars(vars_) if v in producer]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        todo.extend(producer[v] for v in _vars(eqns[i].invars) if v in producer)
    return seen


def _vars(atoms: Sequence) -> list:
    """The variables among a jaxpr's atoms (literals are not hashable)."""
    return [v for v in atoms if not hasattr(v, "val")]


def _truncate(path: str, depth: int | None) -> str:
    return path if depth is None or not path else ".".join(path.split(".")[:depth])


def _dim_names(d: Any) -> list[str]:
    return [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
            if n not in ("floordiv", "mod", "max", "min", "non_negative")]

