"""Built-in models by name: each pairs a Flax NNX network with its algebra, a ``Stack`` for a
chain of layers or a ``Graph`` (skips, branches, several outputs).

``MODELS[name].algebra((H, W))`` works with symbolic sizes; ``MODELS[name].build((H, W))`` needs
concrete ones (heads that flatten size their FC layer from the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flax import nnx

from symconv.algebra import Stack
from symconv.algebra.composite import Graph
from symconv.algebra.arith import Dim
from symconv.errors import SymconvError
from symconv.models.assignment import AssignmentCNN
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.models.mobilenet import MobileNetV1
from symconv.algebra.nets.mobilenet import MobileNetConfig, mobilenet_stack


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    description: str
    algebra: Callable[[tuple[Dim, Dim]], Stack | Graph]
    build: Callable[[tuple[int, int]], nnx.Module]
    default_hw: tuple[int, int]
    channels: int = 3


def _assignment(name: str, cfg: AssignmentConfig, text: str) -> ModelEntry:
    return ModelEntry(
        name, text,
        algebra=lambda hw: assignment_stack(cfg.at(*hw)),
        build=lambda hw: AssignmentCNN(cfg.at(*hw), rngs=nnx.Rngs(0)),
        default_hw=(128, 128))


def _mobilenet(name: str, alpha: float, text: str) -> ModelEntry:
    def check(hw):
        if hw[0] != hw[1]:
            raise SymconvError(f"{name}: this registry entry takes square inputs, got {hw}")
        return hw

    return ModelEntry(
        name, text,
        algebra=lambda hw: mobilenet_stack(MobileNetConfig(alpha=alpha)),
        build=lambda hw: MobileNetV1(MobileNetConfig(alpha=alpha, resolution=check(hw)[0]),
                                     rngs=nnx.Rngs(0)),
        default_hw=(224, 224))


def _densenet(name: str, cfg, text: str, hw=(224, 224)) -> ModelEntry:
    from symconv.models.densenet import DenseNet
    from symconv.algebra.nets.densenet import densenet_stack

    return ModelEntry(name, text, algebra=lambda hw: densenet_stack(cfg),
                      build=lambda hw: DenseNet(cfg, rngs=nnx.Rngs(0)), default_hw=hw)


def _resnet(name: str, cfg, text: str) -> ModelEntry:
    from symconv.models.resnet import ResNet
    from symconv.algebra.nets.resnet import resnet_stack

    return ModelEntry(name, text, algebra=lambda hw: resnet_stack(cfg),
                      build=lambda hw: ResNet(cfg, rngs=nnx.Rngs(0)), default_hw=(224, 224))


def _more() -> list[ModelEntry]:
    from symconv.algebra.nets.densenet import DenseNetConfig as D
    from symconv.algebra.nets.resnet import ResNetConfig as R

    return [
        _densenet("densenet121", D.densenet121(), "DenseNet-121 (k=32, BC), ImageNet"),
        _densenet("densenet169", D.densenet169(), "DenseNet-169 (k=32, BC), ImageNet"),
        _densenet("densenet201", D.densenet201(), "DenseNet-201 (k=32, BC), ImageNet"),
        _densenet("densenet264", D.densenet264(), "DenseNet-264 (k=32, BC), ImageNet"),
        _densenet("densenet_bc_100_12", D.bc_cifar(100, 12), "DenseNet-BC (L=100, k=12), CIFAR",
                  hw=(32, 32)),
        _resnet("resnet18", R.resnet18(), "ResNet-18 (He et al. 2016), ImageNet"),
        _resnet("resnet50", R.resnet50(), "ResNet-50 (He et al. 2016), ImageNet"),
    ]


def _unets() -> list[ModelEntry]:
    from symconv.algebra.nets.unet import UNetGraph as Spec
    from symconv.models.unet import UNet

    def entry(name, spec, text, hw):
        return ModelEntry(name, text, algebra=lambda hw: spec,
                          build=lambda hw: UNet(spec, rngs=nnx.Rngs(0)), default_hw=hw,
                          channels=spec.in_features)

    return [entry("unet", Spec(), "U-Net (Ronneberger et al. 2015, Fig. 1), unpadded", (572, 572)),
            entry("unet-padded", Spec(padded=True), "U-Net with 'SAME' convolutions",
                  (512, 512))]


def _yolos() -> list[ModelEntry]:
    from symconv.algebra.nets import darknet as D
    from symconv.algebra.nets import yolo as G
    from symconv.models import yolo as Y

    def v1(hw):
        side = D.YoloV1Config().side
        if tuple(hw) != (side, side):
            raise SymconvError(f"yolov1: its FC head takes exactly {side}x{side} inputs, got "
                               f"{hw[0]}x{hw[1]}")
        return Y.YoloV1(rngs=nnx.Rngs(0))

    def entry(name, text, algebra, model, hw):
        return ModelEntry(name, text, algebra=algebra, build=model, default_hw=hw)

    return [
        entry("yolov1", "YOLOv1 (Redmon et al. 2016, Fig. 3): 24 convs, FC 4096, 7x7x30 (VOC); "
              "448x448 only", lambda hw: D.yolov1_stack(), v1, (448, 448)),
        entry("darknet19", "Darknet-19 (YOLO9000, Table 6), ImageNet classifier",
              lambda hw: D.darknet19_stack(), lambda hw: Y.Darknet19(rngs=nnx.Rngs(0)),
              (224, 224)),
        entry("yolov2", "YOLOv2 (yolo-voc.cfg): Darknet-19 + passthrough, 5 anchors, 20 classes",
              lambda hw: G.yolov2_graph(), lambda hw: Y.YoloV2(rngs=nnx.Rngs(0)), (416, 416)),
        entry("darknet53", "Darknet-53 (YOLOv3, Table 1), ImageNet classifier",
              lambda hw: D.darknet53_stack(), lambda hw: Y.Darknet53(rngs=nnx.Rngs(0)),
              (256, 256)),
        entry("yolov3", "YOLOv3 (yolov3.cfg): Darknet-53, 3 scales x 3 anchors, 80 classes",
              lambda hw: G.yolov3_graph(), lambda hw: Y.YoloV3(rngs=nnx.Rngs(0)), (416, 416)),
    ]


MODELS: dict[str, ModelEntry] = {e.name: e for e in [
    _assignment("assignment", AssignmentConfig.standard(),
                "Q1(B): three 5x5/2 convs (64, 128, 256), flatten, FC(200), softmax"),
    _assignment("assignment-separable", AssignmentConfig.mobilenet_style(),
                "Q1(C): layers 2-3 depthwise separable, flatten head"),
    _assignment("assignment-gap", AssignmentConfig.standard(head="gap"),
                "Q1(D): global average pooling + FC(200) head"),
    _assignment("assignment-reduce", AssignmentConfig.standard(head="reduce"),
                "Q1(D): 1x1 conv to 32 channels, flatten, FC(200) head"),
    _mobilenet("mobilenet_v1", 1.0, "MobileNet v1 (Howard et al. 2017), alpha = 1.0"),
    _mobilenet("mobilenet_v1_0.5", 0.5, "MobileNet v1, width multiplier alpha = 0.5"),
    *_more(),
    *_unets(),
    *_yolos(),
]}


def get(name: str) -> ModelEntry:
    if name not in MODELS:
        raise SymconvError(f"unknown model {name!r}; built-in models: {', '.join(MODELS)}")
    return MODELS[name]
