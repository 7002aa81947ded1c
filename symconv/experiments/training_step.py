"""One training step of DenseNet-121 against ResNet-50: the memory XLA plans for it, and its
time on this machine.

Setting (stated, not assumed): the Flax network with batch norm in training mode (batch
statistics), a ``B x 224 x 224 x 3`` float32 input, the cross-entropy of the network's class
probabilities against class 0, and ``jax.jit(jax.grad(loss))`` compiled for this machine's
backend. Measured:

- memory: XLA's ``memory_analysis()`` of the compiled step — ``argument`` (the parameters,
  batch statistics and input), ``output`` (the gradients) and ``temp`` (everything else alive
  during the step: the feature maps kept for the backward pass and the working buffers);
  deterministic for a given XLA version and backend;
- time: the median wall time of ``repeats`` steps per network after one warm-up, the networks
  alternating (so a change in the machine's load falls on both), with weights drawn by NumPy
  (seed 0: kernels normal with standard deviation 0.05, batch norm scale 1 and offset 0) and a
  standard-normal input; it depends on the machine and its load, so only the ratio is meant to
  be compared.

Compiling DenseNet-121's step takes one to two minutes on a 2-core CPU, so the proofs read the
committed result unless ``symconv prove --experiments`` is given.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.errors import SymconvError
from symconv.experiments import record

BATCH = 8
SIZE = 224
MODELS = ("densenet121", "resnet50")
REPEATS = 3


@dataclass(frozen=True)
class TrainingStep:
    model: str
    batch: int
    argument_bytes: int
    output_bytes: int
    temp_bytes: int
    seconds: float | None = None  # median wall time of a step; None: not timed

    @property
    def total_bytes(self) -> int:
        return self.argument_bytes + self.output_bytes + self.temp_bytes


def _factory(name: str) -> Callable[[], nnx.Module]:
    from symconv.algebra.nets.densenet import DenseNetConfig
    from symconv.algebra.nets.resnet import ResNetConfig
    from symconv.models.densenet import DenseNet
    from symconv.models.resnet import ResNet

    presets = {"densenet121": lambda: DenseNet(DenseNetConfig.densenet121(), train=True,
                                               rngs=nnx.Rngs(0)),
               "resnet50": lambda: ResNet(ResNetConfig.resnet50(), train=True,
                                          rngs=nnx.Rngs(0))}
    if name not in presets:
        raise SymconvError(f"model={name!r} must be one of {sorted(presets)}")
    return presets[name]


def _compiled(name: str, batch: int, size: int):
    """The compiled step and the abstract (params, batch statistics, input) it takes."""
    if not isinstance(batch, int) or batch < 1:
        raise SymconvError(f"batch={batch!r} must be an int >= 1")
    graphdef, params, rest = nnx.split(nnx.eval_shape(_factory(name)), nnx.Param, ...)
    x = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)

    def step(params, rest, x):
        def loss(p, r):  # merged inside: batch norm updates statistics of its own trace
            probs = nnx.merge(graphdef, p, r, copy=True)(x)
            return -jnp.mean(jnp.log(probs[:, 0]))

        return jax.grad(loss)(params, rest)

    return jax.jit(step).lower(params, rest, x).compile(), (params, rest, x)


def _memory(name: str, batch: int, compiled, seconds: float | None = None) -> TrainingStep:
    m = compiled.memory_analysis()
    return TrainingStep(name, batch, int(m.argument_size_in_bytes), int(m.output_size_in_bytes),
                        int(m.temp_size_in_bytes), seconds)


def measure_step_memory(name: str, batch: int = BATCH, size: int = SIZE) -> TrainingStep:
    """XLA's memory plan of one training step of ``name`` on ``batch`` images (not timed)."""
    return _memory(name, batch, _compiled(name, batch, size)[0])


def _values(abstract, rng: np.random.Generator):
    """Concrete arrays for an abstract state: kernels N(0, 0.05^2), scales and variances 1,
    everything else 0."""
    def fill(path, leaf):
        names = [getattr(p, "key", getattr(p, "name", None)) for p in path]
        name = next(n for n in reversed(names) if n not in ("value", "raw_value"))
        if name == "kernel":
            return jnp.asarray(rng.normal(0.0, 0.05, leaf.shape), leaf.dtype)
        if name in ("scale", "var"):
            return jnp.ones(leaf.shape, leaf.dtype)
        return jnp.zeros(leaf.shape, leaf.dtype)

    return jax.tree_util.tree_map_with_path(fill, abstract)


def run(batch: int = BATCH, models=MODELS, repeats: int = REPEATS) -> tuple[TrainingStep, ...]:
    """Memory and median step time of every model, the models' steps alternating."""
    steps = {name: _compiled(name, batch, SIZE) for name in models}
    rng = np.random.default_rng(0)
    args = {name: (*_values((p, r), rng), jnp.asarray(rng.normal(size=x.shape), x.dtype))
            for name, (_, (p, r, x)) in steps.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for i in range(repeats + 1):  # the first round warms up
        for name, (compiled, _) in steps.items():
            start = time.perf_counter()
            jax.block_until_ready(compiled(*args[name]))
            if i:
                times[name].append(time.perf_counter() - start)
    return tuple(_memory(name, batch, steps[name][0], statistics.median(times[name]))
                 for name in models)


def save(path: str | Path, results, *, command: str) -> dict:
    setting = {"batch": sorted({r.batch for r in results}), "image side": SIZE,
               "timed steps": REPEATS}
    rows = [{"model": r.model, "batch": r.batch, "argument_bytes": r.argument_bytes,
             "output_bytes": r.output_bytes, "temp_bytes": r.temp_bytes, "seconds": r.seconds}
            for r in results]
    return record.write(path, record.stamp(command, **setting), rows)


def load(path: str | Path) -> tuple[tuple[TrainingStep, ...], dict]:
    rows, stamp = record.read(path)
    try:
        return tuple(TrainingStep(r["model"], int(r["batch"]), int(r["argument_bytes"]),
                                  int(r["output_bytes"]), int(r["temp_bytes"]), r["seconds"])
                     for r in rows), stamp
    except (KeyError, TypeError, ValueError) as e:
        raise SymconvError(f"{path}: not a training-step result ({e})") from None
