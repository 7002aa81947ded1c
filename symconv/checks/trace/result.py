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
    params: dict[str, int]
    symbols: dict[str, sp.Symbol]
    input_shape: tuple
    output_shape: tuple
    conditions: tuple = ()

    @property
    def complete(self) -> bool:
        """True when every primitive had a pricing rule."""
        return not self.unknown

    def total(self, attr: str = "flops"):
        r"""$\sum_{op}$ ``op.attr`` over every priced op (0 when nothing was priced)."""
        return out(sp.Add(*[getattr(op, attr) for op in self.ops])) if self.ops else 0

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

    def at(self, values: Mapping[str, int], attr: str = "flops") -> int:
        """The total evaluated at concrete dimension values (names as in the input spec).

        Raises :class:`SymconvError` naming the condition when a recorded condition fails there.
        """
        missing = sorted(set(self.symbols) - set(values))
        if missing:
            raise SymconvError(f"give a value for every dimension; missing {missing}")
        subs = {self.symbols[k]: v for k, v in values.items() if k in self.symbols}
        for cond in self.conditions:
            if sp.sympify(cond).subs(subs) == sp.false:
                raise SymconvError(f"the closed form holds only where {cond}; it fails at "
                                   f"{values}: trace at sizes that satisfy it")
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
                *(out(sp.Add(*[getattr(o, a) for o in ops])) for a in QUANTITIES),
                ops[-1].out_shape))
        for key, n in params.items():
            if key not in groups and n:
                rows.append(ModuleCost(key or "(top)", n, 0, 0, 0, 0, None))
        return rows


def _truncate(path: str, depth: int | None) -> str:
    """The first ``depth`` dotted components of ``path``.

    >>> _truncate("blocks.3.0.conv", 2), _truncate("blocks.3", None)
    ('blocks.3', 'blocks.3')
    """
    if depth is None or not path:
        return path
    return ".".join(path.split(".")[:depth])
