"""Jitted fixed-size NMS (:func:`symconv.detection.nms`) against the NumPy greedy reference of
``tests/test_detection.py`` on 10,000 random boxes (not a timed test).

Boxes: corners uniform in a 1000 x 1000 image, sides uniform in [10, 100], scores uniform in
[0, 1), seed 0; IoU threshold 0.5. Two output caps: ``max_outputs=100`` (a detector's usual cap)
and ``max_outputs=10000`` (no cap: the loop runs until every box is kept or suppressed). The jitted
time is the median of ``--repeats`` runs after one compiling call, each ended by
``block_until_ready``; the reference's is the median of the same number of runs. For context a
third column times the usual hand-tuned NumPy NMS (Fast R-CNN's ``py_cpu_nms``, which compares
each kept box only with the boxes still in play). All three kept lists are checked to be equal.

Run: ``python benchmarks/nms_bench.py [--n 10000] [--repeats 7]``. XLA's CPU thread pool costs
a fixed amount per loop step; ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` (set before the
run) shows the single-threaded time.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from functools import partial
from pathlib import Path

import jax
import numpy as np

from symconv.detection import nms

ROOT = Path(__file__).resolve().parent.parent


def _reference():
    """``nms_reference`` from the test file, where it is checked against the kernel."""
    spec = importlib.util.spec_from_file_location("test_detection",
                                                  ROOT / "tests" / "test_detection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nms_reference


def nms_shrinking(boxes: np.ndarray, scores: np.ndarray, threshold: float,
                  max_outputs: int) -> list[int]:
    """The usual hand-tuned NumPy NMS (Fast R-CNN's ``py_cpu_nms``): each kept box is compared
    only with the boxes still in play, and the list shrinks as boxes are suppressed."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_outputs:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= np.float32(threshold)]
    return keep


def random_boxes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(10, 100, (n, 2))], 1).astype(np.float32)
    return boxes, rng.uniform(size=n).astype(np.float32)


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(n: int = 10_000, repeats: int = 7, threshold: float = 0.5) -> list[dict]:
    reference = _reference()
    boxes_np, scores_np = random_boxes(n)
    boxes, scores = jax.device_put(boxes_np), jax.device_put(scores_np)
    rows = []
    for cap in (100, n):
        kernel = jax.jit(partial(nms, max_outputs=cap))
        t0 = time.perf_counter()
        result = kernel(boxes, scores, iou_threshold=threshold)
        result.count.block_until_ready()
        first = time.perf_counter() - t0
        # Each lambda is timed at once, inside this iteration (B023 does not apply).
        jitted = _median_time(
            lambda: kernel(boxes, scores, iou_threshold=threshold).count.block_until_ready(),  # noqa: B023
            repeats)
        numpy = _median_time(
            lambda: reference(boxes_np, scores_np, threshold, max_outputs=cap),  # noqa: B023
            repeats)
        shrinking = _median_time(
            lambda: nms_shrinking(boxes_np, scores_np, threshold, cap),  # noqa: B023
            repeats)
        want = reference(boxes_np, scores_np, threshold, max_outputs=cap)
        got = np.asarray(result.indices)[: int(result.count)].tolist()
        assert got == want, "jitted NMS and the NumPy reference keep different boxes"
        assert nms_shrinking(boxes_np, scores_np, threshold, cap) == want
        rows.append(dict(max_outputs=cap, kept=len(want), first_call_s=first, jitted_s=jitted,
                         numpy_s=numpy, speedup=numpy / jitted, shrinking_s=shrinking))
    print(f"NMS of {n:,} random boxes, IoU threshold {threshold}, {jax.devices()[0].platform}, "
          f"median of {repeats}")
    print(f"{'max_outputs':>11} {'kept':>6} {'compile+run s':>14} {'jitted s':>10} "
          f"{'numpy s':>10} {'numpy/jitted':>13} {'shrinking numpy s':>18}")
    for r in rows:
        print(f"{r['max_outputs']:>11,} {r['kept']:>6,} {r['first_call_s']:>14.3f} "
              f"{r['jitted_s']:>10.4f} {r['numpy_s']:>10.4f} {r['speedup']:>12.2f}x "
              f"{r['shrinking_s']:>18.4f}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    main(args.n, args.repeats)
