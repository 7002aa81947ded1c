"""YOLOv1, Darknet-19, YOLOv2, Darknet-53 and YOLOv3: the algebra (symconv.algebra.nets.darknet)
against the Flax NNX models (nnx.state parameters, jax.eval_shape shapes, concrete and
symbolic) and XLA (lowered-HLO FLOPs: exact at small sizes, within float32 accumulation at full
size); head shapes against the papers' definitions, written out here; bad sizes rejected."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra import Conv2D
from symconv.algebra.darknet_layers import (
    DarknetConv,
    DarknetResidual,
    Dropout,
    LeakyReLU,
    Reorg,
    Reshape,
    Upsample,
)
from symconv.algebra.nets.darknet import (
    DARKNET53_TAPS,
    Darknet19Config,
    Darknet53Config,
    YoloV1Config,
    YoloV2Config,
    YoloV3Config,
    darknet19_stack,
    darknet53_stack,
    yolov1_stack,
)
from symconv.algebra.nets.yolo import yolov2_graph, yolov3_graph
from symconv.algebra.nets.yolo_head import box_count, v1_output
from symconv.checks import xla
from symconv.checks.dims import shape_to_sympy
from symconv.errors import SymconvError
from symconv.models.layers import flax_layer as build_layer
from symconv.models.units import ConvUnit, ResidualUnit, reorg, upsample
from symconv.models.yolo import Darknet19, Darknet53, Darknet53Backbone, YoloV1, YoloV2, YoloV3

T = sp.Symbol("t", integer=True, positive=True)
H = sp.Symbol("H", integer=True, positive=True)

# name: (model factory, algebra, default side)
FULL = {
    "yolov1": (lambda: YoloV1(rngs=nnx.Rngs(0)), yolov1_stack(), 448),
    "darknet19": (lambda: Darknet19(rngs=nnx.Rngs(0)), darknet19_stack(), 224),
    "yolov2": (lambda: YoloV2(rngs=nnx.Rngs(0)), yolov2_graph(), 416),
    "darknet53": (lambda: Darknet53(rngs=nnx.Rngs(0)), darknet53_stack(), 256),
    "darknet53-backbone": (lambda: Darknet53Backbone(rngs=nnx.Rngs(0)),
                           darknet53_stack(include_top=False), 256),
    "yolov3": (lambda: YoloV3(rngs=nnx.Rngs(0)), yolov3_graph(), 416),
}


@pytest.fixture(scope="module")
def full():
    return {name: xla.abstract(f) for name, (f, _, _) in FULL.items()}


def shapes(model, spec):
    """Per-example output shape(s) of ``model`` by jax.eval_shape (a tuple for several)."""
    got = tuple(s[1:] for s in xla.output_shapes(model, spec))
    return got if len(got) > 1 else got[0]


@pytest.mark.parametrize("name", FULL)
def test_params_and_flops_at_full_size(full, name):
    """nnx.state equals the closed form; XLA's FLOPs agree up to float32 accumulation."""
    _, spec, n = FULL[name]
    model = full[name]
    assert xla.param_count(model) == spec.param_count()
    assert xla.param_split(model) == (spec.weight_count(), spec.bias_count())
    measured = xla.cost(model, (1, n, n, 3))
    expected = spec.batch_flops((n, n, 3), 1, "exact")
    assert xla.flops_agree(expected, measured["flops"], measured["ops"])
    assert measured["transcendentals"] == spec.transcendentals((n, n, 3), 1)


TINY = {  # narrow networks, so that XLA's float32 totals are exact (< 2**24)
    "yolov1": (lambda: YoloV1(YoloV1Config(grid=1, width=4, hidden=16, boxes=3, classes=4),
                              rngs=nnx.Rngs(0)),
               yolov1_stack(YoloV1Config(grid=1, width=4, hidden=16, boxes=3, classes=4)),
               [(2, 64)]),
    "yolov1-bn": (lambda: YoloV1(YoloV1Config(grid=1, width=2, hidden=8, batch_norm=True),
                                 rngs=nnx.Rngs(0)),
                  yolov1_stack(YoloV1Config(grid=1, width=2, hidden=8, batch_norm=True)),
                  [(1, 64)]),
    "darknet19": (lambda: Darknet19(Darknet19Config(width=2, classes=5), rngs=nnx.Rngs(0)),
                  darknet19_stack(Darknet19Config(width=2, classes=5)), [(2, 64), (1, 90)]),
    "yolov2": (lambda: YoloV2(YoloV2Config(width=2, anchors=3, classes=4), rngs=nnx.Rngs(0)),
               yolov2_graph(YoloV2Config(width=2, anchors=3, classes=4)), [(2, 64), (1, 96)]),
    "darknet53": (lambda: Darknet53(Darknet53Config(width=1, classes=5), rngs=nnx.Rngs(0)),
                  darknet53_stack(Darknet53Config(width=1, classes=5)), [(2, 64), (1, 90)]),
    "yolov3": (lambda: YoloV3(YoloV3Config(width=1, anchors=2, classes=7), rngs=nnx.Rngs(0)),
               yolov3_graph(YoloV3Config(width=1, anchors=2, classes=7)), [(2, 64), (1, 96)]),
}


@pytest.mark.parametrize("name", TINY)
def test_flops_exact_at_small_sizes(name):
    factory, spec, points = TINY[name]
    model = xla.abstract(factory)
    assert xla.param_count(model) == spec.param_count()
    for batch, n in points:
        measured = xla.cost(model, (batch, n, n, 3))
        expected = spec.batch_flops((n, n, 3), batch, "exact")
        assert expected < xla.FLOAT32_EXACT
        assert measured["flops"] == expected, (batch, n)
        assert measured["transcendentals"] == spec.transcendentals((n, n, 3), batch)


def test_yolov3_at_416_by_the_papers_definition(full):
    """Three scales at strides 32, 16, 8, each cell 3 anchors x (4 offsets + objectness + 80
    classes) — written out here — by the algebra and by jax.eval_shape."""
    cfg, n = YoloV3Config(), 416
    want = tuple((n // s, n // s, cfg.anchors * (4 + 1 + cfg.classes)) for s in (32, 16, 8))
    assert tuple(tuple(o) for o in yolov3_graph(cfg).outputs((n, n, 3))) == want
    assert shapes(full["yolov3"], (1, n, n, 3)) == want


@pytest.mark.parametrize("n", [416, 608, 320])
def test_box_count_from_the_model_outputs(full, n):
    """box_count equals the cells x anchors of the model's own output maps."""
    cfg = YoloV3Config()
    outs = shapes(full["yolov3"], (1, n, n, 3))
    cells = sum(h * w * (c // (5 + cfg.classes)) for h, w, c in outs)
    assert box_count(n, cfg.anchors) == cells


def test_yolov1_output_by_the_papers_definition(full):
    """S x S cells, each B boxes of (x, y, w, h, confidence) and C class probabilities."""
    cfg = YoloV1Config()
    want = (cfg.grid, cfg.grid, cfg.boxes * 5 + cfg.classes)
    assert v1_output(cfg.grid, cfg.boxes, cfg.classes) == want
    assert shapes(full["yolov1"], (2, cfg.side, cfg.side, 3)) == want
    assert tuple(yolov1_stack(cfg).output_shape((cfg.side, cfg.side, 3))) == want


def test_yolov2_output_and_passthrough(full):
    cfg, n = YoloV2Config(), 416
    want = (n // 32, n // 32, cfg.anchors * (4 + 1 + cfg.classes))
    assert shapes(full["yolov2"], (1, n, n, 3)) == want
    assert tuple(yolov2_graph(cfg).outputs((n, n, 3))[0]) == want
    parts = {name: (spec, x) for name, spec, x in yolov2_graph(cfg).named_parts((n, n, 3))}
    assert parts["passthrough"][1] == (n // 16, n // 16, 512)  # the 26x26x512 map


@pytest.mark.parametrize("name", ["yolov2", "yolov3"])
def test_symbolic_multiple_of_32(full, name):
    """eval_shape on n = 32 t (t symbolic) gives the algebra's outputs on (32 t, 32 t, 3)."""
    got = shapes(full[name], "B, 32*t, 32*t, 3")
    got = got if name == "yolov3" else (got,)
    want = FULL[name][1].outputs((32 * T, 32 * T, 3))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert all(sp.expand(a - b) == 0 for a, b in zip(g, w)), (g, w)


@pytest.mark.parametrize("name", ["darknet19", "darknet53-backbone"])
def test_symbolic_any_side(full, name):
    """Darknet's ceil-mode pools and stride-2 convs: any side H, by eval_shape and algebra."""
    spec = FULL[name][1]
    rows = {r.name: r.output_shape for r in spec.table((H, H, 3)).rows}
    if name == "darknet19":
        graphdef, state = nnx.split(full[name])
        x = jax.ShapeDtypeStruct(jax.export.symbolic_shape("B, H, H, 3"), jnp.float32)
        y = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x, ("conv18",))[1],
                           state, x)
        got, want = [shape_to_sympy(y["conv18"].shape, {"H": H})[1:]], [rows["conv18"]]
    else:
        got = shapes(full[name], "B, H, H, 3")
        want = [rows[t] for t in DARKNET53_TAPS]
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            at = lambda e, v: e if isinstance(e, int) else int(e.subs(H, v))  # noqa: E731
            assert all(at(a, v) == at(b, v) for v in range(1, 200)), (a, b)


@pytest.mark.parametrize("name", ["darknet19", "yolov3"])
def test_traced_closed_form_equals_the_algebra(name):
    """symconv.checks.trace prices the jaxpr op by op with symbolic B, H, W (Darknet-19) or n = 32 t
    (YOLOv3): its closed form equals the algebra's, identically in the symbols."""
    from symconv.algebra.symbols import B, W
    from symconv.checks.trace import trace

    factory, spec = TINY[name][:2]
    result = trace(xla.abstract(factory), "B, H, W, 3" if name == "darknet19" else
                   "B, 32*t, 32*t, 3")
    assert result.complete
    to = {"B": B, "H": H, "W": W, "t": T}
    traced = result.total("flops").subs({s: to[k] for k, s in result.symbols.items()})
    side = (H, W) if name == "darknet19" else (32 * T, 32 * T)
    assert sp.expand(traced - spec.batch_flops((*side, 3), B, "exact")) == 0


def test_yolov1_receptive_fields(full):
    """The first field is the model's first kernel; the last conv's jump is one grid cell of
    the model's output (448 / S); after the FC every output sees the whole image."""
    rows = yolov1_stack().table((448, 448, 3)).rows
    convs = [r for r in rows if r.kind == "DarknetConv"]
    assert convs[0].field_h.size == full["yolov1"].layers[0].conv.kernel.shape[0]
    assert convs[-1].field_h.jump == 448 // shapes(full["yolov1"], (1, 448, 448, 3))[0]
    assert rows[-1].field_h.is_global


def test_cli_cost_and_models_list_the_yolos(capsys):
    """`symconv cost` renders a three-output graph; `symconv models` lists every entry."""
    from symconv.tools.cli import main

    assert main(["cost", "yolov3", "--input", "1,416,416,3"]) == 0
    out = capsys.readouterr().out
    assert all(f"{n} × {n} × 255" in out for n in (13, 26, 52))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("yolov1", "darknet19", "yolov2", "darknet53", "yolov3"))


@pytest.mark.parametrize("build,match", [
    (lambda: yolov3_graph().outputs((420, 420, 3)), "multiple of 32"),
    (lambda: yolov3_graph().table((416, 400, 3)), "width.*multiple of 32"),
    (lambda: yolov2_graph().outputs((400, 400, 3)), "multiple of 32"),
    (lambda: yolov3_graph().outputs((416, 416, 4)), "3 \\(RGB\\)"),
    (lambda: yolov1_stack().output_shape((416, 416, 3)), "exactly 448x448"),
    (lambda: yolov1_stack().table((H, H, 3)), "cannot be symbolic"),
    (lambda: Reorg(2).output_shape((27, 26, 8)), "height.*not divisible by the stride 2"),
    (lambda: Reshape((7, 7, 30)).output_shape((1469,)), "cannot view"),
    (lambda: DarknetResidual(7), "even"),
    (lambda: DarknetConv(3, 8, 3, activation="relu"), "leaky"),
    (lambda: LeakyReLU(1.5), "negative_slope"),
    (lambda: Dropout(1.0), "rate"),
    (lambda: YoloV1Config(boxes=True), "boxes"),
    (lambda: YoloV1Config(grid=0), "grid"),
    (lambda: YoloV3Config(classes=0), "classes"),
    (lambda: Darknet53Config(width=2.5), "width"),
], ids=["v3-420", "v3-width-400", "v2-400", "v3-4-channels", "v1-416", "v1-symbolic",
        "reorg-odd", "reshape", "residual-odd", "activation", "slope", "dropout", "bool-boxes",
        "grid-0", "classes-0", "float-width"])
def test_bad_input_is_a_clear_error(build, match):
    with pytest.raises(SymconvError, match=match):
        build()


@pytest.mark.parametrize("name,n", [("yolov3", 420), ("yolov2", 400), ("yolov1", 416)])
def test_models_reject_bad_sizes(full, name, n):
    with pytest.raises(SymconvError, match=r"multiple of 32|exactly"):
        shapes(full[name], (1, n, n, 3))


def test_yolov1_model_rejects_a_symbolic_size(full):
    with pytest.raises(SymconvError, match="exactly"):
        shapes(full["yolov1"], "B, H, H, 3")


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 3), st.integers(1, 8), st.integers(1, 4), st.sampled_from([2, 4]),
       st.integers(2, 9))
def test_data_movement_and_leaky_cost(b, h, c, s, w):
    """Reorg and Upsample cost nothing and give the algebra's shape; leaky ReLU costs 3 per
    element; inference dropout costs nothing."""
    x = (b, h * s, w * s, c)
    for fn, spec in [(lambda x: reorg(x, s), Reorg(s)), (lambda x: upsample(x, s), Upsample(s)),
                     (lambda x: jax.nn.leaky_relu(x, 0.1), LeakyReLU()),
                     (build_layer(Dropout(), rngs=nnx.Rngs(0)), Dropout())]:
        measured = xla.cost(fn, x)
        assert measured["flops"] == spec.batch_flops(x[1:], b, "exact")
        assert xla.output_shape(fn, x, sympy=False)[1:] == tuple(spec.output_shape(x[1:]))


def test_reorg_is_a_space_to_depth():
    """Every input value lands once; output (i, j) holds the s x s block at (s i, s j)."""
    x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
    y = reorg(x, 2)
    assert sorted(y.ravel().tolist()) == sorted(x.ravel().tolist())
    assert set(y[1, 1, 2].tolist()) == set(x[1, 2:4, 4:6].ravel().tolist())
    z = upsample(x, 2)
    assert bool(jnp.all(z[:, ::2, ::2] == x)) and bool(jnp.all(z[:, 1::2, 1::2] == x))


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 48), st.integers(1, 9), st.integers(1, 90), st.sampled_from([1, 3]),
       st.sampled_from([1, 2]), st.booleans(), st.sampled_from(["leaky", "linear"]),
       st.integers(1, 6), st.integers(1, 2))
def test_head_convs(m, anchors, classes, k, stride, bn, act, side, batch):
    """Darknet units (random width, kernel, stride, BN, activation) and detection convs to
    A (5 + C) channels for random anchors and classes: parameters, shapes and exact FLOPs
    (10 draws: each lowers two layers)."""
    depth = anchors * (4 + 1 + classes)
    x = (batch, 8 * side, 8 * side, m)
    for spec in (DarknetConv(m, depth, k, stride, bn, act), Conv2D(m, depth, 1)):
        layer = xla.abstract(lambda: build_layer(spec, rngs=nnx.Rngs(0)))  # noqa: B023 (called here)
        assert xla.param_count(layer) == spec.param_count()
        got = xla.output_shape(layer, x, sympy=False)[1:]
        assert got == tuple(spec.output_shape(x[1:])) and got[-1] == depth
        measured = xla.cost(layer, x)
        expected = spec.batch_flops(x[1:], batch, "exact")
        assert xla.flops_agree(expected, measured["flops"], measured["ops"])


def test_residual_unit_exact():
    spec = DarknetResidual(8)
    unit = xla.abstract(lambda: ResidualUnit(spec, rngs=nnx.Rngs(0)))
    assert xla.param_count(unit) == spec.param_count()
    assert xla.cost(unit, (2, 9, 7, 8))["flops"] == spec.batch_flops((9, 7, 8), 2, "exact")


def test_train_mode_updates_batch_statistics():
    """train=True reaches every batch norm; eval() freezes them (checked on a residual unit,
    the same ConvUnit every model is made of)."""
    unit = ResidualUnit(DarknetResidual(4), train=True, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (2, 5, 5, 4))
    before = jax.tree.map(jnp.copy, nnx.state(unit, nnx.BatchStat))
    unit(x)
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before,
                           nnx.state(unit, nnx.BatchStat))
    assert all(jax.tree.leaves(changed))
    unit.eval()
    frozen = jax.tree.map(jnp.copy, nnx.state(unit, nnx.BatchStat))
    unit(x)
    same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), frozen,
                        nnx.state(unit, nnx.BatchStat))
    assert all(jax.tree.leaves(same))


def test_conv_unit_matches_its_spec_on_values():
    """The unit computes conv -> BN -> leaky: compared with lax on real values."""
    spec = DarknetConv(3, 4, 3, 2)
    unit = ConvUnit(spec, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (1, 9, 9, 3))
    kernel = unit.conv.kernel[...]
    y = jax.lax.conv_general_dilated(x, kernel, (2, 2), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = y / jnp.sqrt(1 + unit.norm.epsilon)  # fresh running stats: mean 0, variance 1
    y = jnp.where(y >= 0, y, 0.1 * y)
    assert jnp.allclose(unit(x), y, atol=1e-5)
