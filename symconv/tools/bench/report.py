"""A :class:`~symconv.tools.bench.run.BenchResult` as text (one ``field: value`` line each) or
JSON (``BenchResult.as_dict()``): what ``symconv bench`` prints."""

from __future__ import annotations

import json

from symconv.errors import SymconvError
from symconv.tools.bench.run import BenchResult
from symconv.tools.bench.workload import CPU_TUNING


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def format_table(r: BenchResult) -> str:
    """The human-readable report: one ``field: value`` line each."""
    h, w, c = r.input
    rows = [
        ("model", f"{r.model} ({r.mode}"
                  + (f", {r.optimizer}, loss: {r.loss})" if r.mode == "train" else ")")),
        ("batch", f"{r.batch} x {h}x{w}x{c}, {r.dtype}"),
        ("devices", f"{r.devices} x {r.device_kind} ({r.platform}), data parallel"),
        ("lower", f"{r.lower_s:.3f} s"),
        ("compile", f"{r.compile_s:.3f} s"),
        ("step median", _ms(r.step_median_s)),
        ("step spread", (f"IQR {_ms(r.step_q1_s)} - {_ms(r.step_q3_s)}, "
                         f"min {_ms(r.step_min_s)}, max {_ms(r.step_max_s)} "
                         f"({r.steps} steps after {r.warmup} warm-up)")),
        ("throughput", f"{r.images_per_s:,.1f} images/s"),
        ("FLOPs/step", f"{r.flops_per_step:,} ({r.flops_source})"),
        ("FLOP check", r.flops_check),
        ("achieved", _si(r.achieved_flops_per_s, "FLOP/s")),
        ("peak", ("unknown" if r.peak_flops_per_s is None else
                  _si(r.peak_flops_per_s, "FLOP/s")) + f" ({r.peak_source})"),
        ("utilisation", "n/a" if r.utilisation is None else f"{r.utilisation:.1%}"),
        ("precision", r.precision_note),
        ("XLA options", ", ".join(f"{k}={v!r}" for k, v in r.xla_options.items())
                        + (" (symconv's CPU tuning; --xla-defaults for XLA's own)"
                           if r.xla_options == CPU_TUNING else "") if r.xla_options else
                        "XLA's defaults"),
        ("parameters", "NumPy draw on the abstract model (init=fast)" if r.init == "fast" else
                       "the model's own initialisers (init=model)"),
        ("jax", r.jax_version),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


FIELDS = ("model", "batch", "devices", "lower", "compile", "step median", "step spread",
          "throughput", "FLOPs/step", "FLOP check", "achieved", "peak", "utilisation",
          "precision", "XLA options", "parameters", "jax")


def render_bench(r: BenchResult, fmt: str = "table") -> str:
    """``fmt`` ``"table"`` (:func:`format_table`) or ``"json"`` (sorted keys, indent 2)."""
    if fmt == "json":
        return json.dumps(r.as_dict(), indent=2, sort_keys=True)
    if fmt != "table":
        raise SymconvError(f"fmt must be 'table' or 'json', got {fmt!r}")
    return format_table(r)
