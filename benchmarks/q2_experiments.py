"""The two slow experiments behind Q2's claims, timed, and (with ``--write``) the committed
results the proofs read: ``proofs/results/gradient_flow.json`` and
``proofs/results/training_step.json`` (not a timed test).

- gradient flow (:mod:`symconv.experiments.gradient_flow`): plain, residual and dense conv
  stacks without and with batch norm, depths 6, 12, 24, three seeds each;
- training step (:mod:`symconv.experiments.training_step`): XLA's memory plan of one training
  step of DenseNet-121 and ResNet-50 on 8 images of 224 x 224, and its median time on this
  machine (the two networks alternating).

``symconv prove`` reads the committed files (its report says so, with their stamps); ``symconv
prove --experiments`` measures again for its report without writing them. Rewrite them after a
change to an experiment or to the pinned versions (``constraints.txt``):

    python benchmarks/q2_experiments.py --write
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from symconv.experiments import gradient_flow, training_step

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "proofs" / "results"
COMMAND = "python benchmarks/q2_experiments.py --write"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"write the results to {RESULTS.relative_to(ROOT)}/")
    parser.add_argument("--only", choices=("gradient_flow", "training_step"),
                        help="run one experiment")
    args = parser.parse_args()
    if args.only in (None, "gradient_flow"):
        t = time.perf_counter()
        results = gradient_flow.run()
        print(f"gradient flow: {time.perf_counter() - t:.1f} s")
        for r in results:
            med = np.median(r.norms, axis=0)
            print(f"  {r.name:<14} depth {r.depth:>2}: ||g_1|| {med[0]:.3g}, "
                  f"||g_D|| {med[-1]:.3g}, g_1/g_D {r.first_to_last:.3g}")
        if args.write:
            gradient_flow.save(RESULTS / "gradient_flow.json", results, command=COMMAND)
    if args.only in (None, "training_step"):
        t = time.perf_counter()
        mem = training_step.run()
        print(f"training step: {time.perf_counter() - t:.1f} s")
        for m in mem:
            print(f"  {m.model:<12} batch {m.batch}: arguments {m.argument_bytes / 2**20:.1f} "
                  f"MiB, outputs {m.output_bytes / 2**20:.1f} MiB, temp "
                  f"{m.temp_bytes / 2**20:.1f} MiB; {m.seconds:.2f} s a step")
        if args.write:
            training_step.save(RESULTS / "training_step.json", mem, command=COMMAND)
    if args.write:
        print(f"wrote {RESULTS.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
