"""Built-in models by name: each pairs a Flax NNX network with its algebra ``Stack``.

``MODELS[name].stack((H, W))`` works with symbolic sizes; ``MODELS[name].build((H, W))`` needs
concrete ones (heads that flatten size their FC layer from the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flax import nnx

from symconv.algebra import Stack
from symconv.algebra._arith import Dim
from symconv.errors import SymconvError
from symconv.models.assignment import AssignmentCNN, AssignmentConfig, assignment_stack
from symconv.models.mobilenet import MobileNetConfig, MobileNetV1, mobilenet_stack


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    description: str
    stack: Callable[[tuple[Dim, Dim]], Stack]
    build: Callable[[tuple[int, int]], nnx.Module]
    default_hw: tuple[int, int]
    channels: int = 3


def _assignment(name: str, cfg: AssignmentConfig, text: str) -> ModelEntry:
    return ModelEntry(
        name, text,
        stack=lambda hw: assignment_stack(cfg.at(*hw)),
        build=lambda hw: AssignmentCNN(cfg.at(*hw), rngs=nnx.Rngs(0)),
        default_hw=(128, 128))


def _mobilenet(name: str, alpha: float, text: str) -> ModelEntry:
    def check(hw):
        if hw[0] != hw[1]:
            raise SymconvError(f"{name}: this registry entry takes square inputs, got {hw}")
        return hw

    return ModelEntry(
        name, text,
        stack=lambda hw: mobilenet_stack(MobileNetConfig(alpha=alpha)),
        build=lambda hw: MobileNetV1(MobileNetConfig(alpha=alpha, resolution=check(hw)[0]),
                                     rngs=nnx.Rngs(0)),
        default_hw=(224, 224))


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
]}


def get(name: str) -> ModelEntry:
    if name not in MODELS:
        raise SymconvError(f"unknown model {name!r}; built-in models: {', '.join(MODELS)}")
    return MODELS[name]
