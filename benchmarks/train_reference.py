"""Every built-in model's training step against the exact per-equation reference: the closed
form of :func:`symconv.checks.trace.train_cost` (``B`` symbolic, traced once per optimizer) at
``B = 1`` and ``B = 2`` against :func:`symconv.checks.reference.reference_jaxpr` of the same step
traced at that batch (each distinct equation lowered once, XLA's counts summed in Python
integers; units above 2^24 extrapolated exactly, or marked float32 when they cannot be), with SGD
(momentum 0.9) and Adam, at each model's smallest valid input (YOLOv1: 448). Markdown on stdout,
one row per model and optimizer. Not a test: it takes about 20 minutes on one core (the
DenseNets' references lower some 2,000 distinct equations each); the slow tier checks the small
models the same way (``tests/test_train_built_ins.py``).

Run: ``python benchmarks/train_reference.py [name ...]``
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp

from symconv.checks import xla
from symconv.checks.reference import reference_jaxpr
from symconv.checks.trace import train_cost
from symconv.checks.trace.steps import setup
from symconv.models.registry import MODELS, get
from symconv.tools.bench import small_valid_hw

BATCHES = (1, 2)


def _reference(model, shape, labels, optimizer):
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    y = jax.ShapeDtypeStruct(shape[:1], jnp.int32) if labels else None
    step = setup(model, x, y, optimizer_kind=optimizer, scoped=False, parts=False)
    with xla.cheap_tracer_errors():
        closed = jax.make_jaxpr(step.fn)(*step.args)
    return reference_jaxpr(closed)


def rows(name: str) -> list[str]:
    entry = get(name)
    hw = small_valid_hw(name)
    model = xla.abstract(lambda: entry.build(hw))
    labels = entry.is_classifier(hw)
    out = []
    for optimizer in ("sgd", "adam"):
        start = time.perf_counter()
        tc = train_cost(model, f"B, {hw[0]}, {hw[1]}, {entry.channels}", labels=labels or None,
                        optimizer=optimizer)
        cells = []
        exact = True
        for b in BATCHES:
            ref = _reference(model, (b, *hw, entry.channels), labels, optimizer)
            closed = tc.at({"B": b}, figure="xla")
            exact &= ref.exact
            same = "=" if closed == ref.total() else f"≠ ({closed - ref.total():+,})"
            cells.append(f"{closed:,} {same}")
        note = "" if exact else " (a unit above 2^24 kept XLA's float32 figure)"
        out.append(f"| {name} | {hw[0]}x{hw[1]} | {optimizer} | {cells[0]} | {cells[1]} | "
                   f"{'yes' if exact else 'no'}{note} | {time.perf_counter() - start:.0f} |")
    return out


def main(names: list[str]) -> None:
    print("| model | input | optimizer | step at B=1 vs reference | step at B=2 vs reference "
          "| reference exact | seconds |")
    print("|---|---|---|---:|---:|---|---:|")
    for name in names or list(MODELS):
        for row in rows(name):
            print(row, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
