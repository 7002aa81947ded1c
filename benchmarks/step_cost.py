"""The training-step cost of each question's network (:mod:`symconv.experiments.step_cost`),
timed, and (with ``--write``) the committed result the proofs read:
``proofs/results/step_cost.json`` (not a timed test).

``symconv prove`` reads the committed file (its report says so, with its stamp); ``symconv prove
--experiments`` measures again for its report without writing it. Rewrite it after a change to
the tracer, to a built-in network or to the pinned versions (``constraints.txt``):

    python benchmarks/step_cost.py --write
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from symconv.checks.xla import flops_agree
from symconv.experiments import step_cost

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "proofs" / "results" / "step_cost.json"
COMMAND = "python benchmarks/step_cost.py --write"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"write the result to {RESULT.relative_to(ROOT)}")
    parser.add_argument("models", nargs="*", default=list(step_cost.NETWORKS.values()),
                        help="built-in networks (default: the four question networks)")
    args = parser.parse_args()
    results = []
    for name in args.models:
        start = time.perf_counter()
        r = step_cost.measure(name)
        results.append(r)
        agree = all(flops_agree(r.at(n), f, ops) for n, f, ops in r.xla)
        print(f"{name:<12} {r.input}: step {r.at(1):,} FLOPs at B=1, "
              f"step/(3 forward) {float(r.rule_of_thumb()):.3f}, "
              f"XLA {', '.join(f'{f:,}' for _, f, _ in r.xla)} ({'agree' if agree else 'DIFFER'});"
              f" trace {r.seconds:.1f} s, all {time.perf_counter() - start:.1f} s", flush=True)
    if args.write:
        step_cost.save(RESULT, results, command=COMMAND)
        print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
