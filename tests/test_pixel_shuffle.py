"""PixelShuffle, added from one algebra module and one registry entry, end to end: the Flax
layer against NumPy's reading of PyTorch's definition, the triangle (algebra = eval_shape =
XLA), the generic derivation, the cost of a network that uses it (ESPCN, symbolic and against
XLA) and its receptive field (tests/test_receptive.py draws it too)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import PixelShuffle, derive
from symconv.algebra import Conv2D, Stack
from symconv.algebra.symbols import C, H, R, W
from symconv.checks import xla
from symconv.checks.triangle import check_layer
from symconv.errors import ShapeMismatchError
from symconv.models.layers import flax_layer
from symconv.models.registry import MODELS
from symconv.tools.cli import main


def _torch_pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """PyTorch's documented definition on NCHW, out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j,
    h, w], applied to an NHWC array by moving the channels."""
    b, h, w, c = x.shape
    nchw = x.transpose(0, 3, 1, 2)
    out = np.empty((b, c // (r * r), h * r, w * r), x.dtype)
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[:, ch, i::r, j::r] = nchw[:, ch * r * r + i * r + j]
    return out.transpose(0, 2, 3, 1)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3))
def test_flax_layer_is_pytorch_pixel_shuffle(r, h, w, c):
    x = np.random.default_rng(r * 100 + h * 10 + w).normal(size=(2, h, w, c * r * r))
    layer = flax_layer(PixelShuffle(r), rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(np.asarray(layer(jnp.asarray(x, jnp.float32))),
                                  _torch_pixel_shuffle(x.astype(np.float32), r))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3),
       st.integers(1, 3))
def test_triangle(r, h, w, c, batch):
    result = check_layer(Stack((Conv2D(2, c * r * r, 3, padding="SAME"), PixelShuffle(r))),
                         (batch, h, w, 2))
    assert result.agrees, result.explain()


def test_channels_not_divisible():
    with pytest.raises(ShapeMismatchError, match=r"10 input channels are not divisible by "
                                                 r"upscale_factor² = 2² = 4"):
        PixelShuffle(2).output_shape((4, 4, 10))
    shape = PixelShuffle(2).output_shape((H, W, sp.Symbol("C", integer=True, positive=True)))
    assert shape.conditions  # 4 | C returned, not assumed


def test_derivation_comes_from_the_layer_formulas():
    d = derive(PixelShuffle(3), (H, W, 18))
    by_label = {s.label: s.rhs for s in d.steps}
    assert by_label["output height: result"] == 3 * H
    assert by_label["output channels: general formula"] == C / R**2
    assert by_label["output channels: result"] == 2
    assert by_label["output shape"] == (3 * H, 3 * W, 2)


def test_espcn_cost_symbolic_and_against_xla(capsys):
    entry = MODELS["espcn"]
    model = xla.abstract(lambda: entry.build((17, 23)))
    b = sp.Symbol("B", integer=True, positive=True)
    assert xla.output_shape(model, "B, H, W, 1") == (b, 3 * H, 3 * W, 1)
    assert main(["cost", "espcn", "--input", "1,H,W,1", "--at", "H=17,W=23"]) == 0
    assert "agree" in capsys.readouterr().out
