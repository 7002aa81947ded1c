r"""What XLA folds before counting: work on constants, and identities with a constant operand.

Measured with ``jax.jit(f).lower(...).cost_analysis()`` (CPU backend), the lowering folds:

- every equation of a primitive in :data:`FOLDED` whose inputs are all *constants of the same
  function*: literals, closed-over arrays (a jaxpr's ``constvars``) and results of such
  equations. That is elementwise arithmetic, comparisons, selects, conversions, ``exp``,
  ``log``, ``sqrt``, ``rsqrt``, ``tanh``, ``erf``, ``erfc``, ``logistic``, trigonometric
  functions, and the shape ops (broadcast, reshape, transpose, slice, concatenate, gather, ...),
  except a ``broadcast_in_dim`` that grows a constant that is not a splat: XLA does not fold
  broadcasts that enlarge constants, so its result, and all that is computed from it, is not a
  constant (``w / sqrt(var)[None, :]`` on closed-over ``w``, ``var`` is counted); the same for
  an elementwise op whose operand has size-1 dims to broadcast (a broadcast inserted at
  lowering).
  Not folded, so counted in full on constants and their results not constant: reductions
  (a parameter's mean or variance), ``argmax``, dots, convolutions, ``reduce_window``,
  cumulative ops, sorts, scatters, random numbers, ``iota``, and the elementwise ``floor``,
  ``ceil``, ``round``, ``is_finite``, ``xor``, shifts, ``population_count``, ``clz``,
  ``bitcast_convert_type``, ``reduce_precision``, ``log1p``, ``expm1``, ``atan``, ``atan2``,
  ``cbrt``, ``pow``. The expansions of :data:`PARTIAL` fold in part: on constants they cost the
  residue listed there (float32, per element; other dtypes assumed alike); so does
  ``random_seed`` of a constant seed (``jax.random.key(1)``): 2 per key, the high word's shift
  and its convert, where the low word's ``& -1`` and convert fold (3 on a seed that is not
  constant). Parameters passed as arguments (the NNX path: ``nnx.split`` hands the state in as
  arguments) are not constants, so parameter-only work (``scale * rsqrt(var + eps)``, weight
  standardisation) is counted in full; closed over, the same work costs nothing. ``iota`` is
  not folded, except along an axis of size 1 (all zeros: ``lax.iota(f32, 1) + 2`` folds;
  symbolic sizes are taken as not 1). Constness crosses into the bodies of
  ``custom_jvp_call``, ``custom_vjp_call`` and ``remat`` (inlined), but not into a ``jit`` body,
  which is lowered as a function of its own: there its arguments are unknown, even literals
  (``jax.random.uniform``'s ``maxval - minval`` is counted), while its own literals and
  closed-over constants are known;
- the identities $x \cdot 1$, $1 \cdot x$, $x + 0$, $0 + x$, $x - 0$, and for integers and
  booleans $x \,|\, 0$, $x \oplus 0$ and $x \,\&\,$ all-ones, where the constant is a
  *splat* (every element equal: a literal, a broadcast literal, ``jnp.ones``, a closed-over
  array of ones or zeros, or a folded constant that evaluates to one): the op costs nothing.
  A dimension as a value (``dim_as_value``) is a splat too, of a value the tracer knows only at
  concrete sizes, and so is an elementwise op on splats: ``jnp.full((B,), L) + 1`` broadcast to
  ``(B, L)`` folds at every size (measured: the LSTM's full-length ``lengths``).
  Not folded: $x / 1$, $0 - x$, $\max(x, x)$, a ``select_n`` with a constant predicate.

So the count depends on the parameters' *values* when they are constants (an initialised
batch norm, mean 0 and scale 1, loses its subtraction and its bias add), and the tracer
evaluates constant equations (up to :data:`MAX_FOLD` elements each) to know them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax.extend import core as jax_core

MAX_FOLD = 1 << 16  #: largest constant (elements) the tracer evaluates to find a splat
FOLDED = {"add", "sub", "mul", "div", "max", "min", "neg", "abs", "sign", "gt", "ge", "lt", "le",
          "eq", "ne", "select_n", "and", "or", "not", "square", "clamp", "rem", "integer_pow",
          "add_any", "convert_element_type", "exp", "log", "sqrt", "rsqrt", "tanh", "erf",
          "erfc", "logistic", "exp2", "sin", "cos", "tan", "cosh", "broadcast_in_dim",
          "reshape", "squeeze", "expand_dims", "transpose", "slice", "concatenate", "pad",
          "rev", "dynamic_slice", "gather", "tile", "copy", "copy_p", "dim_as_value",
          "stop_gradient", "real", "imag"}
#: (flops, transcendentals) per element of an expansion that folds only in part on constants
PARTIAL = {"lgamma": (18, 3), "digamma": (11, 3), "asin": (1, 1), "acos": (0, 1),
           "sinh": (4, 1), "acosh": (7, 4), "atanh": (2, 2), "asinh": (0, 1),
           "erf_inv": (31, 2), "nextafter": (17, 0), "random_seed": (2, 0)}
SHAPE_OPS = {"broadcast_in_dim", "reshape", "squeeze", "expand_dims", "transpose",
             "convert_element_type", "copy", "copy_p"}
#: elementwise ops of :data:`FOLDED`: on splat operands their result is a splat
ELEMENTWISE = FOLDED - SHAPE_OPS - {"concatenate", "pad", "rev", "dynamic_slice", "gather",
                                    "tile", "slice", "dim_as_value", "stop_gradient"}
IDENTITY = {"mul": (1, "both"), "add": (0, "both"), "add_any": (0, "both"), "sub": (0, "rhs"),
            "or": (0, "both"), "xor": (0, "both"), "and": ("ones", "both")}


class _Unknown:
    """A splat whose value is not known (a dimension as a value at symbolic shapes)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  #: the value of a splat constant whose value the tracer cannot know


class Constants:
    """Known constant values of one function scope: exact arrays, and splat scalars."""

    def __init__(self) -> None:
        self.arrays: dict[Any, np.ndarray] = {}
        self.splats: dict[Any, Any] = {}

    def set(self, var, value) -> None:
        """Record ``var`` (a jaxpr variable) as the constant ``value``."""
        try:
            a = np.asarray(value)
        except Exception:  # a key array or another opaque value: constant, value unknown
            return
        if a.size <= MAX_FOLD:
            self.arrays[var] = a
        if a.size and a.dtype != object and np.all(a == a.flat[0]):
            self.splats[var] = a.flat[0].item()

    def array(self, atom) -> np.ndarray | None:
        if isinstance(atom, jax_core.Literal):
            return np.asarray(atom.val)
        return self.arrays.get(atom)

    def splat(self, atom):
        """The value every element of ``atom`` has, when it is a known splat constant."""
        if isinstance(atom, jax_core.Literal):
            a = np.asarray(atom.val)
            return a.flat[0].item() if a.size and np.all(a == a.flat[0]) else None
        return self.splats.get(atom)

    def fold(self, eqn) -> None:
        """Evaluate a constant equation (all inputs constant) to learn its outputs' values."""
        name = eqn.primitive.name
        if name == "dim_as_value":  # a scalar: a splat, its value known only at concrete sizes
            self.splats[eqn.outvars[0]] = UNKNOWN
        if name in SHAPE_OPS and len(eqn.invars) == 1:
            s = self.splat(eqn.invars[0])
            if s is not None:
                for v in eqn.outvars:
                    self.splats[v] = s
        elif name in ELEMENTWISE and len(eqn.outvars) == 1:
            self._fold_splats(eqn)
        values = [self.array(v) for v in eqn.invars]
        if any(v is None for v in values) or not all(
                isinstance(d, int) for v in eqn.outvars for d in getattr(v.aval, "shape", ())):
            return
        if sum(int(np.prod(v.aval.shape)) for v in eqn.outvars) > MAX_FOLD:
            return
        try:
            outs = eqn.primitive.bind(*values, **eqn.params)
        except Exception:  # a primitive that cannot run eagerly here: value stays unknown
            return
        for v, o in zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]):
            self.set(v, o)


    def _fold_splats(self, eqn) -> None:
        """An elementwise op on splats gives a splat (its value evaluated on scalars), also
        where the shape is symbolic and the arrays cannot be evaluated."""
        splats = [self.splat(v) for v in eqn.invars]
        if not splats or any(s is None for s in splats):
            return
        if any(s is UNKNOWN for s in splats):
            self.splats[eqn.outvars[0]] = UNKNOWN
            return
        try:
            scalars = [np.asarray(s, dtype=v.aval.dtype) for s, v in zip(splats, eqn.invars)]
            value = np.asarray(eqn.primitive.bind(*scalars, **eqn.params))
        except Exception:  # a primitive or dtype that cannot run eagerly here
            return
        if value.size == 1:
            self.splats[eqn.outvars[0]] = value.flat[0].item()


def folds(eqn, constants: Constants, size) -> bool:
    """Whether XLA folds ``eqn``, all of whose inputs are constants (``size``: elements of an
    aval, possibly symbolic)."""
    name = eqn.primitive.name
    if name == "iota":  # along an axis of size 1: a splat of zeros, which XLA folds
        d = eqn.params["shape"][eqn.params["dimension"]]
        return isinstance(d, int) and d == 1
    if name not in FOLDED:
        return False
    moves = SHAPE_OPS | {"concatenate", "stack", "pad", "gather", "slice", "dynamic_slice", "tile"}
    if name == "broadcast_in_dim" or name not in moves:
        # an elementwise op whose operand has size-1 dims gets that broadcast at lowering
        n = size(eqn.outvars[0].aval)
        return all(constants.splat(a) is not None or size(a.aval) == 1 or size(a.aval) - n == 0
                   or not a.aval.shape  # a scalar is a splat, even of unknown value (1/N)
                   for a in eqn.invars)
    return True


def is_identity(eqn, constants: Constants) -> bool:
    """Whether XLA folds ``eqn`` away as $x \\cdot 1$, $x + 0$ or $x - 0$ (see above)."""
    rule = IDENTITY.get(eqn.primitive.name)
    if rule is None or len(eqn.invars) != 2:
        return False
    unit, sides = rule
    operands = eqn.invars if sides == "both" else eqn.invars[1:]
    for a in operands:
        value = constants.splat(a)
        if value is None:
            continue
        if unit == "ones":  # every bit set: True, -1, or the largest unsigned value
            dtype = np.dtype(a.aval.dtype)
            if value is True or value == -1 or (
                    dtype.kind == "u" and value == np.iinfo(dtype).max):
                return True
        elif value == unit:
            return True
    return False
