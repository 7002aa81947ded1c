"""Data parallelism over several devices (:mod:`symconv.tools.bench.parallel`): the same numbers
as on one device.

The pytest process has already initialised JAX with one CPU device, so the checks run in a
subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=N JAX_PLATFORMS=cpu``; it
prints a JSON summary and the tests below read it. Programs are compiled at XLA's backend
optimisation level 0 (faster to compile, same results).

Tiers: the default tier runs a small version on 2 devices (the assignment network's forward
pass, a batch-norm training step, the indivisible-batch error); the ``slow`` tier runs everything
on 8 devices (ResNet-18, the assignment network's training step, the CLI's ``--devices``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import contextlib, io, json, sys, warnings
warnings.simplefilter("error")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(jax|flax)\..*")
import jax, jax.numpy as jnp, numpy as np, optax
from flax import nnx
from symconv.tools import bench as B
from symconv.tools.cli import main
from symconv.errors import SymconvError
from symconv.tools.bench.parallel import data_parallel

FAST = {"xla_backend_optimization_level": 0}
FULL = sys.argv[1] == "full"
n = len(jax.devices())
out = {"devices": n}
dp1, dp8 = data_parallel(1), data_parallel("all")


def maxdiff(a, b):
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def close(a, b, rtol, atol):
    return all(np.allclose(x, y, rtol=rtol, atol=atol)
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


for name in ("assignment", "resnet18") if FULL else ("assignment",):  # no BN in training mode
    ys = {}
    for label, dp in (("1", dp1), ("8", dp8)):
        work = B.prepare(name, 8, (32, 32), devices=dp)
        y = work.run(work.compile(FAST))
        ys[label] = np.asarray(y)
    sharding = y.sharding
    out[f"forward/{name}"] = {
        "close": close(ys["1"], ys["8"], 1e-4, 1e-6), "maxdiff": maxdiff(ys["1"], ys["8"]),
        "n_devices": len(sharding.device_set), "replicated": sharding.is_fully_replicated,
        "spec": list(sharding.spec),
        "shards": sorted({tuple(s.data.shape) for s in y.addressable_shards}),
        "shape": list(y.shape)}

params, losses = {}, {}
for label, dp in (("1", dp1), ("8", dp8)) if FULL else ():
    work = B.prepare("assignment", 8, (32, 32), train=True, devices=dp)
    _, loss = work.run(work.compile(FAST))
    params[label], losses[label] = work.params(), float(loss)
    if label == "8":
        out["train/state_sharding"] = sorted({tuple(x.sharding.spec) for x in
                                              jax.tree.leaves(work.state)})
        out["train/state_devices"] = sorted({len(x.sharding.device_set) for x in
                                             jax.tree.leaves(work.state)})
if FULL:
    out["train/assignment"] = {"close": close(params["1"], params["8"], 1e-5, 1e-6),
                               "maxdiff": maxdiff(params["1"], params["8"]),
                               "loss": [losses["1"], losses["8"]]}


class TinyBN(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(3, 8, (3, 3), rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.fc = nnx.Linear(8, 4, rngs=rngs)

    def __call__(self, x):
        return self.fc(jax.nn.relu(self.bn(self.conv(x))).mean(axis=(1, 2)))


model = TinyBN(nnx.Rngs(0))
model.train()
optimizer = nnx.Optimizer(model, optax.sgd(0.1, momentum=0.9), wrt=nnx.Param)
graphdef, state = nnx.split((model, optimizer))
state = jax.tree.map(np.asarray, state)
x = np.random.default_rng(0).standard_normal((16, 8, 8, 3)).astype(np.float32)
results = {}
for label, dp in (("1", dp1), ("8", dp8)):
    step = dp.jit(B.train_step_fn(graphdef, classifier=False), ("replicated", "batch"),
                  ("replicated", "replicated"), donate_argnums=(0,))
    new_state, loss = step(dp.replicate(state), dp.shard(x))
    m, _ = nnx.merge(graphdef, new_state)
    results[label] = (jax.tree.map(np.asarray, nnx.state(m, nnx.Param)),
                      jax.tree.map(np.asarray, nnx.state(m, nnx.BatchStat)))
out["train/tiny_bn"] = {
    "params_close": close(results["1"][0], results["8"][0], 1e-5, 1e-6),
    "stats_close": close(results["1"][1], results["8"][1], 1e-5, 1e-6),
    "stats_moved": maxdiff(results["1"][1], jax.tree.map(
        np.asarray, nnx.state(nnx.merge(graphdef, state)[0], nnx.BatchStat))) > 0}

try:
    B.prepare("assignment", n + n // 2, (32, 32), devices="all")
except SymconvError as e:
    out["indivisible"] = str(e)
if not FULL:
    print("RESULT " + json.dumps(out))
    sys.exit(0)
err = io.StringIO()
with contextlib.redirect_stderr(err):
    out["cli_indivisible_code"] = main(["bench", "assignment", "--batch", "12", "--input",
                                        "32,32", "--steps", "1"])
out["cli_indivisible_err"] = err.getvalue()
text = io.StringIO()
with contextlib.redirect_stdout(text):
    out["cli_devices_1_code"] = main(["bench", "assignment-gap", "--batch", "3", "--input",
                                      "32,32", "--steps", "1", "--warmup", "0", "--devices", "1",
                                      "--format", "json"])
out["cli_devices_1"] = json.loads(text.getvalue())
text = io.StringIO()
with contextlib.redirect_stdout(text):
    main(["bench", "assignment-gap", "--batch", "8", "--input", "32,32", "--steps", "1",
          "--warmup", "0", "--format", "json"])
out["cli_devices_all"] = json.loads(text.getvalue())
print("RESULT " + json.dumps(out))
'''


def _run(devices: int, scope: str) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=str(ROOT / ".jax_cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, scope], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def run2() -> dict:
    return _run(2, "small")


@pytest.fixture(scope="module")
def run8() -> dict:
    return _run(8, "full")


def test_two_devices_small_version(run2):
    """The default tier's version: forward pass, batch-norm training step, error message."""
    assert run2["devices"] == 2
    r = run2["forward/assignment"]
    assert r["close"], r["maxdiff"]
    assert r["n_devices"] == 2 and not r["replicated"] and r["spec"] == ["data"]
    assert r["shards"] == [[4, *r["shape"][1:]]]
    r = run2["train/tiny_bn"]
    assert r["params_close"] and r["stats_close"] and r["stats_moved"]
    msg = run2["indivisible"]
    assert "batch 3" in msg and "2 devices" in msg and "nearest valid batches: 2 or 4" in msg


# --- slow tier: every test below reads the 8-device subprocess ---------------------------------


@pytest.mark.slow
def test_eight_devices(run8):
    assert run8["devices"] == 8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["assignment", "resnet18"])
def test_sharded_forward_equals_single_device(run8, name):
    r = run8[f"forward/{name}"]
    assert r["close"], r["maxdiff"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["assignment", "resnet18"])
def test_outputs_are_sharded_over_eight_devices(run8, name):
    r = run8[f"forward/{name}"]
    assert r["n_devices"] == 8 and not r["replicated"] and r["spec"] == ["data"]
    assert r["shards"] == [[1, *r["shape"][1:]]]


@pytest.mark.slow
def test_training_step_same_params_sharded_or_not(run8):
    r = run8["train/assignment"]
    assert r["close"], r["maxdiff"]
    assert r["loss"][0] == pytest.approx(r["loss"][1], rel=1e-5)
    assert run8["train/state_sharding"] == [[]]  # replicated (PartitionSpec()) ...
    assert run8["train/state_devices"] == [8]  # ... on all 8 devices


@pytest.mark.slow
def test_batch_norm_training_reduces_over_the_global_batch(run8):
    r = run8["train/tiny_bn"]
    assert r["params_close"] and r["stats_close"] and r["stats_moved"]


@pytest.mark.slow
def test_indivisible_batch_error(run8):
    msg = run8["indivisible"]
    assert "batch 12" in msg and "8 devices" in msg and "nearest valid batches: 8 or 16" in msg
    assert run8["cli_indivisible_code"] == 2
    err = run8["cli_indivisible_err"].strip().splitlines()
    assert len(err) == 1 and err[0].startswith("symconv: error: batch 12") and "8 or 16" in err[0]


@pytest.mark.slow
def test_devices_flag(run8):
    one, every = run8["cli_devices_1"], run8["cli_devices_all"]
    assert run8["cli_devices_1_code"] == 0 and one["devices"] == 1 and one["batch"] == 3
    assert every["devices"] == 8 and every["images_per_s"] > 0
    # CPU "devices" share the host's cores: the measured peak is not multiplied
    assert every["peak_source"].startswith("measured")
