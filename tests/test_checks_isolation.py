"""The checks leave foreign objects as they found them, and are safe from several threads.

``xla.abstract`` overrides one JAX class attribute while it builds (documented there) and must
put it back; ``trace`` scopes module calls on its own private copy of the model and must never
touch the user's classes or instances. Both are run from several threads at once and compared
with a run in one thread.
"""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from jax._src import core as jax_core  # private: only to check that it is left as found
from jax._src.interpreters import partial_eval as pe

from symconv.checks import xla
from symconv.checks.trace import trace
from symconv.models.registry import MODELS

JAX_TRACER_CLASSES = (jax_core.Tracer, pe.DynamicJaxprTracer)


def _attributes(classes) -> dict:
    """Every class's own attributes, by identity of their values."""
    return {cls: {k: id(v) for k, v in vars(cls).items()} for cls in classes}


def _in_threads(fn, n: int) -> list:
    """``fn(i)`` for i < n, all started together; re-raises the first error."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def work(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as e:  # handed back to the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _shapes(model: nnx.Module) -> list:
    return [(tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(nnx.state(model))]


def _build(name: str) -> nnx.Module:
    entry = MODELS[name]
    return xla.abstract(lambda: entry.build(entry.default_hw))


# --------------------------------------------------------------------------------------------
# xla.abstract


def test_abstract_overrides_origin_message_only_while_building():
    before = _attributes(JAX_TRACER_CLASSES)
    original = vars(pe.DynamicJaxprTracer)["_origin_msg"]
    seen = []

    def factory():
        seen.append(vars(pe.DynamicJaxprTracer)["_origin_msg"] is original)
        inner = xla.abstract(lambda: nnx.Linear(2, 3, rngs=nnx.Rngs(1)))  # nested call
        seen.append(vars(pe.DynamicJaxprTracer)["_origin_msg"] is original)
        return nnx.Sequential(inner, nnx.Linear(3, 2, rngs=nnx.Rngs(0)))

    model = xla.abstract(factory)
    assert seen == [False, False]  # overridden during the build, nested call included
    assert _attributes(JAX_TRACER_CLASSES) == before
    assert _shapes(model) == [(s, "float32") for s in [(3,), (2, 3), (2,), (3, 2)]]


def test_tracer_errors_keep_their_origin_after_abstract():
    xla.abstract(lambda: nnx.Linear(2, 3, rngs=nnx.Rngs(0)))
    with pytest.raises(jax.errors.ConcretizationTypeError, match="while tracing"):
        jax.jit(lambda x: x.committed)(jnp.ones(3))


def test_abstract_from_several_threads():
    names = ["densenet_bc_100_12", "mobilenet_v1_0.5", "resnet18", "densenet_bc_100_12"]
    expected = {name: _shapes(_build(name)) for name in set(names)}
    before = _attributes(JAX_TRACER_CLASSES)
    models = _in_threads(lambda i: _build(names[i]), len(names))
    assert [_shapes(m) for m in models] == [expected[n] for n in names]
    assert _attributes(JAX_TRACER_CLASSES) == before


# --------------------------------------------------------------------------------------------
# trace: module scopes on the tracer's private copy


def _probe_class(seen: list, others: list) -> type:
    """A user's module class that records, while traced, what the user's classes and the
    instances in ``others`` (a second model, outside the traced graph) look like."""

    class Probe(nnx.Module):
        def __init__(self, *, rngs: nnx.Rngs):
            self.lin = nnx.Linear(4, 3, rngs=rngs)
            self.bn = nnx.BatchNorm(3, use_running_average=True, rngs=rngs)

        def __call__(self, x):
            seen.append({
                "self": type(self),
                "classes": _attributes((Probe, nnx.Linear, nnx.BatchNorm, nnx.Module)),
                "others": [type(m) for m in others],
            })
            return self.bn(self.lin(x))

    return Probe


def test_trace_never_modifies_user_classes_or_other_models():
    seen: list = []
    others: list = []
    Probe = _probe_class(seen, others)
    other = Probe(rngs=nnx.Rngs(1))
    others += [other, other.lin, other.bn]
    model = Probe(rngs=nnx.Rngs(0))
    classes = (Probe, nnx.Linear, nnx.BatchNorm, nnx.Module)
    before = _attributes(classes)
    instances = [(m, type(m)) for m in (model, model.lin, model.bn, *others)]

    result = trace(model, "B, 4")

    (during,) = seen
    assert during["self"] is not Probe and issubclass(during["self"], Probe)  # private copy
    assert during["classes"] == before
    assert during["others"] == [Probe, nnx.Linear, nnx.BatchNorm]
    assert _attributes(classes) == before
    assert all(type(m) is cls for m, cls in instances)
    assert {op.path for op in result.ops} == {"lin", "bn"}
    assert result.complete and result.params == {"lin": 15, "bn": 6}


@pytest.mark.parametrize("depth", [1, pytest.param(None, marks=pytest.mark.slow)])
def test_trace_from_several_threads(depth):
    names = ["mobilenet_v1_0.5", "assignment-gap", "mobilenet_v1_0.5"]
    models = {name: _build(name) for name in set(names)}

    def rows(name):
        result = trace(models[name], "B, H, W, 3")
        return result.ops, result.by_module(depth), result.params

    expected = {name: rows(name) for name in models}
    assert _in_threads(lambda i: rows(names[i]), len(names)) == [expected[n] for n in names]
