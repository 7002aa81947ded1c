r"""How XLA's HLO cost analysis prices each primitive, in closed form over symbolic dimensions.

Every rule below was measured against ``jax.jit(f).lower(...).cost_analysis()`` (lowered, not
compiled) on the CPU backend, at several shapes each; the tests in ``tests/test_trace_rules.py``
repeat the comparison.

- ``conv_general_dilated``: $2 \frac{B}{G_b} \frac{C_{in}}{G} C_{out} \prod_{axes} T$ FLOPs
  ($G_b$ the batch group count, $> 1$ in the weight gradient of a grouped convolution) with $T$ the
  taps on real input (:func:`symconv.algebra.taps.real_taps`), also reported as exact and dense
  MACs. $T$ keeps every $\min(O, \cdot)$ of the lost taps, so it is exact for every input size,
  including padding that reaches past a small input (a $7 \times 7$ kernel on a $1 \times 1$
  map); no condition on the size is recorded;
- ``dot_general``: $2 \times$ batch $\times$ contracting $\times$ free dims; with operands of
  two different dtypes (an ``int32`` grid times ``float32`` frequencies in a sin-cos position
  embedding, ``float32`` times ``bfloat16``) JAX's CPU/GPU lowering converts each operand whose
  dtype is not the output's to it first: one FLOP per element of such an operand, unless it is a
  constant (the convert folds). Not for a pair of fp8 dtypes, nor with an explicit
  ``DotAlgorithmPreset`` (measured: ``BF16_BF16_F32`` on ``float32`` operands adds nothing);
- elementwise arithmetic, comparisons, selects, conversions, ``clamp``, ``rem``, bit shifts,
  ``population_count``, ``clz``, ``bitcast_convert_type``, ``reduce_precision``, ``real``,
  ``imag``: one FLOP per output element; exponentials, logarithms, square roots, ``tanh``,
  ``erf``, ``pow``: one *transcendental* per element (real dtypes; complex ones are not
  priced), ``pow`` with an integer exponent one FLOP more per exponent element (its conversion
  to float: Adam's bias corrections $\beta^t$); ``integer_pow``: its multiplications by
  repeated squaring per element, and for a negative power one division more; ``erfc``,
  ``erf_inv``, ``lgamma``, ``digamma``, the inverse and hyperbolic trigonometric functions,
  ``nextafter``, ``logistic``, ``exp2``: a fixed expansion per element and dtype (:mod:`.expanded`);
- reductions: input minus output elements; ``argmax``/``argmin``: $9$ (floating point) or $7$
  (integer, bool) per input-minus-output element (a variadic reduce whose comparator costs
  that); ``reduce_window`` (pooling): $(\text{window} - 1)$ per output element; cumulative ops
  (:mod:`.cumulative`): quadratic on CPU, with the algorithmic count beside it;
- gathers, scatters, sorts (:mod:`.indexing`) and random numbers (:mod:`.rng`) as measured;
- reshapes, broadcasts, slices, concatenation, padding, ``tile``, ``top_k``, ``random_wrap``,
  ``random_unwrap``: free.

:func:`price` returns ``(flops, transcendentals, macs_exact, macs_dense)`` (and, for an op whose
XLA count is not the algorithmic one, a fifth entry: the algorithmic FLOPs) or ``None`` for a
primitive without a rule; :class:`Unpriced` is raised for a known primitive in a configuration
the rules do not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from symconv.algebra.arith import Conditions, is_concrete, out
from symconv.algebra.padding import same_pads
from symconv.algebra.pooling import reduce_window_flops
from symconv.algebra.taps import by_residue, lhs_dilated_taps, lost_taps, real_taps
from symconv.algebra.tidy import tidy
from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace.cumulative import REDUCER as CUMULATIVE
from symconv.checks.trace.cumulative import cumulative
from symconv.checks.trace.errors import Unpriced as Unpriced
from symconv.checks.trace.expanded import EXPANDED, per_element
from symconv.checks.trace.indexing import SCATTER, gather, scatter, sort
from symconv.checks.trace.rng import RNG, RNG_FREE, rng

TRANSCENDENTAL = {"exp", "log", "tanh", "sqrt", "rsqrt", "erf", "log1p", "expm1", "sin", "cos",
                  "tan", "atan", "atan2", "cbrt", "pow"}
ELEMENTWISE = {"add", "sub", "mul", "div", "max", "min", "neg", "abs", "sign", "floor", "ceil",
               "round", "convert_element_type", "gt", "ge", "lt", "le", "eq", "ne", "select_n",
               "and", "or", "not", "xor", "square", "is_finite", "add_any", "clamp", "rem",
               "shift_left", "shift_right_logical", "shift_right_arithmetic", "population_count",
               "clz", "bitcast_convert_type", "reduce_precision", "real", "imag"}
FREE = {"reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims", "concatenate",
        "slice", "dynamic_slice", "dynamic_update_slice", "pad", "rev", "copy", "copy_p", "iota",
        "stop_gradient", "dim_as_value", "split", "sharding_constraint", "optimization_barrier",
        "tile", "top_k", "stack"} | RNG_FREE
REDUCE = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
          "reduce_xor", "argmax", "argmin"}
REDUCE_WINDOW = {"reduce_window_sum", "reduce_window_max", "reduce_window_min"}
CALLS = ("jaxpr", "call_jaxpr", "fun_jaxpr")

Cost = tuple[Any, Any, Any, Any]  #: (flops, transcendentals, macs_exact, macs_dense)


class Shapes:
    """Symbolic shapes of the avals of one trace (each JAX dimension converted once) and the
    validity conditions the rules could not decide."""

    def __init__(self, symbols: dict[str, sp.Symbol], cache: dict[str, Any] | None = None):
        self.symbols = symbols
        self.conds = Conditions()
        self._dims: dict[str, Any] = {} if cache is None else cache

    def fork(self) -> Shapes:
        """Same symbols and dimension cache, conditions of its own (a ``cond`` branch)."""
        return Shapes(self.symbols, self._dims)

    def dim(self, d):
        key = str(d)
        if key not in self._dims:
            self._dims[key] = tidy(dim_to_sympy(d, self.symbols))
        return self._dims[key]

    def shape(self, aval) -> tuple:
        return tuple(self.dim(d) for d in getattr(aval, "shape", ()))

    def size(self, aval):
        r"""$\prod_i d_i$ (1 for a scalar)."""
        return out(sp.Mul(*self.shape(aval))) if self.shape(aval) else 1


def integer_pow_muls(y: int) -> int:
    r"""FLOPs of $x^y$ as XLA lowers it: multiplications by repeated squaring,
    $\lfloor \log_2 |y| \rfloor + \text{popcount}(|y|) - 1$, and for $y < 0$ the division
    $1 / x^{|y|}$ (the gradient of a softmax has $t^{-2}$: a multiply and a divide).

    >>> [integer_pow_muls(y) for y in (0, 1, 2, 3, 8, -1, -2, -3)]
    [0, 0, 1, 2, 3, 1, 2, 3]
    """
    m = abs(int(y))
    return max(0, m.bit_length() - 1 + m.bit_count() - 1) + (1 if y < 0 else 0)


def price(eqn, shapes: Shapes, const_in: Sequence[bool] | None = None) -> tuple | None:
    """``(flops, transcendentals, macs_exact, macs_dense[, algorithmic flops])`` of one
    equation, or None (``const_in``: which inputs are constants XLA folds; none when None)."""
    name = eqn.primitive.name
    n = shapes.size(eqn.outvars[0].aval)
    if name == "convert_element_type" and eqn.invars[0].aval.dtype == eqn.outvars[0].aval.dtype:
        return 0, 0, 0, 0  # a change of weak type only: no HLO op
    if name in ELEMENTWISE:
        return n, 0, 0, 0
    if (name in TRANSCENDENTAL or name in EXPANDED) and np.issubdtype(
            eqn.outvars[0].aval.dtype, np.complexfloating):
        raise Unpriced(f"{name} (complex)")  # measured: complex exp is 15 FLOPs + 4 trans.
    if name == "pow" and np.issubdtype(eqn.invars[1].aval.dtype, np.integer):
        return shapes.size(eqn.invars[1].aval), n, 0, 0  # the exponent converted to float first
    if name in TRANSCENDENTAL:
        return 0, n, 0, 0
    if name in EXPANDED:
        cost = per_element(name, eqn.outvars[0].aval.dtype)
        if cost is None:
            raise Unpriced(f"{name} ({eqn.outvars[0].aval.dtype})")
        return out(cost[0] * n), out(cost[1] * n), 0, 0
    if name == "integer_pow":
        return integer_pow_muls(eqn.params["y"]) * n, 0, 0, 0
    if name in REDUCE:
        per = 1
        if name in ("argmax", "argmin"):
            per = 9 if np.issubdtype(eqn.invars[0].aval.dtype, np.inexact) else 7
        return out(per * (shapes.size(eqn.invars[0].aval) - n)), 0, 0, 0
    if name in CUMULATIVE:
        return cumulative(eqn, shapes)
    if name == "gather":
        return gather(eqn, shapes)
    if name in SCATTER:
        return scatter(eqn, shapes)
    if name == "sort":
        return sort(eqn, shapes)
    if name == "select_and_scatter_add":  # a select per window element of each source
        window = int(np.prod(eqn.params["window_dimensions"]))
        return out(window * shapes.size(eqn.invars[0].aval)), 0, 0, 0
    if name in RNG:
        return rng(eqn, shapes)
    if name in REDUCE_WINDOW:
        pads = [tuple(shapes.dim(v) for v in pair) for pair in eqn.params["padding"]]
        return reduce_window_flops(shapes.shape(eqn.outvars[0].aval),
                                   eqn.params["window_dimensions"], pads), 0, 0, 0
    if name == "dot_general":
        flops, *rest = dot(eqn, shapes)
        return out(flops + dot_converts(eqn, shapes, const_in)), *rest
    if name == "conv_general_dilated":
        return conv(eqn, shapes)
    return None


def dot(eqn, shapes: Shapes) -> Cost:
    r"""$\text{MACs} = |\text{out}| \cdot \prod \text{contracting dims}$; FLOPs $= 2$ MACs."""
    (lc, _), _ = eqn.params["dimension_numbers"]
    lhs = shapes.shape(eqn.invars[0].aval)
    contracting = out(sp.Mul(*[lhs[i] for i in lc]))
    macs = out(shapes.size(eqn.outvars[0].aval) * contracting)
    return 2 * macs, 0, macs, macs


FP8 = {"float8_e4m3fn", "float8_e5m2", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e3m4",
       "float8_e4m3", "float8_e8m0fnu"}


def dot_converts(eqn, shapes: Shapes, const_in: Sequence[bool] | None = None):
    """Elements converted to the output dtype before a ``dot_general`` of mixed operand dtypes
    (JAX's CPU/GPU lowering, ``_handle_dot_precision``): each non-constant operand whose dtype
    is not the output's."""
    lhs, rhs = (np.dtype(v.aval.dtype) for v in eqn.invars[:2])
    precision = eqn.params.get("precision")
    if lhs == rhs or {lhs.name, rhs.name} <= FP8 or (
            precision is not None and not isinstance(precision, tuple)):  # an algorithm
        return 0
    want = np.dtype(eqn.outvars[0].aval.dtype)
    const_in = const_in or [False] * len(eqn.invars)
    return out(sp.Add(*[shapes.size(v.aval) for v, c in zip(eqn.invars[:2], const_in)
                        if np.dtype(v.aval.dtype) != want and not c]))


def conv(eqn, shapes: Shapes) -> Cost:
    r"""Exact MACs $B \frac{C_{in}}{G} C_{out} \prod T$, dense with $T = O \cdot K$ per axis."""
    p = eqn.params
    dn = p["dimension_numbers"]
    lhs, rhs = shapes.shape(eqn.invars[0].aval), shapes.shape(eqn.invars[1].aval)
    res = shapes.shape(eqn.outvars[0].aval)
    g = p["feature_group_count"]
    batch, cin, cout = lhs[dn.lhs_spec[0]], lhs[dn.lhs_spec[1]], rhs[dn.rhs_spec[0]]
    taps_exact, taps_dense = 1, 1
    for i in range(len(dn.lhs_spec) - 2):
        nin = lhs[dn.lhs_spec[2 + i]]
        nout = res[dn.out_spec[2 + i]]
        k = rhs[dn.rhs_spec[2 + i]]
        s, l, d = p["window_strides"][i], p["lhs_dilation"][i], p["rhs_dilation"][i]
        lo, hi = (shapes.dim(v) for v in p["padding"][i])
        taps_exact *= axis_taps(nin, nout, k, s, l, d, lo, hi)
        taps_dense *= nout * k
    bg = p["batch_group_count"]  # > 1 in a depthwise weight gradient: XLA counts batch / bg
    batch = batch // bg if is_concrete(batch) else batch / bg
    per = out(batch * (cin // g if is_concrete(cin, g) else cin / g) * cout)
    exact = out(sp.expand(per * taps_exact))
    return 2 * exact, 0, exact, out(per * taps_dense)


def axis_taps(n, o, k, s, l, d, lo, hi):
    """Taps on real input along one axis of input size ``n`` and output size ``o``, exact for
    every size (no condition: :func:`symconv.algebra.taps.real_taps`)."""
    if l != 1:
        if s != 1:
            raise Unpriced("conv_general_dilated (input dilation with stride > 1)")
        return lhs_dilated_taps(n, k, l, d, lo, hi)
    if not is_concrete(s, d):
        raise Unpriced("conv_general_dilated (symbolic stride or dilation)")
    if not is_concrete(lo, hi) and is_concrete(k) and is_same_padding(lo, hi, n, k, s, d):
        return same_taps(n, o, k, s, d)
    return real_taps(n, o, k, s, d, lo, hi)


def same_taps(n, o, k: int, s: int, d: int):
    r"""Real taps of 'SAME' padding on a symbolic length: with $q = n \bmod S$ the total padding
    is $\max(0, D(K-1)+1 - S)$ for $q = 0$, else $\max(0, D(K-1)+1 - q)$, so the lost taps are
    a function of $q$ (exact for every $n \ge 1$)."""
    ext = d * (k - 1) + 1
    lost = []
    for q in range(s):
        total = max(0, ext - (s if q == 0 else q))
        lo, hi = total // 2, total - total // 2
        r = (q + total - ext) % s
        lost.append(out(lost_taps(lo, k, s, d, o) + lost_taps(hi - r, k, s, d, o)))
    return out(sp.expand(o * k - by_residue(lost, sp.Mod(n, s))))


def is_same_padding(lo, hi, n, k, s, d) -> bool:
    """Whether JAX's symbolic padding is XLA's 'SAME' split for this axis.

    Proven when the expanded differences are 0; otherwise checked at the first 64 sizes
    (``n`` depends on one symbol) — the agreement tests against XLA cover the result.
    """
    want = same_pads(n, k, s, d)
    got = (tidy(lo), tidy(hi))
    if all(sp.expand(a - b) == 0 for a, b in zip(got, want)):
        return True
    syms = sorted(n.free_symbols, key=str) if isinstance(n, sp.Basic) else []
    if len(syms) != 1:
        return False
    f = sp.lambdify(syms, [got[0] - want[0], got[1] - want[1]], "math")
    return all(f(v) == [0, 0] for v in range(1, 65))
