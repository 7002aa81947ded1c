"""The model corpus table for the README: every vendored public model (``tests/corpus``), its
source, the symbols it is traced with, whether the tracer's closed form equals the exact
per-equation reference (``symconv.checks.reference``) and XLA's whole-function figure at every
checked size (loops on XLA's once-per-body figure; above 2^24 XLA's figure is its float32 sum,
and "yes (float32 sum)" means within its rounding, ``flops_agree``), and how long the
symbolic trace took (one cold run, this machine).

Run: ``python benchmarks/corpus_table.py [name ...]`` (markdown on stdout).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus.catalog import CASES, Case, measure, traced

from symconv.checks.xla import FLOAT32_EXACT, flops_agree


def _status(case: Case, result, side: str) -> str:
    """"yes" when the tracer's closed form equals ``side`` ("reference" or "xla") at every size,
    otherwise the first difference (or the unknown primitives)."""
    if not result.complete:
        return "no: unpriced " + ", ".join(sorted(result.unknown))
    rounded = False
    for values in case.sizes:
        m = measure(case, result, values)
        if m["traced"] != m[side]:
            if side == "xla" and m["traced"] >= FLOAT32_EXACT and flops_agree(
                    m["traced"], m["xla"], m["ops"]):
                rounded = True  # XLA's float32 sum of exact terms
                continue
            at = ", ".join(f"{k}={v}" for k, v in values.items())
            return f"no: {m['traced'] - m[side]:+,} FLOPs at {at}"
    return "yes (float32 sum)" if rounded else "yes"


def row(case: Case) -> str:
    """One markdown row: the tracer against the exact reference and against XLA's whole
    figure (they differ where XLA's count of the whole is not the sum of its parts)."""
    result, seconds = traced(case)
    sizes = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in case.sizes)
    return (f"| {case.name} | {case.source} | `{case.spec}` ({sizes}) | "
            f"{_status(case, result, 'reference')} | {_status(case, result, 'xla')} | "
            f"{seconds:.2f} |")


def main(names: list[str]) -> None:
    print("| model | source | traced input (checked at) | = reference | = XLA | trace (s) |")
    print("|---|---|---|---|---|---:|")
    for name in names or list(CASES):
        print(row(CASES[name]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
