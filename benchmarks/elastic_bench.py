"""Elastic deformation throughput: a batch of 32 float32 images 512×512×1, jitted (not a test).

Times ``jax.jit(elastic_deform_batch)`` (3 × 3 grid, σ = 10 px, bicubic, 'reflect'; with and
without a mask) after compilation: the median of ``--repeats`` runs, each ending in
``block_until_ready``. Target: under one second per batch on the 2-core CPU this project runs
on. Run: ``python benchmarks/elastic_bench.py [--repeats 7] [--batch 32] [--size 512]``; pin to
one core with ``taskset -c 0`` for a single-core figure.

The field costs two small matrix products per image (the coarse-to-fine upsampling is
separable); the warp reads a 4 × 4 neighbourhood per pixel from the image padded by 3 samples,
after mapping each coordinate into its boundary mode's base period, so no tap needs an integer
modulo; XLA fuses the whole warp into one loop.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from symconv.augment import elastic_deform_batch, elastic_field


def _time(fn, *args, repeats: int) -> tuple[float, float, list[float]]:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    compile_s = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), compile_s, runs


def main(batch: int = 32, size: int = 512, repeats: int = 7) -> dict:
    key = jax.random.key(0)
    images = jax.random.uniform(jax.random.key(1), (batch, size, size, 1), dtype=jnp.float32)
    masks = (images[..., 0] > 0.5).astype(jnp.int32)

    image_only = jax.jit(lambda k, x: elastic_deform_batch(k, x)[0])
    with_mask = jax.jit(elastic_deform_batch)
    fields = jax.jit(lambda k: jax.vmap(lambda kk: elastic_field(kk, (size, size)))(
        jax.random.split(k, batch)))

    result = {"batch": batch, "size": size, "repeats": repeats,
              "device": str(jax.devices()[0]), "jax": jax.__version__}
    for name, fn, args in (("images", image_only, (key, images)),
                           ("images+masks", with_mask, (key, images, masks)),
                           ("fields only", fields, (key,))):
        median, compile_s, runs = _time(fn, *args, repeats=repeats)
        result[name] = {"median_s": median, "min_s": min(runs), "first_call_s": compile_s}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    res = main(args.batch, args.size, args.repeats)
    print(f"elastic_deform_batch, {res['batch']} × {res['size']}×{res['size']}×1 float32, "
          f"{res['device']}, jax {res['jax']}, median of {res['repeats']} runs after compile:")
    for name in ("images", "images+masks", "fields only"):
        r = res[name]
        print(f"  {name:13s} {r['median_s']:.3f} s (min {r['min_s']:.3f} s, first call "
              f"{r['first_call_s']:.1f} s)")
