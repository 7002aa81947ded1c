r"""Elementwise primitives that XLA prices as a fixed expansion per element, by dtype.

JAX lowers these through CHLO, which the StableHLO-to-HLO conversion expands into polynomials,
selects and a few transcendentals before XLA's cost analysis sees them; each output element
then costs a fixed $(f, t)$ FLOPs and transcendentals. Measured per element with
``jax.jit(f).lower(x).cost_analysis()`` on arrays of shapes (2, 3), (4, 5) and (3, 8) (every
count exactly linear in the size) in float32, float64, bfloat16 and float16:

============  =========  =========  ==================
primitive     float32    float64    bfloat16, float16
============  =========  =========  ==================
erfc          (62, 1)    (90, 1)    (64, 1)
erf_inv       (37, 2)    (100, 2)   (39, 2)
lgamma        (53, 4)    (53, 4)    (55, 4)
digamma       (73, 3)    (73, 3)    (75, 3)
asin          (5, 2)     (5, 2)     (5, 2)
acos          (3, 2)     (3, 2)     (3, 2)
sinh          (10, 3)    (10, 3)    (12, 3)
cosh          (3, 2)     (3, 2)     (5, 2)
asinh         (11, 3)    (11, 3)    (11, 3)
acosh         (7, 4)     (7, 4)     (7, 4)
atanh         (6, 2)     (6, 2)     (6, 2)
nextafter     (24, 0)    (24, 0)    (24, 0)
logistic      (3, 1)     (3, 1)     (3, 1)
exp2          (1, 1)     (1, 1)     (1, 1)
============  =========  =========  ==================

(the 16-bit rows add the two conversions to and from float32 where the expansion computes in
float32). ``exp``, ``log``, ``tanh``, ``sqrt``, ``rsqrt``, ``erf``, ``log1p``, ``expm1``,
``sin``, ``cos``, ``tan``, ``atan``, ``atan2``, ``cbrt`` and ``pow`` stay one transcendental per
element in every dtype; another dtype (complex) of an expanded primitive is not priced.
"""

from __future__ import annotations

import numpy as np

F32 = {"erfc": (62, 1), "erf_inv": (37, 2), "lgamma": (53, 4), "digamma": (73, 3),
       "asin": (5, 2), "acos": (3, 2), "sinh": (10, 3), "cosh": (3, 2), "asinh": (11, 3),
       "acosh": (7, 4), "atanh": (6, 2), "nextafter": (24, 0), "logistic": (3, 1),
       "exp2": (1, 1)}
F64 = {"erfc": (90, 1), "erf_inv": (100, 2)}
HALF_UPCAST = {"erfc", "erf_inv", "lgamma", "digamma", "sinh", "cosh"}  # +2 converts
EXPANDED = frozenset(F32)


def per_element(name: str, dtype) -> tuple[int, int] | None:
    """``(flops, transcendentals)`` per output element of ``name`` in ``dtype`` (None: no
    measured rule for that dtype)."""
    dt = np.dtype(dtype).name
    if dt == "float32":
        return F32[name]
    if dt == "float64":
        return F64.get(name, F32[name])
    if dt in ("bfloat16", "float16"):
        f, t = F32[name]
        return (f + 2 if name in HALF_UPCAST else f), t
    return None
