"""Timing a workload: lowering and compilation apart from the steps, then ``warmup`` untimed and
``steps`` timed calls, each ended by ``block_until_ready``; :func:`bench` returns a
:class:`BenchResult`: step time (median, quartiles, min, max), images/s, FLOPs per step, the
achieved FLOP/s and their fraction of the device's peak.

**FLOPs per step.** Inference: the algebra's closed form, exact convention
(``MODELS[name].algebra(hw).batch_flops((H, W, C), batch, "exact")``, what XLA's cost analysis
counts), cross-checked against the lowered HLO's cost analysis (equal to the FLOP below
:math:`2^{24}`, within XLA's float32 accumulation above) and against the compiled HLO's (XLA's
optimisations may change a few elementwise ops; the difference is reported). Training (float32):
the closed form of the whole step (:func:`symconv.checks.trace.train_cost`: forward, backward,
optimizer), cross-checked the same way; in bfloat16 the numerator is XLA's cost analysis of the
*compiled* train step (times the number of devices: a partitioned program's analysis is per
device).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import jax

from symconv.checks.xla import FLOAT32_EXACT, flops_agree
from symconv.errors import SymconvError
from symconv.tools.bench.parallel import DataParallel
from symconv.tools.bench.peaks import peak_flops
from symconv.tools.bench.workload import Workload, _abstract_model, entry_of, prepare


@dataclass(frozen=True)
class BenchResult:
    """What one ``bench`` run measured (times in seconds, rates per second)."""

    model: str
    batch: int
    input: tuple[int, int, int]
    dtype: str
    mode: str  # "inference" or "train"
    loss: str | None
    optimizer: str | None
    init: str
    platform: str
    device_kind: str
    devices: int
    steps: int
    warmup: int
    lower_s: float
    compile_s: float
    step_median_s: float
    step_q1_s: float
    step_q3_s: float
    step_min_s: float
    step_max_s: float
    images_per_s: float
    flops_per_step: int
    flops_source: str
    algebra_flops: int | None
    hlo_lowered_flops: int
    hlo_compiled_flops: int
    flops_check: str
    achieved_flops_per_s: float
    peak_flops_per_s: float | None
    peak_source: str
    utilisation: float | None
    precision_note: str
    xla_options: dict = field(default_factory=dict)
    jax_version: str = field(default_factory=lambda: jax.__version__)
    step_times_s: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["input"] = list(self.input)
        d["step_times_s"] = list(self.step_times_s)
        return d


def _cost(analysis) -> dict:
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    return analysis or {}


class _Progress:
    """tqdm when installed, else a plain ``\\r`` bar; silent when disabled."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.done, self.desc, self.bar = total, 0, desc, None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
                                unit="step")

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            filled = 30 * self.done // self.total
            print(f"\r{self.desc} [{'#' * filled}{' ' * (30 - filled)}] {self.done}/{self.total}",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr, flush=True)


def train_step_flops(work: Workload) -> int:
    """The closed-form FLOPs of ``work``'s float32 training step at its batch: the step traced
    with a symbolic batch ``B`` at the workload's input size (:func:`train_cost`), evaluated at
    ``B = work.batch``."""
    from flax import nnx

    from symconv.checks.trace.training import train_cost

    entry = entry_of(work.name)
    graphdef, abstract = _abstract_model(work.name, work.hw)
    model = nnx.merge(graphdef, abstract)
    cost = train_cost(model, f"B, {work.hw[0]}, {work.hw[1]}, {entry.channels}",
                      optimizer=work.optimizer or "sgd", labels=True if work.classifier else None)
    return cost.at({"B": work.batch})


def measure_workload(work: Workload, *, steps: int = 10, warmup: int = 2, init: str = "fast",
                     progress: bool | None = None,
                     compiler_options: dict[str, Any] | None = None) -> BenchResult:
    """Lower, compile, warm up and time ``work``; see :func:`bench`."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise SymconvError(f"steps must be a positive integer, got {steps!r}")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise SymconvError(f"warmup must be a non-negative integer, got {warmup!r}")
    entry = entry_of(work.name)
    in_shape = (*work.hw, entry.channels)

    options = work.compiler_options | (compiler_options or {})
    t0 = time.perf_counter()
    lowered = work.lower()
    t1 = time.perf_counter()
    compiled = lowered.compile(options) if options else lowered.compile()
    t2 = time.perf_counter()

    if progress is None:
        progress = sys.stderr.isatty()
    bar = _Progress(warmup + steps, f"{work.name} {'train' if work.train else 'inference'}",
                    progress and warmup + steps > 1)
    times = []
    try:
        for i in range(warmup + steps):
            start = time.perf_counter()
            jax.block_until_ready(work.run(compiled))
            if i >= warmup:
                times.append(time.perf_counter() - start)
            bar.update()
    finally:
        bar.close()

    lowered_flops = int(_cost(lowered.cost_analysis()).get("flops", 0.0))
    compiled_flops = int(_cost(compiled.cost_analysis()).get("flops", 0.0)) * work.dp.n_devices
    if work.train and work.dtype == "float32":
        algebra_flops = train_step_flops(work)
        flops = algebra_flops
        source = ("closed form of the training step (symconv.checks.trace.train_cost, "
                  f"{work.optimizer})")
        ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
        agree = ("equal to" if algebra_flops == lowered_flops * work.dp.n_devices else
                 "agrees within XLA's float32 accumulation with"
                 if flops_agree(algebra_flops, lowered_flops * work.dp.n_devices, ops) else
                 "DISAGREES with")
        rel = (compiled_flops - algebra_flops) / algebra_flops if algebra_flops else 0.0
        check = (f"{agree} the lowered HLO's cost analysis ({lowered_flops:,}"
                 + (f" per device x {work.dp.n_devices}" if work.dp.n_devices > 1 else "")
                 + f"); compiled HLO {compiled_flops:,} ({rel:+.4%})")
    elif work.train:  # bfloat16: the closed form is of the float32 step; XLA's figure instead
        algebra_flops = None
        flops = compiled_flops
        source = ("XLA cost analysis of the compiled train step"
                  + (f" (per device x {work.dp.n_devices})" if work.dp.n_devices > 1 else ""))
        check = f"lowered HLO {lowered_flops:,} (before XLA's optimisations)"
    else:
        algebra_flops = int(entry.algebra(work.hw).batch_flops(in_shape, work.batch, "exact"))
        flops = algebra_flops
        source = "algebra: closed form, exact convention"
        ops = (sum(1 for line in lowered.as_text().splitlines() if " = " in line)
               if algebra_flops >= FLOAT32_EXACT else 0)
        if algebra_flops == lowered_flops:
            agree = "equal to the lowered HLO's cost analysis"
        elif flops_agree(algebra_flops, lowered_flops, ops):
            agree = (f"lowered HLO {lowered_flops:,}: agrees within XLA's float32 accumulation")
        else:
            agree = f"lowered HLO {lowered_flops:,}: DISAGREES"
        rel = (compiled_flops - algebra_flops) / algebra_flops if algebra_flops else 0.0
        check = f"{agree}; compiled HLO {compiled_flops:,} ({rel:+.4%})"

    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
    median = statistics.median(times)
    device = work.dp.mesh.devices.flat[0]
    peak, peak_source = peak_flops(device, work.dtype, work.dp.n_devices)
    achieved = flops / median
    note = ("bfloat16: parameters, batch-norm running statistics, optimizer state and inputs cast "
            "to bfloat16; loss in float32" if work.dtype == "bfloat16" else
            "float32 throughout")
    return BenchResult(
        model=work.name, batch=work.batch, input=in_shape, dtype=work.dtype,
        mode="train" if work.train else "inference",
        loss=(None if not work.train else
              "softmax cross-entropy, random labels" if work.classifier else
              "mean squared output (zero target)"),
        optimizer=work.optimizer, init=init, platform=device.platform,
        device_kind=device.device_kind, devices=work.dp.n_devices, steps=steps, warmup=warmup,
        lower_s=t1 - t0, compile_s=t2 - t1, step_median_s=median, step_q1_s=q[0],
        step_q3_s=q[-1], step_min_s=min(times), step_max_s=max(times),
        images_per_s=work.batch / median, flops_per_step=flops, flops_source=source,
        algebra_flops=algebra_flops, hlo_lowered_flops=lowered_flops,
        hlo_compiled_flops=compiled_flops, flops_check=check, achieved_flops_per_s=achieved,
        peak_flops_per_s=peak, peak_source=peak_source,
        utilisation=None if peak is None else achieved / peak, precision_note=note,
        xla_options=dict(options), step_times_s=tuple(times))


def bench(name: str, batch: int = 1, hw: Sequence[int] | None = None, dtype: str = "float32",
          train: bool = False, steps: int = 10, *, warmup: int = 2,
          devices: str | int | DataParallel = "all", optimizer: str = "sgd",
          init: str = "fast", progress: bool | None = None, xla_tuning: bool = True,
          compiler_options: dict[str, Any] | None = None) -> BenchResult:
    """Benchmark built-in model ``name`` on a batch of ``batch`` random ``hw`` images.

    >>> r = bench("assignment-gap", 2, (32, 32), steps=1, warmup=0, devices=1)
    >>> r.mode, r.flops_per_step == r.algebra_flops, r.images_per_s > 0
    ('inference', True, True)
    """
    work = prepare(name, batch, hw, dtype=dtype, train=train, devices=devices,
                   optimizer=optimizer, init=init, xla_tuning=xla_tuning)
    return measure_workload(work, steps=steps, warmup=warmup, init=init, progress=progress,
                            compiler_options=compiler_options)
