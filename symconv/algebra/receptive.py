r"""Receptive fields: size $r$, jump $j$ (effective stride) and start (centre of the first
output's field, in input pixels), layer by layer, in closed form.

For a layer with kernel $k$, stride $s$, dilation $d$ and low padding $p$, after a layer whose
field is $(r, j, \text{start})$ (Araujo et al., *Computing Receptive Fields of CNNs*, Distill 2019):

.. math::  r' = r + (k - 1)\,d\,j, \qquad j' = j\,s, \qquad
           \text{start}' = \text{start} + \left(\tfrac{(k-1)d}{2} - p\right) j,

from $r_0 = 1$, $j_0 = 1$, $\text{start}_0 = 0$, which unrolls to

.. math::  r_L = 1 + \sum_{l=1}^{L} (k_l - 1)\, d_l \prod_{i<l} s_i .

Output unit $i$ of layer $L$ sees input pixels
$[\text{start}_L + i j_L - \tfrac{r_L - 1}{2},\ \text{start}_L + i j_L + \tfrac{r_L - 1}{2}]$
(clipped to the image; dilation, or a stride larger than the next kernel, may leave holes
inside that window, never at its two ends). Elementwise layers
and batch norm leave the field unchanged; a flatten, dense layer or global pooling sees the whole
input (``global``). Multi-path blocks take their deepest path: a dense block of $L$ layers acts
like one $(2L+1)$ window, a residual block like its main path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Dim, out
from symconv.algebra.conv import Conv2D, conv_axis
from symconv.algebra.arith import Conditions
from symconv.algebra.dense import Dense, Flatten
from symconv.algebra.elementwise import ReLU, Softmax
from symconv.algebra.layer import Layer
from symconv.algebra.normalization import BatchNorm
from symconv.algebra.pooling import GlobalAvgPool2D, _Pool2D
from symconv.algebra.separable import SeparableConv2D
from symconv.errors import SymconvError


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


@dataclass(frozen=True, slots=True)
class Window:
    """What a sliding-window layer contributes along one axis."""

    kernel: Dim
    stride: Dim
    dilation: Dim
    pad_lo: Dim


def step(field: Field, window: Window) -> Field:
    r"""One application of the recursion above."""
    if field.is_global:
        return GLOBAL
    k, s, d, p = window.kernel, window.stride, window.dilation, window.pad_lo
    size = out(field.size + (k - 1) * d * field.jump)
    start = out(sp.expand(field.start + (sp.Rational(1, 2) * (k - 1) * d - p) * field.jump))
    return Field(size, out(field.jump * s), start)


def windows(layer: Layer, in_shape: Sequence[Dim]) -> list[tuple[Window, Window]] | None:
    """The sliding windows a layer applies (in order); ``[]`` for elementwise, ``None`` global.

    A layer class may define its own ``windows(in_shape)`` (the Darknet layers do)."""
    rule = getattr(type(layer), "windows", None)
    if rule is not None:
        return rule(layer, in_shape)
    if isinstance(layer, Conv2D):
        gh, gw, _ = layer.geometry(in_shape)
        return [tuple(Window(layer.kernel_size[i], layer.strides[i], layer.kernel_dilation[i],
                             g.lo) for i, g in enumerate((gh, gw)))]
    if isinstance(layer, SeparableConv2D):
        return windows(layer.depthwise, in_shape)  # the pointwise stage adds nothing
    if isinstance(layer, _Pool2D):
        conds = Conditions()
        pads = layer.padding
        ph, pw = (pads, pads) if isinstance(pads, str) else pads
        gh = conv_axis(layer.label, "height", in_shape[0], layer.window_shape[0],
                       layer.strides[0], 1, ph, conds)
        gw = conv_axis(layer.label, "width", in_shape[1], layer.window_shape[1],
                       layer.strides[1], 1, pw, conds)
        return [tuple(Window(layer.window_shape[i], layer.strides[i], 1, g.lo)
                      for i, g in enumerate((gh, gw)))]
    if isinstance(layer, (ReLU, Softmax, BatchNorm)):
        return []
    from symconv.algebra.blocks import DenseBlock, ResidualBlock

    if isinstance(layer, DenseBlock):
        # The deepest path crosses L 3x3/1 convs ('SAME'): one (2L+1)-window with padding L.
        n = layer.num_layers
        w = Window(out(2 * n + 1), 1, 1, n)
        return [(w, w)]
    if isinstance(layer, ResidualBlock):
        # The main path is the deeper one; the projection's 1x1 window lies inside it.
        s = layer.strides
        if layer.kind == "basic":
            return [(Window(3, s, 1, 1),) * 2, (Window(3, 1, 1, 1),) * 2]
        return [(Window(3, s, 1, 1),) * 2]
    if isinstance(layer, (Dense, Flatten, GlobalAvgPool2D)):
        return None
    if hasattr(layer, "layers"):  # a nested Stack: handled by the caller
        raise SymconvError("internal: nested stacks are expanded by Stack.fields")
    raise SymconvError(f"no receptive-field rule is known for {type(layer).__name__}")


def closed_form(kernels: Sequence[Dim], strides: Sequence[Dim],
                dilations: Sequence[Dim] | None = None) -> Dim:
    r"""$r_L = 1 + \sum_l (k_l - 1) d_l \prod_{i<l} s_i$.

    >>> closed_form([5, 5, 5], [2, 2, 2])
    29
    """
    dilations = dilations or [1] * len(kernels)
    terms = [(k - 1) * d * sp.Mul(*strides[:l]) for l, (k, d) in enumerate(zip(kernels, dilations))]
    return out(sp.expand(1 + sp.Add(*terms)))
