"""Q3 part (a): U-Net's skip connections — what they join (the paper's tile, 572 x 572 to
388 x 388), the resolution they carry, the context and the localization an output pixel gets
(receptive fields through the bottleneck and through the top skip), the shortest path of the
gradient, and the symmetry of the two paths; checked against the Flax model (its traced
program, the support of its gradient) and the paper.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, ConvTranspose2D
from symconv.algebra.composite import Stack
from symconv.algebra.nets.unet import UNetGraph as UNetSpec
from symconv.algebra.nets.unet import output_size
from symconv.algebra.pooling import MaxPool2D
from symconv.checks import xla
from symconv.models.unet import UNet
from symconv.report.proof import (
    Basis,
    Check,
    Claim,
    Compared,
    Derivation,
    Labeled,
    Proof,
    Step,
)

from ._tracing import conv_path_lengths
from ._train_step import train_step_claim

TILE = 572  # the paper's input tile (Fig. 1)
SMALL = 220  # a valid side wider than the receptive field, for the gradient-support checks
WEIGHTED = (Conv2D, ConvTranspose2D)


def _skips_in_program(model, side: int) -> list[tuple[int, int, int]]:
    """For every concatenation in the traced Flax model: (side of the map that is cropped, side
    after the crop, side of the map that was up-convolved), deepest level first."""
    graphdef, state = nnx.split(model)
    jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s)(x))(
        state, jax.ShapeDtypeStruct((1, side, side, 1), jnp.float32))
    found, last = [], {}

    def walk(j):
        for e in j.eqns:
            name = e.primitive.name
            if name == "slice":
                last["crop"] = (e.invars[0].aval.shape[1], e.outvars[0].aval.shape[1])
            elif name == "conv_general_dilated" and tuple(e.params["lhs_dilation"]) != (1, 1):
                last["up"] = e.invars[0].aval.shape[1]
            elif name == "concatenate":
                found.append((*last["crop"], last["up"]))
            for p in e.params.values():
                inner = getattr(p, "jaxpr", None)
                if inner is not None:
                    walk(getattr(inner, "jaxpr", inner))

    walk(jaxpr.jaxpr)
    return found


def _path(depth: int, through_bottleneck: bool) -> Stack:
    """One input-to-output path of the U-Net (one channel: fields do not depend on widths)."""
    conv = Conv2D(1, 1, 3)
    if not through_bottleneck:
        return Stack((conv, conv, conv, conv, Conv2D(1, 1, 1)))
    layers = [conv, conv, MaxPool2D(2)] * depth + [conv, conv]
    layers += [ConvTranspose2D(1, 1, 2, strides=2), conv, conv] * depth + [Conv2D(1, 1, 1)]
    return Stack(tuple(layers))


def _dependence(layers, n: int) -> list[tuple[int, int]]:
    """Along one axis, in NumPy from each layer's definition: which input pixels every output
    reads, as (first, last). ``layers``: ("conv", k) unpadded, ("pool", 2), ("up", 2) (a 2 x 2
    up-convolution of stride 2: output o reads input o // 2), ("crop", c)."""
    reads = np.eye(n, dtype=bool)
    for kind, k in layers:
        m = reads.shape[0]
        if kind == "conv":
            step = np.array([[t <= i < t + k for i in range(m)] for t in range(m - k + 1)])
        elif kind == "pool":
            step = np.array([[i // k == t for i in range(m)] for t in range(m // k)])
        elif kind == "up":
            step = np.array([[o // k == i for i in range(m)] for o in range(k * m)])
        else:  # crop k from each side
            step = np.array([[i == t + k for i in range(m)] for t in range(m - 2 * k)])
        reads = (step.astype(np.int64) @ reads.astype(np.int64)) > 0
    cols = [np.flatnonzero(r) for r in reads]
    return [(int(c.min()), int(c.max())) for c in cols]


def _skip_claims(spec: UNetSpec, model) -> list[Claim]:
    parts = {name: x for name, _, x in spec.named_parts((TILE, TILE, 1))}
    depth = spec.depth
    skips = [parts[f"pool{level}"][0] for level in range(depth)]  # contracting path, top first
    crops = list(spec.crops(TILE))
    ups_in = [parts[f"up{i}"][0] for i in range(depth)][::-1]  # map up-convolved to meet level
    joined = [s - 2 * c for s, c in zip(skips, crops)]
    algebra = [(s, j, u) for s, j, u in zip(skips, joined, ups_in)][::-1]  # deepest first
    program = _skips_in_program(model, TILE)
    pairs = Labeled.of((f"level {lv + 1}", sp.Tuple(s, j)) for lv, (s, j) in
                       enumerate(zip(skips, joined)))
    links = len(program) == depth and program == algebra
    ratio = min(sp.Rational(j, u) for _, j, u in algebra)
    return [
        Claim(id="q3a.links", statement="Skip connections link the contracting path (encoder) "
              "to the expanding path (decoder).",
              quote="In the U-Net architecture, skip connections link the encoder (contracting "
                    "path) and decoder (expanding path) layers.",
              stated=True, derived=links, cite=("ronneberger2015", "Sec. 2"),
              reading="Read as: each skip joins a map of the contracting path to the expanding "
                      "path at the same level (the paper: 'a concatenation with the "
                      "correspondingly cropped feature map from the contracting path').",
              derivation=Derivation((
                  Step("contracting-path map, side before and after its centre crop, per level "
                       f"(input {TILE})", r"(s_l, s_l - 2 c_l)", pairs),
                  Step("crop per side, top level first", "c_l", sp.Tuple(*crops)))),
              checks=(Check("model", "concatenations in the traced Flax U-Net (jax.make_jaxpr): "
                            "each joins a centre crop of a contracting-path map with an "
                            "up-convolved map, at the algebra's sizes", f"1 x {TILE} x {TILE} x 1",
                            links, f"(cropped from, to, up-convolved from): {program}"),)),
        Claim(id="q3a.reason", statement="The skips preserve high-resolution features that the "
              "downsampling loses.",
              quote="The primary reason for these connections is to preserve high-resolution "
                    "spatial features that are lost during the downsampling process.",
              stated=Compared.HIGHER, derived=Compared.of(ratio, 1),
              cite=("ronneberger2015", "Sec. 1"),
              reading="Read as: a skip brings the decoder a map of higher resolution than the one "
                      "arriving from the level below, which went through one more 2 x 2 max "
                      "pooling (it keeps 1 value in 4). The paper: 'In order to localize, high "
                      "resolution features from the contracting path are combined with the "
                      "upsampled output.'",
              derivation=Derivation((
                  *(Step(f"level {depth - i}: skip side after the crop over the side of the "
                         "map from below", r"(s_l - 2c_l) / u_{l+1}",
                         sp.Mul(j, sp.Pow(u, -1, evaluate=False), evaluate=False))
                    for i, (_, j, u) in enumerate(algebra)),
                  Step("every level", r"\min_l (s_l - 2c_l) / u_{l+1}", ratio))),
              checks=(Check("model", "traced Flax U-Net: side of each concatenated skip against "
                            "the side of the map the up-convolution received",
                            f"1 x {TILE} x {TILE} x 1",
                            all(j == 2 * u for _, j, u in program), f"{program}"),),
              unit="side of the skip's map (against the map from the level below)"),
    ]


def _field_claims(spec: UNetSpec) -> list[Claim]:
    deep, top = _path(spec.depth, True), _path(spec.depth, False)
    f_deep = deep.fields((SMALL, SMALL, 1))[-1][1]
    f_top = top.fields((SMALL, SMALL, 1))[-1][1]
    units = 16  # one period of the four 2x up-convolutions
    crop = spec.crops(SMALL)[0]
    down = [("conv", 3), ("conv", 3), ("pool", 2)] * spec.depth + [("conv", 3), ("conv", 3)]
    deep_np = _dependence(down + [("up", 2), ("conv", 3), ("conv", 3)] * spec.depth,
                          SMALL)[:units]
    top_np = _dependence([("conv", 3), ("conv", 3), ("crop", crop), ("conv", 3), ("conv", 3)],
                         SMALL)[:units]
    want_deep = [f_deep.interval(u) for u in range(units)]
    want_top = [(crop + u, crop + u + f_top.size - 1) for u in range(units)]
    widths = sorted({hi - lo + 1 for lo, hi in deep_np})
    fewest, most = conv_path_lengths(xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0))),
                                      (1, TILE, TILE, 1))
    sizes = Labeled.of(context=f_deep.size, localization=f_top.size)
    parts = spec.named_parts((TILE, TILE, 1))
    weighted = [n for n, layer, _ in parts if isinstance(layer, WEIGHTED)]
    short = [n for n in weighted if n.startswith(("down0.", f"merge{spec.depth - 1}.", "head"))]
    both = deep_np == want_deep and top_np == want_top
    enc = [layer.out_features for n, layer, _ in parts
           if n.startswith("down") and n.endswith(".a") and n != f"down{spec.depth}.a"]
    dec = [layer.out_features for n, layer, _ in parts if n.startswith("merge")
           and n.endswith(".a")]
    merge = nnx.to_pure_dict(nnx.state(xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0))),
                                       nnx.Param))["merge"]
    kernels = [merge[i]["a"]["kernel"].shape[-1] for i in sorted(merge)]
    return [
        Claim(id="q3a.context", statement="The decoder gets fine detail from the skips, so an "
              "output keeps both context and precise localization.",
              quote="By transferring these fine-grained details to the decoder, the network "
                    "ensures that both contextual information and precise localization are "
                    "retained.",
              stated=True, derived=both, cite=("ronneberger2015", "Abstract"),
              reading="Read as: an output pixel sees a wide window of the input through the "
                      "bottleneck (context) and a narrow one, at its own place, through the top "
                      "skip (localization). The paper: 'a contracting path to capture context "
                      "and a symmetric expanding path that enables precise localization'.",
              derivation=Derivation((
                  Step("receptive field through the bottleneck (largest over the 16 phases of "
                       "the four 2x up-convolutions)", r"r_{deep}", f_deep.size),
                  Step("receptive field through the top skip: four 3 x 3 convolutions and the "
                       "1 x 1 head", r"r_{top}", f_top.size),
                  Step("both", "(r_{deep}, r_{top})", sizes))),
              checks=(Check("numpy", "input pixels each of the first 16 outputs reads through the "
                            "bottleneck, from each layer's definition (which inputs an output "
                            "reads, composed layer by layer), against the algebra's exact field",
                            f"input side {SMALL}", deep_np == want_deep,
                            f"widths {widths}; output 0 reads {deep_np[0]}"),
                      Check("numpy", "the same through the top skip: a 9-pixel window at the "
                            "output's own place behind the crop", f"input side {SMALL}",
                            top_np == want_top, f"output 0 reads {top_np[0]}, crop {crop}"))),
        Claim(id="q3a.gradient", statement="Skip connections give a shorter path for the "
              "gradient, helping deep networks train.",
              quote="Additionally, skip connections facilitate better gradient flow during "
                    "backpropagation, enabling effective training of deep networks.",
              stated=Compared.LOWER, derived=Compared.of(len(short), len(weighted)),
              reading="'Better gradient flow' read as: the gradient reaches the first layers "
                      "through fewer layers with weights. The paper does not discuss gradient "
                      "flow.",
              derivation=Derivation((
                  Step("layers with weights on the path through the bottleneck (all of them)",
                       "L_{deep}", len(weighted)),
                  Step("on the path through the top skip: two encoder convolutions, two decoder "
                       "convolutions, the 1 x 1 head", "L_{top}", len(short)))),
              checks=(Check("model", "fewest and most convolutions between input and output in "
                            "the traced Flax U-Net (data flow of jax.make_jaxpr)",
                            f"1 x {TILE} x {TILE} x 1",
                            (fewest, most) == (len(short), len(weighted)),
                            f"fewest {fewest}, most {most}"),),
              unit="layers with weights between the input and the output (shortest path "
                   "against the path through the bottleneck)"),
        Claim(id="q3a.symmetric", statement="The two paths are symmetric (a U shape) and the "
              "skips combine deep context with high-resolution detail.",
              quote="The symmetric U-shaped architecture created by these connections allows "
                    "the network to combine deep contextual features with high-resolution "
                    "information seamlessly",
              stated=True, derived=enc == dec[::-1] and both,
              cite=("ronneberger2015", "Sec. 1"),
              reading="Read as: the expanding path mirrors the contracting path level by level "
                      "(same widths), and an output combines both fields of q3a.context.",
              derivation=Derivation((
                  Step("widths of the contracting path, top level first", "w_{down}",
                       sp.Tuple(*enc)),
                  Step("widths of the expanding path, deepest level first", "w_{up}",
                       sp.Tuple(*dec)))),
              checks=(Check("model", "output widths of the first convolution of each decoder "
                            "level in the Flax U-Net's nnx.state", "64-1024 channels",
                            kernels == dec, f"{kernels}"),),
              note="The map sizes do not mirror (568 at the top of the contracting path, 392 at "
                   "the top of the expanding one: unpadded convolutions), and the paper "
                   "attributes the U shape to the many feature channels of the upsampling part "
                   "('As a consequence, the expansive path is more or less symmetric to the "
                   "contracting path, and yields a u-shaped architecture', Sec. 1), not to the "
                   "skip connections."),
    ]


def build() -> Proof:
    spec = UNetSpec()
    model = xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0)))
    got = xla.output_shape(model, (1, TILE, TILE, 1), sympy=False)[1:]
    n = sp.Symbol("n", integer=True, positive=True)
    tile = Claim(
        id="q3a.tile", statement="The paper's tile: an unpadded U-Net of depth 4 maps a 572x572 "
        "input to a 388x388 segmentation map.",
        derived=tuple(spec.output_shape((TILE, TILE, 1))), cite=("ronneberger2015", "Fig. 1"),
        derivation=Derivation((Step("output side (SymPy)", "n'", output_size(n)),
                               Step("n = 572", "n'", output_size(TILE)),
                               Step("skip crops per side, top level first", "c",
                                    tuple(spec.crops(TILE))))),
        checks=(Check("model", "jax.eval_shape of the Flax U-Net", "1x572x572x1",
                      tuple(got) == tuple(spec.output_shape((TILE, TILE, 1))), f"{got}"),
                Check("model", "parameters in nnx.state equal the algebra's",
                      "64-1024 channels, 2 classes", xla.param_count(model) == spec.param_count(),
                      f"{xla.param_count(model):,}")),
        note=f"{spec.param_count():,} parameters. Valid input sides are those for which every "
             "pooled map is even: 188, 204, 220, ... (every 16).")
    unsourced = [
        Claim(id="q3a.impact", statement="Skip connections have a significant impact on "
              "performance: they improve segmentation accuracy by recovering fine detail.",
              quote="The skip connections have a significant impact on U-Net's performance. They "
                    "improve segmentation accuracy by helping the network recover fine spatial "
                    "details",
              basis=Basis.UNSOURCED, cite=("ronneberger2015", "Sec. 4"),
              note="The paper compares U-Net with other methods (Sec. 4), never with a U-Net "
                   "without skip connections; the source names no study that does, and nothing "
                   "here trains one."),
        Claim(id="q3a.sharper", statement="The combination leads to sharper and more accurate "
              "segmentation results.",
              quote="leading to sharper and more accurate segmentation results.",
              basis=Basis.UNSOURCED,
              note="An empirical statement with no measurement behind it in the source or the "
                   "paper (no ablation of the skips); not checkable here."),
    ]
    context, gradient, symmetric = _field_claims(spec)
    claims = (tile, *_skip_claims(spec, model), context, unsourced[0], gradient, symmetric,
              unsourced[1], train_step_claim("q3a.train_step", "unet"))
    return Proof("Q3", "a", "The U-Net and its skip connections", claims)
