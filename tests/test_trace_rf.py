"""Receptive fields of traced models (:mod:`symconv.checks.trace.receptive`), verified against
the support of ``jax.grad`` of one output unit of the real network (positive weights, max
pooling swapped for sum pooling, batch norm in inference mode), at two or more input sizes and
for units at both borders and in the middle."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
import sympy
from flax import nnx

from symconv.checks.trace.receptive import ReceptiveField, receptive_field
from symconv.checks.trace.rfwalk import Global
from symconv.checks.trace.support import support, unit_gradient
from symconv.errors import SymconvError


def _units(rf: ReceptiveField, output: int, values: dict) -> list[tuple[int, ...]]:
    """First, second, middle and last unit of each spatial output axis, at ``values`` (one
    unit, ``()``, when the output has no spatial axis: a global field)."""
    axes = [rf.output_axis(output, a) for a in range(len(rf.spatial))]
    if None in axes:
        return [()]
    subs = {rf.symbols[k]: v for k, v in values.items() if k in rf.symbols}
    n = [int(sympy.sympify(rf.output_shapes[output][a]).subs(subs)) for a in axes]
    return [tuple(0 for _ in n), tuple(min(1, v - 1) for v in n), tuple(v // 2 for v in n),
            tuple(v - 1 for v in n)]


def verify(model: nnx.Module, text: str, sizes: list[dict], output: int = 0, call=None
           ) -> ReceptiveField:
    """The closed form (traced once on ``text``) equals the gradient support at every size,
    for units at both borders and in the middle (a global field: the whole input)."""
    fn = model if call is None else (lambda x: call(model, x))
    rf = receptive_field(fn, text)
    axes = [rf.output_axis(output, a) for a in range(len(rf.spatial))]
    axes = [] if None in axes else axes
    for values in sizes:
        subs = {rf.symbols[k]: v for k, v in values.items() if k in rf.symbols}
        shape = tuple(int(sympy.sympify(d).subs(subs)) for d in rf.input_shape)
        grad = unit_gradient(model, shape, output, axes, call)
        for unit in _units(rf, output, values):
            got = support(grad(unit), rf.spatial)
            want = [rf.clipped(output, a, unit[a] if unit else 0, values)
                    for a in range(len(rf.spatial))]
            assert got == want, (values, unit, got, want)
    return rf


class TCN(nnx.Module):
    """A dilated causal TCN (WaveNet-like): left padding, dilations 1, 2, 4, 8, residuals."""

    def __init__(self, rngs: nnx.Rngs, k: int = 3):
        self.k = k
        self.convs = nnx.List([nnx.Conv(4, 4, (k,), kernel_dilation=(d,), padding="VALID",
                                        rngs=rngs) for d in (1, 2, 4, 8)])

    def __call__(self, x):
        for conv, d in zip(self.convs, (1, 2, 4, 8)):
            y = conv(jnp.pad(x, ((0, 0), ((self.k - 1) * d, 0), (0, 0))))
            x = x + jax.nn.relu(y)
        return x


def test_tcn_dilated_causal():
    rf = verify(TCN(nnx.Rngs(0)), "1, T, 4", [{"T": 40}, {"T": 57}])
    (axis,) = rf.axes(0)
    assert (axis.size, axis.jump, axis.offset) == (31, 1, -15)  # 1 + 2*(1+2+4+8), causal


def _convs(model, x):
    for conv in model.convs:
        x = jax.nn.relu(conv(x))
    return x


def test_assignment_conv3_is_29():
    from symconv.algebra.nets.assignment import AssignmentConfig
    from symconv.models.assignment import AssignmentCNN

    model = AssignmentCNN(AssignmentConfig.standard().at(64, 64), rngs=nnx.Rngs(0))
    rf = verify(model, "1, H, W, 3", [{"H": 64, "W": 64}, {"H": 40, "W": 72}],
                call=_convs)
    assert [a.size for a in rf.axes(0)] == [29, 29]
    assert [a.jump for a in rf.axes(0)] == [8, 8]
    whole = receptive_field(model, "1, 64, 64, 3")
    assert [str(a) for a in whole.axes(0)] == ["global (dot_general in fc)"] * 2
    assert [layer.axes[0].size for layer in whole.layers[:3]] == [5, 13, 29]
    from symconv.algebra.nets.assignment import assignment_stack

    stack = assignment_stack(AssignmentConfig.standard().at(64, 64))  # the algebra's chain
    fields = dict(zip(stack.names, stack.fields((64, 64, 3))))
    assert [(f.size, f.jump, f.start) for f, _ in (fields[f"conv{i}"] for i in (1, 2, 3))] == [
        (layer.axes[0].size, layer.axes[0].jump, layer.axes[0].offset)
        for layer in whole.layers[:3]]


class Attention(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 8, (3, 3), rngs=rngs)
        self.attn = nnx.MultiHeadAttention(2, 8, decode=False, rngs=rngs)

    def __call__(self, x):
        b, h, w, _ = x.shape
        y = self.conv(x)
        t = y.reshape(b, h * w, 8)
        return self.attn(t).reshape(b, h, w, 8)


def test_attention_is_global():
    rf = receptive_field(Attention(nnx.Rngs(0)), "1, H, W, 3")
    axes = rf.axes(0)
    assert all(isinstance(a, Global) for a in axes)
    assert "dot_general" in str(axes[0]) and "attn" in str(axes[0])


def test_errors():
    with pytest.raises(SymconvError, match="spatial axes"):
        receptive_field(lambda x: x, "1, H, W, 3", spatial=(7,))
    with pytest.raises(SymconvError, match="output 3 out of range"):
        receptive_field(lambda x: x, "1, H, W, 3").axes(3)


class Resize(nnx.Module):
    """conv, resize x2 (nearest or linear), conv: an upsampling decoder in miniature."""

    def __init__(self, method: str, rngs: nnx.Rngs):
        self.method = method
        self.a = nnx.Conv(1, 2, (3, 3), strides=(2, 2), rngs=rngs)
        self.b = nnx.Conv(2, 2, (3, 3), rngs=rngs)

    def __call__(self, x):
        y = self.a(x)
        b, h, w, c = y.shape
        return self.b(jax.image.resize(y, (b, 2 * h, 2 * w, c), self.method))


@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_resize(method):
    rf = verify(Resize(method, nnx.Rngs(0)), "1, 2*h, 2*w, 1",
                [{"h": 8, "w": 8}, {"h": 9, "w": 13}])
    assert all(a.jump == 1 for a in rf.axes(0))
    assert rf.layers[1].op == "resize"


def test_unet_small():
    from symconv.algebra.nets.unet import UNetGraph
    from symconv.models.unet import UNet

    model = UNet(UNetGraph(base=2, depth=2), rngs=nnx.Rngs(0))
    for h, w in ((60, 60), (76, 68)):
        rf = verify(model, f"1, {h}, {w}, 1", [{}])
        assert [a.size for a in rf.axes(0)] == [44, 44]


@pytest.mark.slow
def test_unet_small_symbolic():
    from symconv.algebra.nets.unet import UNetGraph
    from symconv.models.unet import UNet

    model = UNet(UNetGraph(base=2, depth=2), rngs=nnx.Rngs(0))
    # valid sides are 4h + 12; the crops of the skips are gathers with symbolic starts
    # one size here (66 s for two); the closed form is evaluated at a second one below
    rf = verify(model, "1, 4*h + 12, 4*w + 12, 1", [{"h": 16, "w": 14}])
    assert [a.jump for a in rf.axes(0)] == [1, 1]
    assert rf.at({"h": 12, "w": 14})[0][0] == 44


def _registry(name: str, hw: tuple[int, int]) -> nnx.Module:
    from symconv.models.registry import MODELS

    return MODELS[name].build(hw)


def test_espcn_pixel_shuffle():
    rf = verify(_registry("espcn", (20, 20)), "1, H, W, 1", [{"H": 20, "W": 20},
                                                             {"H": 17, "W": 23}])
    assert [(a.size, a.jump) for a in rf.axes(0)] == [(9, sympy.Rational(1, 3))] * 2


def test_global_average_pooling():
    rf = verify(_registry("assignment-gap", (32, 32)), "1, H, W, 3",
                [{"H": 32, "W": 32}, {"H": 40, "W": 24}])
    assert "reduce_sum" in str(rf.axes(0)[0])


def _trunk(model, x):
    """ResNet up to its global pooling."""
    x = nnx.max_pool(jax.nn.relu(model.bn1(model.conv1(x))), (3, 3), (2, 2), ((1, 1), (1, 1)))
    for block in model.blocks:
        x = block(x)
    return x


@pytest.mark.slow
def test_resnet18():
    model = _registry("resnet18", (64, 64))
    verify(model, "1, H, W, 3", [{"H": 64, "W": 64}, {"H": 48, "W": 80}])
    rf = verify(model, "1, H, W, 3", [{"H": 64, "W": 64}, {"H": 96, "W": 64}],
                call=lambda m, x: _trunk(m, x))
    assert [(a.size, a.jump) for a in rf.axes(0)] == [(435, 32), (435, 32)]


@pytest.mark.slow
def test_unet_paper():
    from symconv.algebra.nets.unet import UNetGraph
    from symconv.models.unet import UNet

    model = UNet(UNetGraph(base=2), rngs=nnx.Rngs(0))
    for h, w in ((188, 188), (204, 220)):
        verify(model, f"1, {h}, {w}, 1", [{}])


@pytest.mark.slow
def test_densenet121():
    model = _registry("densenet121", (64, 64))
    verify(model, "1, H, W, 3", [{"H": 64, "W": 64}, {"H": 96, "W": 64}])
    verify(model, "1, H, W, 3", [{"H": 64, "W": 64}, {"H": 96, "W": 64}],
           call=lambda m, x: m.features(x))


@pytest.mark.slow
@pytest.mark.parametrize("head", [0, 1, 2])
def test_yolov3_heads(head):
    rf = verify(_registry("yolov3", (64, 64)), "1, 32*h, 32*w, 3",
                [{"h": 2, "w": 2}, {"h": 3, "w": 2}], output=head)
    assert rf.axes(head)[0].jump == [32, 16, 8][head]


class Norm(nnx.Module):
    def __init__(self, train: bool, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), rngs=rngs)
        self.norm = nnx.BatchNorm(4, use_running_average=not train, rngs=rngs)

    def __call__(self, x):
        return self.norm(self.conv(x))


def test_batch_norm_training_is_global():
    assert [a.size for a in receptive_field(Norm(False, nnx.Rngs(0)), "B, H, W, 3").axes(0)] \
        == [3, 3]
    axes = receptive_field(Norm(True, nnx.Rngs(0)), "B, H, W, 3").axes(0)
    assert all(isinstance(a, Global) and a.path == "norm" for a in axes)


def test_cli_rf(tmp_path, capsys):
    import json

    from symconv.tools.cli import main

    assert main(["rf", "assignment", "--input", "1,128,128,3", "--format", "plain"]) == 0
    text = capsys.readouterr().out
    assert "29 | 8 | 0" in text and "global (dot_general in fc)" in text
    plot = tmp_path / "rf.png"
    assert main(["rf", "espcn", "--input", "1,H,W,1", "--format", "json",
                 "--plot", str(plot)]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["outputs"][0]["axes"][0] == {"size": "9", "jump": "1/3", "offset": "0",
                                            "phase_dependent": False}
    assert plot.stat().st_size > 0
    assert main(["rf", "assignment", "--input", "1,H,W,3"]) == 2
    assert "concrete sizes" in capsys.readouterr().err
    assert main(["rf", "assignment"]) == 2  # the default input 1,H,W,3: same message
    assert main(["rf", "no.such:model"]) == 2


def test_linen_and_function():
    from flax import linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(4, (3, 3), strides=(2, 2), kernel_dilation=(1, 1))(x)
            return nn.Conv(4, (3, 3), kernel_dilation=(2, 2), name="dilated")(x)

    rf = receptive_field(Net(), "1, H, W, 3")
    assert [(a.size, a.jump) for a in rf.axes(0)] == [(11, 2)] * 2  # 3 + 2*2*2
    assert [layer.path for layer in rf.layers] == ["Conv_0", "dilated"]
    pooled = receptive_field(lambda x: nnx.max_pool(x, (2, 2), (2, 2)), "1, H, W, 3")
    assert [(a.size, a.jump, a.offset) for a in pooled.axes(0)] == [
        (2, 2, sympy.Rational(1, 2))] * 2
