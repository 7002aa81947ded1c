r"""YOLOv2 and YOLOv3 (Redmon & Farhadi 2017, 2018) as graphs of Darknet units: the
passthrough (v2), the three scales with upsampling and concatenation (v3), in closed form.

The backbones and configs are in :mod:`symconv.algebra.nets.darknet`; every size must be a
multiple of the network stride (32; :func:`check_yolo_input` names the nearest valid sizes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, is_concrete, out
from symconv.algebra.composite import Graph, Part
from symconv.algebra.conv import Conv2D
from symconv.algebra.darknet_layers import DarknetConv, Reorg, Upsample
from symconv.algebra.layer import Layer, Shape, dims_of
from symconv.algebra.nets.darknet import (
    DARKNET19_PASSTHROUGH,
    DARKNET53_TAPS,
    NETWORK_STRIDE,
    YoloV2Config,
    YoloV3Config,
    darknet19_stack,
    darknet53_stack,
    scaled,
)
from symconv.algebra.nets.yolo_head import grid_sizes
from symconv.errors import ShapeMismatchError, SymconvError


def check_yolo_input(title: str, in_shape: Sequence[Dim], strides=(NETWORK_STRIDE,)):
    """``(H, W, 3)`` with both sides divisible by every stride (concrete sides; a symbolic side
    is taken as valid: write it as ``32*t``), else a :class:`ShapeMismatchError` that says
    which multiples would do (:func:`symconv.algebra.nets.yolo_head.grid_sizes`)."""
    h, w, c = dims_of(title, in_shape, 3, "HWC")
    if is_concrete(c) and c != 3:
        raise ShapeMismatchError(f"{title}: input has {c} channels, expects 3 (RGB)")
    for n, axis in ((h, "height"), (w, "width")):
        try:
            grid_sizes(n, strides)
        except SymconvError as e:
            raise type(e)(f"{title}: input {axis}: {e}") from None
    return h, w, c


def _side_conditions(in_shape: Sequence[Dim]) -> tuple:
    """``n mod 32 = 0`` for every symbolic side SymPy cannot decide (concrete sides are
    checked by :func:`check_yolo_input`)."""
    conds = Conditions()
    for n in tuple(in_shape)[:2]:
        if not is_concrete(n):
            conds.require(sp.Eq(sp.Mod(n, NETWORK_STRIDE), 0), ShapeMismatchError,
                          f"input side {n} is never a multiple of {NETWORK_STRIDE}")
    return tuple(conds.items)


class _YoloGraph(Graph):
    """Outputs, table and conditions carry ``32 | n`` for symbolic sides."""

    __slots__ = ()

    def outputs(self, in_shape: Sequence[Dim]) -> tuple[Shape, ...]:
        extra = _side_conditions(in_shape)
        return tuple(Shape(spec.output_shape(x), extra + spec.output_shape(x).conditions)
                     for name, spec, x in self.named_parts(in_shape)
                     if name.endswith("detection"))

    def example_input(self) -> tuple:
        return (416, 416, 3)


class _Parts:
    """Collects (name, spec, its input) and follows the shape."""

    def __init__(self):
        self.items: list[Part] = []

    def add(self, name: str, spec: Layer, x: tuple) -> tuple:
        self.items.append(Part(name, spec, tuple(x)))
        return tuple(spec.output_shape(x))


@dataclass(frozen=True, slots=True)
class YoloV2Graph(_YoloGraph):
    r"""YOLOv2: Darknet-19 without its classifier, two $3\times3$ units of 1024; the 26x26x512
    map (``conv13``) through a $1\times1$ unit of 64 and ``Reorg(2)`` concatenated before them
    (reorg first, as ``route -1,-4``); a $3\times3$ unit of 1024; a $1\times1$ conv (bias,
    linear) to $A(5 + C)$: one output $n/32 \times n/32 \times A(5+C)$ for an $n \times n$
    input, $n$ a multiple of 32."""

    cfg: YoloV2Config = YoloV2Config()

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        check_yolo_input("YOLOv2", in_shape, (NETWORK_STRIDE,))
        cfg, p = self.cfg, _Parts()
        x = tuple(in_shape)
        skip = None
        for name, spec, xi in darknet19_stack(cfg.backbone(),
                                              include_top=False).named_parts(in_shape):
            p.items.append(Part(name, spec, tuple(xi)))
            x = tuple(spec.output_shape(xi))
            if name == DARKNET19_PASSTHROUGH:
                skip = x
        big, slope = scaled(1024, cfg.width, 32), cfg.negative_slope
        x = p.add("conv19", DarknetConv(x[2], big, 3, negative_slope=slope), x)
        x = p.add("conv20", DarknetConv(big, big, 3, negative_slope=slope), x)
        y = p.add("passthrough", DarknetConv(skip[2], scaled(64, cfg.width, 32), 1,
                                             negative_slope=slope), skip)
        y = p.add("reorg", Reorg(2), y)
        x = (x[0], x[1], out(x[2] + y[2]))  # concatenate [reorg, conv20]
        x = p.add("conv21", DarknetConv(x[2], big, 3, negative_slope=slope), x)
        p.add("detection", Conv2D(big, cfg.depth, 1), x)
        return p.items


@dataclass(frozen=True, slots=True)
class YoloV3Graph(_YoloGraph):
    r"""YOLOv3: Darknet-53 without its classifier, then per scale (13, 26, 52 at 416) five
    alternating $1\times1$ ($f$) / $3\times3$ ($2f$) units, a $3\times3$ unit and a $1\times1$
    conv (bias, linear) to $A(5 + C)$; the fifth unit's map goes through a $1\times1$ unit
    ($f/2$), ``Upsample(2)`` and is concatenated (upsampled first, ``route -1, 61``) with the
    backbone map of twice the resolution. Outputs, for $n$ a multiple of 32:
    $(n/32)^2, (n/16)^2, (n/8)^2$ cells of $A(5 + C)$."""

    cfg: YoloV3Config = YoloV3Config()

    def named_parts(self, in_shape: Sequence[Dim]) -> list[Part]:
        check_yolo_input("YOLOv3", in_shape, (NETWORK_STRIDE, 16, 8))
        cfg, p, taps = self.cfg, _Parts(), {}
        x = tuple(in_shape)
        for name, spec, xi in darknet53_stack(cfg.backbone(),
                                              include_top=False).named_parts(in_shape):
            p.items.append(Part(name, spec, tuple(xi)))
            x = taps[name] = tuple(spec.output_shape(xi))
        skips = [taps[DARKNET53_TAPS[1]], taps[DARKNET53_TAPS[0]]]
        slope = cfg.negative_slope
        for k, f in enumerate(cfg.heads(), start=1):
            for j in range(1, 6):
                n = f if j % 2 else 2 * f
                x = p.add(f"head{k}.conv{j}", DarknetConv(x[2], n, 1 if j % 2 else 3,
                                                          negative_slope=slope), x)
            branch = p.add(f"head{k}.conv6", DarknetConv(f, 2 * f, 3, negative_slope=slope),
                           x)
            p.add(f"head{k}.detection", Conv2D(2 * f, cfg.depth, 1), branch)
            if k < len(cfg.heads()):
                x = p.add(f"head{k}.route", DarknetConv(f, f // 2, 1, negative_slope=slope), x)
                x = p.add(f"head{k}.upsample", Upsample(2), x)
                skip = skips[k - 1]
                x = (x[0], x[1], out(x[2] + skip[2]))  # concatenate [upsampled, skip]
        return p.items


def yolov2_graph(cfg: YoloV2Config = YoloV2Config()) -> YoloV2Graph:
    return YoloV2Graph(cfg)


def yolov3_graph(cfg: YoloV3Config = YoloV3Config()) -> YoloV3Graph:
    return YoloV3Graph(cfg)
