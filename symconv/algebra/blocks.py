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

import functools
from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, as_dim, floordiv, out
from symconv.algebra.conv import Conv2D
from symconv.algebra.elementwise import ReLU
from symconv.algebra.layer import Layer, Shape, check_convention
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import AvgPool2D
from symconv.algebra.stack import Stack
from symconv.errors import ShapeMismatchError, SymconvError


def _hwc(layer: str, in_shape: Sequence[Dim]):
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 3:
        raise ShapeMismatchError(f"{layer}: input shape {in_shape!r} must be (H, W, C)")
    return tuple(as_dim(d, f"{layer}: input {n}") for d, n in zip(in_shape, "HWC"))


def dense_layer_channels(k0: Dim, k: Dim, l: Dim) -> Dim:
    r"""Channels entering layer $l$ of a dense block: $k_0 + k(l-1)$.

    >>> dense_layer_channels(64, 32, 6)
    224
    """
    return out(k0 + k * (l - 1))


@dataclass(frozen=True, slots=True)
class DenseBlock(Layer):
    r"""$L$ densely connected layers of growth rate $k$ on $k_0$ input channels."""

    in_features: Dim
    num_layers: Dim
    growth_rate: Dim
    bottleneck: bool = True
    bn_size: Dim = 4

    def __post_init__(self) -> None:
        for name in ("in_features", "num_layers", "growth_rate", "bn_size"):
            object.__setattr__(self, name, as_dim(getattr(self, name), f"DenseBlock: {name}"))

    def _layer(self, c: Dim) -> Stack:
        """One layer on ``c`` channels as a sequential stack (its new ``k`` maps)."""
        k, b = self.growth_rate, self.bn_size
        if self.bottleneck:
            return Stack((BatchNorm(c), ReLU(), Conv2D(c, b * k, 1, use_bias=False),
                          BatchNorm(b * k), ReLU(), Conv2D(b * k, k, 3, padding="SAME",
                                                           use_bias=False)))
        return Stack((BatchNorm(c), ReLU(), Conv2D(c, k, 3, padding="SAME", use_bias=False)))

    def _sum(self, quantity: str, *args) -> Dim:
        """$\\sum_{l=1}^{L}$ of one layer's ``quantity(*args)`` on $c_l$ channels, by SymPy
        (exact, also for symbolic $L$); cached, since blocks are asked the same sums often."""
        return _block_sum(self, quantity, args)

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        h, w, c = _hwc(self.label, in_shape)
        same = sp.Eq(c, self.in_features) if not (isinstance(c, int) and isinstance(
            self.in_features, int)) else c == self.in_features
        if same is False or same == sp.false:
            raise ShapeMismatchError(f"DenseBlock: input has {c} channels, expects "
                                     f"in_features={self.in_features}")
        return Shape((h, w, out(c + self.num_layers * self.growth_rate)))

    def weight_count(self) -> Dim:
        return self._sum("weight_count")

    def bias_count(self) -> Dim:
        return self._sum("bias_count")

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        check_convention(convention)
        h, w, _ = _hwc(self.label, in_shape)
        return self._sum("macs", h, w, convention)

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        h, w, _ = _hwc(self.label, in_shape)
        return self._sum("batch_flops", h, w, batch, convention)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        h, w, _ = _hwc(self.label, in_shape)
        return self._sum("transcendentals", h, w, batch)


@functools.lru_cache(maxsize=512)
def _block_sum(block: DenseBlock, quantity: str, args: tuple) -> Dim:
    l = sp.Dummy("l", integer=True, positive=True)
    c = dense_layer_channels(block.in_features, block.growth_rate, l)
    layer = block._layer(c)
    if quantity in ("weight_count", "bias_count"):
        term = getattr(layer, quantity)()
    elif quantity == "macs":
        h, w, convention = args
        term = layer.macs((h, w, c), convention)
    elif quantity == "batch_flops":
        h, w, batch, convention = args
        term = layer.batch_flops((h, w, c), batch, convention)
    else:
        h, w, batch = args
        term = layer.transcendentals((h, w, c), batch)
    return out(sp.expand(sp.summation(sp.expand(term), (l, 1, block.num_layers))))


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
class ResidualBlock(Layer):
    r"""ResNet block: ``kind`` 'basic' (out = planes) or 'bottleneck' (out = 4 planes)."""

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

    def _parts(self):
        return [p for p in (self.main(), self.projection()) if p is not None]

    def output_shape(self, in_shape: Sequence[Dim]) -> Shape:
        return self.main().output_shape(_hwc(self.label, in_shape))

    def weight_count(self) -> Dim:
        return out(sp.Add(*[p.weight_count() for p in self._parts()]))

    def bias_count(self) -> Dim:
        return out(sp.Add(*[p.bias_count() for p in self._parts()]))

    def macs(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return out(sp.Add(*[p.macs(in_shape, convention) for p in self._parts()]))

    def flops(self, in_shape: Sequence[Dim], convention: str = "dense") -> Dim:
        return self.batch_flops(in_shape, 1, convention)

    def batch_flops(self, in_shape: Sequence[Dim], batch: Dim = 1,
                    convention: str = "dense") -> Dim:
        r"""Both paths, then the addition and the ReLU: $2 B H' W' C'$ more."""
        shape = self.output_shape(in_shape)
        tail = 2 * batch * sp.Mul(*shape)
        return out(sp.Add(*[p.batch_flops(in_shape, batch, convention)
                            for p in self._parts()]) + tail)

    def transcendentals(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Dim:
        return out(sp.Add(*[p.transcendentals(in_shape, batch) for p in self._parts()]))
