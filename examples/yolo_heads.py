"""YOLOv3's three detection maps: the closed form, checked against the Flax model's eval_shape.

Run: python examples/yolo_heads.py
"""

import sympy as sp

from symconv.algebra.nets.yolo_head import anchor_depth, box_count, v1_depth
from symconv.checks import xla
from symconv.models.registry import MODELS

n = sp.Symbol("n", integer=True, positive=True)
print("YOLOv1 depth per cell (B=2, C=80):", v1_depth(2, 80))
print("YOLOv3 depth per cell (B=3, C=80):", anchor_depth(3, 80))
print("YOLOv3 boxes on an n x n image:", box_count(n), "=", box_count(416), "at n = 416")

entry = MODELS["yolov3"]
graph = entry.algebra((416, 416))
model = xla.abstract(lambda: entry.build((416, 416)))  # nnx.eval_shape: nothing allocated
want = [tuple(s) for s in graph.outputs((416, 416, 3))]
got = [s[1:] for s in xla.output_shapes(model, (1, 416, 416, 3))]
print("algebra:", want)
print("jax.eval_shape:", got)
assert got == want
assert sum(h * w * (c // (5 + 80)) for h, w, c in got) == box_count(416)  # 3 anchors a cell
print(f"parameters: {graph.param_count():,} (algebra) = {xla.param_count(model):,} (nnx.state)")
