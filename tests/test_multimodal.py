"""The multi-modal DenseNet (Q2(d)): algebra against nnx.state (parameters, per branch),
jax.eval_shape (shapes, symbolic batch and length) and XLA's cost analysis (FLOPs and
transcendentals, exactly below 2^24); padding never changes the output; bad input is rejected
with a message that says how to fix it; the diagram is drawn from the spec's structure."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra.attention import HeadsDoNotDivideError, MultiHeadAttention
from symconv.algebra.embedding import Embedding, SequenceTooLongError
from symconv.algebra.nets.densenet import DenseNetConfig
from symconv.algebra.nets.multimodal import MultiModalConfig
from symconv.algebra.nets.multimodal import MultiModalGraph as Spec
from symconv.algebra.normalization import LayerNorm
from symconv.algebra.transformer import TransformerTextEncoder
from symconv.checks import xla
from symconv.checks.dims import shape_to_sympy
from symconv.errors import NonIntegerError, NonPositiveSizeError, ShapeMismatchError, SymconvError
from symconv.models.multimodal import MultiModalDenseNet, TextEncoder, masked_mean
from symconv.report.render.diagram import diagram

TINY_IMAGE = DenseNetConfig.bc_cifar(10, 4)  # 3 blocks of one bottleneck layer, k = 4
Bs, Ls = sp.symbols("B L", integer=True, positive=True)


def tiny(**o) -> MultiModalConfig:
    return MultiModalConfig(**{"image": TINY_IMAGE, "vocab_size": 40, "max_len": 8,
                               "d_model": 12, "heads": 3, "layers": 2, "d_ff": 20,
                               "classes": 5, **o})


_MODELS: dict = {}


def abstract(cfg: MultiModalConfig) -> MultiModalDenseNet:
    if cfg not in _MODELS:
        _MODELS[cfg] = xla.abstract(lambda: MultiModalDenseNet(cfg, rngs=nnx.Rngs(0)))
    return _MODELS[cfg]


def lowered_cost(model, batch: int, hw: tuple[int, int], length: int) -> dict:
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)
    args = (jax.ShapeDtypeStruct((batch, *hw, 3), jnp.float32),
            jax.ShapeDtypeStruct((batch, length), jnp.int32))
    lowered = jax.jit(lambda s, x, t: nnx.merge(graphdef, s)(x, t)).lower(state, *args)
    c = lowered.cost_analysis()
    ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
    return {"flops": int(c.get("flops", 0)), "transcendentals": int(c.get("transcendentals", 0)),
            "ops": ops}


def count(module) -> int:
    return xla.param_count(module)


# --- parameters ------------------------------------------------------------------------------

@pytest.mark.parametrize("fusion", ["concat", "gated", "cross"])
@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-ln", "post-ln"])
def test_params_equal_nnx_state(fusion, norm_first):
    cfg = tiny(fusion=fusion, norm_first=norm_first, fusion_features=7)
    model, spec = abstract(cfg), cfg.spec()
    assert xla.param_count(model) == spec.param_count()
    assert xla.param_split(model) == (spec.weight_count(), spec.bias_count())
    per = spec.branch_params()
    assert count(model.image) == per["image"]
    assert count(model.text) == per["text"]
    assert count(model.classifier) == per["classifier"]
    fusion_modules = {"concat": [], "gated": ["gate", "proj_image", "proj_text"],
                      "cross": ["cross"]}[fusion]
    assert sum(count(getattr(model, m)) for m in fusion_modules) == per["fusion"]


def test_text_encoder_param_closed_form():
    """The encoder's symbolic parameter count, evaluated, equals nnx.state at several sizes."""
    V, Lm, d, f = sp.symbols("V L_max d d_ff", integer=True, positive=True)
    closed = TransformerTextEncoder(V, Lm, d, 1, 2, f).param_count()
    for vocab, max_len, width, heads, ff in [(7, 3, 4, 2, 5), (30, 9, 6, 3, 1), (2, 1, 1, 1, 2)]:
        cfg = tiny(vocab_size=vocab, max_len=max_len, d_model=width, heads=heads, d_ff=ff)
        value = closed.subs({V: vocab, Lm: max_len, d: width, f: ff})
        assert value == count(abstract(cfg).text)


@pytest.mark.parametrize("fusion", ["concat", "gated"])
def test_densenet121_variant_text_and_head_params(fusion):
    """The DenseNet-121 variant's text encoder and classifier against nnx.state (the whole
    121 model, whose abstract build takes ~10 s, is checked by proofs/q2_densenet.py)."""
    cfg = MultiModalConfig.densenet121(fusion=fusion)
    spec = cfg.spec()
    text = xla.abstract(lambda: TextEncoder(cfg, rngs=nnx.Rngs(0)))
    assert count(text) == spec.branch_params()["text"]
    di = spec.widths()["image"]
    assert di == cfg.image.channels()[-1] == 1024
    width = di + cfg.d_model if fusion == "concat" else cfg.d_model
    head = xla.abstract(lambda: nnx.Linear(width, cfg.classes, rngs=nnx.Rngs(0)))
    assert count(head) == spec.branch_params()["classifier"]


# --- shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fusion", ["concat", "gated", "cross"])
def test_symbolic_shapes(fusion):
    cfg = tiny(fusion=fusion)
    model, spec = abstract(cfg), cfg.spec()
    graphdef, state = nnx.split(model)
    b, h, w, length = jax.export.symbolic_shape(
        "B, H, W, L", constraints=(f"L <= {cfg.max_len}",))
    image = jax.ShapeDtypeStruct((b, h, w, 3), jnp.float32)
    tokens = jax.ShapeDtypeStruct((b, length), jnp.int32)
    names = {"B": Bs, "L": Ls}

    def run(method):
        y = jax.eval_shape(lambda s, x, t: getattr(nnx.merge(graphdef, s), method)(x, t),
                           state, image, tokens)
        return shape_to_sympy(y.shape, names)

    out = spec.outputs(((sp.Symbol("H", integer=True, positive=True),
                         sp.Symbol("W", integer=True, positive=True), 3), (Ls,)))[0]
    assert run("__call__") == (Bs, *out)
    assert out.conditions  # L <= max_len cannot be decided for a free L: it is returned
    assert run("fused") == (Bs, spec.widths()["fused"])
    seq = jax.eval_shape(lambda s, t, m: nnx.merge(graphdef, s).text(t, m), state, tokens,
                         jax.ShapeDtypeStruct((b, length), jnp.bool_))
    assert shape_to_sympy(seq.shape, names) == (Bs, Ls, cfg.d_model)


def test_concat_width_is_the_sum_of_both_modalities():
    cfg = tiny(fusion="concat")
    model, spec = abstract(cfg), cfg.spec()
    graphdef, state = nnx.split(model)
    image = jax.ShapeDtypeStruct((2, 16, 16, 3), jnp.float32)
    img = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).image(x), state, image).shape[1]
    fused = jax.eval_shape(lambda s, x, t: nnx.merge(graphdef, s).fused(x, t), state, image,
                           jax.ShapeDtypeStruct((2, 5), jnp.int32)).shape[1]
    assert fused == img + cfg.d_model == spec.widths()["fused"]
    assert spec.widths()["image"] == img


# --- FLOPs -----------------------------------------------------------------------------------

CASES = [
    ({"fusion": "concat"}, 2, (16, 12), 5),
    ({"fusion": "gated", "activation": "relu", "fusion_features": 9}, 1, (9, 13), 8),
    ({"fusion": "cross", "norm_first": False}, 3, (12, 12), 3),
    ({"fusion": "gated", "activation": "gelu_exact", "norm_first": False}, 2, (8, 8), 1),
    ({"fusion": "concat", "vocab_size": 1, "pad_id": 0}, 2, (8, 8), 4),
]


@pytest.mark.parametrize("over,batch,hw,length", CASES,
                         ids=["concat", "gated-relu", "cross-postln", "gated-erf", "vocab-1"])
def test_flops_and_transcendentals_exact(over, batch, hw, length):
    cfg = tiny(**over)
    measured = lowered_cost(abstract(cfg), batch, hw, length)
    spec = cfg.spec()
    x = (((*hw, 3)), (length,))
    expected = spec.batch_flops(x, batch, "exact")
    assert expected < xla.FLOAT32_EXACT
    assert measured["flops"] == expected
    assert measured["transcendentals"] == spec.transcendentals(x, batch)


@settings(max_examples=5)
@given(data=st.data(), fusion=st.sampled_from(["concat", "gated", "cross"]),
       activation=st.sampled_from(["gelu", "relu", "gelu_exact"]), norm_first=st.booleans())
def test_flops_closed_form_in_batch_and_length(data, fusion, activation, norm_first):
    """Random small configs: the symbolic FLOPs in (B, L), evaluated, equal XLA's count."""
    heads = data.draw(st.integers(1, 3), "heads")
    cfg = MultiModalConfig(
        image=TINY_IMAGE, vocab_size=data.draw(st.integers(2, 60), "vocab"),
        max_len=data.draw(st.integers(1, 9), "max_len"),
        d_model=heads * data.draw(st.integers(1, 4), "head_dim"), heads=heads,
        layers=data.draw(st.integers(1, 2), "layers"), d_ff=data.draw(st.integers(1, 16), "ff"),
        fusion=fusion, classes=data.draw(st.integers(1, 6), "classes"), activation=activation,
        norm_first=norm_first)
    batch = data.draw(st.integers(1, 3), "batch")
    length = data.draw(st.integers(1, cfg.max_len), "length")
    side = data.draw(st.integers(4, 12), "side")
    spec = cfg.spec()
    closed = spec.batch_flops(((side, side, 3), (Ls,)), Bs, "exact")
    trans = spec.transcendentals(((side, side, 3), (Ls,)), Bs)
    measured = lowered_cost(abstract(cfg), batch, (side, side), length)
    point = {Bs: batch, Ls: length}
    assert measured["flops"] == closed.subs(point)
    assert measured["transcendentals"] == trans.subs(point)
    assert xla.param_count(abstract(cfg)) == spec.param_count()


def test_default_config_flops_agree():
    """The default (DenseNet-BC-40) model at 32x32: above 2^24, so within float32 rounding."""
    cfg = MultiModalConfig()
    measured = lowered_cost(abstract(cfg), 1, (32, 32), 16)
    expected = cfg.spec().batch_flops(((32, 32, 3), (16,)), 1, "exact")
    assert expected > xla.FLOAT32_EXACT
    assert xla.flops_agree(expected, measured["flops"], measured["ops"])


# --- padding ---------------------------------------------------------------------------------

def materialize(cfg: MultiModalConfig, seed: int = 0):
    """The abstract model's state filled with NumPy draws (batch statistics 0 and 1): real
    weights without the cost of running every initializer."""
    graphdef, state = nnx.split(abstract(cfg))
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = [k.key for k in path if isinstance(k, jax.tree_util.DictKey)][-1]
        if name == "var":
            return jnp.ones(leaf.shape, leaf.dtype)
        if name == "mean":
            return jnp.zeros(leaf.shape, leaf.dtype)
        return jnp.asarray(rng.normal(0.0, 0.3, leaf.shape), leaf.dtype)

    return graphdef, jax.tree_util.tree_map_with_path(fill, state)


PAD_IMAGE = DenseNetConfig(growth_rate=2, block_config=(1,), num_init_features=4,
                           stem="cifar")  # the image branch plays no part here: keep it small


@pytest.fixture(scope="module")
def real_models():
    """Per fusion: ``run(image, tokens, mask=None)`` of a jitted model with real weights."""
    out = {}
    for i, fusion in enumerate(("concat", "gated", "cross")):
        graphdef, state = materialize(tiny(fusion=fusion, image=PAD_IMAGE, pad_id=0), seed=i)
        fn = jax.jit(lambda s, x, t, m, g=graphdef: nnx.merge(g, s)(x, t, m))
        out[fusion] = (lambda x, t, m=None, fn=fn, state=state: np.asarray(
            fn(state, jnp.asarray(x), jnp.asarray(t), None if m is None else jnp.asarray(m))))
    return out


@pytest.mark.parametrize("fusion", ["concat", "gated", "cross"])
def test_padding_tokens_do_not_change_the_output(real_models, fusion):
    run = real_models[fusion]
    rng = np.random.default_rng(0)
    image = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 1, 1, 0, 1, 0, 1, 1]], bool)
    tokens = rng.integers(1, 40, size=(2, 8)).astype(np.int32)
    other = np.where(mask, tokens, rng.integers(0, 40, size=(2, 8))).astype(np.int32)
    assert (other != tokens).any()
    a = run(image, tokens, mask)
    np.testing.assert_array_equal(a, run(image, other, mask))  # ids under the mask: no effect
    assert np.isfinite(a).all()
    # mask derived from pad_id: row 0 is the first text with 4 trailing pads, row 1 all pads
    padded = np.stack([np.r_[tokens[0, :4], np.zeros(4, np.int32)], np.zeros(8, np.int32)])
    derived = run(image, padded)
    np.testing.assert_allclose(derived[0], a[0], rtol=1e-6, atol=1e-7)
    assert np.isfinite(derived).all()  # a text of padding only is the empty text
    # ... and equals the unpadded (shorter) text's output
    short = np.stack([tokens[0, :4], np.zeros(4, np.int32)])
    np.testing.assert_allclose(run(image, short), derived, rtol=1e-5, atol=1e-7)


def test_masked_mean_against_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    m = rng.random((3, 5)) > 0.4
    m[2] = False
    want = np.stack([x[i][m[i]].mean(0) if m[i].any() else np.zeros(4) for i in range(3)])
    np.testing.assert_allclose(np.asarray(masked_mean(jnp.asarray(x), jnp.asarray(m))), want,
                               rtol=1e-6, atol=1e-6)


# --- errors ----------------------------------------------------------------------------------

def test_text_longer_than_max_len_in_the_algebra():
    spec = tiny().spec()
    with pytest.raises(SequenceTooLongError, match=r"L=9.*max_len=8.*truncate.*max_len >= 9"):
        spec.batch_flops(((16, 16, 3), (9,)), 1, "exact")
    with pytest.raises(SequenceTooLongError, match="max_len=8"):
        spec.outputs(((16, 16, 3), (9,)))


def test_text_longer_than_max_len_in_the_model():
    graphdef, state = nnx.split(abstract(tiny()))
    image = jax.ShapeDtypeStruct((1, 8, 8, 3), jnp.float32)
    with pytest.raises(SequenceTooLongError, match=r"L=9.*max_len=8.*truncate.*max_len >= 9"):
        jax.eval_shape(lambda s, x, t: nnx.merge(graphdef, s)(x, t), state, image,
                       jax.ShapeDtypeStruct((1, 9), jnp.int32))
    b, length = jax.export.symbolic_shape("B, L")  # no L <= max_len constraint
    with pytest.raises(SequenceTooLongError, match=r"constraints=\('L <= 8',\)"):
        jax.eval_shape(lambda s, x, t: nnx.merge(graphdef, s)(x, t), state, image,
                       jax.ShapeDtypeStruct((b, length), jnp.int32))


@pytest.mark.parametrize("build,error,match", [
    (lambda: tiny(d_model=10, heads=4), HeadsDoNotDivideError, r"heads=4.*d_model=10"),
    (lambda: MultiHeadAttention(10, 3), HeadsDoNotDivideError, "divisors of 10"),
    (lambda: TransformerTextEncoder(5, 4, 6, 4, 1, 8), HeadsDoNotDivideError, "heads=4"),
    (lambda: tiny(fusion="sum"), SymconvError, r"fusion='sum'.*concat"),
    (lambda: Spec(tiny().spec().image, tiny().text_spec(), "add"), SymconvError, "fusion"),
    (lambda: tiny(activation="swish"), SymconvError, "activation"),
    (lambda: tiny(image={"growth_rate": 0}), SymconvError, "growth_rate"),
    (lambda: tiny(image={"block_config": (2, 0, 2)}), SymconvError, ">= 1 layer"),
    (lambda: tiny(image={"compression": 0.0}), SymconvError, "compression"),
    (lambda: tiny(image={"compression": 1.5}), SymconvError, "compression"),
    (lambda: tiny(image="densenet"), SymconvError, "DenseNetConfig"),
    (lambda: tiny(d_model=0), NonPositiveSizeError, "d_model"),
    (lambda: tiny(max_len=2.5), NonIntegerError, "max_len"),
    (lambda: tiny(pad_id=40), SymconvError, "pad_id=40.*vocab_size=40"),
    (lambda: Embedding(0, 4), NonPositiveSizeError, "vocab_size"),
    (lambda: LayerNorm(3).flops((2, 4)), ShapeMismatchError, "4 features"),
    (lambda: tiny().spec().outputs(((8, 8, 3),)), ShapeMismatchError, r"\(\(H, W, C\), \(L,\)\)"),
], ids=["heads-config", "heads-mha", "heads-encoder", "fusion", "fusion-spec", "activation",
        "growth-0", "zero-layer-block", "compression-0", "compression-1.5", "image-type",
        "d_model-0", "max_len-float", "pad_id", "vocab-0", "layernorm-width", "input-shape"])
def test_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


# --- diagram ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fusion", ["concat", "cross"])
def test_diagram_is_the_specs_structure(fusion, tmp_path):
    spec = tiny(fusion=fusion).spec()
    d = diagram(spec, ((16, 16, 3), (Ls,)), title="multi-modal")
    parts = spec.named_parts(((16, 16, 3), (Ls,)))
    names = [b.name for b in d.boxes if not b.is_input]
    assert names == [name for name, _, _ in parts]
    assert d.box("fusion").shape == (spec.widths()["fused"],)
    edges = {(e.source, e.target) for e in d.edges if not e.aux}
    last_text = "text_norm" if fusion == "cross" else "text_pool"
    assert {("image_gap", "fusion"), (last_text, "fusion"), ("input_image", "image_conv0"),
            ("input_tokens", "text_embed"), ("fusion", "classifier")} <= edges
    text = d.mermaid()
    assert text.startswith("flowchart TB") and "text_mask -.-> text_layer1" in text
    assert all(b.id in text for b in d.boxes)
    png = d.save(tmp_path / "d.png")
    svg = d.save(tmp_path / "d.svg")
    assert png.stat().st_size > 1000 and svg.read_text().lstrip().startswith("<?xml")


def test_diagram_of_a_plain_graph_is_a_chain():
    from symconv.algebra.nets.unet import UNetGraph as UNet

    spec = UNet(base=2, depth=1)
    d = diagram(spec, (20, 20, 1))
    parts = spec.named_parts((20, 20, 1))
    assert len(d.edges) == len(parts)  # input -> first, then one edge per following part
    with pytest.raises(SymconvError, match="cannot write"):
        d.save("x.gif")
