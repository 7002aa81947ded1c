r"""U-Net (Ronneberger et al., 2015): the size chain, the skip crops, the valid input sizes, and
parameters/MACs/FLOPs, in closed form.

Per level of the contracting path two $3\times3$ convolutions ('VALID': $-2$ each, or 'SAME')
and a $2\times2$ max pooling (halves, so the map must be even); at the bottom two more
convolutions; per level of the expanding path a $2\times2$ up-convolution (stride 2, halving the
channels), the skip map centre-cropped to its size and concatenated, two convolutions; finally a
$1\times1$ convolution to the classes. With unpadded convolutions and depth $d$ (pools), input $n$:

.. math::  e_0 = n, \quad s_i = e_i - 4, \quad e_{i+1} = s_i / 2, \quad
           u_d = e_d - 4, \quad u_{i} = 2 u_{i+1} - 4, \quad \text{out} = u_0,

an affine function of $n$ that SymPy writes out (:func:`output_size`: $n - 16$ for $d = 1$,
$n - 184$ for $d = 4$), valid exactly when every pooled $s_i$ is even (:func:`is_valid`); the
crop on each side of skip $i$ is $(s_i - 2 u'_{i+1}) / 2$ with $2u'_{i+1}$ the up-convolved map.
The paper's tile: $572 \to 388$.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, is_concrete, out
from symconv.algebra.composite import Graph
from symconv.algebra.conv import Conv2D
from symconv.algebra.elementwise import ReLU
from symconv.algebra.layer import Layer, Shape
from symconv.algebra.pooling import MaxPool2D
from symconv.algebra.transposed import ConvTranspose2D
from symconv.errors import ShapeMismatchError, SymconvError


class InvalidUNetInputError(ShapeMismatchError):
    """An input size that some pooled map of the U-Net would make odd (or empty)."""


def _chain(n: Dim, depth: int, padded: bool):
    """Sizes along the U: (skip sizes s_i, bottom size, decoder sizes u_i, conditions)."""
    shrink = 0 if padded else 4
    skips, conds, e = [], [], n
    for _ in range(depth):
        s = out(e - shrink)
        skips.append(s)
        conds.append(s)
        e = out(s / 2) if not is_concrete(s) else s // 2 if s % 2 == 0 else sp.Rational(s, 2)
    u = out(e - shrink)
    bottom = u
    ups = []
    for _i in reversed(range(depth)):
        u = out(2 * u - shrink)
        ups.append(u)
    return skips, bottom, ups[::-1], conds


def output_size(n: Dim, depth: int = 4, padded: bool = False) -> Dim:
    r"""Output side for input side $n$ (valid inputs only).

    >>> output_size(572), output_size(sp.Symbol("n", integer=True, positive=True))
    (388, n - 184)
    """
    return _chain(n, depth, padded)[2][0]


def is_valid(n: int, depth: int = 4, padded: bool = False) -> bool:
    """Every map that is pooled has even size, and every map has at least one pixel."""
    skips, bottom, ups, _ = _chain(n, depth, padded)
    return all(isinstance(s, int) and s >= 2 and s % 2 == 0 for s in skips) and \
        isinstance(bottom, int) and bottom >= 1 and ups[0] >= 1


def valid_condition(n: Dim, depth: int = 4, padded: bool = False) -> sp.Boolean:
    r"""The valid input sides in closed form: $n \ge n_{min}$ and $n \equiv n_{min} \pmod{2^d}$.

    Each pooling halves, so validity repeats with period $2^d$; $n_{min}$ is the smallest valid
    side (188 for the paper's depth 4, unpadded).

    >>> valid_condition(sp.Symbol("n", integer=True, positive=True))
    (n >= 188) & Eq(Mod(n + 4, 16), 0)
    """
    n_min = next(m for m in range(1, 2 ** (depth + 3) * 4) if is_valid(m, depth, padded))
    return sp.And(sp.Ge(n, n_min), sp.Eq(sp.Mod(n - n_min, 2 ** depth), 0))


def nearest_valid(n: int, depth: int = 4, padded: bool = False) -> tuple[int | None, int]:
    """The valid input sizes just below and just above ``n``."""
    below = next((m for m in range(n, 0, -1) if is_valid(m, depth, padded)), None)
    above = next(m for m in range(n, n + 2 ** (depth + 2) + 200) if is_valid(m, depth, padded))
    return below, above


def check_unet_input(n: Dim, depth: int, padded: bool, what: str = "input") -> None:
    if isinstance(n, int) and not is_valid(n, depth, padded):
        lo, hi = nearest_valid(n, depth, padded)
        raise InvalidUNetInputError(
            f"UNet(depth={depth}, {'SAME' if padded else 'VALID'}): {what} size {n} is not "
            f"valid — every pooled map must have even size (and every map at least one pixel); "
            f"nearest valid sizes: {lo} and {hi}")


@dataclass(frozen=True, slots=True)
class UNetGraph(Graph):
    """The whole network as one spec; ``named_parts(in_shape)`` lists (name, spec, its input)."""

    in_features: int = 1
    classes: int = 2
    base: int = 64
    depth: int = 4
    padded: bool = False

    def __post_init__(self) -> None:
        for name in ("in_features", "classes", "base", "depth"):
            as_dim(getattr(self, name), f"UNet: {name}")
        if not isinstance(self.depth, int):
            raise SymconvError("UNet: depth must be a concrete int")

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        if len(in_shape) != 3:
            raise ShapeMismatchError(f"UNet: input shape {in_shape!r} must be (H, W, C)")
        h, w, c = in_shape
        for n, axis in ((h, "height"), (w, "width")):
            check_unet_input(n, self.depth, self.padded, axis)
        pad = "SAME" if self.padded else "VALID"
        parts, shape, skips = [], (h, w, c), []

        def conv(name, cin, cout, x):
            spec = Conv2D(cin, cout, 3, padding=pad)
            parts.append((name, spec, x))
            y = tuple(spec.output_shape(x))
            parts.append((name + ".relu", ReLU(), y))
            return y

        width = self.base
        for level in range(self.depth + 1):
            shape = conv(f"down{level}.a", shape[2], width, shape)
            shape = conv(f"down{level}.b", width, width, shape)
            if level < self.depth:
                skips.append(shape)
                pool = MaxPool2D(2)
                parts.append((f"pool{level}", pool, shape))
                shape = tuple(pool.output_shape(shape))
                width *= 2
        for i, skip in enumerate(reversed(skips)):
            up = ConvTranspose2D(shape[2], shape[2] // 2, 2, strides=2)
            parts.append((f"up{i}", up, shape))
            shape = tuple(up.output_shape(shape))
            shape = (shape[0], shape[1], shape[2] + skip[2])  # crop skip, concatenate
            shape = conv(f"merge{i}.a", shape[2], skip[2], shape)
            shape = conv(f"merge{i}.b", skip[2], skip[2], shape)
        final = Conv2D(shape[2], self.classes, 1)
        parts.append(("head", final, shape))
        return parts

    def parts(self, in_shape: Sequence[Dim]) -> list[tuple[Layer, tuple]]:
        """(spec, its input) in execution order."""
        return [(spec, x) for _, spec, x in self.named_parts(in_shape)]

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        _, spec, x = self.named_parts(in_shape)[-1]
        return (spec.output_shape(x),)

    def crops(self, n: Dim) -> list[Dim]:
        """Pixels cropped from each side of every skip map, top level first."""
        skips, bottom, ups, _ = _chain(n, self.depth, self.padded)
        below = [*ups[1:], bottom]  # the map that is up-convolved to meet skip i
        return [out(sp.Rational(1, 2) * (s - 2 * b)) for s, b in zip(skips, below)]

    def example_input(self) -> tuple:
        n = nearest_valid(16 * 2 ** self.depth, self.depth, self.padded)[1]
        return (n, n, self.in_features)
