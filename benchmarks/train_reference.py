"""Every built-in model's training step against the exact per-equation reference: the closed
form of :func:`symconv.checks.trace.train_cost` (``B`` symbolic, traced once per optimizer) at
``B = 1`` and ``B = 2`` against :func:`symconv.checks.reference.reference_jaxpr` of the same step
traced at that batch (each distinct equation lowered once, XLA's counts summed in Python
integers; units above 2^24 extrapolated exactly, or marked float32 when they cannot be), with SGD
(momentum 0.9) and Adam, at each model's smallest valid input (YOLOv1: 448). Markdown on stdout,
one row per model and optimizer. Not a test: it takes about 13 minutes on one core (the
DenseNets' references lower some 2,000 distinct equations each); the slow tier checks the small
models the same way (``tests/test_train_built_ins.py``).

``--corpus`` does the same for the six corpus models of ``tests/test_train_corpus.py`` at their two
checked sizes (mean squared output as the loss).

Run: ``python benchmarks/train_reference.py [--corpus] [name ...]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from symconv.checks import xla
from symconv.checks.reference import reference_jaxpr
from symconv.checks.trace import train_cost
from symconv.checks.trace.steps import step_jaxpr
from symconv.models.registry import MODELS, get
from symconv.tools.bench import small_valid_hw

BATCHES = (1, 2)


def _reference(model, shape, labels, optimizer):
    return reference_jaxpr(step_jaxpr(model, shape, labels=bool(labels),
                                      optimizer_kind=optimizer))


def _rows(name: str, model, spec: str, shapes: list[tuple], points: list[dict], labels: bool,
          size: str) -> list[str]:
    """One row per optimizer: the closed form at each point against the exact reference."""
    out = []
    for optimizer in ("sgd", "adam"):
        start = time.perf_counter()
        tc = train_cost(model, spec, labels=labels or None, optimizer=optimizer)
        cells = []
        exact = True
        for shape, values in zip(shapes, points):
            ref = _reference(model, shape, labels, optimizer)
            closed = tc.at(values, figure="xla")
            exact &= ref.exact
            same = "=" if closed == ref.total() else f"≠ ({closed - ref.total():+,})"
            cells.append(f"{closed:,} {same}")
        note = "" if exact else " (a unit above 2^24 kept XLA's float32 figure)"
        out.append(f"| {name} | {size} | {optimizer} | {cells[0]} | {cells[1]} | "
                   f"{'yes' if exact else 'no'}{note} | {time.perf_counter() - start:.0f} |")
    return out


def rows(name: str) -> list[str]:
    """A built-in model at its smallest valid input, ``B = 1`` and ``B = 2``."""
    entry = get(name)
    hw = small_valid_hw(name)
    model = xla.abstract(lambda: entry.build(hw))
    shapes = [(b, *hw, entry.channels) for b in BATCHES]
    return _rows(name, model, f"B, {hw[0]}, {hw[1]}, {entry.channels}", shapes,
                 [{"B": b} for b in BATCHES], entry.is_classifier(hw), f"{hw[0]}x{hw[1]}")


def corpus_rows(name: str) -> list[str]:
    """A corpus model (``tests/corpus``) at its two checked sizes, mean squared output as the
    loss (as ``tests/test_train_corpus.py``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from corpus.catalog import CASES, model

    case = CASES[name]
    points = list(case.sizes[:2])
    return _rows(name, model(case), case.spec, [case.shape(v) for v in points], points, False,
                 "; ".join(", ".join(f"{k}={v}" for k, v in p.items()) for p in points))


#: the corpus models whose training steps tests/test_train_corpus.py checks against XLA
CORPUS = ("flax_ppo_cnn", "flax_resnet18", "vit_jax_mixer", "big_vision_mixer", "bonsai_unet",
          "bonsai_vgg19")


def main(argv: list[str]) -> None:
    corpus = "--corpus" in argv
    names = [a for a in argv if a != "--corpus"] or list(CORPUS if corpus else MODELS)
    print("| model | input | optimizer | first size vs reference | second size vs reference "
          "| reference exact | seconds |")
    print("|---|---|---|---:|---:|---|---:|")
    for name in names:
        for row in (corpus_rows if corpus else rows)(name):
            print(row, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
