"""What the Q4 (YOLO v1-v3) proof modules share: the source's numbers, the typed values their
claims hold, NumPy re-implementations written here (cell layouts, sigmoid/softmax, IoU, greedy
NMS), the class-score experiment of parts (b) and (e), and the networks of parts (a) and (e).

Every number the source states is in a Claim's ``stated`` field only; the derived values come from
``symconv.algebra.nets.yolo_head`` and the registry's algebra, and the checks compare them with the
Flax models (``jax.eval_shape``, ``nnx.state`` of abstract models), ``symconv.detection`` and the
NumPy sides below. Nothing large is compiled or allocated: models are built with ``xla.abstract``.
A private module (leading ``_``): the runner never runs it as a proof.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, Dense
from symconv.algebra.composite import Graph
from symconv.algebra.darknet_layers import DarknetResidual
from symconv.algebra.nets.darknet import (
    YoloV1Config,
    YoloV2Config,
    darknet19_stack,
    darknet53_stack,
    yolov1_stack,
)
from symconv.algebra.nets.yolo import yolov2_graph
from symconv.algebra.nets.yolo_head import max_confident_classes
from symconv.checks import xla
from symconv.detection import decode_yolo
from symconv.models.registry import MODELS
from symconv.models.units import ResidualUnit
from symconv.models.yolo import YoloV1, YoloV2
from symconv.report.proof import Check, Labeled

C = 80  # classes, as in the question (COCO)
# The source's numbers (transcribed; never used as expectations).
STATED = {"v1_depth": 90, "v3_depth": 255, "v3_per_box": 85, "v3_scales": 3,
          "v3_anchors_per_cell": 3, "v1_boxes": 2, "v3_boxes": 3}

B_, C_, A_, n_ = sp.symbols("B C A n", integer=True, positive=True)
t_ = sp.Symbol("t", real=True)
THRESHOLD = 0.5  # a class counts as predicted when its probability exceeds it


def check(side: str, description: str, points: str, passed, detail: str = "") -> Check:
    """A Check whose ``passed`` is a Python bool (comparisons of NumPy scalars give NumPy's)."""
    return Check(side, description, points, bool(passed), detail)


class LabelMode(enum.Enum):
    """How many classes one box can carry: several at once, or exactly one."""

    MULTI = "multi-label"
    SINGLE = "single-label"

    @classmethod
    def of(cls, most_classes: int) -> LabelMode:
        """From the most classes that can exceed the threshold in one box."""
        return cls.MULTI if most_classes > 1 else cls.SINGLE

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Layers:
    """Layers with weights of a network: convolutions and fully connected layers."""

    conv: int
    fc: int = 0

    def __str__(self) -> str:
        return f"{self.conv} conv" + (f" + {self.fc} FC" if self.fc else "")


# --- independent NumPy / plain-Python sides ------------------------------------------------------

def v1_layout(b: int, c: int) -> list[str]:
    """YOLOv1's channels of one cell, named: B boxes of (x, y, w, h, confidence), then C class
    probabilities shared by the cell (Redmon et al. 2016, Sec. 2)."""
    return ([f"box{i}.{f}" for i in range(b) for f in ("x", "y", "w", "h", "conf")]
            + [f"P(class{j}|object)" for j in range(c)])


def v3_layout(a: int, c: int) -> list[str]:
    """YOLOv2/v3's channels of one cell, named: per anchor t_x, t_y, t_w, t_h, t_o, then C class
    scores (Darknet's order)."""
    return [f"anchor{i}.{f}" for i in range(a)
            for f in ("tx", "ty", "tw", "th", "obj", *(f"cls{j}" for j in range(c)))]


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def np_softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_iou(a, b) -> float:
    """IoU of two xyxy boxes, in float64."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def exact_iou(a, b) -> Fraction:
    """IoU of two integer xyxy boxes as an exact fraction."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return Fraction(inter, (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def np_nms(boxes, scores, tau: float, classes=None) -> list[int]:
    """Textbook greedy NMS: sort by score (ties to the lower index), keep the best remaining box,
    drop the rest that overlap it by IoU > tau (of its own class when ``classes`` is given)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if all(np_iou(boxes[i], boxes[j]) <= tau
               or (classes is not None and classes[i] != classes[j]) for j in kept):
            kept.append(i)
    return kept


def np_wh_iou(sizes, anchors):
    """IoU of (w, h) pairs aligned at a common centre: every size against every anchor."""
    s, a = np.asarray(sizes, np.float64)[:, None, :], np.asarray(anchors, np.float64)[None]
    inter = np.minimum(s[..., 0], a[..., 0]) * np.minimum(s[..., 1], a[..., 1])
    return inter / (s[..., 0] * s[..., 1] + a[..., 0] * a[..., 1] - inter)


# --- class scores: softmax against independent logistic classifiers (parts b and e) -----------

STATED_LABELS = Labeled.of(logistic=LabelMode.MULTI, softmax=LabelMode.SINGLE)


def class_logits() -> np.ndarray:
    """10,000 logit vectors (C = 80): random ones, N(0, 4^2) with seed 3, and four made up: all
    logits 1 (every class likely), two tied leaders, one leader, all -8 (no class at all)."""
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 4, (100, 100, C)).astype(np.float32)
    logits[0, 0] = 1.0
    logits[0, 1] = -20.0
    logits[0, 1, :2] = 20.0  # a tie: softmax gives exactly 1/2 to each, which is not > 1/2
    logits[0, 2] = -20.0
    logits[0, 2, 7] = 20.0
    logits[0, 3] = -8.0  # no class at all
    objectness = rng.normal(0, 3, (100, 100, 1)).astype(np.float32)
    return logits, objectness


def decode_both(logits: np.ndarray, objectness: np.ndarray) -> dict:
    """``decode_yolo`` of the heads (t = 0 boxes, one anchor), logistic and softmax classes."""
    heads = np.concatenate([np.zeros((*logits.shape[:2], 4), np.float32), objectness, logits], -1)
    one = np.ones((1, 2), np.float32)
    return {r: decode_yolo(jnp.asarray(heads[None]), one, num_classes=C, class_activation=r)
            for r in ("logistic", "softmax")}


def max_label_checks(logits: np.ndarray, batch: dict) -> tuple[Check, Check]:
    """Most classes above 1/2 in one box, decoded by symconv and by NumPy, against the bound."""
    counts = {r: int((np.asarray(d.class_probs) > THRESHOLD).sum(-1).max())
              for r, d in batch.items()}
    np_counts = {"logistic": int((np_sigmoid(logits) > THRESHOLD).sum(-1).max()),
                 "softmax": int((np_softmax(logits) > THRESHOLD).sum(-1).max())}
    bound = {r: max_confident_classes(C, r, THRESHOLD) for r in ("logistic", "softmax")}
    return (
        check("model", "most classes above 1/2 in one box, decode_yolo(class_activation="
              "'softmax' / 'logistic') on 10,000 logit vectors: random, and four made up (all "
              "ones, two tied leaders, one leader, all -8)", "C = 80, logits ~ N(0, 4^2), seed 3",
              counts == bound, f"softmax: {counts['softmax']}, logistic: {counts['logistic']}"),
        check("numpy", "same count with NumPy softmax / sigmoid in float64", "same logits",
              np_counts == counts, f"{np_counts}"))


# --- the networks (parts a and e) ---------------------------------------------------------------

class Net:
    """One network: its algebra (a Stack or Graph), its abstract Flax model (built with
    ``xla.abstract``, or a submodule of one), its input side."""

    def __init__(self, name: str, algebra, model, side: int, source: str, top=None):
        self.name, self.algebra, self.side, self.source = name, algebra, side, source
        self.model = model if isinstance(model, nnx.Module) else xla.abstract(model)
        self.in_shape = (side, side, 3)
        self.top = top  # the classifier version's algebra, for a backbone
        self._outputs = None

    def parts(self, algebra=None):
        """Every layer spec, composites opened (a Darknet unit, a residual block)."""
        algebra = algebra or self.algebra
        top = ([layer for _, layer, _ in algebra.named_parts(self.in_shape)]
               if isinstance(algebra, Graph) else list(algebra.layers))
        todo, out_ = top[::-1], []
        while todo:
            layer = todo.pop()
            out_.append(layer)
            if hasattr(layer, "stack") and not isinstance(layer, (Conv2D, Dense)):
                todo += list(layer.stack().layers)[::-1]
        return out_

    def algebra_layers(self, algebra=None) -> dict:
        parts = self.parts(algebra)
        return {"conv": sum(isinstance(x, Conv2D) for x in parts),
                "fc": sum(isinstance(x, Dense) for x in parts),
                "residual": sum(isinstance(x, DarknetResidual) for x in parts)}

    def model_layers(self) -> dict:
        """Counted on the Flax side: 4-D kernels (convolutions), 2-D kernels (dense layers) in
        ``nnx.state``, and ``ResidualUnit`` modules in the graph."""
        conv = fc = 0
        for path, leaf in jax.tree_util.tree_flatten_with_path(nnx.state(self.model,
                                                                         nnx.Param))[0]:
            names = [str(getattr(k, "key", getattr(k, "name", k))) for k in path]
            if "kernel" in names:
                conv += len(leaf.shape) == 4
                fc += len(leaf.shape) == 2
        res = sum(isinstance(m, ResidualUnit) for _, m in nnx.iter_graph(self.model))
        return {"conv": conv, "fc": fc, "residual": res}

    def outputs_algebra(self) -> tuple:
        if isinstance(self.algebra, Graph):
            return tuple(tuple(o) for o in self.algebra.outputs(self.in_shape))
        return (tuple(self.algebra.output_shape(self.in_shape)),)

    def outputs_model(self) -> tuple:
        """Per-example output shapes by ``jax.eval_shape`` (traced once, not compiled)."""
        if self._outputs is None:
            graphdef, state = nnx.split(self.model)
            y = jax.eval_shape(lambda st, x: nnx.merge(graphdef, st)(x), state,
                               jax.ShapeDtypeStruct((1, *self.in_shape), jnp.float32))
            self._outputs = tuple(tuple(a.shape[1:]) for a in (y if isinstance(y, tuple)
                                                               else (y,)))
        return self._outputs

    def flops(self) -> int:
        return int(self.algebra.batch_flops(self.in_shape, 1, "exact"))


NETWORKS = ("YOLOv1", "Darknet-19", "YOLOv2", "Darknet-53", "YOLOv3")


def networks(names=NETWORKS) -> dict[str, Net]:
    """The three detectors with C = 80 classes (COCO, as in the question) and their backbones.
    YOLOv3 is the registry's entry; the registry's YOLOv1 and YOLOv2 are the VOC versions
    (C = 20), so those two are built from their configs with C = 80 (YOLOv2 as yolov2.cfg).
    Darknet-19 and Darknet-53 are the backbones inside YOLOv2 and YOLOv3 (the classifiers
    without their top; the registry's ``darknet19``/``darknet53`` add it), which saves building
    two more models. Only the networks ``names`` needs are built."""
    need = set(names)
    need |= {"YOLOv2"} if "Darknet-19" in need else set()
    need |= {"YOLOv3"} if "Darknet-53" in need else set()
    v1, v2 = YoloV1Config(classes=C), YoloV2Config(classes=C)
    nets = {}
    if "YOLOv1" in need:
        nets["YOLOv1"] = Net("YOLOv1", yolov1_stack(v1), lambda: YoloV1(v1, rngs=nnx.Rngs(0)),
                             v1.side, "YoloV1Config(classes=80)")
    if "YOLOv2" in need:
        nets["YOLOv2"] = Net("YOLOv2", yolov2_graph(v2), lambda: YoloV2(v2, rngs=nnx.Rngs(0)),
                             416, "YoloV2Config(classes=80)")
    if "YOLOv3" in need:
        y3 = MODELS["yolov3"]
        nets["YOLOv3"] = Net("YOLOv3", y3.algebra((416, 416)), lambda: y3.build((416, 416)),
                             416, "registry yolov3")
    if "Darknet-19" in need:
        nets["Darknet-19"] = Net("Darknet-19", darknet19_stack(include_top=False),
                                 nets["YOLOv2"].model.backbone, 416, "YOLOv2's backbone",
                                 top=MODELS["darknet19"].algebra((224, 224)))
    if "Darknet-53" in need:
        nets["Darknet-53"] = Net("Darknet-53", darknet53_stack(include_top=False),
                                 nets["YOLOv3"].model.backbone, 416, "YOLOv3's backbone",
                                 top=MODELS["darknet53"].algebra((256, 256)))
    return {k: nets[k] for k in NETWORKS if k in names}
