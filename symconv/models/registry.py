"""Built-in models by name: each pairs a Flax NNX network with its algebra, a ``Stack`` for a
chain of layers or a ``Graph`` (skips, branches, several outputs).

``MODELS[name].algebra((H, W))`` works with symbolic sizes; ``MODELS[name].build((H, W))`` needs
concrete ones (heads that flatten size their FC layer from the input).

Listing the entries (names, descriptions, default sizes) imports neither JAX, Flax nor SymPy:
each entry's ``algebra`` and ``build`` import their network when first called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symconv.errors import SymconvError

if TYPE_CHECKING:
    from flax import nnx

    from symconv.algebra import Stack
    from symconv.algebra.arith import Dim
    from symconv.algebra.composite import Graph


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    description: str
    algebra: Callable[[tuple[Dim, Dim]], Stack | Graph]
    build: Callable[[tuple[int, int]], nnx.Module]
    default_hw: tuple[int, int]
    channels: int = 3

    def is_classifier(self, hw: tuple[int, int]) -> bool:
        """A classifier's algebra is a ``Stack`` ending in softmax (its output: probabilities);
        its training step takes integer labels (softmax cross-entropy)."""
        from symconv.algebra import Softmax, Stack

        algebra = self.algebra(hw)
        return isinstance(algebra, Stack) and isinstance(algebra.layers[-1], Softmax)


def _rngs() -> Any:
    from flax import nnx

    return nnx.Rngs(0)


def _assignment(name: str, preset: str, text: str, **options: Any) -> ModelEntry:
    @functools.cache
    def config():
        from symconv.algebra.nets.assignment import AssignmentConfig

        return getattr(AssignmentConfig, preset)(**options)

    def algebra(hw):
        from symconv.algebra.nets.assignment import assignment_stack

        return assignment_stack(config().at(*hw))

    def build(hw):
        from symconv.models.assignment import AssignmentCNN

        return AssignmentCNN(config().at(*hw), rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build, default_hw=(128, 128))


def _mobilenet(name: str, alpha: float, text: str) -> ModelEntry:
    def algebra(hw):
        from symconv.algebra.nets.mobilenet import MobileNetConfig, mobilenet_stack

        return mobilenet_stack(MobileNetConfig(alpha=alpha))

    def build(hw):
        from symconv.algebra.nets.mobilenet import MobileNetConfig
        from symconv.models.mobilenet import MobileNetV1

        if hw[0] != hw[1]:
            raise SymconvError(f"{name}: this registry entry takes square inputs, got {hw}")
        return MobileNetV1(MobileNetConfig(alpha=alpha, resolution=hw[0]), rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build, default_hw=(224, 224))


def _densenet(name: str, preset: str, text: str, *args: int, hw=(224, 224)) -> ModelEntry:
    @functools.cache
    def config():
        from symconv.algebra.nets.densenet import DenseNetConfig

        return getattr(DenseNetConfig, preset)(*args)

    def algebra(hw):
        from symconv.algebra.nets.densenet import densenet_stack

        return densenet_stack(config())

    def build(hw):
        from symconv.models.densenet import DenseNet

        return DenseNet(config(), rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build, default_hw=hw)


def _resnet(name: str, preset: str, text: str) -> ModelEntry:
    @functools.cache
    def config():
        from symconv.algebra.nets.resnet import ResNetConfig

        return getattr(ResNetConfig, preset)()

    def algebra(hw):
        from symconv.algebra.nets.resnet import resnet_stack

        return resnet_stack(config())

    def build(hw):
        from symconv.models.resnet import ResNet

        return ResNet(config(), rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build, default_hw=(224, 224))


def _unet(name: str, text: str, hw: tuple[int, int], *, padded: bool) -> ModelEntry:
    @functools.cache
    def spec():
        from symconv.algebra.nets.unet import UNetGraph

        return UNetGraph(padded=padded)

    def build(hw):
        from symconv.models.unet import UNet

        return UNet(spec(), rngs=_rngs())

    # channels: UNetGraph's in_features (1, the paper's grey-scale tiles); a test checks it
    return ModelEntry(name, text, algebra=lambda hw: spec(), build=build, default_hw=hw,
                      channels=1)


def _espcn(name: str, text: str, upscale: int) -> ModelEntry:
    def algebra(hw):
        from symconv.algebra.nets.espcn import ESPCNConfig, espcn_stack

        return espcn_stack(ESPCNConfig(upscale=upscale))

    def build(hw):
        from symconv.models.layers import flax_layer

        return flax_layer(algebra(hw), rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build, default_hw=(170, 170),
                      channels=1)


def _yolo(name: str, text: str, graph: str, model: str, hw: tuple[int, int],
          build: Callable[[tuple[int, int]], nnx.Module] | None = None) -> ModelEntry:
    def algebra(hw):
        from symconv.algebra.nets import darknet, yolo

        return getattr(yolo if hasattr(yolo, graph) else darknet, graph)()

    def build_model(hw):
        from symconv.models import yolo

        return getattr(yolo, model)(rngs=_rngs())

    return ModelEntry(name, text, algebra=algebra, build=build or build_model, default_hw=hw)


def _yolov1(hw):
    from symconv.algebra.nets.darknet import YoloV1Config
    from symconv.models.yolo import YoloV1

    side = YoloV1Config().side
    if tuple(hw) != (side, side):
        raise SymconvError(f"yolov1: its FC head takes exactly {side}x{side} inputs, got "
                           f"{hw[0]}x{hw[1]}")
    return YoloV1(rngs=_rngs())


MODELS: dict[str, ModelEntry] = {e.name: e for e in [
    _assignment("assignment", "standard",
                "Q1(B): three 5x5/2 convs (64, 128, 256), flatten, FC(200), softmax"),
    _assignment("assignment-separable", "mobilenet_style",
                "Q1(C): layers 2-3 depthwise separable, flatten head"),
    _assignment("assignment-gap", "standard",
                "Q1(D): global average pooling + FC(200) head", head="gap"),
    _assignment("assignment-reduce", "standard",
                "Q1(D): 1x1 conv to 32 channels, flatten, FC(200) head", head="reduce"),
    _mobilenet("mobilenet_v1", 1.0, "MobileNet v1 (Howard et al. 2017), alpha = 1.0"),
    _mobilenet("mobilenet_v1_0.5", 0.5, "MobileNet v1, width multiplier alpha = 0.5"),
    _densenet("densenet121", "densenet121", "DenseNet-121 (k=32, BC), ImageNet"),
    _densenet("densenet169", "densenet169", "DenseNet-169 (k=32, BC), ImageNet"),
    _densenet("densenet201", "densenet201", "DenseNet-201 (k=32, BC), ImageNet"),
    _densenet("densenet264", "densenet264", "DenseNet-264 (k=32, BC), ImageNet"),
    _densenet("densenet_bc_100_12", "bc_cifar", "DenseNet-BC (L=100, k=12), CIFAR", 100, 12,
              hw=(32, 32)),
    _resnet("resnet18", "resnet18", "ResNet-18 (He et al. 2016), ImageNet"),
    _resnet("resnet50", "resnet50", "ResNet-50 (He et al. 2016), ImageNet"),
    _unet("unet", "U-Net (Ronneberger et al. 2015, Fig. 1), unpadded", (572, 572), padded=False),
    _unet("unet-padded", "U-Net with 'SAME' convolutions", (512, 512), padded=True),
    _espcn("espcn", "ESPCN (Shi et al. 2016): 3 convs, pixel shuffle x3, super-resolution", 3),
    _yolo("yolov1", "YOLOv1 (Redmon et al. 2016, Fig. 3): 24 convs, FC 4096, 7x7x30 (VOC); "
          "448x448 only", "yolov1_stack", "YoloV1", (448, 448), build=_yolov1),
    _yolo("darknet19", "Darknet-19 (YOLO9000, Table 6), ImageNet classifier",
          "darknet19_stack", "Darknet19", (224, 224)),
    _yolo("yolov2", "YOLOv2 (yolo-voc.cfg): Darknet-19 + passthrough, 5 anchors, 20 classes",
          "yolov2_graph", "YoloV2", (416, 416)),
    _yolo("darknet53", "Darknet-53 (YOLOv3, Table 1), ImageNet classifier",
          "darknet53_stack", "Darknet53", (256, 256)),
    _yolo("yolov3", "YOLOv3 (yolov3.cfg): Darknet-53, 3 scales x 3 anchors, 80 classes",
          "yolov3_graph", "YoloV3", (416, 416)),
]}


def get(name: str) -> ModelEntry:
    if name not in MODELS:
        raise SymconvError(f"unknown model {name!r}; built-in models: {', '.join(MODELS)}")
    return MODELS[name]


def listing() -> str:
    """One line per built-in model: its name, padded, and its description."""
    width = max(len(n) for n in MODELS)
    return "\n".join(f"{name:<{width}}  {entry.description}" for name, entry in MODELS.items())
