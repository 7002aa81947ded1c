"""Helpers shared by the Q1 proofs: quotes spanning several source lines, the steps that define
the taps lost to padding (mu) and the overshoot (r) of the exact MAC count, and an independent
count of the real taps by enumeration."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symconv.algebra import Conv2D
from symconv.algebra.taps import missed_taps
from symconv.report.derive import derive
from symconv.report.proof import Step

# One axis of a convolution, as the taps formulas name it (symconv.algebra.conv).
_p = sp.Symbol("p", integer=True, nonnegative=True)  # an amount of padding
_k = sp.Symbol("k", integer=True, nonnegative=True)  # a kernel tap
_O, _K, _S, _D = (sp.Symbol(s, integer=True, positive=True) for s in "OKSD")

MU_LABEL = ("taps lost to p pixels of padding, mu(p): the pairs (output a, tap k) "
            "with a S + k D < p")
R_NOTE = ("r, the overshoot, is how many input pixels (padding included) lie past the last "
          "window: with stride S > 1 the windows need not end at the last padded pixel, so "
          "only P_hi - r pixels of the high padding are ever read.")


def block(*parts: str) -> str:
    """Source lines separated by the blank line the source puts between paragraphs."""
    return "\n\n".join(parts)


def steps(layer, shape: Sequence, *keys: str) -> tuple[Step, ...]:
    """The layer's own formulas for ``keys`` (general, substitution, result), in that order."""
    out: list[Step] = []
    for key in keys:
        out += derive(layer, shape, keys=(key,)).steps
    return tuple(out)


def mu_definition() -> Step:
    r"""$\mu(p) = \sum_{k=0}^{\min(K, \lceil p/D \rceil) - 1} \min(O, \lceil (p - kD)/S \rceil)$:
    tap $k$ falls on the first $p$ (padding) pixels for outputs $a < (p - kD)/S$."""
    term = sp.Min(_O, sp.ceiling((_p - _k * _D) / _S))
    return Step(MU_LABEL, r"\mu(p)", sp.Sum(term, (_k, 0, sp.Min(_K, sp.ceiling(_p / _D)) - 1)))


def mu_stride_one() -> tuple[Step, ...]:
    r"""With $S = D = 1$ (and $O \ge p$): $\mu(p) = \sum_{k=0}^{p-1} (p - k) = p(p+1)/2$."""
    general = sp.Sum(_p - _k, (_k, 0, _p - 1))
    return (Step("with S = D = 1 and at least p outputs: tap k misses p - k outputs",
                 r"\mu(p)", general),
            Step("the sum", r"\mu(p)", sp.factor(general.doit())))


def mu_at(conv: Conv2D, axis: int, value: int, outputs: int) -> tuple[Step, ...]:
    """mu(value) for one axis of a concrete layer: the terms of the sum with the layer's K, S,
    D and output length put in, then their values, then the total (from the algebra's
    ``missed_taps``, which the terms must add up to)."""
    k, s, d = conv.kernel_size[axis], conv.strides[axis], conv.kernel_dilation[axis]
    n_terms = min(k, -(-value // d)) if value > 0 else 0
    lhs = rf"\mu({value})"
    if n_terms == 0:
        return (Step(f"no tap falls short of {value} pixels", lhs, 0),)
    terms = [sp.Min(_O, sp.ceiling((_p - j * _D) / _S)) for j in range(n_terms)]
    values = [min(outputs, -(-(value - j * d) // s)) for j in range(n_terms)]
    total = missed_taps(value, k, s, d, outputs)
    if sum(values) != total:  # two independent counts of one number
        raise AssertionError(f"mu({value}): terms {values} do not add up to {total}")
    names = {_O: outputs, _p: value, _S: s, _D: d}
    shown = sp.Add(*values, evaluate=False) if len(values) > 1 else sp.Integer(values[0])
    return (Step(f"mu({value}): one term per tap k = 0..{n_terms - 1}", lhs,
                 sp.Add(*terms, evaluate=False), names),
            Step(f"mu({value}): the terms", lhs, shown),
            Step(f"mu({value}): result", lhs, total))


def brute_taps(n: int, k: int, s: int, d: int, lo: int, outputs: int) -> int:
    """Real taps of one axis by enumeration: pairs (output o, tap q) whose input position
    o S + q D - lo lies on the n real pixels (independent of the closed forms)."""
    return sum(1 for o in range(outputs) for q in range(k) if 0 <= o * s + q * d - lo < n)
