r"""Receptive fields: size $r$, jump $j$ (effective stride, rational after upsampling) and start
(centre of the first output's field, in input pixels), layer by layer, in closed form.

A layer acts on one axis through a :class:`Window`: it may first *upsample* its input by $u$
(zeros inserted between pixels — a transposed convolution — or every pixel repeated — nearest
upsampling, pixel shuffle), then slide a kernel of $k$ taps, dilation $d$, stride $s$ over it,
with $p$ pixels of low padding. After a layer whose field is $(r, j, \text{start})$
(Araujo et al., *Computing Receptive Fields of CNNs*, Distill 2019, for $u = 1$):

.. math::  r' = r + (m - 1)\,j, \qquad j' = \frac{j\,s}{u}, \qquad
           \text{start}' = \text{start} + \frac{n_{lo} + n_{hi}}{2}\,j,

where an output sees input pixels $n_{lo}..n_{hi}$ (those of output 0 give the start) and
$m$ is the largest number of input pixels an output spans, over all output phases:

.. math::  m = \left\lfloor \frac{(k-1)d + c}{u} \right\rfloor + 1, \qquad
           c = \begin{cases} 0 & \text{zeros inserted} \\ u - 1 & \text{pixels repeated}
           \end{cases}

For $u = 1$ this is $r' = r + (k-1)dj$, $j' = js$, $\text{start}' = \text{start} +
(\tfrac{(k-1)d}{2} - p)j$, which unrolls from $r_0 = 1, j_0 = 1, \text{start}_0 = 0$ to

.. math::  r_L = 1 + \sum_{l=1}^{L} (k_l - 1)\, d_l \prod_{i<l} s_i .

With $u > 1$ an output's field depends on its phase (its index mod $u$); $r$ is the largest
over phases, and unit $i$'s centre is $\text{start} + i j$ only up to that phase. Output unit
$i$ of a chain without upsampling sees input pixels
$[\text{start} + i j - \tfrac{r - 1}{2},\ \text{start} + i j + \tfrac{r - 1}{2}]$ (clipped to the
image; dilation or a stride larger than the next kernel may leave holes inside, never at the
two ends). Elementwise layers leave the field unchanged; a flatten, dense layer or global
pooling sees the whole input (``global``). Each layer kind states its own window
(``Layer.windows``); a chain composes them (:class:`symconv.algebra.composite.Stack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, ceildiv, floordiv, out


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field along one axis; ``size is None`` means the whole input (global)."""

    size: Dim | None
    jump: Dim | None
    start: Dim | None

    @property
    def is_global(self) -> bool:
        return self.size is None


IDENTITY = Field(1, 1, 0)
GLOBAL = Field(None, None, None)
MODES = ("zeros", "repeat")


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

    def span(self) -> Dim:
        r"""$m$: the most input pixels one output reads, over all phases."""
        u, extra = self.upsample, (self.upsample - 1 if self.mode == "repeat" else 0)
        return out(floordiv((self.kernel - 1) * self.dilation + extra, u) + 1)

    def first(self) -> tuple[Dim, Dim]:
        """$(n_{lo}, n_{hi})$: the input pixels output 0 reads (hull; may be empty for a
        window on padding only, then its centre is still the window's)."""
        lo = -self.pad_lo
        hi = lo + (self.kernel - 1) * self.dilation
        u = self.upsample
        if u == 1:
            return out(lo), out(hi)
        first = ceildiv(lo, u) if self.mode == "zeros" else floordiv(lo, u)
        return first, floordiv(hi, u)


def step(field: Field, window: Window) -> Field:
    r"""One application of the recursion above."""
    if field.is_global:
        return GLOBAL
    lo, hi = window.first()
    size = out(field.size + (window.span() - 1) * field.jump)
    start = out(sp.expand(field.start + sp.Rational(1, 2) * (lo + hi) * field.jump))
    jump = out(sp.Rational(1) * field.jump * window.stride / window.upsample) if not (
        window.upsample == 1) else out(field.jump * window.stride)
    return Field(size, jump, start)


def closed_form(kernels: Sequence[Dim], strides: Sequence[Dim],
                dilations: Sequence[Dim] | None = None) -> Dim:
    r"""$r_L = 1 + \sum_l (k_l - 1) d_l \prod_{i<l} s_i$.

    >>> closed_form([5, 5, 5], [2, 2, 2])
    29
    """
    dilations = dilations or [1] * len(kernels)
    terms = [(k - 1) * d * sp.Mul(*strides[:i]) for i, (k, d) in enumerate(zip(kernels, dilations))]
    return out(sp.expand(1 + sp.Add(*terms)))
