"""Q2 part (d): a multi-modal (image and text) DenseNet — built (symconv.models.multimodal),
its widths, parameters per branch and FLOPs checked against Flax NNX and XLA, concatenation
fusion checked value for value, and the design statements reported as judgements.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from flax import nnx

from symconv.checks import xla
from symconv.report.proof import Basis, Check, Claim, Derivation, Figure, Proof, Step


def _part_d() -> tuple[list[Claim], Figure]:
    """Q2(d): the multi-modal DenseNet, built (symconv.models.multimodal) and measured."""
    import jax
    import jax.numpy as jnp

    from symconv.algebra.nets.multimodal import MultiModalConfig
    from symconv.models.multimodal import MultiModalDenseNet, masked_mean
    from symconv.report.render.diagram import diagram

    d_img, d_txt, L = sp.symbols(r"d_{img} d_{txt} L", integer=True, positive=True)
    cfg = {f: MultiModalConfig.densenet121(fusion=f) for f in ("concat", "gated")}
    spec = {f: c.spec() for f, c in cfg.items()}
    model = {f: xla.abstract(lambda c=c: MultiModalDenseNet(c, rngs=nnx.Rngs(0)))
             for f, c in cfg.items()}
    c = cfg["concat"]
    widths = spec["concat"].widths()
    graphdef, state = nnx.split(model["concat"])
    image = jax.ShapeDtypeStruct((1, 224, 224, 3), jnp.float32)
    tokens = jax.ShapeDtypeStruct((1, c.max_len), jnp.int32)
    got_img = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).image(x), state, image).shape
    got_fused = jax.eval_shape(lambda s, x, t: nnx.merge(graphdef, s).fused(x, t), state, image,
                               tokens).shape
    setting = (f"DenseNet-121 image branch; text: vocabulary {c.vocab_size:,}, up to "
               f"{c.max_len} tokens, d_model = {c.d_model}, {c.heads} heads, {c.layers} "
               f"pre-LN layers, d_ff = {c.d_ff}; {c.classes} classes")
    chans = c.image.channels()
    claims = [Claim(
        id="q2d.image_width", statement="The image branch is DenseNet without its classifier: "
        "the fusion receives the globally average-pooled maps of the last dense block.",
        derived=widths["image"],
        derivation=Derivation((Step("maps after the last dense block", "c_4", chans[-1]),
                               Step("global average pooling", r"d_{img}", widths["image"]))),
        checks=(Check("model", "jax.eval_shape of the Flax image branch (DenseNet-121 features)",
               "1x224x224x3", tuple(got_img) == (1, widths["image"]), f"{tuple(got_img)}"),),
        note=setting)]

    # concatenation keeps both feature vectors: shapes, and values on a small random model
    small = MultiModalConfig(image={"growth_rate": 4, "block_config": (1, 1),
                                    "num_init_features": 8}, vocab_size=20, max_len=6,
                             d_model=8, heads=2, layers=1, d_ff=8, classes=3)
    s_graph, s_state = nnx.split(xla.abstract(lambda: MultiModalDenseNet(small,
                                                                         rngs=nnx.Rngs(0))))
    rng = np.random.default_rng(0)
    s_state = jax.tree.map(lambda a: jnp.asarray(rng.uniform(0.5, 1.0, a.shape), a.dtype),
                           s_state)

    def pieces(st, x, t):
        m = nnx.merge(s_graph, st)
        mask = t != small.pad_id
        return m.fused(x, t), m.image(x), masked_mean(m.text(t, mask), mask)

    x = jnp.asarray(rng.normal(size=(2, 16, 16, 3)), jnp.float32)
    t = jnp.asarray([[3, 7, 1, 0, 0, 0], [5, 2, 9, 4, 8, 1]], jnp.int32)
    fused, x_img, x_txt = (np.asarray(a) for a in jax.jit(pieces)(s_state, x, t))
    kept = np.array_equal(fused, np.concatenate([x_img, x_txt], axis=-1))
    claims.append(Claim(
        id="q2d.concat_fusion", statement="Concatenation fusion preserves both modalities' "
        "features: the fused vector is [x_img; x_txt], of width d_img + d_txt.",
        derived=widths["fused"],
        derivation=Derivation((Step("concatenation", r"d_z", d_img + d_txt),
                               Step("DenseNet-121 and the text encoder", r"d_z",
                                    widths["image"] + widths["text"]))),
        checks=(Check("model", "jax.eval_shape of the Flax model's fused features",
               "1x224x224x3 and 128 tokens", tuple(got_fused) == (1, widths["fused"]),
               f"{tuple(got_fused)}"),
         Check("numpy", "fused vector equals the image features followed by the pooled text "
               "features, element for element (small random model, run)",
               "2 images 16x16, 2 texts", kept)),
        note="Nothing is mixed or lost at the fusion: the classifier sees every feature of "
             "both branches. The gated variant (q2d.params.gated) mixes them instead."))

    for fusion in ("concat", "gated"):
        per, m = spec[fusion].branch_params(), model[fusion]
        parts = {"image": m.image, "text": m.text, "classifier": m.classifier}
        if fusion == "gated":
            parts["fusion"] = [m.gate, m.proj_image, m.proj_text]
        got = {k: sum(xla.param_count(v) for v in (vs if isinstance(vs, list) else [vs]))
               for k, vs in parts.items()}
        total = spec[fusion].param_count()
        steps = [Step(f"{k} branch" if k in ("image", "text") else k, f"P_{{{k}}}", per[k])
                 for k in ("image", "text", "fusion", "classifier")]
        claims.append(Claim(
            id=f"q2d.params.{fusion}",
            statement=f"Parameters of the multi-modal DenseNet-121 with {fusion} fusion, per "
            "branch.", derived=total,
            derivation=Derivation((*tuple(steps), Step("total", "P", total))),
            checks=(Check("model", "nnx.state of the Flax model and of each branch (abstract)",
                   setting, xla.param_count(m) == total and all(
                       got[k] == per[k] for k in got),
                   f"model: {xla.param_count(m):,}; "
                   + ", ".join(f"{k} {v:,}" for k, v in got.items())),),
            unit="params",
            note="Gated fusion: g = sigmoid(W[x_img; x_txt] + b), z = g * P_img x_img + "
                 "(1 - g) * P_txt x_txt, of width d_model." if fusion == "gated" else
                 "Concatenation adds no parameters; the classifier grows with d_img + d_txt."))

    x_in = ((224, 224, 3), (c.max_len,))
    flops = spec["concat"].batch_flops(x_in, 1, "exact")
    trans = spec["concat"].transcendentals(x_in, 1)
    by_group: dict[str, int] = {}
    for name, layer, xx in spec["concat"].named_parts(x_in):
        group = name.split(".")[0]
        by_group[group] = by_group.get(group, 0) + layer.batch_flops(xx, 1, "exact")

    def lowered():
        f = jax.jit(lambda s, a, b: nnx.merge(graphdef, s)(a, b))
        low = f.lower(jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state),
                      image, tokens)
        cost = low.cost_analysis()
        return ({k: int(cost.get(k, 0)) for k in ("flops", "transcendentals")},
                sum(1 for line in low.as_text().splitlines() if " = " in line))

    cost, ops = lowered()
    claims.append(Claim(
        id="q2d.flops", statement="FLOPs of the multi-modal DenseNet-121 (concatenation) on a "
        "224x224 image and 128 tokens, as XLA counts them; the text branch's share.",
        derived=flops, derivation=Derivation((Step("image branch", r"F_{img}", by_group["image"]),
                           Step("text encoder", r"F_{txt}", by_group["text"]),
                           Step("fusion, classifier, softmax", r"F_{head}",
                                flops - by_group["image"] - by_group["text"]),
                           Step("total", "F", flops),
                           Step("text share", r"F_{txt} / F",
                                sp.Rational(by_group["text"], flops).evalf(3)))),
        checks=(Check("xla", "lowered-HLO cost analysis of the Flax model: FLOPs (float32 sums) "
               "and transcendentals (exact)", "1x224x224x3 and 1x128 tokens",
               xla.flops_agree(flops, cost["flops"], ops) and cost["transcendentals"] == trans,
               f"XLA: {cost['flops']:,} FLOPs (tolerance {xla.flops_tolerance(flops, ops):,}), "
               f"{cost['transcendentals']:,} transcendentals (algebra {trans:,})"),),
        unit="FLOPs"))

    claims += [
        Claim(id="q2d.image_branch", statement="DenseNet processes the image, its dense "
              "connections promoting feature reuse and effective gradient flow.",
                  basis=Basis.JUDGEMENT,
              note="Design rationale; feature reuse and gradient flow are measured in "
                   "q2b.feature_reuse and q2b.gradient_flow.", quote="TODO"),
        Claim(id="q2d.text_encoder", statement="A separate encoder such as a Transformer or an "
              "LSTM captures the sequential and contextual relationships between words.",
              basis=Basis.JUDGEMENT,
              note="Built here as a pre-LN Transformer encoder with learned positions and "
                   "padding masks; whether it captures context better than an LSTM is an "
                   "empirical question not tested here.", quote="TODO"),
        Claim(id="q2d.fusion", statement="Concatenating the two feature vectors and classifying "
              "with a fully connected layer is a suitable fusion.", basis=Basis.JUDGEMENT,
              note="A design choice. Gated fusion (q2d.params.gated) and cross-attention "
                   "(image query over the tokens) are built and costed by symconv as "
                   "alternatives; which works better depends on the data.", quote="TODO"),
    ]
    fig = Figure("q2d_multimodal", "The multi-modal DenseNet (concatenation fusion) drawn from "
                 "its algebra: one box per part with its output shape (batch excluded; L "
                 "tokens) and parameters; dashed: the padding mask.",
                 lambda: diagram(spec["concat"], ((224, 224, 3), (L,)),
                                 title="Multi-modal DenseNet-121").figure())
    return claims, fig


def build() -> Proof:
    claims, fig = _part_d()
    return Proof("Q2", "d", "A multi-modal (image and text) DenseNet", tuple(claims),
                 figures=(fig,))
