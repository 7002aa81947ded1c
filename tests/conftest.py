"""Test configuration: JAX compilation cache, early imports and hypothesis profiles.

Profiles (choose with ``HYPOTHESIS_PROFILE=ci|thorough``, default ``ci``):

- ``ci``: 200 examples per property, no deadline (the first lowering of a shape pays JAX's
  tracing cost), ``too_slow`` health check off for the same reason.
- ``thorough``: the same with 2,000 examples per property.

Properties that compile and run real values (``test_transposed_numpy.py``) cap their own example
count, since each new shape is an XLA compile.
"""

from __future__ import annotations

import os
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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, disable pytest-benchmark (when installed) before it warns that it does so.

    pytest-benchmark disables itself when xdist is active and says so with a
    ``PytestBenchmarkWarning``, which ``filterwarnings = error`` turns into an INTERNALERROR.
    Disabling it first gives the same outcome without the warning, and keeps every other
    warning an error.
    """
    xdist = getattr(config.option, "dist", "no") != "no" or "PYTEST_XDIST_WORKER" in os.environ
    if xdist and hasattr(config.option, "benchmark_disable"):
        config.option.benchmark_disable = True


# In CI (CI=true) the draws are derandomized: a submission is judged on the examples that were
# run before it was submitted; locally every run explores new ones.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=2000,
                          derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def all_proofs():
    """Every proof module of ``proofs/``, built once per test session."""
    from symconv.report.runner import proof_files, run_proofs

    result = run_proofs(proof_files([REPO_ROOT / "proofs"]))
    assert not result.errors, result.errors
    return result.proofs
