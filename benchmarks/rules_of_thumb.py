"""The rules of thumb for a training step, checked against the exact count for every built-in
model: ``python benchmarks/rules_of_thumb.py [--optimizer sgd|adam] [--models a,b]``.

For each model (batch 1, its default input size, float32; the built-in classifiers with their
softmax cross-entropy, the others with the mean squared output) it traces one training step
with :func:`symconv.checks.trace.train_cost` and prints markdown:

- the whole step: forward, backward (input and weight gradients), optimizer, and the ratios
  step / forward and step / (3 x forward) (the convolutional rule of thumb);
- per layer kind (the class of the module that issued the work): input-gradient / forward and
  weight-gradient / forward, and the kind's rule without the optimizer, (forward + backward) /
  (6 N T) for dense layers (N parameters, T = batch x positions they are applied at) and
  (forward + backward) / (3 x forward) for convolutions, as min-max over the layers of the
  kind; the first convolution apart (it computes no input gradient); the optimizer's FLOPs per
  parameter.

Every number is XLA's own count of the same jitted step (the tracer's closed form equals
``cost_analysis()``, tests/test_train_cost.py).
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import time

from flax import nnx

from symconv.checks.trace import train_cost
from symconv.models.registry import MODELS, get
from symconv.tools.bench.workload import is_classifier


def _kinds(model) -> dict[str, str]:
    """Module path -> class name of the module there."""
    return {".".join(str(p) for p in path): type(node).__name__
            for path, node in nnx.iter_graph(model) if isinstance(node, nnx.Module) and path}


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _span(values: list[float]) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return _fmt(lo) if abs(hi - lo) < 0.005 else f"{_fmt(lo)}-{_fmt(hi)}"


def study(name: str, optimizer: str) -> dict:
    """The step of built-in ``name`` at batch 1 and its default size, per row and per kind."""
    entry = get(name)
    hw = entry.default_hw
    model = nnx.eval_shape(lambda: entry.build(hw))
    labels = True if is_classifier(name, hw) else None
    t0 = time.perf_counter()
    tc = train_cost(model, f"1, {hw[0]}, {hw[1]}, {entry.channels}", optimizer=optimizer,
                    labels=labels)
    seconds = time.perf_counter() - t0
    kinds = _kinds(model)
    rows = [(r.path, int(r.params), int(r.forward), int(r.backward_input),
             int(r.backward_weights), int(r.optimizer)) for r in tc.by_module()]
    spatial = {}  # path -> positions the layer is applied at (T), from its output shape
    for op in tc.result.ops:
        if op.out_shape and all(isinstance(d, int) for d in op.out_shape):
            spatial.setdefault(op.path, math.prod(op.out_shape[:-1]))
    return {"name": name, "hw": hw, "rows": rows, "kinds": kinds, "spatial": spatial,
            "seconds": seconds, "unknown": tc.result.unknown}


def _kind(path: str, kinds: dict[str, str]) -> str:
    if path in ("loss", "(optimizer)", "(top)"):
        return path
    return kinds.get(path, "(container)")


def summary_table(results: list[dict]) -> list[str]:
    out = ["| model | input | params | forward | backward input | backward weights | optimizer "
           "| step | step / forward | step / (3 x forward) | optimizer share |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        p, f, bi, bw, o = (sum(row[i] for row in r["rows"]) for i in range(1, 6))
        step = f + bi + bw + o
        out.append(f"| {r['name']} | {r['hw'][0]}x{r['hw'][1]} | {p:,} | {f:,} | {bi:,} | "
                   f"{bw:,} | {o:,} | {step:,} | {_fmt(step / f)} | {_fmt(step / (3 * f))} | "
                   f"{100 * o / step:.2f}% |")
    return out


def kind_table(results: list[dict]) -> list[str]:
    out = ["| model | layer kind | layers | share of forward | backward input / forward "
           "| backward weights / forward | rule: (forward + backward) / (3 forward) conv, "
           "/ (6 N T) dense | optimizer / parameter |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        total_f = sum(row[2] for row in r["rows"]) or 1
        groups: dict[str, list[tuple]] = collections.defaultdict(list)
        first_conv = next((row[0] for row in r["rows"]
                           if r["kinds"].get(row[0]) == "Conv" and row[2]), None)
        for row in r["rows"]:
            kind = _kind(row[0], r["kinds"])
            if row[0] == first_conv:
                kind = "Conv (first layer)"
            groups[kind].append(row)
        for kind, rows in sorted(groups.items(), key=lambda kv: -sum(x[2] for x in kv[1])):
            f = sum(x[2] for x in rows)
            if f == 0:
                continue
            bi = [x[3] / x[2] for x in rows if x[2]]
            bw = [x[4] / x[2] for x in rows if x[2]]
            rule = "-"
            if kind in ("Conv", "Conv (first layer)", "ConvTranspose"):
                rule = _span([(x[2] + x[3] + x[4]) / (3 * x[2]) for x in rows if x[2]])
            elif kind in ("Linear", "Dense"):
                rule = _span([(x[2] + x[3] + x[4]) / (6 * x[1] * r["spatial"].get(x[0], 1))
                              for x in rows if x[1] and x[2]])
            opt = _span([x[5] / x[1] for x in rows if x[1]])
            out.append(f"| {r['name']} | {kind} | {len(rows)} | {100 * f / total_f:.1f}% | "
                       f"{_span(bi)} | {_span(bw)} | {rule} | {opt} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam", "adamw"))
    parser.add_argument("--models", help="comma-separated built-in names (default: all)")
    a = parser.parse_args(argv)
    names = a.models.split(",") if a.models else list(MODELS)
    results = []
    for name in names:
        r = study(name, a.optimizer)
        print(f"{name}: traced in {r['seconds']:.1f} s", file=sys.stderr, flush=True)
        if r["unknown"]:
            print(f"  INCOMPLETE: {r['unknown']}", file=sys.stderr)
        results.append(r)
    print(f"One training step, batch 1, float32, optimizer {a.optimizer}; FLOPs as XLA "
          f"counts them.\n")
    print("\n".join(summary_table(results)))
    print()
    print("\n".join(kind_table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
