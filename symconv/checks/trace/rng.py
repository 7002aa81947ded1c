r"""JAX's random-number primitives (default ``threefry2x32`` implementation) as XLA counts them
on the CPU backend.

On CPU JAX lowers ``threefry2x32`` to a rolled loop of its five rounds, and XLA's cost analysis
charges a loop body once, so for $n$ counters and scalar keys it counts $25 n + 11$.
``random_bits`` of a shape with $n$ elements and $r'$ dims other than 1 adds the counters
(``iota_2x32_shape``: $(2 r' + 2) n$, or 1 when every dim is 1) and the final ``xor``:

.. math::  \text{random\_bits} = (27 + 2 r') n + 11 + [r' = 0] \quad (+\,n \text{ for 8 and 16
           bits: the narrowing conversion}),

``random_split`` to a shape of $n$ keys is $(26 + 2 r') n + 11 + [r' = 0]$, ``random_fold_in`` of
$m$ keys $27 m + 10$, ``random_seed`` 3 per key (2 on a constant seed: :mod:`.folding`);
``random_wrap`` and ``random_unwrap`` are free.
A dim $d$ counts in $r'$ as $1 - \delta_{d,1}$ (exact for symbolic dims too). Measured with
``jax.jit(f).lower(...).cost_analysis()`` for shapes (1,), (2,), (3,), (7,), (12,), (1, 1),
(3, 1), (1, 3), (3, 4), (5, 7), (1, 1, 1), (2, 1, 3), (2, 3, 4), (4, 4, 3), (2, 2, 2, 3); bits of
8, 16 and 32; fold-in of 1, 7 and 12 keys. Known gap, an artefact of XLA's count: JAX lowers
each key-typed argument that the function reads, and each key-typed output, through an
``sdy.sharding_constraint``, and XLA's cost analysis counts every such constraint as $-1$ FLOP,
whatever the number of keys (measured: ``(x * 2, k)`` on 8 elements and a key ``k`` in and out
is 6, with two keys in and out 4; a key argument read by ``key_data`` 17 against 18 for the same
function of its ``uint32`` data; a key returned from ``jax.random.key(1)`` 1 against 2 for its
``key_data``; an unread key argument is pruned and costs nothing). So an NNX model with
``nnx.Rngs`` state passed in (``nnx.Dropout`` in training mode) or a function taking or
returning a key counts one FLOP less per such argument or output than the sum of its
equations. These constraints are no work: the tracer's true count leaves them out, and
:func:`key_constraints` counts them so that XLA's figure (``TraceResult.xla_total``) is
reproduced. Batched
keys for ``random_bits``, ``random_split`` and ``threefry2x32``, 64-bit draws and other PRNG
implementations have no rule (reported unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import sympy as sp

from symconv.algebra.arith import out
from symconv.checks.trace.errors import Unpriced
from symconv.checks.trace.liveness import live_vars

RNG = {"random_bits", "random_split", "random_fold_in", "random_seed", "threefry2x32"}
RNG_FREE = {"random_wrap", "random_unwrap"}


def _threefry(eqn) -> None:
    impl = eqn.params.get("impl")
    name = getattr(impl, "name", None) if impl is not None else "threefry2x32"
    if name != "threefry2x32":
        raise Unpriced(f"{eqn.primitive.name} ({name})")


def _scalar_key(eqn) -> None:
    if getattr(eqn.invars[0].aval, "shape", ()) != ():
        raise Unpriced(f"{eqn.primitive.name} (batched keys)")


def _counter_terms(shape: tuple) -> tuple[Any, Any]:
    """$r'$ (dims other than 1) and $[r' = 0]$."""
    deltas = [sp.KroneckerDelta(d, 1) for d in shape]
    return out(sp.Add(*[1 - x for x in deltas])), out(sp.Mul(*deltas))


def rng(eqn, shapes) -> tuple[Any, int, int, int]:
    """FLOPs of one random-number primitive (see the module docstring)."""
    name = eqn.primitive.name
    if name == "threefry2x32":
        if any(getattr(v.aval, "shape", ()) != () for v in eqn.invars[:2]):
            raise Unpriced("threefry2x32 (batched keys)")
        return out(25 * shapes.size(eqn.outvars[0].aval) + 11), 0, 0, 0
    _threefry(eqn)
    if name == "random_seed":
        return out(3 * shapes.size(eqn.outvars[0].aval)), 0, 0, 0
    if name == "random_fold_in":
        return out(27 * shapes.size(eqn.invars[0].aval) + 10), 0, 0, 0
    _scalar_key(eqn)
    shape = tuple(shapes.dim(d) for d in eqn.params["shape"])
    n = out(sp.Mul(*shape)) if shape else 1
    r, unit = _counter_terms(shape)
    if name == "random_split":
        return out(sp.expand((26 + 2 * r) * n + 11 + unit)), 0, 0, 0
    width = eqn.params["bit_width"]
    if width not in (8, 16, 32):
        raise Unpriced(f"random_bits (bit_width={width})")
    narrow = n if width < 32 else 0
    return out(sp.expand((27 + 2 * r) * n + 11 + unit + narrow)), 0, 0, 0


def key_constraints(jaxpr: Any, returned: int | None = None,
                    consts: Sequence[Any] = ()) -> int:
    """Sharding constraints on PRNG keys at a jitted function's boundary, which XLA's cost
    analysis counts as $-1$ FLOP each: every key-typed argument that a live equation or an output
    reads, and every key-typed output among the first ``returned`` (all when None).

    A key-typed constant whose value is a tracer (``consts``, aligned with ``jaxpr.constvars``)
    counts as an argument: ``jax.jit`` lifts a closed-over tracer into an argument of the lowered
    function. A model built abstractly (``nnx.eval_shape``, as ``symconv cost`` builds a factory)
    that keeps a key it made while building holds such a tracer (measured: the Flax VAE of the
    corpus, its ``z_rng`` made in the factory, lowers with the key as ``%arg0`` under a sharding
    constraint, 1 FLOP below the sum of its equations; a concrete key is inlined as a
    constant and costs nothing)."""
    def is_key(v) -> bool:
        return jax.dtypes.issubdtype(v.aval.dtype, jax.dtypes.prng_key)

    outs = [v for v in jaxpr.outvars[:returned] if not hasattr(v, "val")]  # literals: no var
    _, used = live_vars(jaxpr)  # a key that only dead work reads (a loop too) is pruned
    lifted = [v for v, c in zip(jaxpr.constvars, consts) if isinstance(c, jax.core.Tracer)]
    return (sum(1 for v in [*jaxpr.invars, *lifted] if is_key(v) and v in used)
            + sum(1 for v in outs if is_key(v)))
