"""Q2(d): a multi-modal DenseNet (image + text), its sizes in closed form, checked against Flax.

Run: python examples/multimodal.py   (draws the diagram to a PNG and prints its Mermaid text)
"""

import tempfile
from pathlib import Path

import sympy as sp
from flax import nnx

from symconv.algebra.nets.multimodal import MultiModalConfig
from symconv.checks import xla
from symconv.models.multimodal import MultiModalDenseNet
from symconv.report.render.diagram import diagram

cfg = MultiModalConfig(fusion="gated")  # DenseNet-BC (40, 12) image branch + 2-layer Transformer
spec = cfg.spec()                       # the algebra; inputs ((H, W, 3), (L,))
print("widths at the fusion:", spec.widths())
print("parameters per branch:", spec.branch_params())
model = xla.abstract(lambda: MultiModalDenseNet(cfg, rngs=nnx.Rngs(0)))  # nothing allocated
assert xla.param_count(model) == spec.param_count()
print(f"parameters: {spec.param_count():,} (algebra) = {xla.param_count(model):,} (nnx.state)")

B, L = sp.symbols("B L", integer=True, positive=True)
print("FLOPs on a 32x32 image and L tokens:", spec.batch_flops(((32, 32, 3), (L,)), B, "exact"))

d = diagram(spec, ((32, 32, 3), (L,)), title="gated fusion")
print(d.mermaid()[:300], "...")
with tempfile.TemporaryDirectory() as tmp:
    d.save(Path(tmp) / "multimodal.png")
