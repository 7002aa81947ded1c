r"""Darknet layers and the YOLO v1/v2/v3 networks (Redmon et al. 2016; Redmon & Farhadi 2017,
2018) in closed form: shapes, parameters, MACs and FLOPs as XLA counts them.

Public names. Layer specs (from :mod:`symconv.algebra.darknet_layers`): :class:`LeakyReLU`,
:class:`Dropout`, :class:`Reorg`, :class:`Upsample`, :class:`Reshape`, :class:`DarknetConv`,
:class:`DarknetResidual`; :class:`DarknetStack` (a ``Stack`` with a fixed input size).
Configs: :class:`YoloV1Config`, :class:`Darknet19Config`, :class:`YoloV2Config`,
:class:`Darknet53Config`, :class:`YoloV3Config`. Networks: :func:`yolov1_stack`,
:func:`darknet19_stack`, :func:`darknet53_stack`, :class:`YoloV2Graph` / :func:`yolov2_graph`,
:class:`YoloV3Graph` / :func:`yolov3_graph`; :func:`check_yolo_input`. Tables: ``YOLOV1_LAYERS``,
``DARKNET19_LAYERS``, ``DARKNET53_STAGES``, ``YOLOV3_HEAD``, ``DARKNET19_PASSTHROUGH``,
``DARKNET53_TAPS``; ``NETWORK_STRIDE`` (32), ``YOLOV1_STRIDE`` (64).

A Darknet unit is convolution (no bias) + batch norm + leaky ReLU (slope 0.1), padding
$\lfloor K/2 \rfloor$ on every side (Darknet's ``pad=1``). Darknet's $2\times2$/2 max pooling
pads one row and column at the high end, so it gives $\lceil n/2 \rceil$ (= $n/2$ for even $n$).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from symconv.algebra.arith import Conditions, Dim, is_concrete, out
from symconv.algebra.conv import Conv2D, check_bool
from symconv.algebra.darknet_layers import (  # noqa: F401  (re-exported)
    DarknetConv, DarknetResidual, Dropout, LeakyReLU, Reorg, Reshape, Upsample, _hwc, _int, _real)
from symconv.algebra.dense import Dense, Flatten
from symconv.algebra.elementwise import Softmax
from symconv.algebra.graph import Graph
from symconv.algebra.layer import Layer, Shape
from symconv.algebra.pooling import GlobalAvgPool2D, MaxPool2D
from symconv.algebra.stack import Stack, StackTable
from symconv.algebra.nets.yolo_head import anchor_depth, grid_sizes, v1_depth, v1_output
from symconv.errors import ShapeMismatchError, SymconvError

NETWORK_STRIDE = 32  #: YOLOv2/v3 and the Darknet classifiers halve the input five times
YOLOV1_STRIDE = 64  #: YOLOv1: a 7x7/2 conv, four 2x2/2 pools and a 3x3/2 conv


# --- a stack with a fixed input ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DarknetStack(Stack):
    """A :class:`Stack` that, with ``fixed_input=(H, W)``, rejects every other input size (a
    flatten + FC head)."""

    fixed_input: tuple = ()
    title: str = "network"

    def _walk(self, in_shape: Sequence[Dim]):
        if self.fixed_input:
            _check_fixed(self.title, tuple(in_shape)[:2], self.fixed_input)
        yield from Stack._walk(self, in_shape)


def _check_fixed(title: str, hw: tuple, fixed: tuple) -> None:
    if len(hw) != 2 or any(not is_concrete(d) for d in hw):
        raise ShapeMismatchError(
            f"{title}: its fully connected head is sized for exactly {fixed[0]}x{fixed[1]} "
            f"inputs, so the input size cannot be symbolic (got {hw}); give {fixed[0]}x"
            f"{fixed[1]}")
    if tuple(hw) != tuple(fixed):
        raise ShapeMismatchError(
            f"{title}: input {hw[0]}x{hw[1]}, but its fully connected head is sized for "
            f"exactly {fixed[0]}x{fixed[1]} (a different size changes the flattened feature "
            f"count); resize the image to {fixed[0]}x{fixed[1]}, or choose the grid S so "
            f"that {YOLOV1_STRIDE}*S is your size")


# --- architecture tables (the papers') -----------------------------------------------------

#: YOLOv1, Fig. 3 of Redmon et al. 2016: (kernel, filters, stride) or "M" (2x2/2 max pool).
YOLOV1_LAYERS = (
    (7, 64, 2), "M",
    (3, 192, 1), "M",
    (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M",
    *((1, 256, 1), (3, 512, 1)) * 4, (1, 512, 1), (3, 1024, 1), "M",
    *((1, 512, 1), (3, 1024, 1)) * 2, (3, 1024, 1), (3, 1024, 2),
    (3, 1024, 1), (3, 1024, 1),
)

#: Darknet-19, Table 6 of Redmon & Farhadi 2017 (without the 1x1 classifier conv).
DARKNET19_LAYERS = (
    (3, 32, 1), "M", (3, 64, 1), "M",
    (3, 128, 1), (1, 64, 1), (3, 128, 1), "M",
    (3, 256, 1), (1, 128, 1), (3, 256, 1), "M",
    (3, 512, 1), (1, 256, 1), (3, 512, 1), (1, 256, 1), (3, 512, 1), "M",
    (3, 1024, 1), (1, 512, 1), (3, 1024, 1), (1, 512, 1), (3, 1024, 1),
)
DARKNET19_PASSTHROUGH = "conv13"  #: the 26x26x512 map (at 416) YOLOv2's passthrough reads

#: Darknet-53, Table 1 of Redmon & Farhadi 2018: after a 3x3 conv to 32 maps, per stage the
#: filters of its 3x3/2 conv and its number of residual blocks.
DARKNET53_STAGES = ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4))
#: The maps at strides 8, 16, 32 (the last residual of stages 3-5; yolov3.cfg's routes 36, 61).
DARKNET53_TAPS = ("res3.8", "res4.8", "res5.4")

#: YOLOv3's three heads (yolov3.cfg): 1x1 filters f of each conv set (3x3 ones have 2f).
YOLOV3_HEAD = (512, 256, 128)


def _scaled(f: int, width: int, base: int) -> int:
    return f * width // base


def _darknet_layers(table, width: int, base: int, slope: float, batch_norm: bool = True):
    """(name, spec) for every entry of a conv/pool table, widths scaled by ``width/base``."""
    layers, c, n_conv, n_pool = [], 3, 0, 0
    for entry in table:
        if entry == "M":
            n_pool += 1
            layers.append((f"pool{n_pool}", MaxPool2D(2, 2, ((0, 1), (0, 1)))))
            continue
        k, f, s = entry
        n_conv += 1
        f = _scaled(f, width, base)
        layers.append((f"conv{n_conv}", DarknetConv(c, f, k, s, batch_norm=batch_norm,
                                                     negative_slope=slope)))
        c = f
    return layers, c


# --- configs ------------------------------------------------------------------------------


def _check_common(cfg, name: str) -> None:
    _int(cfg.width, f"{name}: width")
    _real(cfg.negative_slope, f"{name}: negative_slope", 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class YoloV1Config:
    r"""YOLOv1 (Fig. 3): 24 convolutions, FC ``hidden`` (4096) + leaky + dropout, FC to
    $S \cdot S \cdot (5B + C)$, viewed as $S \times S \times (5B+C)$; input side $64 S$
    (448 for $S = 7$). As in the paper, no batch norm (added in YOLOv2; darknet's later
    ``yolov1.cfg`` has it and a locally connected layer instead): convolutions with biases,
    leaky ReLU 0.1 after every layer but the last. ``width`` scales every conv width
    (paper: 64, the first conv's filters)."""

    grid: int = 7
    boxes: int = 2
    classes: int = 20
    width: int = 64
    hidden: int = 4096
    batch_norm: bool = False
    negative_slope: float = 0.1
    dropout: float = 0.5

    def __post_init__(self) -> None:
        for name in ("grid", "boxes", "classes", "hidden"):
            _int(getattr(self, name), f"YoloV1Config: {name}")
        _check_common(self, "YoloV1Config")
        check_bool(self.batch_norm, "YoloV1Config: batch_norm")
        _real(self.dropout, "YoloV1Config: dropout", 0.0, 1.0)

    @property
    def side(self) -> int:
        """The one input side the FC head accepts: $64 S$."""
        return YOLOV1_STRIDE * self.grid

    @property
    def output(self) -> tuple[int, int, int]:
        return v1_output(self.grid, self.boxes, self.classes)


@dataclass(frozen=True, slots=True)
class Darknet19Config:
    """Darknet-19 (YOLO9000 Table 6); ``width`` = the first conv's filters (paper: 32)."""

    classes: int = 1000
    width: int = 32
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        _int(self.classes, "Darknet19Config: classes")
        _check_common(self, "Darknet19Config")


@dataclass(frozen=True, slots=True)
class YoloV2Config:
    """YOLOv2 (YOLO9000 Sec. 2-3, ``yolo-voc.cfg``): ``anchors`` boxes per cell (5), VOC's
    20 classes by default (``yolov2.cfg`` for COCO: 80)."""

    anchors: int = 5
    classes: int = 20
    width: int = 32
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        _int(self.anchors, "YoloV2Config: anchors")
        _int(self.classes, "YoloV2Config: classes")
        _check_common(self, "YoloV2Config")

    @property
    def depth(self) -> Dim:
        return anchor_depth(self.anchors, self.classes)

    def backbone(self) -> Darknet19Config:
        return Darknet19Config(width=self.width, negative_slope=self.negative_slope)


@dataclass(frozen=True, slots=True)
class Darknet53Config:
    """Darknet-53 (YOLOv3 Table 1); ``width`` = the first conv's filters (paper: 32)."""

    classes: int = 1000
    width: int = 32
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        _int(self.classes, "Darknet53Config: classes")
        _check_common(self, "Darknet53Config")

    def stages(self) -> tuple[tuple[int, int], ...]:
        return tuple((_scaled(f, self.width, 32), n) for f, n in DARKNET53_STAGES)


@dataclass(frozen=True, slots=True)
class YoloV3Config:
    """YOLOv3 (``yolov3.cfg``): three scales (strides 32, 16, 8), ``anchors`` per cell (3),
    COCO's 80 classes by default."""

    anchors: int = 3
    classes: int = 80
    width: int = 32
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        _int(self.anchors, "YoloV3Config: anchors")
        _int(self.classes, "YoloV3Config: classes")
        _check_common(self, "YoloV3Config")

    @property
    def depth(self) -> Dim:
        return anchor_depth(self.anchors, self.classes)

    def backbone(self) -> Darknet53Config:
        return Darknet53Config(width=self.width, negative_slope=self.negative_slope)

    def heads(self) -> tuple[int, ...]:
        return tuple(_scaled(f, self.width, 32) for f in YOLOV3_HEAD)


# --- networks -----------------------------------------------------------------------------


def yolov1_stack(cfg: YoloV1Config = YoloV1Config()) -> DarknetStack:
    r"""YOLOv1 on its one input size $64S \times 64S \times 3$ (448 for $S = 7$)."""
    layers, c = _darknet_layers(YOLOV1_LAYERS, cfg.width, 64, cfg.negative_slope,
                                cfg.batch_norm)
    s, d = cfg.grid, v1_depth(cfg.boxes, cfg.classes)
    layers += [("flatten", Flatten()), ("fc1", Dense(s * s * c, cfg.hidden)),
               ("leaky", LeakyReLU(cfg.negative_slope)), ("dropout", Dropout(cfg.dropout)),
               ("fc2", Dense(cfg.hidden, s * s * d)), ("detection", Reshape(cfg.output))]
    names, specs = zip(*layers)
    return DarknetStack(specs, names, fixed_input=(cfg.side, cfg.side), title="YOLOv1")


def darknet19_stack(cfg: Darknet19Config = Darknet19Config(), *,
                    include_top: bool = True) -> DarknetStack:
    r"""Darknet-19: 18 Darknet units and five $2\times2$/2 pools; with the top, a $1\times1$
    conv to the classes (bias, linear), global average pooling and a softmax."""
    layers, c = _darknet_layers(DARKNET19_LAYERS, cfg.width, 32, cfg.negative_slope)
    if include_top:
        layers += [("conv19", DarknetConv(c, cfg.classes, 1, batch_norm=False,
                                          activation="linear")),
                   ("gap", GlobalAvgPool2D()), ("softmax", Softmax())]
    names, specs = zip(*layers)
    return DarknetStack(specs, names, title="Darknet-19")


def darknet53_stack(cfg: Darknet53Config = Darknet53Config(), *,
                    include_top: bool = True) -> DarknetStack:
    r"""Darknet-53: a $3\times3$ unit, then five stages of a $3\times3$/2 unit and residual
    blocks (1, 2, 8, 8, 4); with the top, global average pooling, FC to the classes, softmax
    (52 convolutions + 1 FC = 53 layers)."""
    slope, c = cfg.negative_slope, _scaled(32, cfg.width, 32)
    layers = [("conv1", DarknetConv(3, c, 3, negative_slope=slope))]
    for i, (f, n) in enumerate(cfg.stages(), start=1):
        layers.append((f"down{i}", DarknetConv(c, f, 3, 2, negative_slope=slope)))
        layers += [(f"res{i}.{j}", DarknetResidual(f, slope)) for j in range(1, n + 1)]
        c = f
    if include_top:
        layers += [("gap", GlobalAvgPool2D()), ("fc", Dense(c, cfg.classes)),
                   ("softmax", Softmax())]
    names, specs = zip(*layers)
    return DarknetStack(specs, names, title="Darknet-53")


def check_yolo_input(title: str, in_shape: Sequence[Dim], strides=(NETWORK_STRIDE,)):
    """``(H, W, 3)`` with both sides divisible by every stride (concrete sides; a symbolic side
    is taken as valid: write it as ``32*t``), else a :class:`ShapeMismatchError` that says
    which multiples would do (:func:`symconv.algebra.nets.yolo_head.grid_sizes`)."""
    h, w, c = _hwc(title, in_shape)
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

    def conditions(self, in_shape: Sequence[Dim]) -> tuple:
        conds = []
        for shape in self.outputs(in_shape):
            conds += [c for c in shape.conditions if c not in conds]
        return tuple(conds)

    def table(self, in_shape: Sequence[Dim], *, batch: Dim = 1) -> StackTable:
        t = Graph.table(self, in_shape, batch=batch)
        extra = tuple(c for c in _side_conditions(in_shape) if c not in t.conditions)
        return StackTable(t.rows, t.input_shape, t.batch, extra + t.conditions)

    def example_input(self) -> tuple:
        return (416, 416, 3)


class _Parts:
    """Collects (name, spec, its input) and follows the shape."""

    def __init__(self):
        self.items: list[tuple[str, Layer, tuple]] = []

    def add(self, name: str, spec: Layer, x: tuple) -> tuple:
        self.items.append((name, spec, tuple(x)))
        return tuple(spec.output_shape(x))


@dataclass(frozen=True, slots=True)
class YoloV2Graph(_YoloGraph):
    r"""YOLOv2: Darknet-19 without its classifier, two $3\times3$ units of 1024; the 26x26x512
    map (``conv13``) through a $1\times1$ unit of 64 and ``Reorg(2)`` concatenated before them
    (reorg first, as ``route -1,-4``); a $3\times3$ unit of 1024; a $1\times1$ conv (bias,
    linear) to $A(5 + C)$: one output $n/32 \times n/32 \times A(5+C)$ for an $n \times n$
    input, $n$ a multiple of 32."""

    cfg: YoloV2Config = YoloV2Config()

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        check_yolo_input("YOLOv2", in_shape, (NETWORK_STRIDE,))
        cfg, p = self.cfg, _Parts()
        x = tuple(in_shape)
        skip = None
        for _, name, spec, xi, new in darknet19_stack(cfg.backbone(),
                                                      include_top=False)._walk(in_shape):
            p.items.append((name, spec, tuple(xi)))
            x = tuple(new)
            if name == DARKNET19_PASSTHROUGH:
                skip = x
        big, slope = _scaled(1024, cfg.width, 32), cfg.negative_slope
        x = p.add("conv19", DarknetConv(x[2], big, 3, negative_slope=slope), x)
        x = p.add("conv20", DarknetConv(big, big, 3, negative_slope=slope), x)
        y = p.add("passthrough", DarknetConv(skip[2], _scaled(64, cfg.width, 32), 1,
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

    def named_parts(self, in_shape: Sequence[Dim]) -> list[tuple[str, Layer, tuple]]:
        check_yolo_input("YOLOv3", in_shape, (NETWORK_STRIDE, 16, 8))
        cfg, p, taps = self.cfg, _Parts(), {}
        x = tuple(in_shape)
        for _, name, spec, xi, new in darknet53_stack(cfg.backbone(),
                                                      include_top=False)._walk(in_shape):
            p.items.append((name, spec, tuple(xi)))
            x = taps[name] = tuple(new)
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
