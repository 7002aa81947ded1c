"""Receptive fields of traced models (:mod:`symconv.checks.trace.receptive`), verified against
the support of ``jax.grad`` of one output unit of the real network (positive weights, max
pooling swapped for sum pooling, batch norm in inference mode), at two or more input sizes and
for units at both borders and in the middle."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from symconv.checks.trace.receptive import ReceptiveField, receptive_field
from symconv.checks.trace.rfwalk import Global
from symconv.checks.trace.support import support, unit_gradient
from symconv.errors import SymconvError


def _units(rf: ReceptiveField, output: int, values: dict) -> list[tuple[int, ...]]:
    """First, middle and last unit of each spatial output axis, at ``values``."""
    shape = [int(jnp.asarray(0) + int(__import__("sympy").sympify(d).subs(
        {rf.symbols[k]: v for k, v in values.items() if k in rf.symbols})))
        for d in rf.output_shapes[output]]
    axes = [rf.output_axis(output, a) for a in range(len(rf.spatial))]
    n = [shape[a] for a in axes]
    return [tuple(0 for _ in n), tuple(v // 2 for v in n), tuple(v - 1 for v in n),
            tuple(min(1, v - 1) for v in n)]


def verify(model: nnx.Module, text: str, sizes: list[dict], output: int = 0, call=None
           ) -> ReceptiveField:
    """The closed form (traced once on ``text``) equals the gradient support at every size."""
    fn = model if call is None else (lambda x: call(model, x))
    rf = receptive_field(fn, text)
    axes = [rf.output_axis(output, a) for a in range(len(rf.spatial))]
    for values in sizes:
        shape = tuple(int(__import__("sympy").sympify(d).subs(
            {rf.symbols[k]: v for k, v in values.items() if k in rf.symbols}))
            for d in rf.input_shape)
        grad = unit_gradient(model, shape, output, axes, call)
        for unit in _units(rf, output, values):
            got = support(grad(unit), rf.spatial)
            want = [rf.clipped(output, a, unit[a], values) for a in range(len(rf.spatial))]
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
