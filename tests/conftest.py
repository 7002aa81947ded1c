"""Test configuration: tiers, hypothesis profiles, JAX's compilation cache, a private cache for
the XLA self-check, and the proofs built once.

Tiers (``slow`` marker, declared in ``pyproject.toml``):

- default: ``python -m pytest -n 2 -q`` (the README's command) runs everything not marked
  ``slow`` (``addopts`` carries ``-m "not slow"``): a small version of every check.
- slow: ``python -m pytest -n 2 -m slow`` runs the heavy corpora and sweeps (every model at full
  size, the 8-device subprocess, the large hypothesis sweeps). ``.ci/run`` runs both tiers;
  ``-m ""`` runs everything.

Hypothesis profiles (``HYPOTHESIS_PROFILE``; the default needs no variable):

- ``default``: derandomized (the draws are a function of the test alone: every run, on every
  machine, checks the same examples, so a new user never meets a rare draw), no example
  database, 100 examples per property unless the test sets its own count, no deadline (the first
  lowering of a shape pays JAX's tracing cost) and the ``too_slow`` health check off for the same
  reason.
- ``explore``: the same with random draws and the example database in ``.hypothesis/`` (failures
  are replayed first on the next run), 200 examples per property: for developers hunting bugs.
- ``thorough``: ``explore`` with 2,000 examples per property.

Properties that compile and run real values cap their own example count, since each new shape is
an XLA compile; their large sweeps are ``slow`` companions of the small default-tier test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Import JAX, Flax and the triangle here, at collection time: importing JAX raises the
# recursion limit, which hypothesis warns about (an error under filterwarnings=error) when it
# happens inside a running test.
import flax  # noqa: F401
import jax
import pytest
from flax import nnx  # noqa: F401
from hypothesis import HealthCheck, settings

import symconv.checks.triangle  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent

# Persistent compilation cache: only the value tests compile, and they reuse shapes between runs.
jax.config.update("jax_compilation_cache_dir", str(REPO_ROOT / ".jax_cache"))
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

# The XLA self-check (symconv.checks.selfcheck) caches XLA's counts under $SYMCONV_CACHE_DIR:
# tests use a directory of their own (one per process, subprocesses inherit it), never the
# user's ~/.cache, and remove it when the process ends.
_SELFCHECK_CACHE = tempfile.mkdtemp(prefix="symconv-test-cache-")
os.environ["SYMCONV_CACHE_DIR"] = _SELFCHECK_CACHE
atexit.register(shutil.rmtree, _SELFCHECK_CACHE, True)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Two settings for runs under xdist (``-n``):

    - ``-n N`` distributes with ``loadgroup`` (like xdist's default ``load``, and the tests of
      one ``xdist_group`` share a worker: see :func:`pytest_collection_modifyitems`). Set here,
      not in ``addopts``, so that ``-p no:xdist`` still works.
    - pytest-benchmark (when installed) is disabled before it warns that it disables itself:
      its ``PytestBenchmarkWarning`` would be an INTERNALERROR under ``filterwarnings = error``.
      The outcome is the same, and every other warning stays an error.
    """
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("symconv_loadgroup"):
        config.option.loadgroup = True  # a worker: name the grouped tests for the scheduler
    xdist = getattr(config.option, "dist", "no") != "no" or "PYTEST_XDIST_WORKER" in os.environ
    if xdist and hasattr(config.option, "benchmark_disable"):
        config.option.benchmark_disable = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist's controller: tell each worker that groups are on (a worker parses the command line
    again, where ``--dist`` is not given)."""
    node.workerinput["symconv_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses ``all_proofs`` runs in one xdist group, so the proofs are built once
    per session, not once per worker."""
    for item in items:
        if "all_proofs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("all_proofs"))


_HYPOTHESIS_DEFAULT = settings.get_profile("default")  # random draws, database in .hypothesis/
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", parent=_HYPOTHESIS_DEFAULT, max_examples=100,
                          derandomize=True, database=None, **_UNTIMED)
settings.register_profile("explore", parent=_HYPOTHESIS_DEFAULT, max_examples=200, **_UNTIMED)
settings.register_profile("thorough", parent=settings.get_profile("explore"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def proof_run():
    """Every proof module of ``proofs/``, run once per test session, with the source document,
    exclusions and bibliography shipped beside them."""
    from symconv.report.runner import proof_files, run_proofs

    return run_proofs(proof_files([REPO_ROOT / "proofs"]))


@pytest.fixture(scope="session")
def all_proofs(proof_run):
    """Every proof of ``proofs/``; a module that fails to build, a quote that is not verbatim
    or an unknown citation fails the tests that use them."""
    assert not proof_run.errors, "\n".join(f"{f}: {e}" for f, e in proof_run.errors)
    return proof_run.proofs
