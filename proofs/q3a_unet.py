"""Q3 part (a): the U-Net of the paper — the 572x572 tile to a 388x388 map, checked against the
Flax model; what the skip connections do reported as a judgement.
"""

from __future__ import annotations

import sympy as sp
from flax import nnx

from symconv.algebra.nets.unet import UNetGraph as UNetSpec
from symconv.algebra.nets.unet import output_size
from symconv.checks import xla
from symconv.models.unet import UNet
from symconv.report.proof import Basis, Check, Claim, Derivation, Proof, Step


def build() -> Proof:
    spec = UNetSpec()
    model = xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0)))
    got = xla.output_shape(model, (1, 572, 572, 1), sympy=False)[1:]
    n = sp.Symbol("n", integer=True, positive=True)
    tile = Claim(
        id="q3a.tile", statement="The paper's tile: an unpadded U-Net of depth 4 maps a 572x572 "
        "input to a 388x388 segmentation map.", stated=(388, 388, 2),
        derived=tuple(spec.output_shape((572, 572, 1))),
        derivation=Derivation((Step("output side (SymPy)", "n'", output_size(n)),
                               Step("n = 572", "n'", output_size(572)),
                               Step("skip crops per side, top level first", "c",
                                    tuple(spec.crops(572))))),
        checks=(Check("model", "jax.eval_shape of the Flax U-Net", "1x572x572x1",
                      tuple(got) == tuple(spec.output_shape((572, 572, 1))), f"{got}"),
                Check("model", "parameters in nnx.state equal the algebra's",
                      "64-1024 channels, 2 classes", xla.param_count(model) == spec.param_count(),
                      f"{xla.param_count(model):,}")),
        note=f"{spec.param_count():,} parameters. Valid input sides are those for which every "
             "pooled map is even: 188, 204, 220, ... (every 16).", quote="TODO", correction="TODO")
    skips = Claim(
        id="q3a.skips", statement="Skip connections carry high-resolution encoder features to "
        "the decoder, recovering fine detail and helping gradients flow.", basis=Basis.JUDGEMENT,
        note="What a skip carries, in shapes, is in q3a.tile (the crops); the effect on "
             "accuracy is the paper's empirical claim.", quote="TODO")
    return Proof("Q3", "a", "The U-Net and its skip connections", (tile, skips))
