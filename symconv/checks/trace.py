r"""Closed-form cost of any JAX function or Flax NNX model: walk its jaxpr with symbolic dims.

``trace(model, "B, H, W, 3")`` traces the model with ``jax.make_jaxpr`` on an input whose
dimensions may be symbolic (``jax.export.symbolic_shape``), then walks every equation —
descending into ``jit``, ``custom_jvp_call``, ``custom_vjp_call`` and ``remat`` — and prices it
as XLA's HLO cost analysis does:

- ``conv_general_dilated``: $2 B \frac{C_{in}}{G} C_{out} \prod_{axes} T$ FLOPs with $T$ the
  taps on real input (:mod:`symconv.algebra.taps`), also reported as exact and dense MACs;
- ``dot_general``: $2 \times$ batch $\times$ contracting $\times$ free dims;
- elementwise arithmetic, comparisons, selects and conversions: one FLOP per output element;
  exponentials, logarithms, square roots, ``tanh``, ``erf``: one *transcendental* per element;
- reductions: input minus output elements; ``reduce_window`` (pooling): $(\text{window} - 1)$ per
  output element; reshapes, broadcasts, slices, concatenation, padding: free;
- work on constants only (literals, ``dim_as_value``) is free: XLA folds it at concrete shapes;
- ``cond``: its most expensive branch (XLA's rule). Loops (``scan``, ``while``) are not priced
  yet: XLA charges a loop body once, whatever the trip count, and they are reported as unknown.

A primitive without a rule is reported by name in ``unknown`` and the result is marked
incomplete; it is never silently counted as zero. Each equation is attributed to the NNX module
that issued it (its path, e.g. ``blocks.3.0``), and parameters are summed per module from
``nnx.state``.
"""

from __future__ import annotations

import collections
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.extend import core as jax_core
import numpy as np
import sympy as sp
from flax import nnx

from symconv.checks.dims import dim_to_sympy
from symconv.algebra.arith import Conditions, is_concrete, out
from symconv.algebra.tidy import tidy
from symconv.algebra.padding import same_pads
from symconv.algebra.pooling import reduce_window_flops
from symconv.algebra.taps import lhs_dilated_taps, missed_taps
from symconv.errors import ShapeMismatchError, SymconvError

TRANSCENDENTAL = {"exp", "log", "tanh", "sqrt", "rsqrt", "erf", "erf_inv", "log1p", "expm1",
                  "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh",
                  "acosh", "atanh", "cbrt", "lgamma", "digamma"}
ELEMENTWISE = {"add", "sub", "mul", "div", "max", "min", "neg", "abs", "sign", "floor", "ceil",
               "round", "convert_element_type", "gt", "ge", "lt", "le", "eq", "ne", "select_n",
               "and", "or", "not", "xor", "square", "nextafter", "is_finite", "add_any"}
FREE = {"reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims", "concatenate",
        "slice", "dynamic_slice", "dynamic_update_slice", "pad", "rev", "copy", "copy_p", "iota",
        "stop_gradient", "dim_as_value", "gather", "split", "sharding_constraint",
        "optimization_barrier"}
REDUCE = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
          "argmax", "argmin"}
CALLS = ("jaxpr", "call_jaxpr", "fun_jaxpr")


@dataclass(frozen=True, slots=True)
class OpCost:
    """One priced equation."""

    path: str
    primitive: str
    out_shape: tuple
    flops: Any
    transcendentals: Any = 0
    macs_exact: Any = 0
    macs_dense: Any = 0


@dataclass(frozen=True, slots=True)
class ModuleCost:
    path: str
    params: int
    flops: Any
    transcendentals: Any
    macs_exact: Any
    macs_dense: Any
    out_shape: tuple | None


@dataclass(frozen=True)
class TraceResult:
    """Every priced op, the unknown primitives, parameters per module, and the symbols."""

    ops: tuple[OpCost, ...]
    unknown: dict[str, int]
    params: dict[str, int]
    symbols: dict[str, sp.Symbol]
    input_shape: tuple
    output_shape: tuple
    conditions: tuple = ()

    @property
    def complete(self) -> bool:
        return not self.unknown

    def total(self, attr: str = "flops"):
        return out(sp.Add(*[getattr(op, attr) for op in self.ops])) if self.ops else 0

    @property
    def totals(self) -> dict:
        return {a: self.total(a) for a in ("flops", "transcendentals", "macs_exact",
                                           "macs_dense")} | {"params": sum(self.params.values())}

    def at(self, values: Mapping[str, int], attr: str = "flops") -> int:
        """The total evaluated at concrete dimension values (names as in the input spec)."""
        missing = sorted(set(self.symbols) - set(values))
        if missing:
            raise SymconvError(f"give a value for every dimension; missing {missing}")
        subs = {self.symbols[k]: v for k, v in values.items() if k in self.symbols}
        value = sp.Integer(self.total(attr)) if isinstance(self.total(attr), int) else \
            self.total(attr).subs(subs)
        value = value.doit() if hasattr(value, "doit") else value
        if not value.is_Integer:
            raise SymconvError(f"total {attr} did not evaluate to an integer at {values}: {value}")
        return int(value)

    def by_module(self, depth: int | None = None) -> list[ModuleCost]:
        """Costs grouped by module path, truncated to ``depth`` components (None: full)."""
        groups: dict[str, list[OpCost]] = collections.OrderedDict()
        for op in self.ops:
            key = _truncate(op.path, depth)
            groups.setdefault(key, []).append(op)
        params: dict[str, int] = collections.Counter()
        for path, n in self.params.items():
            params[_truncate(path, depth)] += n
        rows = []
        for key, ops in groups.items():
            rows.append(ModuleCost(
                key or "(top)", params.get(key, 0),
                *(out(sp.Add(*[getattr(o, a) for o in ops])) for a in
                  ("flops", "transcendentals", "macs_exact", "macs_dense")),
                ops[-1].out_shape))
        for key, n in params.items():
            if key not in groups and n:
                rows.append(ModuleCost(key or "(top)", n, 0, 0, 0, 0, None))
        return rows


def _truncate(path: str, depth: int | None) -> str:
    if depth is None or not path:
        return path
    return ".".join(path.split(".")[:depth])


# --------------------------------------------------------------------------------------------
# Module paths: each NNX module's __call__ runs inside jax.named_scope(<its path>) while traced.

@contextlib.contextmanager
def _module_scopes(root: nnx.Module):
    paths = {}
    for path, node in nnx.iter_graph(root):
        if isinstance(node, nnx.Module) and path:
            paths.setdefault(id(node), ".".join(str(p) for p in path))
    classes = {type(node) for _, node in nnx.iter_graph(root) if isinstance(node, nnx.Module)}
    patched = []
    for cls in classes:
        if not callable(getattr(cls, "__call__", None)):
            continue
        original = cls.__call__
        own = "__call__" in cls.__dict__

        def wrapper(self, *args, __original=original, **kwargs):
            name = paths.get(id(self))
            scope = jax.named_scope(name) if name else contextlib.nullcontext()
            with scope:
                return __original(self, *args, **kwargs)

        cls.__call__ = wrapper
        patched.append((cls, original, own))
    try:
        yield
    finally:
        for cls, original, own in patched:
            if own:
                cls.__call__ = original
            else:
                del cls.__call__


def _param_paths(model: nnx.Module) -> dict[str, int]:
    counts: dict[str, int] = collections.Counter()
    leaves = jax.tree_util.tree_flatten_with_path(nnx.state(model, nnx.Param))[0]
    for path, leaf in leaves:
        keys = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path]
        keys = [k for k in keys if k != "value"]
        counts[".".join(keys[:-1])] += int(np.prod(leaf.shape))
    return dict(counts)


# --------------------------------------------------------------------------------------------

class _Walker:
    def __init__(self, symbols: dict[str, sp.Symbol]):
        self.symbols = symbols
        self.ops: list[OpCost] = []
        self.unknown: collections.Counter = collections.Counter()
        self.conds = Conditions()
        self._dims: dict[str, Any] = {}

    def dim(self, d):
        key = str(d)
        if key not in self._dims:
            self._dims[key] = tidy(dim_to_sympy(d, self.symbols))
        return self._dims[key]

    def shape(self, aval) -> tuple:
        return tuple(self.dim(d) for d in getattr(aval, "shape", ()))

    def size(self, aval):
        return out(sp.Mul(*self.shape(aval))) if self.shape(aval) else 1

    def walk(self, jaxpr, prefix: str, const_in: Sequence[bool]) -> list[bool]:
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
            inner = next((eqn.params[k] for k in CALLS if k in eqn.params), None)
            if inner is not None and name not in ("scan", "while"):
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
            self.price(eqn, name, path)
        return [is_const(v) for v in jaxpr.outvars]

    def cond(self, eqn, path: str, const_in: list[bool]) -> None:
        """XLA prices a conditional as its most expensive branch (each quantity apart)."""
        costs = []
        for branch in eqn.params["branches"]:
            sub = _Walker(self.symbols)
            sub._dims = self._dims
            sub.walk(branch.jaxpr, path, const_in)
            self.unknown.update(sub.unknown)
            costs.append([out(sp.Add(*[getattr(o, a) for o in sub.ops])) for a in
                          ("flops", "transcendentals", "macs_exact", "macs_dense")])
        best = [out(sp.Max(*col)) if len(col) > 1 else col[0] for col in zip(*costs)]
        self.ops.append(OpCost(path, "cond", self.shape(eqn.outvars[0].aval), *best))

    def add(self, path, name, aval, flops=0, trans=0, exact=0, dense=0):
        self.ops.append(OpCost(path, name, self.shape(aval), out(flops), out(trans), out(exact),
                               out(dense)))

    def price(self, eqn, name: str, path: str) -> None:
        o = eqn.outvars[0].aval
        n = self.size(o)
        if name in ELEMENTWISE:
            self.add(path, name, o, flops=n)
        elif name in TRANSCENDENTAL:
            self.add(path, name, o, trans=n)
        elif name == "exp2":
            self.add(path, name, o, flops=n, trans=n)
        elif name == "logistic":
            self.add(path, name, o, flops=3 * n, trans=n)
        elif name == "integer_pow":
            y = abs(int(eqn.params["y"]))
            muls = max(0, y.bit_length() - 1 + bin(y).count("1") - 1)
            self.add(path, name, o, flops=muls * n)
        elif name == "clamp":
            self.add(path, name, o, flops=2 * n)
        elif name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
                      "reduce_or"):
            self.add(path, name, o, flops=self.size(eqn.invars[0].aval) - n)
        elif name in ("reduce_window_sum", "reduce_window_max", "reduce_window_min"):
            pads = [tuple(self.dim(v) for v in pair) for pair in eqn.params["padding"]]
            self.add(path, name, o, flops=reduce_window_flops(
                self.shape(o), eqn.params["window_dimensions"], pads))
        elif name == "dot_general":
            self.add(path, name, o, *self.dot(eqn))
        elif name == "conv_general_dilated":
            self.add(path, name, o, *self.conv(eqn))
        else:
            self.unknown[name] += 1

    def dot(self, eqn):
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        lhs = self.shape(eqn.invars[0].aval)
        contracting = out(sp.Mul(*[lhs[i] for i in lc]))
        macs = out(self.size(eqn.outvars[0].aval) * contracting)
        return 2 * macs, 0, macs, macs

    def conv(self, eqn):
        p = eqn.params
        dn = p["dimension_numbers"]
        lhs, rhs = self.shape(eqn.invars[0].aval), self.shape(eqn.invars[1].aval)
        res = self.shape(eqn.outvars[0].aval)
        if p["batch_group_count"] != 1:
            raise _Unknown("conv_general_dilated (batch_group_count > 1)")
        g = p["feature_group_count"]
        batch, cin, cout = lhs[dn.lhs_spec[0]], lhs[dn.lhs_spec[1]], rhs[dn.rhs_spec[0]]
        taps_exact, taps_dense = 1, 1
        for i in range(len(dn.lhs_spec) - 2):
            nin = lhs[dn.lhs_spec[2 + i]]
            nout = res[dn.out_spec[2 + i]]
            k = rhs[dn.rhs_spec[2 + i]]
            s, l, d = p["window_strides"][i], p["lhs_dilation"][i], p["rhs_dilation"][i]
            lo, hi = (self.dim(v) for v in p["padding"][i])
            taps_exact *= self.axis_taps(nin, nout, k, s, l, d, lo, hi)
            taps_dense *= nout * k
        per = out(batch * (cin // g if is_concrete(cin, g) else cin / g) * cout)
        exact = out(sp.expand(per * taps_exact))
        return 2 * exact, 0, exact, out(per * taps_dense)

    def axis_taps(self, n, o, k, s, l, d, lo, hi):
        from symconv.algebra.conv import conv_axis

        if l != 1:
            if s != 1:
                raise _Unknown("conv_general_dilated (input dilation with stride > 1)")
            return lhs_dilated_taps(n, k, l, d, lo, hi, self.conds)
        if is_concrete(lo, hi):
            return conv_axis("conv", "axis", n, k, s, d, (lo, hi), self.conds).taps
        if is_concrete(k, s, d) and _is_same(lo, hi, n, k, s, d):
            return conv_axis("conv", "axis", n, k, s, d, "SAME", self.conds).taps
        ext = d * (k - 1) + 1
        r = sp.Mod(n + lo + hi - ext, s)
        return out(o * k - missed_taps(lo, k, s, d, o) - missed_taps(hi - r, k, s, d, o))


class _Unknown(Exception):
    pass


def _is_same(lo, hi, n, k, s, d) -> bool:
    """Whether JAX's symbolic padding is XLA's 'SAME' split for this axis.

    Proven when the expanded differences are 0; otherwise checked at the first 64 sizes
    (``n`` depends on one symbol) — the agreement tests against XLA cover the result.
    """
    want = same_pads(n, k, s, d)
    got = (tidy(lo), tidy(hi))
    if all(sp.expand(a - b) == 0 for a, b in zip(got, want)):
        return True
    syms = sorted(n.free_symbols, key=str) if isinstance(n, sp.Basic) else []
    if len(syms) != 1:
        return False
    f = sp.lambdify(syms, [got[0] - want[0], got[1] - want[1]], "math")
    return all(f(v) == [0, 0] for v in range(1, 65))


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
            with _module_scopes(merged):
                return merged(x)

        args = (abstract_state, x)
        params = _param_paths(model)
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
    walker = _Walker(symbols)
    nstate = len(jax.tree.leaves(args[0])) if len(args) == 2 else 0
    try:
        walker.walk(closed.jaxpr, "", [False] * (nstate + 1))
    except _Unknown as e:
        walker.unknown[str(e)] += 1
    outs = closed.out_avals
    out_shape = walker.shape(outs[0]) if outs else ()
    return TraceResult(tuple(walker.ops), dict(walker.unknown), params, symbols,
                       tuple(dim_to_sympy(d, symbols) for d in shape), out_shape,
                       tuple(walker.conds.items))


def _dim_names(d) -> list[str]:
    import re

    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
