"""The hardware's limit: published dense peaks of accelerators, and the host's measured one.

Accelerators: the published dense (no sparsity) peak of ``jax.devices()[0].device_kind`` from
:data:`PEAKS`, times the number of devices; float32 uses the rate of JAX's default matmul
precision (TF32 tensor cores on Ampere and later NVIDIA GPUs, one bfloat16 pass on TPUs) unless
``jax_default_matmul_precision`` is ``"highest"``/``"float32"``. CPU: measured on the spot by a
large jitted matmul in the same dtype (cached per process); several CPU "devices"
(``--xla_force_host_platform_device_count``) share the same cores, so the peak is not multiplied.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from symconv.errors import SymconvError

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


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


def dtype_name(dtype: Any) -> str:
    """``"float32"`` or ``"bfloat16"`` for a name or a NumPy/JAX dtype; else ``SymconvError``."""
    name = dtype if isinstance(dtype, str) else jnp.dtype(dtype).name
    if name not in DTYPES:
        raise SymconvError(f"dtype {name!r} is not supported; choose one of {', '.join(DTYPES)}")
    return name


def published_peak(device_kind: str, dtype: str) -> tuple[float | None, str]:
    """``(FLOP/s per device, source)`` for a ``device_kind`` as JAX reports it, or ``None``.

    >>> published_peak("NVIDIA H100 80GB HBM3", "bfloat16")[0] / 1e12
    989.5
    >>> published_peak("Tesla T4", "bfloat16")
    (None, 'NVIDIA T4 datasheet (no bfloat16 units): no bfloat16 peak published')
    """
    dtype = dtype_name(dtype)
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
    dtype = dtype_name(dtype)
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

