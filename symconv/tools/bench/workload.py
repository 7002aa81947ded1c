"""The workload of ``symconv bench``: a built-in model's state on the devices and its jitted step.

:func:`prepare` jits one forward call (batch norm in inference mode) or, with ``train=True``, one
full training step (forward, loss, ``nnx.value_and_grad``, an optax update through
``nnx.Optimizer``; the state buffers are donated), sharded data-parallel over the chosen devices
(:mod:`symconv.tools.bench.parallel`).

**bfloat16.** Every floating leaf of the state is cast: parameters, batch-norm running
statistics (so no op promotes back to float32), optimizer state; inputs too. The loss is computed
in float32 from the model's output.

**XLA options.** On CPU, :data:`CPU_TUNING` (YNNPACK fusions off: faster here, see
``benchmarks/RESULTS.md``) unless ``xla_tuning=False``; every result records the options it was
compiled with. The state crosses the jitted step as a flat list of arrays (:func:`flat`), so a
call does not rebuild hundreds of ``nnx.Variable`` objects.

**Parameter values.** ``init="fast"`` (default) builds the model abstractly (``nnx.eval_shape``:
its exact structure, shapes and dtypes) and draws the values with NumPy: kernels
:math:`\\mathcal N(0, 2/\\text{fan-in})`, batch-norm scale and running variance 1, biases and means
0. Timings do not depend on the values, and this avoids one XLA compilation per parameter shape
that eager initialisation costs on CPU. ``init="model"`` runs the model's own initialisers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace.steps import classification_loss, optimizer, squared_loss
from symconv.errors import SymconvError
from symconv.models.registry import ModelEntry, get
from symconv.tools.bench.parallel import DataParallel, data_parallel
from symconv.tools.bench.peaks import DTYPES, dtype_name

OPTIMIZERS = ("sgd", "adam", "adamw")
INITS = ("fast", "model")


def entry_of(name: str) -> ModelEntry:
    """The registry entry of built-in model ``name`` (``SymconvError`` when unknown)."""
    return get(name)


def _algebra_output(algebra, in_shape: tuple) -> tuple:
    """The algebra's output shape (the first output of a multi-output graph); raises
    ``SymconvError`` when the input size is invalid for the network."""
    if hasattr(algebra, "outputs") and not hasattr(algebra, "layers"):
        return tuple(algebra.outputs(in_shape)[0])
    return tuple(algebra.output_shape(in_shape))


def is_classifier(name: str, hw: tuple[int, int]) -> bool:
    """:meth:`ModelEntry.is_classifier` of the model called ``name``."""
    return entry_of(name).is_classifier(hw)


def check_bench_input(name: str, hw: Sequence[int]) -> tuple[int, int]:
    """``(H, W)`` as ints, valid for model ``name`` according to its algebra."""
    if (len(hw) != 2 or any(not isinstance(v, int) or isinstance(v, bool) or v < 1
                             for v in hw)):
        raise SymconvError(f"input size must be two positive integers H,W, got {tuple(hw)!r}")
    entry = entry_of(name)
    hw = (int(hw[0]), int(hw[1]))
    _algebra_output(entry.algebra(hw), (*hw, entry.channels))
    return hw


def small_valid_hw(name: str, minimum: int = 32) -> tuple[int, int]:
    """The smallest square input of side >= ``minimum`` that the model's algebra accepts and
    whose model builds (e.g. U-Net 188, YOLOv1 448, DenseNet 32)."""
    entry = entry_of(name)
    limit = max(minimum, *entry.default_hw)
    for side in range(minimum, limit + 1):
        try:
            hw = check_bench_input(name, (side, side))
            _abstract_model(name, hw)
        except SymconvError:
            continue
        return hw
    raise SymconvError(f"{name}: no valid square input between {minimum} and {limit}")


@functools.lru_cache(maxsize=64)
def _abstract_model(name: str, hw: tuple[int, int]):
    """``(graphdef, abstract state)`` of the model in inference mode; no memory, no compile."""
    entry = entry_of(name)
    return nnx.split(nnx.eval_shape(lambda: entry.build(hw)))


def _is_variable(x) -> bool:
    return isinstance(x, nnx.Variable)


def _fill(state, seed: int, *, only_abstract: bool = False):
    """Host (NumPy) values for the abstract leaves of a state; see the module docstring."""
    rng = np.random.default_rng(seed)

    def leaf(path, var):
        value = var.get_value()
        if only_abstract and not isinstance(value, jax.ShapeDtypeStruct):
            return var
        shape, dtype = tuple(value.shape), value.dtype
        name = str(getattr(path[-1], "key", path[-1])) if path else ""
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            key = jax.random.key(seed)
            return var.replace(key if shape == () else jax.random.split(key, shape))
        if isinstance(var, nnx.Param) and len(shape) >= 2:
            fan_in = math.prod(shape[:-1])
            new = rng.standard_normal(shape, dtype=np.float32) * np.float32(
                math.sqrt(2.0 / fan_in))
        elif isinstance(var, (nnx.Param, nnx.BatchStat)) and name in ("scale", "var"):
            new = np.ones(shape, np.float32)
        else:
            new = np.zeros(shape, dtype)
        return var.replace(np.asarray(new).astype(dtype))

    return jax.tree_util.tree_map_with_path(leaf, state, is_leaf=_is_variable)


def _to_host(state, dtype):
    """NumPy copies of every leaf; floating leaves cast to ``dtype``."""
    def leaf(var):
        value = var.get_value()
        if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
            return var
        host = np.asarray(value)
        if jnp.issubdtype(host.dtype, jnp.floating):
            host = host.astype(dtype)
        return var.replace(host)

    return jax.tree.map(leaf, state, is_leaf=_is_variable)


def _abstract_cast(state, dtype):
    def leaf(var):
        value = var.get_value()
        if jnp.issubdtype(value.dtype, jnp.floating):
            return var.replace(jax.ShapeDtypeStruct(value.shape, dtype))
        return var

    return jax.tree.map(leaf, state, is_leaf=_is_variable)


def _optimizer(kind: str, learning_rate: float):
    """The optax transformation ``symconv bench --train`` and ``train_cost`` share."""
    return optimizer(kind, learning_rate)


def forward_fn(graphdef) -> Callable:
    def forward(state, x):
        return nnx.merge(graphdef, state)(x)

    return forward


def train_step_fn(graphdef, classifier: bool) -> Callable:
    """``step(state, x[, labels]) -> (state, loss)`` for the merged ``(model, optimizer)``."""

    def step(state, x, *labels):
        model, optimizer = nnx.merge(graphdef, state)

        def loss_fn(model):
            out = model(x)
            return classification_loss(out, labels[0]) if classifier else squared_loss(out)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    return step


def flat(step: Callable, treedef, returns_state: bool) -> Callable:
    """``step(state, ...)`` taking (and, for training, returning) the state as a flat list of
    arrays: a call then costs one list flatten instead of rebuilding hundreds of ``nnx.Variable``
    objects (milliseconds per step for DenseNet, as much as a whole step on an accelerator)."""

    def run(leaves, *args):
        out = step(jax.tree.unflatten(treedef, leaves), *args)
        if not returns_state:
            return out
        new, *rest = out
        if jax.tree.structure(new) != treedef:
            raise SymconvError("the train step changed the structure of the model state")
        return (jax.tree.leaves(new), *rest)

    return run


#: symconv's XLA options for CPU (``symconv bench`` applies them unless ``xla_tuning=False``,
#: ``--xla-defaults``). YNNPACK fusions off: on this project's CPU (2-core AMD EPYC, jaxlib
#: 0.10.2) they made convolutions slower, weight-gradient convolutions up to 6x (5x5, 64 -> 128
#: channels, batch 16: 486 ms vs 75 ms), and the assignment network's training step 1.7x slower
#: (benchmarks/RESULTS.md).
CPU_TUNING: dict[str, Any] = {"xla_cpu_experimental_ynn_fusion_type": ""}


@dataclass
class Workload:
    """A model's jitted step with its state (as a flat list of arrays, ``treedef`` rebuilds it)
    and inputs already placed on the mesh."""

    name: str
    hw: tuple[int, int]
    batch: int
    dtype: str
    train: bool
    dp: DataParallel
    graphdef: Any
    treedef: Any
    leaves: list
    inputs: tuple
    fn: Callable
    classifier: bool
    optimizer: str | None
    compiler_options: dict[str, Any]

    @property
    def state(self):
        """The ``nnx.State`` (of the model, or of ``(model, optimizer)`` when training)."""
        return jax.tree.unflatten(self.treedef, self.leaves)

    def lower(self):
        with xla.cheap_tracer_errors():  # training-mode batch norm: see that function
            return self.fn.lower(self.leaves, *self.inputs)

    def compile(self, compiler_options: dict[str, Any] | None = None):
        """The compiled step with ``self.compiler_options`` updated by ``compiler_options``
        (e.g. ``{"xla_backend_optimization_level": 0}`` trades run time for compile time)."""
        options = self.compiler_options | (compiler_options or {})
        lowered = self.lower()
        return lowered.compile(options) if options else lowered.compile()

    def run(self, compiled=None):
        """One step; training replaces ``self.leaves`` (their buffers were donated)."""
        out = (compiled or self.fn)(self.leaves, *self.inputs)
        if self.train:
            self.leaves = out[0]
        return out

    def params(self) -> Any:
        """The model's ``nnx.Param`` state (NumPy), e.g. to compare runs."""
        merged = nnx.merge(self.graphdef, self.state)
        model = merged[0] if self.train else merged
        return jax.tree.map(np.asarray, nnx.state(model, nnx.Param))


def prepare(name: str, batch: int, hw: Sequence[int] | None = None, *, dtype: str = "float32",
            train: bool = False, devices: str | int | DataParallel = "all",
            optimizer: str = "sgd", learning_rate: float = 1e-3, init: str = "fast",
            seed: int = 0, xla_tuning: bool = True) -> Workload:
    """Build, place and jit (not yet compile) the step of a built-in model."""
    entry = entry_of(name)
    dtype = dtype_name(dtype)
    if init not in INITS:
        raise SymconvError(f"init {init!r} must be one of {INITS}")
    if train and optimizer not in OPTIMIZERS:
        raise SymconvError(f"optimizer {optimizer!r} must be one of {OPTIMIZERS}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SymconvError(f"batch must be a positive integer, got {batch!r}")
    hw = check_bench_input(name, tuple(hw) if hw is not None else entry.default_hw)
    dp = devices if isinstance(devices, DataParallel) else data_parallel(devices)
    dp.check_batch(batch)
    jdtype = DTYPES[dtype]

    if init == "fast":
        graphdef, abstract = _abstract_model(name, hw)
        state = _fill(_abstract_cast(abstract, jdtype), seed)
    else:
        graphdef, state = nnx.split(entry.build(hw))
        state = _to_host(state, jdtype)
    model = nnx.merge(graphdef, state)
    classifier = is_classifier(name, hw)
    if train:
        model.train()
        tx = _optimizer(optimizer, learning_rate)
        opt = nnx.eval_shape(lambda m: nnx.Optimizer(m, tx, wrt=nnx.Param), model)
        graphdef, state = nnx.split((model, opt))
        state = _fill(state, seed, only_abstract=True)
    else:
        model.eval()
        graphdef, state = nnx.split(model)

    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, *hw, entry.channels), dtype=np.float32).astype(jdtype)
    inputs: tuple = (x,)
    if train and classifier:
        classes = _algebra_output(entry.algebra(hw), (*hw, entry.channels))[-1]
        inputs += (rng.integers(0, int(classes), size=(batch,), dtype=np.int32),)
    host_leaves, treedef = jax.tree.flatten(state)
    leaves = dp.replicate(host_leaves)
    inputs = tuple(dp.shard(a) for a in inputs)
    if train:
        fn = dp.jit(flat(train_step_fn(graphdef, classifier), treedef, True),
                    ("replicated",) + ("batch",) * len(inputs), ("replicated", "replicated"),
                    donate_argnums=(0,))
    else:
        # No out_shardings: propagation shards the output on the batch axis anyway, and an
        # explicit one changes the lowered HLO's cost analysis by a FLOP (jax 0.10.2).
        fn = dp.jit(flat(forward_fn(graphdef), treedef, False), ("replicated", "batch"))
    platform = dp.mesh.devices.flat[0].platform
    options = dict(CPU_TUNING) if xla_tuning and platform == "cpu" else {}
    return Workload(name, hw, batch, dtype, train, dp, graphdef, treedef, list(leaves), inputs,
                    fn, classifier, optimizer if train else None, options)
