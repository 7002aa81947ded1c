r"""The jaxpr walk of receptive fields: for every array, which of its axes carries each spatial
axis of the input, and the windows (:class:`~.fields.Paths`) between them.

Each input spatial axis $a$ of an array is an :class:`Entry`: :class:`Tied` to one of the
array's axes (position $t$ there reads the input pixels of ``paths.interval(t)``) or
:class:`Global` (every position may read every pixel, and the op that made it so). The rules:

- ``conv_general_dilated``: per spatial axis the window $(K, S, D, P_\text{lo}, u)$ with the
  kernel's $K$, the window stride $S$, ``rhs_dilation`` $D$, the low padding and
  ``lhs_dilation`` $u$ (a transposed convolution: $u - 1$ zeros between pixels), so
  $r' = r + (K - 1) D j$, $j' = j S / u$; channels and groups do not move the field;
- ``reduce_window*`` (pooling): the same with ``window_dimensions``, ``window_strides``,
  ``padding``, ``base_dilation`` ($u$), ``window_dilation`` ($D$);
- ``pad`` $(l, h, i)$: a one-tap window with $P = l$ (negative: a crop) and $u = i + 1$;
  ``slice`` (start $b$, stride $s$): $P = -b$, $S = s$; a ``gather`` that is a slice with
  starts computed from sizes (:mod:`.rfgather`) the same;
- ``reshape``: merging a spatial axis with the axes inside it (sizes multiplying to $u$) is a
  repetition, $u$ pixels per input pixel (nearest upsampling, depth-to-space: $j' = j/u$);
  splitting it into (outer, inner $= s$) is a window $K = S = s$ on the outer axis
  (space-to-depth); merging several spatial axes keeps each (a later split restores them);
- ``transpose``, ``broadcast_in_dim``, ``squeeze``: the axes move, the fields do not;
- elementwise ops, ``add``, ``select_n``, ``concatenate`` (not along a spatial axis): the
  union of the operands' paths (the hull, :class:`~.fields.Paths`);
- ``jax.image.resize`` (a ``jit`` named ``_resize``) by an integer factor $u$: nearest is a
  repetition; linear (half-pixel centres, the sample at $x = (t + \tfrac12)/u - \tfrac12$ reads
  $\lfloor x \rfloor .. \lceil x \rceil$) the window $K = 2u$, $S = 2$, $P = u - 1$ on an input
  repeated $2u$ times;
- *global*: a reduction, cumulative op, sort, gather or dot over an axis that carries a spatial
  axis (global pooling, a dense layer on a flattened map, attention, batch statistics in
  training mode), or an op without a rule on such an array.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp
from jax.extend import core as jax_core

from symconv.algebra.receptive import Window
from symconv.checks.trace.fields import Paths
from symconv.checks.trace.liveness import LOOPS, inner_jaxpr
from symconv.checks.trace.rfgather import as_slice, fold
from symconv.checks.trace.rules import Shapes


@dataclass(frozen=True)
class Tied:
    """Input spatial axis tied to array axis ``axis`` (None: a single position kept, e.g. a
    squeezed axis of size 1); ``part`` = (sizes, index) when several axes were merged."""

    axis: int | None
    paths: Paths
    part: tuple | None = None


@dataclass(frozen=True)
class Global:
    """Every position may read the whole input axis, because of ``op`` at module ``path``."""

    op: str
    path: str

    def __str__(self) -> str:
        return f"global ({self.op}{' in ' + self.path if self.path else ''})"


_SCOPE = re.compile(r"[A-Za-z0-9_.]+")  #: a module path (not a transform such as vmap(...))
Entry = Tied | Global
Deps = tuple[Entry, ...] | None  #: per input spatial axis; None: does not depend on the input
REDUCE = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
          "reduce_xor", "argmax", "argmin", "reduce_precision_sum"}
CUMULATIVE = {"cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"}
WINDOWED = {"conv_general_dilated", "reduce_window_sum", "reduce_window_max",
            "reduce_window_min", "reduce_window", "pad", "slice", "resize", "gather"}


@dataclass
class Row:
    """One windowed op (or the op that made a field global): its module path and result."""

    path: str
    op: str
    shape: tuple
    deps: Deps


def _remap(deps: Deps, where: dict[int, int | None]) -> Deps:
    """Move tied axes: array axis ``k`` -> ``where[k]`` (absent or None: a kept position)."""
    if deps is None:
        return None
    return tuple(replace(e, axis=where.get(e.axis)) if isinstance(e, Tied) and e.axis is not None
                 else e for e in deps)


def _globalize(deps: Deps, axes: set[int], op: str, path: str) -> Deps:
    if deps is None:
        return None
    return tuple(Global(op, path) if isinstance(e, Tied) and e.axis in axes else e
                 for e in deps)


def merge(all_deps: list[Deps], op: str, path: str) -> Deps:
    """Union of the operands' fields per input axis (the hull); a global one wins; the same
    input axis on two different array axes mixes positions: global."""
    present = [d for d in all_deps if d is not None]
    if not present:
        return None
    result = []
    for entries in zip(*present):
        glob = next((e for e in entries if isinstance(e, Global)), None)
        if glob is not None:
            result.append(glob)
            continue
        first = entries[0]
        if any(e.axis != first.axis or e.part != first.part for e in entries[1:]):
            result.append(Global(op, path))
            continue
        paths = first.paths
        for e in entries[1:]:
            if e.paths != paths:
                paths = paths.union(e.paths)
        result.append(replace(first, paths=paths))
    return tuple(result)


class Walker:
    """Walks a jaxpr, mapping each variable to its :data:`Deps`; windowed ops become rows."""

    def __init__(self, shapes: Shapes, top: str = ""):
        self.shapes = shapes
        self.rows: list[Row] = []
        self.unknown: dict[str, int] = {}
        self.top = top
        self.known: dict = {}  #: small constants (gather indices), :func:`.rfgather.fold`

    def walk(self, jaxpr: Any, ins: list[Deps], prefix: str = "") -> list[Deps]:
        env: dict[Any, Deps] = dict(zip(jaxpr.invars, ins))

        def read(atom):
            return None if isinstance(atom, jax_core.Literal) else env.get(atom)

        for eqn in jaxpr.eqns:
            deps = [read(v) for v in eqn.invars]
            if all(d is None for d in deps):
                fold(eqn, self.known, self.shapes.dim)
                continue
            scopes = [p for p in str(eqn.source_info.name_stack).split("/") if _SCOPE.fullmatch(p)]
            path = scopes[-1] if scopes else prefix
            if path == self.top:
                path = ""
            outs = self.rule(eqn, deps, path)
            for v, d in zip(eqn.outvars, outs):
                env[v] = d
        return [read(v) for v in jaxpr.outvars]

    def dims(self, atom) -> tuple:
        return self.shapes.shape(atom.aval)

    def rule(self, eqn: Any, deps: list[Deps], path: str) -> list[Deps]:
        name = eqn.primitive.name
        n_out = len(eqn.outvars)
        if name in ("pjit", "jit") and eqn.params.get("name") == "_resize":
            return [self.resize(eqn, deps[0], path)]
        if name == "cond":
            outs = [self.walk(b.jaxpr, deps[1:], path) for b in eqn.params["branches"]]
            return [merge(list(o), "cond", path) for o in zip(*outs)]
        inner = inner_jaxpr(eqn)
        if inner is not None and name not in LOOPS:
            return self.walk(inner, deps, path)
        method = getattr(self, "r_" + name, None)
        if method is not None:
            got = method(eqn, deps, path)
        elif name in REDUCE:
            got = self.reduce(eqn, deps[0], set(eqn.params["axes"]), name, path)
        elif name in CUMULATIVE:
            got = _globalize(deps[0], {eqn.params["axis"]}, name, path)
        elif name.startswith("reduce_window"):
            got = self.window_op(eqn, deps, path)
        elif self.elementwise(eqn):
            got = merge(deps, name, path)
        else:
            self.unknown[name] = self.unknown.get(name, 0) + 1
            got = self.all_global(deps, f"{name}, no rule", path)
        moved = name == "reshape" and got is not None and deps[0] is not None and any(
            isinstance(a, Tied) and isinstance(b, Tied) and a.paths != b.paths
            for a, b in zip(deps[0], got))
        if name in WINDOWED or name.startswith("reduce_window") or moved \
                or self.newly_global(deps, got):
            self.rows.append(Row(path, name, self.dims(eqn.outvars[0]), got))
        return [got] * n_out

    @staticmethod
    def newly_global(deps: list[Deps], got: Deps) -> bool:
        if got is None:
            return False
        before = sum(isinstance(e, Global) for e in merge(deps, "", "") or ())
        return sum(isinstance(e, Global) for e in got) > before

    @staticmethod
    def all_global(deps: list[Deps], op: str, path: str) -> Deps:
        merged = merge(deps, op, path)
        return None if merged is None else tuple(Global(op, path) for _ in merged)

    def elementwise(self, eqn: Any) -> bool:
        shape = self.dims(eqn.outvars[0])
        return all(self.dims(v) == () or (len(self.dims(v)) == len(shape) and all(
            d == 1 or d == n for d, n in zip(self.dims(v), shape))) for v in eqn.invars)

    def reduce(self, eqn: Any, deps: Deps, axes: set[int], name: str, path: str) -> Deps:
        rank = len(self.dims(eqn.invars[0]))
        keep = [k for k in range(rank) if k not in axes]
        return _remap(_globalize(deps, axes, name, path), {k: i for i, k in enumerate(keep)})

    # -- windows ----------------------------------------------------------------------------
    def windows(self, deps: Deps, where: dict[int, tuple[int, Window | None]]) -> Deps:
        """Tied axis ``k`` -> ``where[k] = (new axis, window or None)``."""
        if deps is None:
            return None
        result = []
        for e in deps:
            if isinstance(e, Tied) and e.axis in where:
                axis, window = where[e.axis]
                paths = e.paths if window is None else e.paths.then(window)
                e = replace(e, axis=axis, paths=paths)
            result.append(e)
        return tuple(result)

    def r_conv_general_dilated(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        p = eqn.params
        lhs, rhs, outs = p["dimension_numbers"]
        kernel = self.dims(eqn.invars[1])
        where: dict[int, tuple[int, Window | None]] = {lhs[0]: (outs[0], None)}
        for i, (a, o) in enumerate(zip(lhs[2:], outs[2:])):
            where[a] = (o, Window(kernel[rhs[2 + i]], p["window_strides"][i],
                                  p["rhs_dilation"][i], self.shapes.dim(p["padding"][i][0]),
                                  p["lhs_dilation"][i], "zeros"))
        x = _globalize(deps[0], {lhs[1]}, "conv over a spatial axis as channels", path)
        return merge([self.windows(x, where), self.all_global([deps[1]], "input-dependent "
                                                               "kernel", path)], "conv", path)

    def window_op(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        p = eqn.params
        where = {}
        for k, (size, stride, pad, base, dil) in enumerate(zip(
                p["window_dimensions"], p["window_strides"], p["padding"],
                p["base_dilation"], p["window_dilation"])):
            where[k] = (k, Window(size, stride, dil, self.shapes.dim(pad[0]), base, "zeros"))
        n = len(deps) // 2 if eqn.primitive.name == "reduce_window" else 1
        return merge([self.windows(d, where) for d in deps[:n]], eqn.primitive.name, path)

    def r_pad(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        where = {k: (k, Window(1, 1, 1, self.shapes.dim(lo), interior + 1, "zeros"))
                 for k, (lo, _, interior) in enumerate(eqn.params["padding_config"])}
        return merge([self.windows(deps[0], where), deps[1]], "pad", path)

    def r_slice(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        strides = eqn.params["strides"] or (1,) * len(eqn.params["start_indices"])
        where = {k: (k, Window(1, s, 1, -self.shapes.dim(b)))
                 for k, (b, s) in enumerate(zip(eqn.params["start_indices"], strides))}
        return self.windows(deps[0], where)

    def r_gather(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        starts = as_slice(eqn, self.known) if deps[1] is None else None
        if starts is None:
            return self.all_global(deps, "gather", path)
        return self.windows(deps[0], {k: (k, Window(1, 1, 1, -b)) for k, b in starts.items()})

    def resize(self, eqn: Any, deps: Deps, path: str) -> Deps:
        inner = eqn.params["jaxpr"].jaxpr
        prims = {e.primitive.name for e in inner.eqns}
        ins, outs = self.dims(eqn.invars[0]), self.dims(eqn.outvars[0])
        where: dict[int, tuple[int, Window | None]] = {}
        for k, (n, m) in enumerate(zip(ins, outs)):
            if sp.sympify(n - m) == 0:
                continue
            u = sp.sympify(m / n)
            if not u.is_Integer:
                return _globalize(deps, {k}, "resize by a non-integer factor", path)
            u = int(u)
            if "gather" in prims:
                where[k] = (k, Window(1, 1, 1, 0, u, "repeat"))
            elif prims & {"cos", "sin", "pow", "integer_pow"}:
                return _globalize(deps, {k}, "resize (cubic/lanczos)", path)
            else:
                where[k] = (k, Window(2 * u, 2, 1, u - 1, 2 * u, "repeat"))
        got = self.windows(deps, where)
        self.rows.append(Row(path, "resize", outs, got))
        return got

    # -- moving axes --------------------------------------------------------------------------
    def r_transpose(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        return _remap(deps[0], {a: i for i, a in enumerate(eqn.params["permutation"])})

    def r_broadcast_in_dim(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        ins, outs = self.dims(eqn.invars[0]), self.dims(eqn.outvars[0])
        bd = eqn.params["broadcast_dimensions"]
        return merge([_remap(deps[0], {k: o for k, o in enumerate(bd) if ins[k] == outs[o]}),
                      *[self.all_global([d], "dynamic shape", path) for d in deps[1:]]],
                     "broadcast_in_dim", path)

    def r_squeeze(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        gone = set(eqn.params["dimensions"])
        keep = [k for k in range(len(self.dims(eqn.invars[0]))) if k not in gone]
        return _remap(deps[0], {k: i for i, k in enumerate(keep)})

    def r_concatenate(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        axis = eqn.params["dimension"]
        return merge([_globalize(d, {axis}, "concatenate along a spatial axis", path)
                      for d in deps], "concatenate", path)

    def r_dot_general(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        sides = []
        out_axis = len(lb)
        for side, (contract, batch) in enumerate(((lc, lb), (rc, rb))):
            rank = len(self.dims(eqn.invars[side]))
            where = {k: i for i, k in enumerate(batch)}
            for k in range(rank):
                if k not in contract and k not in batch:
                    where[k] = out_axis
                    out_axis += 1
            sides.append(_remap(_globalize(deps[side], set(contract), "dot_general", path),
                                where))
        return merge(sides, "dot_general", path)

    def r_reshape(self, eqn: Any, deps: list[Deps], path: str) -> Deps:
        return reshape(deps[0], self.dims(eqn.invars[0]), self.dims(eqn.outvars[0]), path)


def _groups(a: tuple, b: tuple) -> list[tuple[list[int], list[int]]] | None:
    """Pair runs of axes of ``a`` and ``b`` (sizes not 1) whose products are equal."""
    ia, ib = [i for i, d in enumerate(a) if d != 1], [i for i, d in enumerate(b) if d != 1]
    probe = {s: 1009 + 17 * k for k, s in enumerate(sorted(
        {s for d in (*a, *b) for s in sp.sympify(d).free_symbols}, key=str))}
    groups, i, j = [], 0, 0
    while i < len(ia) and j < len(ib):
        gi, gj, pa, pb = [ia[i]], [ib[j]], sp.sympify(a[ia[i]]), sp.sympify(b[ib[j]])
        i, j = i + 1, j + 1
        while sp.simplify(pa - pb) != 0:
            if (pa - pb).subs(probe) > 0:
                if j >= len(ib):
                    return None
                gj.append(ib[j])
                pb, j = pb * b[ib[j]], j + 1
            else:
                if i >= len(ia):
                    return None
                gi.append(ia[i])
                pa, i = pa * a[ia[i]], i + 1
        groups.append((gi, gj))
    return groups if i == len(ia) and j == len(ib) else None


def reshape(deps: Deps, a: tuple, b: tuple, path: str) -> Deps:
    """The ``reshape`` rule (see the module doc)."""
    if deps is None:
        return None
    groups = _groups(a, b)
    if groups is None:
        return tuple(Global("reshape", path) if isinstance(e, Tied) and e.axis is not None
                     else e for e in deps)
    owner = {k: g for g in groups for k in g[0]}
    result: list[Entry] = []
    for e in deps:
        if not isinstance(e, Tied) or e.axis is None:
            result.append(e)
            continue
        if e.axis not in owner:  # an axis of size 1
            result.append(replace(e, axis=None))
            continue
        gi, gj = owner[e.axis]
        tied = sorted({x.axis for x in deps if isinstance(x, Tied) and x.axis in gi})
        if len(gi) == 1 and len(gj) == 1:
            result.append(replace(e, axis=gj[0]))
        elif len(gi) == 1 and e.part is not None:
            sizes, pos = e.part
            ok = tuple(sp.sympify(b[k]) for k in gj) == tuple(sp.sympify(s) for s in sizes)
            result.append(Tied(gj[pos], e.paths) if ok else Global("reshape", path))
        elif len(gi) == 1:
            inner = sp.Mul(*[b[k] for k in gj[1:]])
            result.append(Tied(gj[0], e.paths.then(Window(inner, inner, 1, 0))))
        elif len(gj) == 1 and tied == [gi[0]] and e.part is None:
            u = sp.sympify(sp.Mul(*[a[k] for k in gi[1:]]))
            result.append(Tied(gj[0], e.paths.then(Window(1, 1, 1, 0, int(u), "repeat")))
                          if u.is_Integer else Global("reshape", path))
        elif len(gj) == 1 and e.part is None:
            result.append(Tied(gj[0], e.paths, (tuple(a[k] for k in gi), gi.index(e.axis))))
        else:
            result.append(Global("reshape", path))
    return tuple(result)
