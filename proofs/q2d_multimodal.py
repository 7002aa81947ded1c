"""Q2 part (d): a multi-modal (image and text) DenseNet — built (symconv.models.multimodal),
its widths, parameters per branch and FLOPs checked against Flax NNX and XLA, concatenation
fusion checked value for value, and each sentence of the proposed design checked on the model.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from flax import nnx

from symconv.checks import xla
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step


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
    def branches(s, x, t):  # one trace: the fused features from the image branch's output
        m = nnx.merge(graphdef, s)
        return m.image(x), m.fused(x, t)

    got_img, got_fused = (a.shape for a in jax.eval_shape(branches, state, image, tokens))
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
    s_state = jax.tree.map(  # cast in NumPy: no device conversion to compile per shape
        lambda a: jnp.asarray(rng.uniform(0.5, 1.0, a.shape).astype(a.dtype)), s_state)

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

    # context and order: the small encoder's output for token 0 depends on the other tokens
    def encode(st, t):
        m = nnx.merge(s_graph, st)
        return m.text(t, t != small.pad_id)

    t_a = jnp.asarray([[3, 7, 1, 5, 2, 9]], jnp.int32)
    t_ctx = t_a.at[0, 4].set(11)  # another word at position 4
    t_swap = t_a[:, [1, 0, 2, 3, 4, 5]]  # the first two words swapped
    enc = jax.jit(lambda st, a, b, c: (encode(st, a), encode(st, b), encode(st, c)))
    e_a, e_ctx, e_swap = (np.asarray(v) for v in enc(s_state, t_a, t_ctx, t_swap))
    contextual = not np.allclose(e_a[0, 0], e_ctx[0, 0])
    ordered = not np.allclose(masked_mean(e_a, t_a != 0), masked_mean(e_swap, t_swap != 0))
    cls_kernel = tuple(model["concat"].classifier.kernel.shape)
    probs = jax.eval_shape(lambda s, x, t: nnx.merge(graphdef, s)(x, t), state, image,
                           tokens).shape
    claims += [
        Claim(id="q2d.adaptation",
              statement="A DenseNet adapted to image and text: the model is built and maps an "
                        "image and a text to class probabilities.",
              quote="In the case of multi-modal data (e.g., text and image), DenseNet can be "
                    "adapted as follows:",
              stated=True, derived=tuple(probs) == (1, c.classes),
              derivation=Derivation((Step("class probabilities for one image and one text",
                                          r"\mathrm{output}", (1, c.classes)),)),
              checks=(Check("model", "jax.eval_shape of the whole Flax model (DenseNet-121 image "
                            "branch, Transformer text encoder, concatenation, classifier)",
                            "1x224x224x3 and 128 tokens", tuple(probs) == (1, c.classes),
                            f"{tuple(probs)}"),),
              note="The source's drawing (the question asks to draw the architecture) is not "
                   "in the text: the lines after this sentence are empty. The report draws the "
                   "architecture from its algebra (figure below)."),
        Claim(id="q2d.image_branch", statement="DenseNet processes the image.",
              quote="In this architecture, DenseNet is used to process the image data by "
                    "leveraging its dense connections to promote feature reuse and effective "
                    "gradient flow.",
              reading="The image branch built here is DenseNet-121 without its classifier "
                      "(q2d.image_width); what dense connections do for feature reuse and "
                      "gradient flow is measured in q2a.concatenation and q2b.gradient_flow.",
              stated=True, derived=widths["image"] == chans[-1],
              derivation=Derivation((Step("maps after DenseNet-121's last dense block, pooled",
                                          r"d_{img}", chans[-1]),)),
              checks=(Check("model", "jax.eval_shape of the Flax image branch",
                            "1x224x224x3", tuple(got_img) == (1, chans[-1]),
                            f"{tuple(got_img)}"),)),
        Claim(id="q2d.text_encoder",
              statement="A Transformer encoder makes each word's features depend on the other "
                        "words and on their order.",
              quote="The text data, on the other hand, is processed using a separate encoder "
                    "like a Transformer or LSTM to capture the sequential or contextual "
                    "relationships between words.",
              reading="Checked for the Transformer built here (pre-LN, learned positions, "
                      "padding mask): changing one word changes another word's encoding "
                      "(context), and swapping two words changes the pooled text features "
                      "(order). An LSTM is not built.",
              stated=True, derived=bool(contextual and ordered),
              derivation=Derivation((Step("self-attention: every position reads every "
                                          "unmasked position", r"\mathrm{softmax}",
                                          sp.Symbol(r"QK^T/\sqrt{d_h}")),)),
              checks=(Check("model", "the small random encoder: word 0's encoding with word 4 "
                            "changed, and the pooled features with words 0 and 1 swapped, "
                            "differ from the original's", "one text of 6 tokens, d = 8",
                            contextual and ordered,
                            f"context: {contextual}, order: {ordered}"),)),
        Claim(id="q2d.concatenated",
              statement="The two feature vectors are concatenated at the fusion.",
              quote="After extracting features from both modalities, the features are "
                    "concatenated in the fusion layer.",
              stated=True, derived=kept,
              derivation=Derivation((Step("concatenation", r"z", sp.Matrix([
                  sp.Symbol("x_{img}"), sp.Symbol("x_{txt}")])),)),
              checks=(Check("numpy", "fused vector equals the image features followed by the "
                            "pooled text features, element for element (small random model, "
                            "run)", "2 images 16x16, 2 texts", kept),)),
        Claim(id="q2d.fusion",
              statement="One fully connected layer classifies the fused features.",
              quote="Finally, a fully connected layer is used to make the final predictions or "
                    "classifications based on the combined feature representation.",
              stated=True, derived=cls_kernel == (widths["fused"], c.classes),
              derivation=Derivation((Step("classifier weights", r"W_c",
                                          (widths["fused"], c.classes)),)),
              checks=(Check("model", "kernel shape of the Flax model's classifier",
                            "concatenation fusion", cls_kernel == (widths["fused"], c.classes),
                            f"{cls_kernel}"),),
              note="Concatenation then one linear layer is the simplest fusion; gated fusion "
                   "(q2d.params.gated) and cross-attention are built and costed by symconv as "
                   "alternatives, and which works better depends on the data."),
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
