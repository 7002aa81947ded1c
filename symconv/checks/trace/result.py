"""What a trace returns: every priced op, parameters per module, totals and per-module rows."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symconv.algebra.arith import out
from symconv.errors import SymconvError

QUANTITIES = ("flops", "transcendentals", "macs_exact", "macs_dense")


@dataclass(frozen=True, slots=True)
class OpCost:
    """One priced equation: the module path that issued it, its primitive and its costs.

    ``flops`` is what XLA counts; ``algorithmic`` is set only where an algorithm needs fewer
    (a cumulative op, which XLA's CPU lowering makes quadratic) and is None elsewhere.
    """

    path: str
    primitive: str
    out_shape: tuple
    flops: Any
    transcendentals: Any = 0
    macs_exact: Any = 0
    macs_dense: Any = 0
    algorithmic: Any = None


@dataclass(frozen=True, slots=True)
class LoopCost:
    r"""One ``scan`` or ``while`` (:mod:`.loops`): per-iteration payload and control, the trip
    count, and XLA's own figure (one pass over the body: XLA charges a loop body once).

    True cost $=$ ``trips`` $\times$ (``payload`` $+$ ``control``) $+$ ``exit`` (the condition's
    last evaluation). Cost tuples follow :data:`QUANTITIES`. ``trips`` is an int, a SymPy
    expression of the input's dimensions, or, when ``data_dependent``, a symbol ``T_whileN``
    standing for a trip count no closed form gives. ``inner`` holds the loops of the body; their
    own control work counts in this loop's ``control``.
    """

    path: str
    kind: str  #: "scan", "fori" (a counted while) or "while" (exit depends on data)
    trips: Any
    data_dependent: bool
    payload: tuple
    control: tuple
    exit: tuple
    xla: tuple
    inner: tuple = ()

    def true(self, attr: str = "flops"):
        """The loop's cost over all its iterations (payload and control)."""
        i = QUANTITIES.index(attr)
        return out(self.trips * (self.payload[i] + self.control[i]) + self.exit[i])

    def true_control(self, attr: str = "flops"):
        """The control work over all iterations: counters, indices, the condition."""
        i = QUANTITIES.index(attr)
        return out(self.trips * self.control[i] + self.exit[i])

    def true_payload(self, attr: str = "flops"):
        r"""``trips`` $\times$ the body's payload."""
        return out(self.trips * self.payload[QUANTITIES.index(attr)])


@dataclass(frozen=True, slots=True)
class ModuleCost:
    """The ops of one module path summed, with the parameters held under that path."""

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
    params: dict[str, Any]  #: per module path: an int, or an expression of the input's dims
    symbols: dict[str, sp.Symbol]
    input_shape: tuple
    output_shape: tuple
    conditions: tuple = ()
    loops: tuple[LoopCost, ...] = ()
    inputs: tuple = ()  #: (name or None, shape) of every input, in order
    #: PRNG keys at the function's boundary, each $-1$ FLOP in XLA's count (:mod:`.rng`)
    key_constraints: int = 0

    @property
    def complete(self) -> bool:
        """True when every primitive had a pricing rule."""
        return not self.unknown

    def total(self, attr: str = "flops"):
        r"""$\sum_{op}$ ``op.attr`` over every priced op (0 when nothing was priced)."""
        return out(sp.Add(*[getattr(op, attr) for op in self.ops])) if self.ops else 0

    def xla_total(self, attr: str = "flops"):
        """What XLA's ``cost_analysis`` reports: :meth:`total` with every loop charged once
        (its :attr:`LoopCost.xla` figure instead of its true count) and, for FLOPs, one less per
        PRNG key at the function's boundary (:attr:`key_constraints`)."""
        gap = [lp.true(attr) - lp.xla[QUANTITIES.index(attr)] for lp in self.loops]
        if attr == "flops" and self.key_constraints:
            gap.append(self.key_constraints)
        return out(sp.expand(self.total(attr) - sp.Add(*gap))) if gap else self.total(attr)

    def payload(self, attr: str = "flops"):
        """:meth:`total` without the loops' control work (counters, indices, conditions)."""
        control = [lp.true_control(attr) for lp in self.loops]  # inner ones included
        return out(sp.expand(self.total(attr) - sp.Add(*control))) if control else self.total(attr)

    @property
    def trip_symbols(self) -> dict[str, sp.Symbol]:
        """The symbols standing for data-dependent trip counts (``T_while1``, ...)."""
        return {str(lp.trips): lp.trips for lp in _all_loops(self.loops) if lp.data_dependent}

    def algorithmic(self):
        r"""$\sum_{op}$ FLOPs with each op's algorithmic count where it has one (e.g. $R(n - 1)$
        for a cumsum that XLA counts as $R n (n - 1)$); equal to ``total('flops')`` otherwise."""
        if not self.ops:
            return 0
        return out(sp.Add(*[op.flops if op.algorithmic is None else op.algorithmic
                            for op in self.ops]))

    @property
    def totals(self) -> dict:
        """Every total of :data:`QUANTITIES`, plus the parameter count."""
        return {a: self.total(a) for a in QUANTITIES} | {"params": sum(self.params.values())}

    def at(self, values: Mapping[str, int], attr: str = "flops", figure: str = "true") -> int:
        """The total evaluated at concrete dimension values (names as in the input spec).

        ``figure``: ``"true"`` (:meth:`total`: loops at their trip count), ``"xla"``
        (:meth:`xla_total`: loops charged once, as XLA does) or ``"payload"`` (:meth:`payload`).
        A data-dependent trip count ``T_whileN`` needs a value too when the figure uses it.
        Raises :class:`SymconvError` naming the condition when a recorded condition fails there.
        """
        figures = {"true": self.total, "xla": self.xla_total, "payload": self.payload}
        if figure not in figures:
            raise SymconvError(f"figure must be one of {tuple(figures)}, got {figure!r}")
        total = figures[figure](attr)
        missing = sorted(set(self.symbols) - set(values))
        trips = self.trip_symbols
        used = getattr(total, "free_symbols", set())
        missing += sorted(k for k, s in trips.items() if s in used and k not in values)
        if missing:
            raise SymconvError(f"give a value for every dimension; missing {missing}"
                               + (" (T_whileN: the trip count of a while loop whose exit "
                                  "depends on data)" if set(missing) & set(trips) else ""))
        table = dict(self.symbols) | trips
        subs = {table[k]: v for k, v in values.items() if k in table}
        for cond in self.conditions:
            if cond.subs(subs) == sp.false:
                raise SymconvError(f"the closed form holds only where {cond}; it fails at "
                                   f"{values}: trace at sizes that satisfy it")
        value = sp.Integer(total) if isinstance(total, int) else total.subs(subs)
        value = value.doit() if hasattr(value, "doit") else value
        if not value.is_Integer:
            raise SymconvError(f"total {attr} did not evaluate to an integer at {values}: {value}")
        return int(value)

    def params_at(self, values: Mapping[str, int]) -> int:
        """The parameter count at concrete dimension values (it may depend on the input)."""
        total = sp.Add(*self.params.values()) if self.params else sp.Integer(0)
        total = total.subs({self.symbols[k]: v for k, v in values.items() if k in self.symbols})
        if not total.is_Integer:
            raise SymconvError(f"the parameter count did not evaluate to an integer at {values}: "
                               f"{total}")
        return int(total)

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
                *(out(sp.Add(*[getattr(o, a) for o in ops])) for a in QUANTITIES),
                ops[-1].out_shape))
        for key, n in params.items():
            if key not in groups and n:
                rows.append(ModuleCost(key or "(top)", n, 0, 0, 0, 0, None))
        return rows


def _all_loops(loops) -> list:
    """Every loop, inner ones included."""
    return [x for lp in loops for x in (lp, *_all_loops(lp.inner))]


def _truncate(path: str, depth: int | None) -> str:
    """The first ``depth`` dotted components of ``path``.

    >>> _truncate("blocks.3.0.conv", 2), _truncate("blocks.3", None)
    ('blocks.3', 'blocks.3')
    """
    if depth is None or not path:
        return path
    return ".".join(path.split(".")[:depth])
