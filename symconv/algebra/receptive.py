r"""Receptive fields: size $r$, jump $j$ (effective stride; rational after upsampling) and start
(centre of the first output's field, in input pixels), layer by layer.

A layer acts on one axis through a :class:`Window`: it may first *upsample* its input by $u$
(zeros inserted between pixels — a transposed convolution — or every pixel repeated — nearest
upsampling, pixel shuffle), then slide a kernel of $K$ taps, dilation $D$, stride $S$ over it
with $P$ pixels of low padding. Output $t$ then reads the input pixels

.. math::  \left\lceil \frac{tS - P}{u} \right\rceil \ \dots\
           \left\lfloor \frac{tS - P + (K-1)D}{u} \right\rfloor

(the first bound $\lfloor\cdot\rfloor$ when pixels are repeated), and composing these maps
from the last layer back to the input gives any output's exact field (:meth:`Field.interval`).
Without upsampling ($u = 1$ everywhere) every output's field has the same size, and the
recursion of Araujo et al. (*Computing Receptive Fields of CNNs*, Distill 2019)

.. math::  r' = r + (K - 1)\,D\,j, \qquad j' = j\,S, \qquad
           \text{start}' = \text{start} + \left(\tfrac{(K-1)D}{2} - P\right) j,

from $r_0 = 1$, $j_0 = 1$, $\text{start}_0 = 0$, gives it in closed form, also for symbolic
sizes:

.. math::  r_L = 1 + \sum_{l=1}^{L} (K_l - 1)\, D_l \prod_{i<l} S_i .

Output $i$ then sees input pixels $\text{start} + i j \pm \tfrac{r - 1}{2}$ (clipped to the
image; dilation, or a stride larger than the next kernel, may leave holes inside, never at the
two ends). After an upsampling $j' = jS/u$ is rational and an output's field depends on its
phase: $r$ is the largest over phases (one period of $\prod u$ outputs is enough: the pattern
repeats, shifted by $j \prod u$ pixels). Elementwise layers leave the field unchanged; a
flatten, dense layer or global pooling sees the whole input (``global``). Each layer kind
states its own window (``Layer.windows``); a chain composes them
(:class:`symconv.algebra.composite.Stack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, ceildiv, floordiv, out, smax
from symconv.errors import SymconvError


@dataclass(frozen=True, slots=True)
class Window:
    """What a layer does along one axis: upsample by ``upsample`` (``mode`` 'zeros' or
    'repeat'), then a ``kernel``-tap window, ``dilation``, ``stride``, ``pad_lo`` low padding."""

    kernel: Dim
    stride: Dim
    dilation: Dim
    pad_lo: Dim
    upsample: Dim = 1
    mode: str = "zeros"

    def inputs(self, lo: Dim, hi: Dim) -> tuple[Dim, Dim]:
        r"""The input pixels outputs ``lo..hi`` read (the hull): output $t$ reads upsampled
        positions $tS - P + qD$, $q = 0..K-1$; a repeated pixel $n$ covers positions
        $nu .. nu + u - 1$, an inserted-zeros input has pixel $n$ at $nu$ only (the other
        positions are holes). Exact for concrete sizes; for symbolic ones with inserted zeros
        the bounds $\lceil (tS - P)/u \rceil$, $\lfloor (tS - P + (K-1)D)/u \rfloor$ (which
        may include pixels a dilated kernel skips). ``lo > hi`` in the result: no input."""
        k, s, d, p, u = self.kernel, self.stride, self.dilation, self.pad_lo, self.upsample
        first, last = lo * s - p, hi * s - p + (k - 1) * d
        if u == 1:
            return out(first), out(last)
        if self.mode == "repeat":
            return floordiv(first, u), floordiv(last, u)
        if not all(isinstance(v, int) for v in (lo, hi, k, s, d, p, u)):
            return ceildiv(first, u), floordiv(last, u)
        # The pattern of t*S mod u repeats within u outputs: the lowest real tap is read by one
        # of the first u outputs, the highest by one of the last u.
        low = [t * s - p + q * d for t in range(lo, min(hi, lo + u - 1) + 1) for q in range(k)]
        high = [t * s - p + q * d for t in range(max(lo, hi - u + 1), hi + 1) for q in range(k)]
        low = [x // u for x in low if x % u == 0]
        high = [x // u for x in high if x % u == 0]
        if not low:
            return 1, 0
        return min(low), max(high)


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field along one axis; ``size is None`` means the whole input (global).

    ``windows`` is the chain of windows from the input, from which :meth:`interval` gives any
    output's exact input pixels."""

    size: Dim | None
    jump: Dim | None
    start: Dim | None
    windows: tuple[Window, ...] = ()

    @property
    def is_global(self) -> bool:
        return self.size is None

    def interval(self, unit: Dim) -> tuple[Dim, Dim]:
        """First and last input pixel output ``unit`` reads (unclipped: may reach into the
        padding, below 0 or past the image); ``lo > hi`` when it reads only inserted zeros."""
        lo = hi = unit
        for window in reversed(self.windows):
            lo, hi = window.inputs(lo, hi)
            if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
                return lo, hi  # nothing left to read further back
        return lo, hi


IDENTITY = Field(1, 1, 0)
GLOBAL = Field(None, None, None)
MODES = ("zeros", "repeat")


def step(field: Field, window: Window) -> Field:
    r"""One layer: the recursion above when no layer of the chain upsamples (a closed form,
    also for symbolic sizes); otherwise the exact largest hull over one period of output phases
    ($P = \prod u$ outputs: the pattern repeats, shifted by $P j$ input pixels)."""
    if field.is_global:
        return GLOBAL
    chain = (*field.windows, window)
    if window.upsample == 1:
        jump = out(field.jump * window.stride)
    else:
        jump = out(sp.Rational(1) * field.jump * window.stride / window.upsample)
    if all(w.upsample == 1 for w in chain):
        size = out(field.size + (window.kernel - 1) * window.dilation * field.jump)
        start = out(sp.expand(field.start + (sp.Rational(1, 2) * (window.kernel - 1)
                                             * window.dilation - window.pad_lo) * field.jump))
        return Field(size, jump, start, chain)
    new = Field(None, jump, None, chain)
    period = sp.Mul(*[w.upsample for w in chain])
    if not isinstance(period, int) and not period.is_Integer:
        raise SymconvError("receptive fields through upsampling need concrete upsample factors")
    widths = []
    for unit in range(int(period)):
        lo, hi = new.interval(unit)
        widths.append(out(hi - lo + 1))
    lo, hi = new.interval(0)
    return Field(smax(*widths), jump, out(sp.Rational(1, 2) * (lo + hi)), chain)


def closed_form(kernels: Sequence[Dim], strides: Sequence[Dim],
                dilations: Sequence[Dim] | None = None) -> Dim:
    r"""$r_L = 1 + \sum_l (k_l - 1) d_l \prod_{i<l} s_i$.

    >>> closed_form([5, 5, 5], [2, 2, 2])
    29
    """
    dilations = dilations or [1] * len(kernels)
    terms = [(k - 1) * d * sp.Mul(*strides[:i]) for i, (k, d) in enumerate(zip(kernels, dilations))]
    return out(sp.expand(1 + sp.Add(*terms)))
