"""Data parallelism: one mesh axis, ``"data"``, over the chosen devices; the batch is sharded on
it, parameters (and optimizer state) are replicated. One code path for 1 and for many devices.

>>> dp = data_parallel(1)
>>> dp.n_devices, dp.batch_spec
(1, P('data',))

``DataParallel.jit(fn, in_specs, out_specs)`` compiles ``fn`` with ``NamedSharding`` objects
built from the strings ``"batch"`` (split along axis 0 over ``"data"``) and ``"replicated"``;
XLA's SPMD partitioner inserts the collectives: a gradient of a loss averaged over the global
batch is all-reduced, and batch norm in training mode reduces its statistics over the global
batch (the same numbers as on one device, up to the order of float additions).

Several hosts: call ``jax.distributed.initialize()`` (coordinator address, process count and id,
or nothing on Cloud TPU / SLURM) before anything else touches JAX; ``jax.devices()`` then lists
every host's devices and ``data_parallel("all")`` spans them. Every process runs the same
program with the same global batch size; :meth:`DataParallel.shard` and
:meth:`DataParallel.replicate` take the *global* host array (identical on every process, e.g.
drawn from the same seed) and place on each process only the shards its devices own
(``jax.make_array_from_callback``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from symconv.errors import SymconvError

AXIS = "data"
_SPECS = ("batch", "replicated")


def select_devices(devices: str | int | Sequence[jax.Device] = "all") -> list[jax.Device]:
    """``"all"`` (every device of the default backend, on every host), ``n``/``"n"`` (the first
    ``n``) or an explicit list."""
    available = jax.devices()
    if isinstance(devices, str):
        text = devices.strip().lower()
        if text == "all":
            return list(available)
        if not text.isdigit():
            raise SymconvError(f"devices: expected 'all' or a positive integer, got {devices!r}")
        devices = int(text)
    if isinstance(devices, bool):
        raise SymconvError(f"devices: expected 'all' or a positive integer, got {devices!r}")
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise SymconvError(f"devices={devices}: this process sees {len(available)} "
                               f"{available[0].platform} device(s); use 1 to {len(available)} "
                               f"or 'all'")
        return list(available[:devices])
    chosen = list(devices)
    if not chosen:
        raise SymconvError("devices: the list is empty")
    return chosen


def nearest_valid_batches(batch: int, n_devices: int) -> tuple[int | None, int]:
    """The multiples of ``n_devices`` just below (``None`` if there is none) and above ``batch``."""
    below = batch // n_devices * n_devices
    above = -(-batch // n_devices) * n_devices
    return (below or None), (above if above != below else above + n_devices)


def check_batch(batch: int, n_devices: int) -> None:
    """Raise :class:`SymconvError` unless ``batch`` splits evenly over ``n_devices``."""
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SymconvError(f"batch must be a positive integer, got {batch!r}")
    if batch % n_devices:
        lo, hi = nearest_valid_batches(batch, n_devices)
        near = f"{lo} or {hi}" if lo else f"{hi}"
        raise SymconvError(f"batch {batch} does not split over {n_devices} devices "
                           f"(data parallelism needs a multiple of {n_devices}); nearest valid "
                           f"batches: {near}")


@dataclass(frozen=True)
class DataParallel:
    """A one-axis mesh and the two shardings every data-parallel program needs."""

    mesh: Mesh

    @property
    def n_devices(self) -> int:
        return self.mesh.size

    @property
    def batch_spec(self) -> P:
        return P(AXIS)

    @property
    def batch_sharding(self) -> NamedSharding:
        return NamedSharding(self.mesh, P(AXIS))

    @property
    def replicated_sharding(self) -> NamedSharding:
        return NamedSharding(self.mesh, P())

    def sharding(self, spec: str) -> NamedSharding:
        if spec not in _SPECS:
            raise SymconvError(f"sharding spec {spec!r} must be one of {_SPECS}")
        return self.batch_sharding if spec == "batch" else self.replicated_sharding

    def check_batch(self, batch: int) -> None:
        check_batch(batch, self.n_devices)

    def _place(self, tree: Any, sharding: NamedSharding) -> Any:
        if jax.process_count() == 1:
            return jax.device_put(tree, sharding)
        return jax.tree.map(lambda leaf: _global_array(leaf, sharding), tree)

    def replicate(self, tree: Any) -> Any:
        """Every leaf on every device of the mesh (parameters, optimizer state)."""
        return self._place(tree, self.replicated_sharding)

    def shard(self, tree: Any) -> Any:
        """Every leaf split along axis 0 over the mesh (inputs, labels: the *global* batch)."""
        for leaf in jax.tree.leaves(tree):
            self.check_batch(int(np.shape(leaf)[0]))
        return self._place(tree, self.batch_sharding)

    def jit(self, fn: Callable, in_specs: Sequence[Any], out_specs: Any = None,
            donate_argnums: Sequence[int] = ()) -> Callable:
        """``jax.jit(fn)`` with shardings from ``"batch"``/``"replicated"`` (pytree prefixes).

        ``out_specs=None`` leaves the outputs' shardings to XLA's propagation (a batch-parallel
        forward pass comes out sharded on the batch axis)."""
        def to(spec):
            return jax.tree.map(self.sharding, spec)
        kwargs = {} if out_specs is None else {"out_shardings": to(out_specs)}
        return jax.jit(fn, in_shardings=tuple(to(s) for s in in_specs),
                       donate_argnums=tuple(donate_argnums), **kwargs)


def _global_array(leaf: Any, sharding: NamedSharding) -> jax.Array:
    """Several processes: each places only its own shards of the (identical) global value."""
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(leaf)
        data = _global_array(jax.random.key_data(leaf), sharding)
        return jax.random.wrap_key_data(data, impl=impl)
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def make_mesh(devices: str | int | Sequence[jax.Device] = "all") -> Mesh:
    return Mesh(np.array(select_devices(devices)), (AXIS,))


def data_parallel(devices: str | int | Sequence[jax.Device] = "all") -> DataParallel:
    """A :class:`DataParallel` over ``devices`` (see :func:`select_devices`)."""
    return DataParallel(make_mesh(devices))
