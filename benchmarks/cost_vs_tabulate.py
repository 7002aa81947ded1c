"""`symconv cost` (symbolic trace + one XLA check) against `nnx.tabulate(compute_flops=True)`.

Same models, same process, same run; each timed once cold (first call, what a user waits for)
and best-of-3 warm. Run: ``python benchmarks/cost_vs_tabulate.py``.
"""

from __future__ import annotations

import time

import jax.numpy as jnp
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace import trace
from symconv.models.registry import MODELS

CASES = [("assignment-gap", (128, 128)), ("mobilenet_v1", (224, 224)),
         ("mobilenet_v1_0.5", (160, 160))]


def symconv_cost(name, hw):
    entry = MODELS[name]
    model = xla.abstract(lambda: entry.build(hw))
    result = trace(model, "B, H, W, 3")
    value = result.at({"B": 1, "H": hw[0], "W": hw[1]})
    measured = xla.cost(model, (1, *hw, 3))
    assert xla.flops_agree(value, measured["flops"], measured["ops"])
    return value


def tabulate(name, hw):
    model = MODELS[name].build(hw)
    return nnx.tabulate(model, jnp.ones((1, *hw, 3)), compute_flops=True)


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> list[dict]:
    rows = []
    for name, hw in CASES:
        cold_s, cold_t = timed(symconv_cost, name, hw), timed(tabulate, name, hw)
        warm_s = min(timed(symconv_cost, name, hw) for _ in range(3))
        warm_t = min(timed(tabulate, name, hw) for _ in range(3))
        rows.append(dict(model=name, input=hw, symconv_cold=cold_s, tabulate_cold=cold_t,
                         symconv_warm=warm_s, tabulate_warm=warm_t))
    return rows


if __name__ == "__main__":
    print("| model | input | symconv cost (cold / warm s) | nnx.tabulate flops (cold / warm s) "
          "| ratio tabulate/symconv (warm) |")
    print("|---|---|---:|---:|---:|")
    for r in main():
        print(f"| {r['model']} | {r['input'][0]}x{r['input'][1]} | {r['symconv_cold']:.2f} / "
              f"{r['symconv_warm']:.2f} | {r['tabulate_cold']:.2f} / {r['tabulate_warm']:.2f} | "
              f"{r['tabulate_warm'] / r['symconv_warm']:.2f} |")
