"""YOLOv1, Darknet-19, YOLOv2, Darknet-53 and YOLOv3 in Flax NNX (NHWC activations, HWIO
kernels). The layers and their hyper-parameters are the specs of
:mod:`symconv.algebra.nets.darknet` (one architecture table, the papers'); the wiring (passthrough,
upsampling, concatenation order, outputs) is written here, as in Darknet's cfg files.

Public names: the networks :class:`YoloV1` (``(B, S, S, 5B + C)``), :class:`Darknet19` and
:class:`Darknet53` (class probabilities), :class:`Darknet53Backbone` (the stride 8, 16, 32
maps), :class:`YoloV2` (``(B, n/32, n/32, A(5 + C))``), :class:`YoloV3` (a tuple of the three
maps, coarsest first) and :class:`StackNet` (a chain of specs through
:func:`symconv.models.layers.flax_layer`). The configs are in
:mod:`symconv.algebra.nets.darknet`, the units in :mod:`symconv.models.units`.

Every model takes ``train=False`` (batch norm on running statistics, dropout off) and
switches with ``model.train()`` / ``model.eval()``.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from symconv.algebra.layer import Layer
from symconv.algebra.nets.darknet import (
    DARKNET19_PASSTHROUGH,
    DARKNET53_TAPS,
    NETWORK_STRIDE,
    Darknet19Config,
    Darknet53Config,
    DarknetStack,
    YoloV1Config,
    YoloV2Config,
    YoloV3Config,
    darknet19_stack,
    darknet53_stack,
    yolov1_stack,
)
from symconv.algebra.nets.yolo import YoloV2Graph, YoloV3Graph, check_yolo_input
from symconv.errors import ShapeMismatchError
from symconv.models.layers import flax_layer
from symconv.models.units import reorg, upsample

__all__ = [
    "Darknet19",
    "Darknet53",
    "Darknet53Backbone",
    "StackNet",
    "YoloV1",
    "YoloV2",
    "YoloV3",
]


class StackNet(nnx.Module):
    """A :class:`~symconv.algebra.nets.darknet.DarknetStack` as a network: its layers in order;
    ``features(x, taps)`` also returns the outputs of the layers named in ``taps``."""

    def __init__(self, stack: DarknetStack, *, train: bool = False, rngs: nnx.Rngs):
        self.names = tuple(stack.names)
        self.layers = nnx.List([flax_layer(s, train=train, rngs=rngs) for s in stack.layers])

    def features(self, x, taps=()):
        found = {}
        for name, layer in zip(self.names, self.layers):
            x = layer(x)
            if name in taps:
                found[name] = x
        return x, found

    def __call__(self, x):
        return self.features(x)[0]


def _check(title: str, x, strides) -> None:
    """Reject a concrete input size the network cannot take (symbolic sizes pass)."""
    if x.ndim != 4:
        raise ShapeMismatchError(f"{title}: input of shape {x.shape} must be NHWC (4 axes)")
    dims = tuple(x.shape[1:])
    if all(isinstance(d, int) for d in dims):
        check_yolo_input(title, dims, strides)


class YoloV1(StackNet):
    """YOLOv1 (Redmon et al. 2016, Fig. 3) on ``64 S x 64 S`` images: ``(B, S, S, 5B + C)``."""

    def __init__(self, cfg: YoloV1Config = YoloV1Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        super().__init__(yolov1_stack(cfg), train=train, rngs=rngs)
        self.cfg = cfg

    def __call__(self, x):
        side = self.cfg.side
        if x.ndim != 4 or tuple(x.shape[1:3]) != (side, side):
            raise ShapeMismatchError(
                f"YOLOv1: input of shape {tuple(x.shape)}, but its fully connected head is "
                f"sized for exactly (B, {side}, {side}, 3); resize the image, or choose the "
                f"grid S with 64*S = your size")
        return super().__call__(x)


class Darknet19(StackNet):
    """Darknet-19 classifier (YOLO9000, Table 6): class probabilities."""

    def __init__(self, cfg: Darknet19Config = Darknet19Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        super().__init__(darknet19_stack(cfg), train=train, rngs=rngs)
        self.cfg = cfg


class Darknet53(StackNet):
    """Darknet-53 classifier (YOLOv3, Table 1): class probabilities."""

    def __init__(self, cfg: Darknet53Config = Darknet53Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        super().__init__(darknet53_stack(cfg), train=train, rngs=rngs)
        self.cfg = cfg


class Darknet53Backbone(StackNet):
    """Darknet-53 without its classifier: the maps at strides 8, 16 and 32 (finest first)."""

    def __init__(self, cfg: Darknet53Config = Darknet53Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        super().__init__(darknet53_stack(cfg, include_top=False), train=train, rngs=rngs)
        self.cfg = cfg

    def __call__(self, x):
        _, found = self.features(x, DARKNET53_TAPS)
        return tuple(found[name] for name in DARKNET53_TAPS)


def _parts(graph) -> dict[str, Layer]:
    return {name: spec for name, spec, _ in graph.named_parts(graph.example_input())}


class YoloV2(nnx.Module):
    """YOLOv2 (YOLO9000, ``yolo-voc.cfg``): ``(B, n/32, n/32, A(5 + C))`` for ``n x n``
    inputs, ``n`` a multiple of 32."""

    def __init__(self, cfg: YoloV2Config = YoloV2Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        self.cfg = cfg
        parts = _parts(YoloV2Graph(cfg))
        unit = lambda name: flax_layer(parts[name], train=train, rngs=rngs)  # noqa: E731
        self.backbone = StackNet(darknet19_stack(cfg.backbone(), include_top=False),
                                 train=train, rngs=rngs)
        self.conv19, self.conv20 = unit("conv19"), unit("conv20")
        self.passthrough = unit("passthrough")
        self.conv21, self.detection = unit("conv21"), unit("detection")

    def __call__(self, x):
        _check("YOLOv2", x, (NETWORK_STRIDE,))
        x, found = self.backbone.features(x, (DARKNET19_PASSTHROUGH,))
        x = self.conv20(self.conv19(x))
        skip = reorg(self.passthrough(found[DARKNET19_PASSTHROUGH]), 2)
        return self.detection(self.conv21(jnp.concatenate([skip, x], axis=-1)))


class _V3Head(nnx.Module):
    def __init__(self, parts: dict, k: int, last: bool, train: bool, rngs: nnx.Rngs):
        unit = lambda name: flax_layer(parts[f"head{k}.{name}"], train=train,  # noqa: E731
                                        rngs=rngs)
        self.convs = nnx.List([unit(f"conv{j}") for j in range(1, 6)])
        self.conv6, self.detection = unit("conv6"), unit("detection")
        self.route = None if last else unit("route")

    def __call__(self, x):
        for conv in self.convs:
            x = conv(x)
        return x, self.detection(self.conv6(x))


class YoloV3(nnx.Module):
    """YOLOv3 (``yolov3.cfg``): a tuple of three ``(B, n/s, n/s, A(5 + C))`` maps for
    ``s = 32, 16, 8`` (13, 26, 52 at 416), ``n`` a multiple of 32."""

    def __init__(self, cfg: YoloV3Config = YoloV3Config(), *, train: bool = False,
                 rngs: nnx.Rngs):
        self.cfg = cfg
        parts = _parts(YoloV3Graph(cfg))
        self.backbone = Darknet53Backbone(cfg.backbone(), train=train, rngs=rngs)
        n = len(cfg.heads())
        self.heads = nnx.List([_V3Head(parts, k, k == n, train, rngs) for k in range(1, n + 1)])

    def __call__(self, x):
        _check("YOLOv3", x, (NETWORK_STRIDE, 16, 8))
        c3, c4, c5 = self.backbone(x)
        skips, x, outputs = (c4, c3), c5, []
        for k, head in enumerate(self.heads):
            x, detection = head(x)
            outputs.append(detection)
            if head.route is not None:
                x = jnp.concatenate([upsample(head.route(x), 2), skips[k]], axis=-1)
        return tuple(outputs)
