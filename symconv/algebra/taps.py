r"""Closed forms for the kernel taps that land on real input (the *exact* MAC convention).

Along one spatial axis a convolution pairs output positions $o \in [0, O)$ with kernel taps
$k \in [0, K)$; the tap reads padded input position $oS + kD - P_{lo}$. A tap on zero padding
(or, for a transposed convolution, on a hole of the dilated input) is not a real
multiply-accumulate, and XLA's HLO cost analysis does not count it. Because both the low and the
high padding are *corners* of the $(o, k)$ lattice, the taps lost on each side are

.. math::  \mu(p; K, S, D, n) = \#\{(a, k) \in [0, n) \times [0, K) : aS + kD < p\}
           = \sum_{k=0}^{\min(K, \lceil p/D \rceil) - 1}
             \min\!\left(n, \left\lceil \frac{p - kD}{S} \right\rceil\right),

a sum with at most $\lceil p / D \rceil$ terms that does not grow with the image. For $S = D = 1$
and $n \ge p$ it is $m p - m(m-1)/2$ with $m = \min(K, p)$, i.e. $p(p+1)/2$ when $p \le K$.

:func:`lost_taps` and :func:`real_taps` state the same count for *every* run length: each term
keeps its $\min(n, \cdot)$, so no condition on the size is needed (the tracer's rule: a padding
that reaches past a small input is priced exactly, e.g. a $7 \times 7$ convolution on a
$1 \times 1$ map).
"""

from __future__ import annotations

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, ceildiv, is_concrete, out, smax, smin
from symconv.errors import SymconvError


def missed_taps(p: Dim, k: Dim, s: Dim, d: Dim, n: Dim, conds: Conditions | None = None) -> Dim:
    r"""$\mu(p; K, S, D, n)$: taps of an $n$-long run of outputs that fall short of offset $p$.

    >>> missed_taps(1, 3, 1, 1, 8)   # 3x3 'SAME' on 8 pixels loses one tap per side
    1
    >>> missed_taps(2, 5, 1, 1, 16)  # p(p+1)/2
    3
    """
    if is_concrete(p, k, s, d, n):
        if p <= 0:
            return 0
        terms = min(k, ceildiv(p, d))
        return sum(min(n, ceildiv(p - j * d, s)) for j in range(terms))
    if is_concrete(p, k, s, d) and conds is not None:
        # Only the run length is symbolic: every term min(n, ceil((p - jD)/S)) is its second
        # argument once n >= ceil(p/S), the largest of them (recorded as a condition).
        if p > 0:
            conds.require(sp.Ge(n, ceildiv(p, s)), SymconvError,
                          f"output length {n} >= ceil({p}/{s})")
        return missed_taps(p, k, s, d, max(0, p) + 1)
    if s == 1 and d == 1:
        need = sp.Ge(n, p)
        if need == sp.true or (conds is not None and need != sp.false):
            if conds is not None:
                conds.require(need, SymconvError, f"output length {n} >= padding {p}")
            m = smin(k, smax(p, 0))
            return out(sp.expand(m * p - m * (m - 1) / sp.Integer(2)))
    j = sp.Dummy("k", integer=True, nonnegative=True)
    term = sp.Min(n, sp.Max(0, sp.ceiling((p - j * d) / s)))
    if isinstance(k, int):
        return out(sp.Add(*[term.subs(j, i) for i in range(k)]))
    return sp.Sum(term, (j, 0, k - 1))


def missed_taps_mod(hi: int, r: sp.Expr, k: int, s: int, d: int, n: Dim,
                    conds: Conditions) -> Dim:
    r"""$\mu(P_{hi} - r)$ when only the remainder $r \in [0, S)$ is symbolic.

    Evaluates $\mu$ at every possible remainder; the result is linear in $r$ when the values
    are (the common case), else a ``Piecewise`` over $r$.
    """
    values = [missed_taps(hi - ri, k, s, d, n, conds) for ri in range(s)]
    return by_residue(values, r)


def by_residue(values: list, r: sp.Expr) -> Dim:
    r"""The function of $r \in [0, len(values))$ taking ``values``: linear when it is, else a
    ``Piecewise`` over $r$."""
    slope = values[1] - values[0] if len(values) > 1 else 0
    if all(v == values[0] + slope * ri for ri, v in enumerate(values)):
        return out(values[0] + slope * r)
    return sp.Piecewise(*[(v, sp.Eq(r, ri)) for ri, v in enumerate(values[:-1])],
                        (values[-1], True))


def lhs_dilated_taps(n: Dim, k: Dim, l: Dim, d: Dim, lo: Dim, hi: Dim,
                     conds: Conditions | None = None) -> Dim:
    r"""Real taps of a stride-1 convolution over an input dilated by $L$ (a transposed
    convolution), padded by $(P_{lo}, P_{hi})$: each of the $n$ input pixels meets $K$ taps,
    less those that fall outside the output:

    .. math::  T = nK - \mu(D(K-1) - P_{lo}; K, L, D, n) - \mu(D(K-1) - P_{hi}; K, L, D, n).
    """
    return out(n * k - missed_taps(d * (k - 1) - lo, k, l, d, n, conds)
               - missed_taps(d * (k - 1) - hi, k, l, d, n, conds))


def lost_taps(p: Dim, k: Dim, s: int, d: int, n: Dim) -> Dim:
    r"""$\mu(p; K, S, D, n)$ exactly for every run length $n \ge 1$: a sum of
    $\min(n, \lceil (p - jD)/S \rceil)$, no condition recorded. ``s``, ``d`` concrete; a
    symbolic ``k`` (the kernel of a weight gradient is an activation) keeps term $j$ only when
    $K > j$.

    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> lost_taps(3, 7, 1, 1, n)            # 7-tap kernel, padding 3: min(n,3)+min(n,2)+1
    Min(2, n) + Min(3, n) + 1
    >>> lost_taps(3, 7, 1, 1, 1), lost_taps(3, 7, 1, 1, 8)
    (3, 6)
    """
    if is_concrete(p, n, k):
        return missed_taps(p, k, s, d, n)
    if is_concrete(p):
        if p <= 0:
            return 0
        terms = []
        for j in range(ceildiv(p, d) if not is_concrete(k) else min(k, ceildiv(p, d))):
            term = sp.Min(n, ceildiv(p - j * d, s))  # SymPy drops a min it can decide
            # a symbolic kernel (a weight gradient's) has tap j only when K > j
            terms.append(term if is_concrete(k) else term * sp.Min(1, sp.Max(0, k - j)))
        return out(sp.Add(*terms))
    i = sp.Dummy("j", integer=True, nonnegative=True)
    term = sp.Min(n, sp.Max(0, sp.ceiling((p - i * d) / sp.Integer(s))))
    if not is_concrete(k):
        return sp.Sum(term, (i, 0, k - 1))
    return out(sp.Add(*[term.subs(i, v) for v in range(k)]))


def real_taps(n: Dim, o: Dim, k: Dim, s: int, d: int, lo: Dim, hi: Dim) -> Dim:
    r"""(output, tap) pairs on real input along one axis, exact for every size:
    $T = OK - \mu(P_{lo}; O) - \mu(P_{hi} - r; O)$ with
    $r = (n + P_{lo} + P_{hi} - D(K-1) - 1) \bmod S$ (the low and the high padding are read by
    disjoint pairs: one tap reads one position). With concrete padding and a symbolic $n$, $r$
    is a function of $n \bmod S$ (linear, or a ``Piecewise`` over the residue).

    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> real_taps(n, n, 7, 1, 1, 3, 3)      # 7-tap 'SAME' on n pixels
    7*n - 2*Min(2, n) - 2*Min(3, n) - 2
    >>> [real_taps(m, m, 7, 1, 1, 3, 3) for m in (1, 2, 3, 8)]
    [1, 4, 9, 44]
    """
    ext = d * (k - 1) + 1
    if is_concrete(n, o, k, lo, hi):
        r = (n + lo + hi - ext) % s
        return o * k - missed_taps(lo, k, s, d, o) - missed_taps(hi - r, k, s, d, o)
    if is_concrete(lo, hi) and s > 1:
        q = sp.Mod(n + lo + hi - ext, s)
        high = by_residue([lost_taps(hi - i, k, s, d, o) for i in range(s)], q)
    else:
        r = sp.Mod(n + lo + hi - ext, s) if s > 1 else 0
        high = lost_taps(out(hi - r), k, s, d, o)
    return out(sp.expand(o * k - lost_taps(lo, k, s, d, o) - high))


class mu(sp.Function):  # lower case: the symbol of the formulas
    r"""$\mu(p; K, S, D, n)$ as a SymPy function: it evaluates to :func:`missed_taps` when every
    argument is an integer and stays a symbol otherwise; printed $\mu(p)$ (the other arguments
    are those of the layer it appears in)."""

    nargs = 5
    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, p, k, s, d, n):
        if p.is_nonpositive:  # no tap falls short of an offset <= 0
            return sp.Integer(0)
        if all(isinstance(a, sp.Integer) for a in (p, k, s, d, n)):
            return sp.Integer(missed_taps(int(p), int(k), int(s), int(d), int(n)))
        return None

    def _latex(self, printer, exp=None):
        text = r"\mu\left(" + printer._print(self.args[0]) + r"\right)"
        return text if exp is None else text + "^{" + exp + "}"

    def _sympystr(self, printer):
        return "mu(" + printer._print(self.args[0]) + ")"
