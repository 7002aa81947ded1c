r"""Gathers, scatters and sorts as XLA counts them (lowered, CPU backend).

- ``gather``: free in modes ``PROMISE_IN_BOUNDS`` and ``CLIP``. In ``FILL_OR_DROP`` (``jnp``'s
  default for ``x.at[i].get()``, ``jnp.take`` and ``nnx.Embed``) JAX lowers a bounds mask: with
  $|I|$ the size of the index array (index vector of length $k$ included) and $|Y|$ the output
  size, $3|I|$ (``ge``, ``le``, ``and``) $+\ (|I| - |I|/k)$ (``reduce_and`` over the index
  vector) $+\ |Y|$ (the ``select`` with the fill value), plus $|I|$ when the indices are not
  int32 (their conversion). So an embedding lookup of $n$ tokens of width $D$ costs
  $n(D + 3)$, besides the index normalisation (``lt``, ``add``, ``select_n``) in the jaxpr.
- ``scatter`` (set): free; ``scatter-add``, ``scatter-mul``, ``scatter-min``, ``scatter-max``:
  one application of the combiner per update element, $|U|$; mode ``CLIP`` adds one ``clamp``
  per index element, $|I|$.
- the transpose of a static slice on a symbolic shape: ``x[:, 2:18]`` with a symbolic batch is
  a ``gather`` (JAX's static-slice path needs every dimension static; at concrete sizes the same
  code is a ``slice``), and its gradient a ``scatter-add`` of the whole window into zeros at
  constant indices (mode ``PROMISE_IN_BOUNDS``, unique indices), where the concrete program has
  a ``pad``: free, as the pad is (:func:`window_pad`). Found on the U-Net's crops: with the batch
  symbolic the step's closed form was 19,329,024 FLOPs per image above the step traced at
  ``B = 1``. A ``.at[...].add`` the user writes keeps mode ``FILL_OR_DROP`` and is counted.
- ``sort`` (any number of operands, hence ``argsort``): $N \lceil \log_2 N \rceil$ with $N$ the
  elements of the first operand — the whole array, not one row (XLA's comparison-sort
  estimate); ``top_k``: free.
- ``select_and_scatter_add`` (the gradient of max pooling): one FLOP per window element of each
  source element, $|S| \prod_i w_i$ (the ``reduce_window`` of the forward pass is dead code in
  a gradient and is not counted).

Measured with ``jax.jit(f).lower(...).cost_analysis()`` on tables (10, 4), (50, 8), (20, 16)
with 3, 5 or 7 int8/uint8/int32 indices, index vectors of length 1 and 2, all four modes;
sorts of (3, 8), (5, 7), (10,), (2, 3, 16) along each axis with 1 to 3 operands; max-pool
gradients with windows 2 and 3, strides 1 and 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from symconv.algebra.arith import out

SCATTER_COMBINE = {"scatter-add", "scatter_add", "scatter-mul", "scatter_mul", "scatter-min",
                   "scatter_min", "scatter-max", "scatter_max"}
SCATTER = SCATTER_COMBINE | {"scatter"}


class clog2(sp.Function):  # lower case: a function symbol in the formulas
    r"""$\lceil \log_2 n \rceil$ of a positive integer; stays symbolic for a symbolic $n$.

    >>> [clog2(n) for n in (1, 2, 6, 8, 24)]
    [0, 1, 3, 3, 5]
    """

    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, n):
        if isinstance(n, sp.Integer) and n > 0:
            return sp.Integer(int(n - 1).bit_length())
        return None


def _mode(eqn) -> str:
    return str(eqn.params.get("mode", "")).rsplit(".", 1)[-1].upper()


def gather(eqn, shapes) -> tuple[Any, int, int, int]:
    """FLOPs of one ``gather`` (see the module docstring)."""
    if "FILL_OR_DROP" not in _mode(eqn):
        return 0, 0, 0, 0
    idx = eqn.invars[1].aval
    shape = shapes.shape(idx)
    n_idx = shapes.size(idx)
    k = shape[-1] if shape else 1
    conv = 0 if np.dtype(idx.dtype) == np.dtype("int32") else n_idx
    per_vector = n_idx * sp.Rational(1, k) if isinstance(k, int) else n_idx / k  # exact
    flops = 3 * n_idx + (n_idx - per_vector) + shapes.size(eqn.outvars[0].aval) + conv
    return out(sp.expand(flops)), 0, 0, 0


def scatter(eqn, shapes) -> tuple[Any, int, int, int]:
    """FLOPs of one scatter: the combiner per update element, a clamp per index in CLIP."""
    updates = shapes.size(eqn.invars[2].aval)
    flops = updates if eqn.primitive.name in SCATTER_COMBINE else 0
    if "CLIP" in _mode(eqn):
        flops = flops + shapes.size(eqn.invars[1].aval)
    return out(flops), 0, 0, 0


def window_pad(eqn, splat: Any, index_const: bool) -> bool:
    """Whether ``eqn`` is a ``scatter-add`` of a whole window into zeros at constant in-bounds
    indices (``splat``: the operand's known splat value or None): a pad at concrete sizes."""
    if eqn.primitive.name not in ("scatter-add", "scatter_add") or not index_const:
        return False
    if _mode(eqn) != "PROMISE_IN_BOUNDS" or not eqn.params.get("unique_indices", False):
        return False
    dn = eqn.params["dimension_numbers"]
    updates = eqn.invars[2].aval
    return (splat == 0 and not dn.inserted_window_dims and not dn.operand_batching_dims
            and len(eqn.invars[1].aval.shape) == 1
            and tuple(dn.update_window_dims) == tuple(range(len(updates.shape))))


def sort(eqn, shapes) -> tuple[Any, int, int, int]:
    r"""$N \lceil \log_2 N \rceil$, $N$ the first operand's elements."""
    n = shapes.size(eqn.invars[0].aval)
    return out(n * clog2(n)), 0, 0, 0
