"""How many random conv configs per second the triangle verifies (not a timed test).

Each config: algebra (SymPy closed forms: shape, params, exact FLOPs), model (abstract
``nnx.Conv`` + ``jax.eval_shape``) and compiler (``jit(...).lower(...).cost_analysis()``, no
compile). Run: ``python benchmarks/triangle_throughput.py [N]``; pin to one core with
``taskset -c 0`` to reproduce the README's single-core figure.
"""

from __future__ import annotations

import sys
import time

from flax import nnx
from hypothesis import HealthCheck, given, settings

from symconv.checks import xla
from symconv.models import flax_layer
from symconv.testing import conv2d_configs


def main(n: int = 300) -> dict:
    timings = {"algebra": 0.0, "model": 0.0, "xla": 0.0}
    seen = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(conv2d_configs())
    def run(case):
        b, _h, _w, _ = case.input_shape
        t0 = time.perf_counter()
        shape = case.spec.output_shape(case.input_shape[1:])
        params = case.spec.param_count()
        fl = b * case.spec.flops(case.input_shape[1:], "exact")
        t1 = time.perf_counter()
        model = xla.abstract(lambda: flax_layer(case.spec, rngs=nnx.Rngs(0)))
        mshape = xla.output_shape(model, case.input_shape, sympy=False)
        mparams = xla.param_count(model)
        t2 = time.perf_counter()
        xfl = xla.flops(model, case.input_shape)
        t3 = time.perf_counter()
        assert tuple(mshape) == (b, *shape) and mparams == params and xfl == fl, case
        timings["algebra"] += t1 - t0
        timings["model"] += t2 - t1
        timings["xla"] += t3 - t2
        seen.append(case)

    start = time.perf_counter()
    run()
    total = time.perf_counter() - start
    k = len(seen)
    result = {"configs": k, "seconds": total, "configs_per_s": k / total,
              **{f"{side}_ms_per_config": 1e3 * t / k for side, t in timings.items()}}
    return result


if __name__ == "__main__":
    res = main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    print(f"verified {res['configs']} random Conv2D configs in {res['seconds']:.1f} s: "
          f"{res['configs_per_s']:.1f} configs/s")
    print("per config: " + ", ".join(f"{k.split('_')[0]} {v:.1f} ms" for k, v in res.items()
                                      if k.endswith("_ms_per_config")))
