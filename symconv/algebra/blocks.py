r"""Non-sequential blocks as layer specs: DenseNet's dense block and transition, ResNet's
residual blocks. Each has closed-form parameters and MACs; SymPy sums over the layers of a
dense block (never a Python loop over symbolic depth).

**Dense block** (Huang et al. 2017): layer $l = 1..L$ sees $k_0 + k(l-1)$ channels (the block
input and every earlier layer's $k$ new maps, concatenated) and adds $k$. Basic layer:
BN-ReLU-Conv$3\times3$; bottleneck (DenseNet-B): BN-ReLU-Conv$1\times1$ ($b k$ maps, $b = 4$)
-BN-ReLU-Conv$3\times3$. Convolutions have no bias; 'SAME' padding keeps $H \times W$:

.. math::  P_{basic} = \sum_{l=1}^{L} \bigl(2 c_l + 9 c_l k\bigr), \quad
           P_{bottleneck} = \sum_{l=1}^{L} \bigl(2 c_l + b k c_l + 2 b k + 9 b k^2\bigr),
           \quad c_l = k_0 + k(l - 1).

**Transition** (DenseNet-C, compression $\theta$): BN-ReLU-Conv$1\times1$ to
$\lfloor \theta c \rfloor$ maps, then $2\times2$ average pooling, stride 2.

**Residual blocks** (He et al. 2016): basic ($3\times3$, $3\times3$) and bottleneck ($1\times1$,
$3\times3$, $1\times1$ with expansion 4), each conv followed by BN, a projection
($1\times1$ conv + BN) when the shape changes, then the addition and a ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, floordiv, out
from symconv.algebra.composite import Composite, Part, Repeated, Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.elementwise import Add, ReLU
from symconv.algebra.layer import Shape, dims_of, same_size
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import AvgPool2D
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import l
from symconv.errors import SymconvError


def dense_layer_channels(k0: Dim, k: Dim, layer: Dim) -> Dim:
    r"""Channels entering layer $l$ of a dense block: $k_0 + k(l-1)$.

    >>> dense_layer_channels(64, 32, 6)
    224
    """
    return out(k0 + k * (layer - 1))


@dataclass(frozen=True, slots=True)
class DenseBlock(Composite):
    r"""$L$ densely connected layers of growth rate $k$ on $k_0$ input channels: one
    :class:`~symconv.algebra.composite.Repeated` part, layer $l$ on $c_l = k_0 + k(l-1)$
    channels, summed over $l = 1..L$ by SymPy."""

    in_features: Dim
    num_layers: Dim
    growth_rate: Dim
    bottleneck: bool = True
    bn_size: Dim = 4

    def __post_init__(self) -> None:
        for name in ("in_features", "num_layers", "growth_rate", "bn_size"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"DenseBlock: {name}"))

    def layer(self, c: Dim) -> Stack:
        """One layer on ``c`` channels as a chain (its new ``k`` maps)."""
        k, b = self.growth_rate, self.bn_size
        if self.bottleneck:
            return Stack((BatchNorm(c), ReLU(), Conv2D(c, b * k, 1, use_bias=False),
                          BatchNorm(b * k), ReLU(), Conv2D(b * k, k, 3, padding="SAME",
                                                           use_bias=False)))
        return Stack((BatchNorm(c), ReLU(), Conv2D(c, k, 3, padding="SAME", use_bias=False)))

    def _repeated(self, h: Dim, w: Dim) -> Repeated:
        c = dense_layer_channels(self.in_features, self.growth_rate, l)
        return Repeated(self.layer(c), l, self.num_layers, (h, w, c))

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        same_size(self.label, "channels", c, self.in_features, "in_features")
        return [Part("layers", self._repeated(h, w), (h, w, c))]

    def example_input(self) -> tuple:
        return (1, 1, self.in_features)

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        same_size(self.label, "channels", c, self.in_features, "in_features")
        return (Shape((h, w, out(c + self.num_layers * self.growth_rate))),)

    def windows(self, in_shape: Sequence[Dim]):
        # The deepest path crosses L 3x3/1 convs ('SAME'): one (2L+1)-window with padding L.
        n = self.num_layers
        window = Window(out(2 * n + 1), 1, 1, n)
        return [(window, window)]


def transition(in_features: Dim, compression: float | sp.Rational = sp.Rational(1, 2)) -> Stack:
    r"""BN-ReLU-Conv$1\times1$ to $\lfloor\theta c\rfloor$ maps, then $2\times2$ average pooling."""
    theta = sp.Rational(compression) if not isinstance(compression, sp.Basic) else compression
    if not (0 < theta <= 1):
        raise SymconvError(f"transition: compression={compression} must be in (0, 1]")
    c = as_dim(in_features, "transition: in_features")
    n = floordiv(c * theta.p, theta.q)
    return Stack((BatchNorm(c), ReLU(), Conv2D(c, n, 1, use_bias=False), AvgPool2D(2, 2)),
                 ("bn", "relu", "conv", "pool"))


@dataclass(frozen=True, slots=True)
class ResidualBlock(Composite):
    r"""ResNet block: ``kind`` 'basic' (out = planes) or 'bottleneck' (out = 4 planes); parts:
    the main path, the projection (when the shape changes), the addition and a ReLU."""

    in_features: Dim
    planes: Dim
    strides: Dim = 1
    kind: str = "basic"

    def __post_init__(self) -> None:
        if self.kind not in ("basic", "bottleneck"):
            raise SymconvError(f"ResidualBlock: kind={self.kind!r} must be basic or bottleneck")
        for name in ("in_features", "planes", "strides"):
            object.__setattr__(self, name, as_dim(getattr(self, name),
                                                  f"ResidualBlock: {name}"))

    @property
    def out_features(self) -> Dim:
        return out(self.planes * (4 if self.kind == "bottleneck" else 1))

    def main(self) -> Stack:
        m, p, s = self.in_features, self.planes, self.strides
        if self.kind == "basic":
            return Stack((Conv2D(m, p, 3, s, 1, use_bias=False), BatchNorm(p), ReLU(),
                          Conv2D(p, p, 3, 1, 1, use_bias=False), BatchNorm(p)))
        return Stack((Conv2D(m, p, 1, use_bias=False), BatchNorm(p), ReLU(),
                       Conv2D(p, p, 3, s, 1, use_bias=False), BatchNorm(p), ReLU(),
                       Conv2D(p, 4 * p, 1, use_bias=False), BatchNorm(4 * p)))

    def projection(self) -> Stack | None:
        if self.strides == 1 and self.in_features == self.out_features:
            return None
        return Stack((Conv2D(self.in_features, self.out_features, 1, self.strides,
                             use_bias=False), BatchNorm(self.out_features)))

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        x = dims_of(self.label, in_shape, 3, "HWC")
        y = tuple(self.main().output_shape(x))
        parts = [Part("main", self.main(), x)]
        if self.projection() is not None:
            parts.append(Part("projection", self.projection(), x))
        return [*parts, Part("add", Add(), y), Part("relu", ReLU(), y)]

    def param_parts(self) -> list[Part]:
        return [Part(n, s, ()) for n, s in (("main", self.main()),
                                            ("projection", self.projection())) if s is not None]

    def windows(self, in_shape: Sequence[Dim]):
        # The main path is the deeper one; the projection's 1x1 window lies inside it.
        s = self.strides
        if self.kind == "basic":
            return [(Window(3, s, 1, 1),) * 2, (Window(3, 1, 1, 1),) * 2]
        return [(Window(3, s, 1, 1),) * 2]
