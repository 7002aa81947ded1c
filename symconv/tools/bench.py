"""Run a built-in model fast and measure it against the hardware's limit (``symconv bench``).

``bench(name, batch, hw)`` jits one forward call (batch norm in inference mode) or, with
``train=True``, one full training step (forward, loss, ``nnx.value_and_grad``, an optax update
through ``nnx.Optimizer``; the state buffers are donated), sharded data-parallel over the chosen
devices (:mod:`symconv.tools.parallel`). It times lowering and compilation apart from the steps, then
``warmup`` untimed and ``steps`` timed calls, each ended by ``block_until_ready``, and returns a
:class:`BenchResult`: step time (median, quartiles, min, max), images/s, FLOPs per step, the
achieved FLOP/s and their fraction of the device's peak.

**FLOPs per step.** Inference: the algebra's closed form, exact convention
(``MODELS[name].algebra(hw).batch_flops((H, W, C), batch, "exact")``, what XLA's cost analysis
counts), cross-checked against the lowered HLO's cost analysis (equal to the FLOP below
:math:`2^{24}`, within XLA's float32 accumulation above) and against the compiled HLO's (XLA's
optimisations may change a few elementwise ops; the difference is reported). Training: no closed
form for the backward pass here, so the numerator is XLA's cost analysis of the *compiled* train
step (times the number of devices: a partitioned program's analysis is per device).

**Peak.** Accelerators: the published dense (no sparsity) peak of ``jax.devices()[0].device_kind``
from :data:`PEAKS`, times the number of devices; float32 uses the rate of JAX's default matmul
precision (TF32 tensor cores on Ampere and later NVIDIA GPUs, one bfloat16 pass on TPUs) unless
``jax_default_matmul_precision`` is ``"highest"``/``"float32"``. CPU: measured on the spot by a
large jitted matmul in the same dtype (cached per process); several CPU "devices"
(``--xla_force_host_platform_device_count``) share the same cores, so the peak is not multiplied.

**bfloat16.** Every floating leaf of the state is cast: parameters, batch-norm running
statistics (so no op promotes back to float32), optimizer state; inputs too. The loss is computed
in float32 from the model's output.

**XLA options.** On CPU, :data:`CPU_TUNING` (YNNPACK fusions off: faster here, see
``benchmarks/RESULTS.md``) unless ``xla_tuning=False`` (``--xla-defaults``); every result records
the options it was compiled with. The state crosses the jitted step as a flat list of arrays
(:func:`flat`), so a call does not rebuild hundreds of ``nnx.Variable`` objects.

**Parameter values.** ``init="fast"`` (default) builds the model abstractly (``nnx.eval_shape``:
its exact structure, shapes and dtypes) and draws the values with NumPy: kernels
:math:`\\mathcal N(0, 2/\\text{fan-in})`, batch-norm scale and running variance 1, biases and means
0. Timings do not depend on the values, and this avoids one XLA compilation per parameter shape
that eager initialisation costs on CPU. ``init="model"`` runs the model's own initialisers.
"""

from __future__ import annotations

import functools
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.errors import SymconvError
from symconv.tools.parallel import DataParallel, data_parallel

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
OPTIMIZERS = ("sgd", "adam")
INITS = ("fast", "model")


# ---------------------------------------------------------------------------------------------
# Peaks


@dataclass(frozen=True)
class Peak:
    """Published dense peaks of one accelerator, per JAX device, in FLOP/s (``None``: no such
    unit). ``f32_default`` is the rate of a float32 matmul at JAX's default precision (TF32
    tensor cores, or one bfloat16 pass on TPU), ``f32_full`` that of full-precision float32."""

    name: str
    bf16: float | None
    f32_default: float | None
    f32_full: float | None
    source: str


_T = 1e12
#: ``(regex on device_kind, Peak)``, first match wins (order matters: "H100 PCIe" before "H100").
#: Dense figures: NVIDIA datasheets print tensor-core rates "with sparsity"; the dense rate is
#: half. Sources:
#: - H100 / H100 NVL: NVIDIA H100 Tensor Core GPU datasheet (SXM: FP32 67, TF32 989*,
#:   BF16 1,979*; PCIe: 51, 756*, 1,513*; NVL: 60, 835*, 1,671* TFLOPS; * = with sparsity).
#: - H200 / GH200: NVIDIA H200 datasheet (SXM: FP32 67, TF32 989*, BF16 1,979*; NVL: 60, 835*,
#:   1,671*); GH200 Grace Hopper datasheet (the same H100-class GPU: 67, 989*, 1,979*).
#: - A100 (SXM4 and PCIe, 40 and 80 GB): NVIDIA A100 datasheet (FP32 19.5, TF32 156,
#:   BF16 312 TFLOPS dense).
#: - L4: NVIDIA L4 datasheet (FP32 30.3, TF32 120*, BF16 242*). L40S: L40S datasheet (FP32 91.6,
#:   TF32 366*, BF16 733*). A10: A10 datasheet (FP32 31.2, TF32 125*, BF16 250*).
#: - V100: NVIDIA V100 datasheet (SXM2 FP32 15.7, PCIe 14 TFLOPS; tensor cores are FP16 only,
#:   no bfloat16 or TF32). T4: T4 datasheet (FP32 8.1; FP16/INT8 tensor cores, no bfloat16).
#: - TPU: Google Cloud TPU system-architecture pages, bfloat16 per chip: v2 45, v3 123 (two
#:   TensorCores per chip, each its own JAX device: half each), v4 275, v5e 197, v5p 459,
#:   v6e (Trillium) 918 (one JAX device per chip). TPUs publish no float32 rate.
PEAKS: tuple[tuple[str, Peak], ...] = (
    (r"GH200", Peak("NVIDIA GH200", 989.5 * _T, 494.5 * _T, 67 * _T,
                    "NVIDIA GH200 datasheet (dense = half the sparse tensor rate)")),
    (r"H200.*NVL", Peak("NVIDIA H200 NVL", 835.5 * _T, 417.5 * _T, 60 * _T,
                        "NVIDIA H200 datasheet, NVL (dense)")),
    (r"H200", Peak("NVIDIA H200 SXM", 989.5 * _T, 494.5 * _T, 67 * _T,
                   "NVIDIA H200 datasheet, SXM (dense)")),
    (r"H100.*PCI", Peak("NVIDIA H100 PCIe", 756.5 * _T, 378 * _T, 51 * _T,
                        "NVIDIA H100 datasheet, PCIe (dense)")),
    (r"H100.*NVL", Peak("NVIDIA H100 NVL", 835.5 * _T, 417.5 * _T, 60 * _T,
                        "NVIDIA H100 datasheet, NVL (dense)")),
    (r"H100", Peak("NVIDIA H100 SXM", 989.5 * _T, 494.5 * _T, 67 * _T,
                   "NVIDIA H100 datasheet, SXM5 (dense)")),
    (r"A100", Peak("NVIDIA A100", 312 * _T, 156 * _T, 19.5 * _T,
                   "NVIDIA A100 datasheet (dense)")),
    (r"L40S", Peak("NVIDIA L40S", 366.5 * _T, 183 * _T, 91.6 * _T,
                   "NVIDIA L40S datasheet (dense)")),
    (r"\bL4\b", Peak("NVIDIA L4", 121 * _T, 60 * _T, 30.3 * _T,
                     "NVIDIA L4 datasheet (dense)")),
    (r"\bA10\b", Peak("NVIDIA A10", 125 * _T, 62.5 * _T, 31.2 * _T,
                      "NVIDIA A10 datasheet (dense)")),
    (r"V100.*PCI", Peak("NVIDIA V100 PCIe", None, 14 * _T, 14 * _T,
                        "NVIDIA V100 datasheet, PCIe (no bfloat16 units)")),
    (r"V100", Peak("NVIDIA V100 SXM2", None, 15.7 * _T, 15.7 * _T,
                   "NVIDIA V100 datasheet, SXM2 (no bfloat16 units)")),
    (r"\bT4\b", Peak("NVIDIA T4", None, 8.1 * _T, 8.1 * _T,
                     "NVIDIA T4 datasheet (no bfloat16 units)")),
    (r"^TPU v2$", Peak("TPU v2", 22.5 * _T, 22.5 * _T, None,
                       "Cloud TPU docs: 45 TFLOPS/chip, 2 cores = 2 JAX devices")),
    (r"^TPU v3$", Peak("TPU v3", 61.5 * _T, 61.5 * _T, None,
                       "Cloud TPU docs: 123 TFLOPS/chip, 2 cores = 2 JAX devices")),
    (r"^TPU v4$", Peak("TPU v4", 275 * _T, 275 * _T, None, "Cloud TPU docs: 275 TFLOPS/chip")),
    (r"^TPU v5( lite|e)$", Peak("TPU v5e", 197 * _T, 197 * _T, None,
                                "Cloud TPU docs: 197 TFLOPS/chip")),
    (r"^TPU v5p?$", Peak("TPU v5p", 459 * _T, 459 * _T, None, "Cloud TPU docs: 459 TFLOPS/chip")),
    (r"^TPU v6( lite|e)$", Peak("TPU v6e", 918 * _T, 918 * _T, None,
                                "Cloud TPU docs: 918 TFLOPS/chip")),
)

_FULL_PRECISION = ("highest", "float32")


def published_peak(device_kind: str, dtype: str) -> tuple[float | None, str]:
    """``(FLOP/s per device, source)`` for a ``device_kind`` as JAX reports it, or ``None``.

    >>> published_peak("NVIDIA H100 80GB HBM3", "bfloat16")[0] / 1e12
    989.5
    >>> published_peak("Tesla T4", "bfloat16")
    (None, 'NVIDIA T4 datasheet (no bfloat16 units): no bfloat16 peak published')
    """
    import re

    dtype = _dtype_name(dtype)
    for pattern, peak in PEAKS:
        if re.search(pattern, device_kind, re.IGNORECASE):
            if dtype == "bfloat16":
                value, what = peak.bf16, "bfloat16"
            else:
                precision = str(jax.config.jax_default_matmul_precision or "default").lower()
                if precision in _FULL_PRECISION:
                    value, what = peak.f32_full, "float32 (full precision)"
                else:
                    value, what = peak.f32_default, (
                        "float32 at JAX's default matmul precision (TPU: one bfloat16 pass)"
                        if device_kind.startswith("TPU") else
                        "float32 at JAX's default matmul precision (TF32 tensor cores where "
                        "the GPU has them)")
            if value is None:
                return None, f"{peak.source}: no {dtype} peak published"
            return value, f"{peak.name}, {what}: {peak.source}"
    return None, f"no published peak known for device kind {device_kind!r}"


_CPU_PEAK: dict[str, tuple[float, str]] = {}


def cpu_peak(dtype: str = "float32") -> tuple[float, str]:
    """Dense matmul FLOP/s of this host, measured once per process and dtype.

    A jitted ``n x n`` matmul on the first device; ``n`` doubles from 512 until one call takes
    10 ms (at most 4096); the best of 10 calls, so that a busy machine's quiet moments count.
    All host cores take part (XLA's thread pool).
    """
    dtype = _dtype_name(dtype)
    if dtype not in _CPU_PEAK:
        device = jax.devices("cpu")[0]
        matmul = jax.jit(lambda a, b: a @ b)
        n = 512
        while True:
            a = jax.device_put(jnp.ones((n, n), DTYPES[dtype]), device)
            jax.block_until_ready(matmul(a, a))
            t0 = time.perf_counter()
            jax.block_until_ready(matmul(a, a))
            if time.perf_counter() - t0 > 0.01 or n >= 4096:
                break
            n *= 2
        best = math.inf
        for _ in range(10):
            t0 = time.perf_counter()
            jax.block_until_ready(matmul(a, a))
            best = min(best, time.perf_counter() - t0)
        _CPU_PEAK[dtype] = (2 * n ** 3 / best,
                            f"measured: jitted {n}x{n} {dtype} matmul, best of 10, this process")
    return _CPU_PEAK[dtype]


def peak_flops(device: jax.Device, dtype: str, n_devices: int = 1) -> tuple[float | None, str]:
    """Peak FLOP/s of ``n_devices`` devices like ``device`` and where the figure comes from."""
    if device.platform == "cpu":
        return cpu_peak(dtype)
    value, source = published_peak(device.device_kind, dtype)
    if value is None:
        return None, source
    return value * n_devices, (f"{n_devices} x " if n_devices > 1 else "") + source


def _dtype_name(dtype: Any) -> str:
    name = dtype if isinstance(dtype, str) else jnp.dtype(dtype).name
    if name not in DTYPES:
        raise SymconvError(f"dtype {name!r} is not supported; choose one of {', '.join(DTYPES)}")
    return name


# ---------------------------------------------------------------------------------------------
# Building the workload


def entry_of(name: str):
    from symconv.models.registry import get

    return get(name)


def _algebra_output(algebra, in_shape: tuple) -> tuple:
    """The algebra's output shape (the first output of a multi-output graph); raises
    ``SymconvError`` when the input size is invalid for the network."""
    if hasattr(algebra, "outputs") and not hasattr(algebra, "layers"):
        return tuple(algebra.outputs(in_shape)[0])
    return tuple(algebra.output_shape(in_shape))


def is_classifier(name: str, hw: tuple[int, int]) -> bool:
    """A classifier's algebra is a ``Stack`` ending in softmax (its output: probabilities)."""
    from symconv.algebra import Softmax, Stack

    algebra = entry_of(name).algebra(hw)
    return isinstance(algebra, Stack) and isinstance(algebra.layers[-1], Softmax)


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
    import optax

    if kind == "sgd":
        return optax.sgd(learning_rate, momentum=0.9)
    if kind == "adam":
        return optax.adam(learning_rate)
    raise SymconvError(f"optimizer {kind!r} must be one of {OPTIMIZERS}")


def classification_loss(probs: jax.Array, labels: jax.Array) -> jax.Array:
    """Softmax cross-entropy from the model's softmax output: mean of -log p[label] (float32)."""
    p = jnp.take_along_axis(probs.astype(jnp.float32), labels[:, None], axis=-1)
    return -jnp.mean(jnp.log(jnp.maximum(p, jnp.finfo(jnp.float32).tiny)))


def squared_loss(outputs: Any) -> jax.Array:
    """Mean squared output (MSE against a zero target), averaged over every output array."""
    leaves = jax.tree.leaves(outputs)
    return sum(jnp.mean(jnp.square(y.astype(jnp.float32))) for y in leaves) / len(leaves)


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
    dtype = _dtype_name(dtype)
    if init not in INITS:
        raise SymconvError(f"init {init!r} must be one of {INITS}")
    if train and optimizer not in OPTIMIZERS:
        raise SymconvError(f"optimizer {optimizer!r} must be one of {OPTIMIZERS}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SymconvError(f"--batch must be a positive integer, got {batch!r}")
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


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True)
class BenchResult:
    """What one ``bench`` run measured (times in seconds, rates per second)."""

    model: str
    batch: int
    input: tuple[int, int, int]
    dtype: str
    mode: str  # "inference" or "train"
    loss: str | None
    optimizer: str | None
    init: str
    platform: str
    device_kind: str
    devices: int
    steps: int
    warmup: int
    lower_s: float
    compile_s: float
    step_median_s: float
    step_q1_s: float
    step_q3_s: float
    step_min_s: float
    step_max_s: float
    images_per_s: float
    flops_per_step: int
    flops_source: str
    algebra_flops: int | None
    hlo_lowered_flops: int
    hlo_compiled_flops: int
    flops_check: str
    achieved_flops_per_s: float
    peak_flops_per_s: float | None
    peak_source: str
    utilisation: float | None
    precision_note: str
    xla_options: dict = field(default_factory=dict)
    jax_version: str = field(default_factory=lambda: jax.__version__)
    step_times_s: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["input"] = list(self.input)
        d["step_times_s"] = list(self.step_times_s)
        return d


def _cost(analysis) -> dict:
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    return analysis or {}


class _Progress:
    """tqdm when installed, else a plain ``\\r`` bar; silent when disabled."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.done, self.desc, self.bar = total, 0, desc, None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
                                unit="step")

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            filled = 30 * self.done // self.total
            print(f"\r{self.desc} [{'#' * filled}{' ' * (30 - filled)}] {self.done}/{self.total}",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr, flush=True)


def measure_workload(work: Workload, *, steps: int = 10, warmup: int = 2, init: str = "fast",
            progress: bool | None = None,
            compiler_options: dict[str, Any] | None = None) -> BenchResult:
    """Lower, compile, warm up and time ``work``; see :func:`bench`."""
    from symconv.checks.xla import FLOAT32_EXACT, flops_agree

    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise SymconvError(f"--steps must be a positive integer, got {steps!r}")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise SymconvError(f"--warmup must be a non-negative integer, got {warmup!r}")
    entry = entry_of(work.name)
    in_shape = (*work.hw, entry.channels)

    options = work.compiler_options | (compiler_options or {})
    t0 = time.perf_counter()
    lowered = work.lower()
    t1 = time.perf_counter()
    compiled = lowered.compile(options) if options else lowered.compile()
    t2 = time.perf_counter()

    if progress is None:
        progress = sys.stderr.isatty()
    bar = _Progress(warmup + steps, f"{work.name} {'train' if work.train else 'inference'}",
                    progress and warmup + steps > 1)
    times = []
    try:
        for i in range(warmup + steps):
            start = time.perf_counter()
            jax.block_until_ready(work.run(compiled))
            if i >= warmup:
                times.append(time.perf_counter() - start)
            bar.update()
    finally:
        bar.close()

    lowered_flops = int(_cost(lowered.cost_analysis()).get("flops", 0.0))
    compiled_flops = int(_cost(compiled.cost_analysis()).get("flops", 0.0)) * work.dp.n_devices
    if work.train:
        algebra_flops = None
        flops = compiled_flops
        source = ("XLA cost analysis of the compiled train step"
                  + (f" (per device x {work.dp.n_devices})" if work.dp.n_devices > 1 else ""))
        check = f"lowered HLO {lowered_flops:,} (before XLA's optimisations)"
    else:
        algebra_flops = int(entry.algebra(work.hw).batch_flops(in_shape, work.batch, "exact"))
        flops = algebra_flops
        source = "algebra: closed form, exact convention"
        ops = (sum(1 for line in lowered.as_text().splitlines() if " = " in line)
               if algebra_flops >= FLOAT32_EXACT else 0)
        if algebra_flops == lowered_flops:
            agree = "equal to the lowered HLO's cost analysis"
        elif flops_agree(algebra_flops, lowered_flops, ops):
            agree = (f"lowered HLO {lowered_flops:,}: agrees within XLA's float32 accumulation")
        else:
            agree = f"lowered HLO {lowered_flops:,}: DISAGREES"
        rel = (compiled_flops - algebra_flops) / algebra_flops if algebra_flops else 0.0
        check = f"{agree}; compiled HLO {compiled_flops:,} ({rel:+.4%})"

    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
    median = statistics.median(times)
    device = work.dp.mesh.devices.flat[0]
    peak, peak_source = peak_flops(device, work.dtype, work.dp.n_devices)
    achieved = flops / median
    note = ("bfloat16: parameters, batch-norm running statistics, optimizer state and inputs cast "
            "to bfloat16; loss in float32" if work.dtype == "bfloat16" else
            "float32 throughout")
    return BenchResult(
        model=work.name, batch=work.batch, input=in_shape, dtype=work.dtype,
        mode="train" if work.train else "inference",
        loss=(None if not work.train else
              "softmax cross-entropy, random labels" if work.classifier else
              "mean squared output (zero target)"),
        optimizer=work.optimizer, init=init, platform=device.platform,
        device_kind=device.device_kind, devices=work.dp.n_devices, steps=steps, warmup=warmup,
        lower_s=t1 - t0, compile_s=t2 - t1, step_median_s=median, step_q1_s=q[0],
        step_q3_s=q[-1], step_min_s=min(times), step_max_s=max(times),
        images_per_s=work.batch / median, flops_per_step=flops, flops_source=source,
        algebra_flops=algebra_flops, hlo_lowered_flops=lowered_flops,
        hlo_compiled_flops=compiled_flops, flops_check=check, achieved_flops_per_s=achieved,
        peak_flops_per_s=peak, peak_source=peak_source,
        utilisation=None if peak is None else achieved / peak, precision_note=note,
        xla_options=dict(options), step_times_s=tuple(times))


def bench(name: str, batch: int = 1, hw: Sequence[int] | None = None, dtype: str = "float32",
          train: bool = False, steps: int = 10, *, warmup: int = 2,
          devices: str | int | DataParallel = "all", optimizer: str = "sgd",
          init: str = "fast", progress: bool | None = None, xla_tuning: bool = True,
          compiler_options: dict[str, Any] | None = None) -> BenchResult:
    """Benchmark built-in model ``name`` on a batch of ``batch`` random ``hw`` images.

    >>> r = bench("assignment-gap", 2, (32, 32), steps=1, warmup=0, devices=1)
    >>> r.mode, r.flops_per_step == r.algebra_flops, r.images_per_s > 0
    ('inference', True, True)
    """
    work = prepare(name, batch, hw, dtype=dtype, train=train, devices=devices,
                   optimizer=optimizer, init=init, xla_tuning=xla_tuning)
    return measure_workload(work, steps=steps, warmup=warmup, init=init, progress=progress,
                   compiler_options=compiler_options)


# ---------------------------------------------------------------------------------------------
# Rendering


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def format_table(r: BenchResult) -> str:
    """The human-readable report: one ``field: value`` line each."""
    h, w, c = r.input
    rows = [
        ("model", f"{r.model} ({r.mode}"
                  + (f", {r.optimizer}, loss: {r.loss})" if r.mode == "train" else ")")),
        ("batch", f"{r.batch} x {h}x{w}x{c}, {r.dtype}"),
        ("devices", f"{r.devices} x {r.device_kind} ({r.platform}), data parallel"),
        ("lower", f"{r.lower_s:.3f} s"),
        ("compile", f"{r.compile_s:.3f} s"),
        ("step median", _ms(r.step_median_s)),
        ("step spread", f"IQR {_ms(r.step_q1_s)} - {_ms(r.step_q3_s)}, min {_ms(r.step_min_s)}, "
                        f"max {_ms(r.step_max_s)} ({r.steps} steps after {r.warmup} warm-up)"),
        ("throughput", f"{r.images_per_s:,.1f} images/s"),
        ("FLOPs/step", f"{r.flops_per_step:,} ({r.flops_source})"),
        ("FLOP check", r.flops_check),
        ("achieved", _si(r.achieved_flops_per_s, "FLOP/s")),
        ("peak", ("unknown" if r.peak_flops_per_s is None else
                  _si(r.peak_flops_per_s, "FLOP/s")) + f" ({r.peak_source})"),
        ("utilisation", "n/a" if r.utilisation is None else f"{r.utilisation:.1%}"),
        ("precision", r.precision_note),
        ("XLA options", ", ".join(f"{k}={v!r}" for k, v in r.xla_options.items())
                        + (" (symconv's CPU tuning; --xla-defaults for XLA's own)"
                           if r.xla_options == CPU_TUNING else "") if r.xla_options else
                        "XLA's defaults"),
        ("parameters", "NumPy draw on the abstract model (init=fast)" if r.init == "fast" else
                       "the model's own initialisers (init=model)"),
        ("jax", r.jax_version),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


FIELDS = ("model", "batch", "devices", "lower", "compile", "step median", "step spread",
          "throughput", "FLOPs/step", "FLOP check", "achieved", "peak", "utilisation",
          "precision", "XLA options", "parameters", "jax")
