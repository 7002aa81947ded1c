r"""Cumulative reductions (``cumsum``, ``cumprod``, ``cummax``, ``cummin``, ``cumlogsumexp``) as XLA
counts them on CPU, with the algorithmic count beside it.

On the CPU backend JAX lowers a cumulative op along an axis of length $n$ to a ``reduce_window``
whose window is the whole axis, padded by $n - 1$ on the side the scan comes from; XLA's cost
analysis charges $(\text{window} - 1)$ applications of the reducer per output element, so with
$R$ the product of the other dims

.. math::  \text{FLOPs} = c \, R \, n (n - 1), \qquad
           \text{transcendentals} = t \, R \, n (n - 1),

quadratic in $n$, where a scan needs $c R (n - 1)$ (the *algorithmic* count, kept on the op).
The reducer costs $(c, t) = (1, 0)$ for ``add``, ``mul``, ``max`` and ``min`` and $(8, 2)$ for
``logaddexp`` (``cumlogsumexp``). Measured with ``jax.jit(f).lower(x).cost_analysis()`` on
float32, bfloat16 and int32 arrays of shapes (4,), (3, 5), (2, 3, 4) and (3, n) for
n = 1..16, along every axis and with ``reverse`` both ways: all equal the formula.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from symconv.algebra.arith import out

#: primitive -> (flops, transcendentals) of one application of its reducer
REDUCER = {"cumsum": (1, 0), "cumprod": (1, 0), "cummax": (1, 0), "cummin": (1, 0),
           "cumlogsumexp": (8, 2)}


def cumulative(eqn, shapes) -> tuple[Any, Any, int, int, Any]:
    """``(flops, transcendentals, 0, 0, algorithmic flops)`` of one cumulative equation."""
    c, t = REDUCER[eqn.primitive.name]
    dims = list(shapes.shape(eqn.outvars[0].aval))
    n = dims.pop(eqn.params["axis"])
    steps = out(sp.Mul(*dims) * (n - 1))  # R (n - 1): a scan's reducer applications
    return out(sp.expand(c * steps * n)), out(sp.expand(t * steps * n)), 0, 0, out(c * steps)
