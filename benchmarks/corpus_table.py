"""The model corpus table for the README: every vendored public model (``tests/corpus``), its
source, the symbols it is traced with, whether the tracer's closed form equals the exact
per-equation reference (``symconv.checks.reference``) at every checked size, and how long the
symbolic trace took (one cold run, this machine).

Run: ``python benchmarks/corpus_table.py [name ...]`` (markdown on stdout).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus.catalog import CASES, Case, measure, traced


def row(case: Case) -> str:
    """One markdown row: exact when the tracer is complete and equals the reference at every
    size; otherwise the first difference (or the unknown primitives)."""
    result, seconds = traced(case)
    status = "yes"
    if not result.complete:
        status = "no: unpriced " + ", ".join(sorted(result.unknown))
    else:
        for values in case.sizes:
            m = measure(case, result, values)
            if m["traced"] != m["reference"]:
                at = ", ".join(f"{k}={v}" for k, v in values.items())
                status = f"no: {m['traced'] - m['reference']:+,} FLOPs at {at}"
                break
    sizes = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in case.sizes)
    return (f"| {case.name} | {case.source} | `{case.spec}` ({sizes}) | {status} | "
            f"{seconds:.2f} |")


def main(names: list[str]) -> None:
    print("| model | source | traced input (checked at) | tracer exact | trace (s) |")
    print("|---|---|---|---|---:|")
    for name in names or list(CASES):
        print(row(CASES[name]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
