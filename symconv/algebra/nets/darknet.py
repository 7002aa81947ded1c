r"""Darknet classifiers and YOLOv1 (Redmon et al. 2016; Redmon & Farhadi 2017, 2018) in closed
form: the papers' architecture tables, the configs, and the chains built from them.

Configs: :class:`YoloV1Config`, :class:`Darknet19Config`, :class:`YoloV2Config`,
:class:`Darknet53Config`, :class:`YoloV3Config`. Networks: :func:`yolov1_stack`,
:func:`darknet19_stack`, :func:`darknet53_stack`; :class:`DarknetStack` (a ``Stack`` with a fixed
input size). Tables: ``YOLOV1_LAYERS``, ``DARKNET19_LAYERS``, ``DARKNET53_STAGES``,
``YOLOV3_HEAD``, ``DARKNET19_PASSTHROUGH``, ``DARKNET53_TAPS``; ``NETWORK_STRIDE`` (32),
``YOLOV1_STRIDE`` (64). The YOLOv2/v3 graphs are in :mod:`symconv.algebra.nets.yolo`, the
layers in :mod:`symconv.algebra.darknet_layers`.

A Darknet unit is convolution (no bias) + batch norm + leaky ReLU (slope 0.1), padding
$\lfloor K/2 \rfloor$ on every side (Darknet's ``pad=1``). Darknet's $2\times2$/2 max pooling
pads one row and column at the high end, so it gives $\lceil n/2 \rceil$ (= $n/2$ for even $n$).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from symconv.algebra.arith import Dim, is_concrete
from symconv.algebra.composite import Stack
from symconv.algebra.conv import check_bool
from symconv.algebra.darknet_layers import (
    DarknetConv,
    DarknetResidual,
    Dropout,
    LeakyReLU,
    Reshape,
    check_int,
    check_real,
)
from symconv.algebra.dense import Dense, Flatten
from symconv.algebra.elementwise import Softmax
from symconv.algebra.nets.yolo_head import anchor_depth, v1_depth, v1_output
from symconv.algebra.pooling import GlobalAvgPool2D, MaxPool2D
from symconv.errors import ShapeMismatchError

NETWORK_STRIDE = 32  #: YOLOv2/v3 and the Darknet classifiers halve the input five times
YOLOV1_STRIDE = 64  #: YOLOv1: a 7x7/2 conv, four 2x2/2 pools and a 3x3/2 conv


# --- a stack with a fixed input ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DarknetStack(Stack):
    """A :class:`Stack` that, with ``fixed_input=(H, W)``, rejects every other input size (a
    flatten + FC head)."""

    fixed_input: tuple = ()
    title: str = "network"

    def check_input(self, in_shape: Sequence[Dim]) -> None:
        if self.fixed_input:
            _check_fixed(self.title, tuple(in_shape)[:2], self.fixed_input)


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


def scaled(f: int, width: int, base: int) -> int:
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
        f = scaled(f, width, base)
        layers.append((f"conv{n_conv}", DarknetConv(c, f, k, s, batch_norm=batch_norm,
                                                     negative_slope=slope)))
        c = f
    return layers, c


# --- configs ------------------------------------------------------------------------------


def _check_common(cfg, name: str) -> None:
    check_int(cfg.width, f"{name}: width")
    check_real(cfg.negative_slope, f"{name}: negative_slope", 0.0, 1.0)


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
            check_int(getattr(self, name), f"YoloV1Config: {name}")
        _check_common(self, "YoloV1Config")
        check_bool(self.batch_norm, "YoloV1Config: batch_norm")
        check_real(self.dropout, "YoloV1Config: dropout", 0.0, 1.0)

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
        check_int(self.classes, "Darknet19Config: classes")
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
        check_int(self.anchors, "YoloV2Config: anchors")
        check_int(self.classes, "YoloV2Config: classes")
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
        check_int(self.classes, "Darknet53Config: classes")
        _check_common(self, "Darknet53Config")

    def stages(self) -> tuple[tuple[int, int], ...]:
        return tuple((scaled(f, self.width, 32), n) for f, n in DARKNET53_STAGES)


@dataclass(frozen=True, slots=True)
class YoloV3Config:
    """YOLOv3 (``yolov3.cfg``): three scales (strides 32, 16, 8), ``anchors`` per cell (3),
    COCO's 80 classes by default."""

    anchors: int = 3
    classes: int = 80
    width: int = 32
    negative_slope: float = 0.1

    def __post_init__(self) -> None:
        check_int(self.anchors, "YoloV3Config: anchors")
        check_int(self.classes, "YoloV3Config: classes")
        _check_common(self, "YoloV3Config")

    @property
    def depth(self) -> Dim:
        return anchor_depth(self.anchors, self.classes)

    def backbone(self) -> Darknet53Config:
        return Darknet53Config(width=self.width, negative_slope=self.negative_slope)

    def heads(self) -> tuple[int, ...]:
        return tuple(scaled(f, self.width, 32) for f in YOLOV3_HEAD)


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
    slope, c = cfg.negative_slope, scaled(32, cfg.width, 32)
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
