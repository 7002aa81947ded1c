"""Closed-form cost of a built-in model, with the numbers at one point checked against XLA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import sympy as sp

from symconv.checks import xla
from symconv.algebra.stack import StackTable
from symconv.errors import ShapeMismatchError, SymconvError
from symconv.models.registry import get
from symconv.report.render.math import to_text


def _agrees(report, flops: int | None, params: int | None) -> bool | None:
    """None without a check point; else parameters equal and FLOPs within XLA's tolerance."""
    if report.point is None:
        return None
    return params == report.model_params and abs(flops - report.xla_flops) <= report.tolerance


@dataclass(frozen=True)
class CostReport:
    model: str
    input_shape: tuple
    table: StackTable
    point: dict | None = None
    algebra_flops: int | None = None
    xla_flops: int | None = None
    algebra_params: int | None = None
    model_params: int | None = None
    tolerance: int = 0

    @property
    def agrees(self) -> bool | None:
        return _agrees(self, self.algebra_flops, self.algebra_params)

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "input": [to_text(d) for d in self.input_shape],
            "layers": [{"name": r.name, "kind": r.kind,
                        "output": [to_text(d) for d in r.output_shape],
                        "weights": to_text(r.weights), "biases": to_text(r.biases),
                        "macs_dense": to_text(r.macs_dense), "macs_exact": to_text(r.macs_exact),
                        "flops": to_text(r.flops)} for r in self.table.rows],
            "totals": {k: to_text(v) for k, v in self.table.totals.items()},
            "check": None if self.point is None else {
                "at": self.point, "algebra_flops": self.algebra_flops,
                "xla_flops": self.xla_flops, "algebra_params": self.algebra_params,
                "model_params": self.model_params, "agrees": self.agrees},
        }


def cost_report(name: str, input_shape: Sequence, at: Mapping[str, int] | None = None,
                convention: str = "dense") -> CostReport:
    """Per-layer closed forms of built-in model ``name`` on NHWC ``input_shape``.

    With ``at`` (values for every symbol), also evaluates the totals and compares them with the
    Flax model's ``nnx.state`` and XLA's lowered-HLO FLOPs at that point.
    """
    entry = get(name)
    if len(input_shape) != 4:
        raise ShapeMismatchError(f"--input must be NHWC (4 entries), got {len(input_shape)}")
    b, h, w, c = input_shape
    if isinstance(c, int) and c != entry.channels:
        raise ShapeMismatchError(f"{name} takes {entry.channels} input channels, got {c}")
    table = entry.algebra((h, w)).table((h, w, c), batch=b)
    if at is None:
        return CostReport(name, tuple(input_shape), table)
    symbols = {str(s): s for d in input_shape if isinstance(d, sp.Basic) for s in d.free_symbols}
    unknown = sorted(set(at) - set(symbols))
    if unknown:
        raise SymconvError(f"--at names {unknown} that are not dimensions of --input "
                           f"({', '.join(symbols) or 'none are symbolic'})")
    missing = sorted(set(symbols) - set(at))
    if missing:
        raise SymconvError(f"--at must give a value for every symbol; missing {missing}")
    values = {symbols[k]: v for k, v in at.items()}
    concrete = tuple(int(sp.Integer(d).subs(values)) if isinstance(d, int) else int(d.subs(values))
                     for d in input_shape)
    ctable = entry.algebra(concrete[1:3]).table(concrete[1:], batch=concrete[0])
    model = xla.abstract(lambda: entry.build(concrete[1:3]))
    measured = xla.cost(model, concrete)
    algebra_flops = int(ctable.totals["flops"])
    return CostReport(name, tuple(input_shape), table, dict(at), algebra_flops,
                      measured["flops"], int(ctable.totals["params"]), xla.param_count(model),
                      xla.flops_tolerance(algebra_flops, measured["ops"]))


_FACTORY = __import__("re").compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:"
                                    r"[A-Za-z_][A-Za-z0-9_]*")


def load_factory(spec: str):
    """``package.module:factory`` -> the factory (validated: dotted identifiers only)."""
    import importlib

    if not _FACTORY.fullmatch(spec or ""):
        raise SymconvError(f"unknown model {spec!r}: neither a built-in name (see `symconv "
                           f"models`) nor package.module:factory")
    module_name, attr = spec.split(":")
    import os
    import sys

    if os.getcwd() not in sys.path:  # as `python -m` would: modules beside the user come first
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SymconvError(f"cannot import {module_name!r}: {e}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise SymconvError(f"{module_name} has no callable {attr!r}")
    return factory


@dataclass(frozen=True)
class TraceReport:
    model: str
    input_shape: tuple
    result: object  # symconv.checks.trace.TraceResult
    point: dict | None = None
    traced_flops: int | None = None
    xla_flops: int | None = None
    traced_params: int | None = None
    model_params: int | None = None
    tolerance: int = 0

    @property
    def agrees(self) -> bool | None:
        return self.result.complete and _agrees(self, self.traced_flops, self.traced_params) \
            if self.point is not None else None


def trace_report(name: str, input_text: str, at: Mapping[str, int] | None = None) -> TraceReport:
    """Trace a built-in model or ``package.module:factory`` on ``input_text`` (e.g.
    ``"1,H,W,3"``); with ``at``, evaluate and compare with XLA at that point."""
    from flax import nnx

    from symconv.models.registry import MODELS
    from symconv.algebra.parse import parse_shape
    from symconv.checks.trace import trace

    shape = parse_shape(input_text)
    if name in MODELS:
        entry = MODELS[name]
        hw = tuple(d if isinstance(d, int) else entry.default_hw[i]
                   for i, d in enumerate(shape[1:3]))
        model = xla.abstract(lambda: entry.build(hw))
    else:
        factory = load_factory(name)

        def build():
            try:
                return factory(rngs=nnx.Rngs(0))
            except TypeError:
                return factory()

        try:
            model = xla.abstract(build)
        except SymconvError:
            raise
        except Exception as e:
            raise SymconvError(f"{name}() failed: {type(e).__name__}: "
                               f"{str(e).splitlines()[0] if str(e) else ''}") from None
        if not isinstance(model, nnx.Module):
            raise SymconvError(f"{name}() returned {type(model).__name__}, not an nnx.Module")
    spec = ", ".join(str(d) for d in shape)
    result = trace(model, spec)
    if at is None:
        return TraceReport(name, shape, result)
    unknown = sorted(set(at) - set(result.symbols))
    if unknown:
        raise SymconvError(f"--at names {unknown} that are not dimensions of --input")
    concrete = tuple(d if isinstance(d, int) else at.get(str(d), None) for d in shape)
    if None in concrete:
        raise SymconvError(f"--at must give a value for every symbol of --input {input_text}")
    traced = result.at({k: v for k, v in at.items()})
    measured = xla.cost(model, concrete)
    return TraceReport(name, shape, result, dict(at), traced, measured["flops"],
                       sum(result.params.values()), xla.param_count(model),
                       xla.flops_tolerance(traced, measured["ops"]))
