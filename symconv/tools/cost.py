"""What ``symconv cost`` computes: the closed-form cost of a built-in model (:func:`cost_report`)
or the traced cost of any NNX model (:func:`trace_report`), with the numbers at one point checked
against XLA; :func:`cost` picks one. :mod:`symconv.report.render.cost` draws them."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from symconv.algebra.composite import StackTable
from symconv.algebra.parse import parse_shape
from symconv.checks import xla
from symconv.checks.trace.inputs import InputSpec, parse_input
from symconv.errors import ShapeMismatchError, SymconvError
from symconv.models.registry import MODELS, get
from symconv.report.notation import to_text

CONVENTIONS = ("dense", "exact")
ENGINES = ("algebra", "trace")


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise SymconvError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def _agrees(report, flops: int | None, params: int | None) -> bool | None:
    """None without a check point; else parameters equal and FLOPs within XLA's tolerance."""
    if report.point is None:
        return None
    return params == report.model_params and abs(flops - report.xla_flops) <= report.tolerance


@dataclass(frozen=True)
class CostReport:
    """The algebra's per-layer table of a built-in model, and the check at one point."""

    engine: ClassVar[str] = "algebra"
    model: str
    input_shape: tuple
    table: StackTable
    point: dict | None = None
    algebra_flops: int | None = None
    xla_flops: int | None = None
    algebra_params: int | None = None
    model_params: int | None = None
    tolerance: int = 0
    convention: str = "dense"

    @property
    def agrees(self) -> bool | None:
        return _agrees(self, self.algebra_flops, self.algebra_params)

    def _repr_html_(self) -> str:  # a notebook draws the table with its math
        from symconv.report.render.cost import render_cost

        return render_cost(self, "html")

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
    _check_convention(convention)
    entry = get(name)
    if len(input_shape) != 4:
        raise ShapeMismatchError(f"input_shape must be NHWC (4 entries), got {len(input_shape)}")
    b, h, w, c = input_shape
    if isinstance(c, int) and c != entry.channels:
        raise ShapeMismatchError(f"{name} takes {entry.channels} input channels, got {c}")
    table = entry.algebra((h, w)).table((h, w, c), batch=b)
    if at is None:
        return CostReport(name, tuple(input_shape), table, convention=convention)
    symbols = {str(s): s for d in input_shape if isinstance(d, sp.Basic) for s in d.free_symbols}
    unknown = sorted(set(at) - set(symbols))
    if unknown:
        raise SymconvError(f"at names {unknown} that are not dimensions of input_shape "
                           f"({', '.join(symbols) or 'none are symbolic'})")
    missing = sorted(set(symbols) - set(at))
    if missing:
        raise SymconvError(f"at must give a value for every symbol; missing {missing}")
    values = {symbols[k]: v for k, v in at.items()}
    concrete = tuple(int(sp.Integer(d).subs(values)) if isinstance(d, int) else int(d.subs(values))
                     for d in input_shape)
    ctable = entry.algebra(concrete[1:3]).table(concrete[1:], batch=concrete[0])
    model = xla.abstract(lambda: entry.build(concrete[1:3]))
    measured = xla.cost(model, concrete)
    algebra_flops = int(ctable.totals["flops"])
    return CostReport(name, tuple(input_shape), table, dict(at), algebra_flops,
                      measured["flops"], int(ctable.totals["params"]), xla.param_count(model),
                      xla.flops_tolerance(algebra_flops, measured["ops"]), convention)


_FACTORY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def load_factory(spec: str) -> Callable[..., Any]:
    """``package.module:factory`` -> the factory (validated: dotted identifiers only)."""
    if not _FACTORY.fullmatch(spec or ""):
        raise SymconvError(f"unknown model {spec!r}: neither a built-in name (see `symconv "
                           f"models`) nor package.module:factory")
    module_name, attr = spec.split(":")
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
    """The jaxpr tracer's costs of a model, grouped by module path up to ``depth``, and the
    check at one point."""

    engine: ClassVar[str] = "trace"
    model: str
    input_shape: tuple
    result: Any  # symconv.checks.trace.TraceResult
    point: dict | None = None
    traced_flops: int | None = None
    xla_flops: int | None = None
    traced_params: int | None = None
    model_params: int | None = None
    tolerance: int = 0
    convention: str = "dense"
    depth: int | None = None

    @property
    def agrees(self) -> bool | None:
        return self.result.complete and _agrees(self, self.traced_flops, self.traced_params) \
            if self.point is not None else None

    def _repr_html_(self) -> str:
        from symconv.report.render.cost import render_cost

        return render_cost(self, "html")

    @property
    def rows(self) -> list:
        """The cost rows by module path, grouped at ``depth``."""
        return self.result.by_module(self.depth)

    def as_dict(self) -> dict:
        key = "macs_" + self.convention
        res = self.result
        return {
            "model": self.model, "input": [to_text(d) for d in self.input_shape],
            "complete": res.complete, "unknown_primitives": res.unknown,
            "modules": [{"path": r.path, "params": r.params, "flops": to_text(r.flops),
                         "transcendentals": to_text(r.transcendentals),
                         "macs": to_text(getattr(r, key))} for r in self.rows],
            "totals": {k: to_text(v) for k, v in res.totals.items()},
            "loops": [{"path": lp.path, "kind": lp.kind, "trips": to_text(lp.trips),
                       "data_dependent": lp.data_dependent, "flops": to_text(lp.true()),
                       "payload_flops": to_text(lp.true_payload()),
                       "control_flops": to_text(lp.true_control()),
                       "xla_flops": to_text(lp.xla[0])} for lp in res.loops],
            "check": None if self.point is None else {
                "at": self.point, "traced_flops": self.traced_flops,
                "xla_flops": self.xla_flops, "traced_params": self.traced_params,
                "model_params": self.model_params, "agrees": self.agrees},
        }


def trace_report(name: str, input_shape: Sequence | str | list[str],
                 at: Mapping[str, int] | None = None, *, convention: str = "dense",
                 depth: int | None = None, constraints: Sequence[str] = (),
                 dtype: str = "float32", call: Mapping[str, Any] | None = None,
                 args: Mapping[str, Any] | None = None) -> TraceReport:
    """Trace a built-in model or ``package.module:factory`` (an NNX or Linen module, or a Linen
    ``(module, variables)`` pair) on its inputs; with ``at``, evaluate and compare with XLA there.

    ``input_shape``: one input's text (``"1,H,W,3"``, ``"B,32*h,32*w,3"``,
    ``"tokens=B,L:int32"``), a list of such texts, or a tuple of dims; ``constraints`` such as
    ``"L <= 2048"``; ``call``: keyword arguments of the call; ``args``: of the factory (a
    :class:`~symconv.checks.trace.Dim` gives a symbolic size). The check compares XLA's figure
    (loops charged once, as XLA does) with XLA's ``cost_analysis`` of the model built and
    lowered at ``at``; the report shows the true loop counts beside it.
    """
    from symconv.checks.trace import lowered_cost, trace

    _check_convention(convention)
    texts = [input_shape] if isinstance(input_shape, str) or not isinstance(
        input_shape, list) else list(input_shape)
    if not isinstance(texts[0], str):
        texts[0] = ", ".join(str(d) for d in texts[0])
    specs = [parse_input(t, dtype) for t in texts]
    factory_args = dict(args or {})
    if name in MODELS:
        entry = MODELS[name]
        first = specs[0].shape
        dims = [d.strip() for d in first.split(",")] if isinstance(first, str) else []
        hw = tuple(int(d) if d.isdigit() else entry.default_hw[i]
                   for i, d in enumerate(dims[1:3]))
        if len(hw) != 2:
            raise SymconvError(f"{name} takes an NHWC input, got {first!r}")
        model, factory_args, source = xla.abstract(lambda: entry.build(hw)), None, None
    else:
        source = load_factory(name)
        model = source
    result = trace(model, None, inputs=specs, constraints=constraints, kwargs=call,
                   factory_args=factory_args if source is not None else None)
    shape = result.input_shape
    if at is None:
        return TraceReport(name, shape, result, convention=convention, depth=depth)
    unknown = sorted(set(at) - set(result.symbols) - set(result.trip_symbols))
    if unknown:
        raise SymconvError(f"at names {unknown} that are not dimensions of the input "
                           f"({', '.join(result.symbols) or 'none are symbolic'})")
    missing = sorted(set(result.symbols) - set(at))
    if missing:
        raise SymconvError(f"at must give a value for every symbol of the input; missing "
                           f"{missing}")
    traced = result.at(dict(at), figure="xla")
    values = {result.symbols[k]: v for k, v in at.items() if k in result.symbols}
    concrete = [InputSpec(tuple(d if isinstance(d, int) else int(d.subs(values)) for d in dims),
                          spec.dtype, spec.name) for spec, (_, dims) in zip(specs, result.inputs)]
    measured = lowered_cost(model if source is None else source, concrete, call or {},
                            factory_args if source is not None else None, dict(at))
    traced_params = result.params_at(dict(at))
    return TraceReport(name, shape, result, dict(at), traced, measured["flops"], traced_params,
                       measured["params"], xla.flops_tolerance(traced, measured["ops"]),
                       convention, depth)


def cost(name: str, input_shape: Sequence | str | list[str],
         at: Mapping[str, int] | None = None, *, convention: str = "dense",
         engine: str = "algebra", depth: int | None = None, **trace_options: Any
         ) -> CostReport | TraceReport:
    """What ``symconv cost`` reports: :func:`cost_report` for a built-in model with the algebra
    engine, else :func:`trace_report` (a ``package.module:factory`` is always traced;
    ``trace_options`` are its ``constraints``, ``dtype``, ``call`` and ``args``)."""
    if engine not in ENGINES:
        raise SymconvError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "trace" or name not in MODELS:
        return trace_report(name, input_shape, at, convention=convention, depth=depth,
                            **trace_options)
    needs = sorted(k for k, v in trace_options.items() if v not in (None, (), {}, "float32"))
    if needs:
        raise SymconvError(f"{', '.join(needs)} need the tracer: add --engine trace")
    if isinstance(input_shape, list):
        if len(input_shape) != 1:
            raise SymconvError(f"{name} takes one input; several need --engine trace")
        input_shape = input_shape[0]
    if isinstance(input_shape, str):
        try:
            input_shape = parse_shape(input_shape, "--input")
        except SymconvError as e:  # expressions, names, dtypes: the tracer reads them
            raise type(e)(f"{e} (the algebra takes names and integers; for expressions such "
                          f"as 32*h add --engine trace)") from None
    return cost_report(name, input_shape, at, convention=convention)
