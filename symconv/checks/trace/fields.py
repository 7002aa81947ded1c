r"""Receptive fields on a graph: the windows of every path from the input, fused and hulled.

Along one input axis, what an array's position $t$ reads is the union, over the paths that
reach it, of a chain of :class:`~symconv.algebra.receptive.Window` s (the algebra's type: a
kernel of $K$ taps, dilation $D$, stride $S$, low padding $P$, after upsampling by $u$). A
:data:`Path` is such a chain, input side first; :class:`Paths` a set of them, kept small:

- *fusion*: two windows without upsampling compose into one with dilation 1,

  .. math:: S = S_1 S_2,\quad P = P_2 S_1 + P_1,\quad K - 1 = (K_2 - 1) D_2 S_1 + (K_1 - 1) D_1,

  the exact hull (its two ends are taps of both); a window without upsampling after an
  upsampling one folds into it the same way when the upsampled taps leave no hole at the ends
  (pixels repeated, or inserted zeros under a dense kernel of $K \ge u$ taps), so that
  $r' = r + (K-1) D j$ and $j' = j S$ stay the recursion of :mod:`symconv.algebra.receptive`;
- *hull*: paths that differ only in their first window (no upsampling, one stride) merge into
  one whose first window spans both, $P = \max(P_a, P_b)$,
  $K - 1 - P = \max(K_a - 1 - P_a, K_b - 1 - P_b)$: a merge (``add``, ``concatenate``) of a
  DenseNet's or ResNet's paths is then a single window again.

:func:`summary` turns a set into the reported size $r$ (largest hull over one period of output
phases when a path upsamples), jump $j = \prod S / \prod u$ and offset (centre of output 0's
field, in input pixels), in closed form in the symbolic sizes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, out, smax, smin
from symconv.algebra.receptive import Field, Window

Path = tuple[Window, ...]
IDENTITY: Path = ()


def _fuse(a: Window, b: Window) -> Window | None:
    """``a`` then ``b`` as one window, or None when that would not be exact (see module doc)."""
    if b.upsample != 1:
        return None
    if a.upsample != 1 and not (a.mode == "repeat" or (a.dilation == 1 and _ge(a.kernel,
                                                                               a.upsample))):
        return None
    return Window(kernel=out(sp.expand((b.kernel - 1) * b.dilation * a.stride
                                       + (a.kernel - 1) * a.dilation + 1)),
                  stride=out(a.stride * b.stride), dilation=1,
                  pad_lo=out(sp.expand(b.pad_lo * a.stride + a.pad_lo)),
                  upsample=a.upsample, mode=a.mode)


def _ge(a: Dim, b: Dim) -> bool:
    diff = sp.sympify(a - b)
    return bool(diff.is_nonnegative)


def extend(path: Path, window: Window) -> Path:
    """``path`` followed by ``window``, fused into its last window where exact."""
    if window.upsample == 1 and window.kernel == 1 and window.stride == 1 and window.pad_lo == 0:
        return path
    if path:
        fused = _fuse(path[-1], window)
        if fused is not None:
            return (*path[:-1], fused)
    return (*path, window)


@dataclass(frozen=True)
class Paths:
    """The windows of every path reaching an array's axis from one input axis."""

    paths: frozenset[Path]

    @staticmethod
    def start() -> Paths:
        return Paths(frozenset({IDENTITY}))

    def then(self, window: Window) -> Paths:
        return Paths(frozenset(extend(p, window) for p in self.paths))

    def union(self, other: Paths) -> Paths:
        return Paths(_hull(self.paths | other.paths))

    def interval(self, unit: Dim) -> tuple[Dim, Dim] | None:
        """First and last input pixel (unclipped) output ``unit`` reads; None if it reads only
        inserted zeros."""
        ends = []
        for path in self.paths:
            lo, hi = Field(None, None, None, path).interval(unit)
            if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
                continue
            ends.append((lo, hi))
        if not ends:
            return None
        return out(smin(*[e[0] for e in ends])), out(smax(*[e[1] for e in ends]))

    @property
    def period(self) -> int:
        """Outputs after which the pattern repeats: the product of the upsampling factors."""
        best = 1
        for path in self.paths:
            prod = 1
            for w in path:
                prod *= int(w.upsample)
            best = int(sp.ilcm(best, prod))
        return best

    @property
    def jump(self) -> Dim:
        r"""$j = \prod S / \prod u$ (of the first path; a merge's paths share it)."""
        path = min(self.paths, key=len)
        j = sp.Integer(1)
        for w in path:
            j = j * w.stride / w.upsample
        return out(j)


def _hull(paths: Iterable[Path]) -> frozenset[Path]:
    """Merge paths that differ only in a first window without upsampling (same stride)."""
    groups: dict[tuple, Window] = {}
    rest: set[Path] = set()
    for p in paths:
        if not p:
            p = (Window(1, 1, 1, 0),)
        head = p[0]
        if head.upsample != 1:
            rest.add(p)
            continue
        key = (p[1:], head.stride)
        span = Window(out(sp.expand((head.kernel - 1) * head.dilation + 1)), head.stride, 1,
                      head.pad_lo)
        old = groups.get(key)
        if old is not None:
            pad = out(smax(old.pad_lo, span.pad_lo))
            top = out(smax(old.kernel - 1 - old.pad_lo, span.kernel - 1 - span.pad_lo))
            span = Window(out(sp.expand(top + pad + 1)), head.stride, 1, pad)
        groups[key] = span
    for (tail, _), head in groups.items():
        first = () if head == Window(1, 1, 1, 0) else (head,)
        p: Path = first
        for w in tail:
            p = extend(p, w)
        rest.add(p)
    return frozenset(rest)


@dataclass(frozen=True)
class Summary:
    """One axis: size $r$, jump $j$, offset (centre of output 0's field), whether the size
    depends on the output's phase (then the largest over one period)."""

    size: Dim
    jump: Dim
    offset: Dim
    phased: bool = False


def summary(paths: Paths) -> Summary:
    r"""Size, jump and offset of a set of paths: for no upsampling $r = \text{hi}(0) -
    \text{lo}(0) + 1$ in closed form; otherwise the largest $\text{hi}(t) - \text{lo}(t) + 1$
    over one period of $\prod u$ outputs."""
    period = paths.period
    first = paths.interval(0)
    widths = []
    for unit in range(period):
        got = first if unit == 0 else paths.interval(unit)
        if got is not None:
            widths.append(out(sp.expand(got[1] - got[0] + 1)))
    size = out(smax(*widths)) if widths else 0
    offset = out(sp.Rational(1, 2) * (first[0] + first[1])) if first else 0
    phased = period > 1 and len({sp.sympify(w) for w in widths}) > 1
    return Summary(size, paths.jump, offset, phased)


def clipped(paths: Paths, unit: int, n: int, subs: dict | None = None) -> tuple[int, int] | None:
    """Output ``unit``'s field clipped to an input of ``n`` pixels (at the values ``subs`` of
    the symbols); None when it lies wholly in the padding."""
    got = paths.interval(unit)
    if got is None:
        return None
    lo, hi = (int(sp.sympify(v).subs(subs or {})) for v in got)
    lo, hi = max(lo, 0), min(hi, n - 1)
    return None if lo > hi else (lo, hi)
