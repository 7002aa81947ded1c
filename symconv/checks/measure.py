"""Measurements on the real network, used as independent checks by proofs and tests.

- :func:`xla_macs`: MACs of a convolution as XLA counts them, in either convention. *Exact*:
  the layer as it is. *Dense*: the same layer applied to an input padded with explicit zeros
  (``lax.pad``) and ``'VALID'`` padding — the zeros are then real input, so XLA counts every tap.
- :func:`gradient_support`: the input pixels one output unit depends on, from ``jax.grad`` with
  positive weights and inputs (so nothing cancels) — the empirical receptive field.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.algebra import AvgPool2D, Conv2D, MaxPool2D, SeparableConv2D, Stack
from symconv.algebra.layer import Layer, check_convention
from symconv.algebra.padding import same_pads
from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.models.layers import flax_layer


def _explicit_pads(spec: Conv2D, hw: Sequence[int]):
    if spec.padding == "SAME":
        return tuple(same_pads(hw[i], spec.kernel_size[i], spec.strides[i],
                               spec.kernel_dilation[i]) for i in range(2))
    if spec.padding == "VALID":
        return ((0, 0), (0, 0))
    return spec.padding


class _ZeroPadded(nnx.Module):
    def __init__(self, pads, inner: nnx.Module):
        self.pads = tuple(tuple(int(v) for v in p) for p in pads)
        self.inner = inner

    def __call__(self, x):
        (t, b), (l, r) = self.pads
        # lax.pad with a float constant: jnp.pad would add a convert op (one stray FLOP).
        return self.inner(jax.lax.pad(x, 0.0, ((0, 0, 0), (t, b, 0), (l, r, 0), (0, 0, 0))))


def xla_macs(spec: Conv2D | SeparableConv2D, in_shape: Sequence[int],
             convention: str = "exact") -> int:
    """MACs of ``spec`` on one ``(H, W, C)`` input as XLA counts them (FLOPs / 2, no bias)."""
    check_convention(convention)
    h, w, c = (int(v) for v in in_shape)
    if isinstance(spec, SeparableConv2D):
        first = xla_macs(spec.depthwise, in_shape, convention)
        mid = spec.depthwise.output_shape(in_shape)
        return first + xla_macs(spec.pointwise, mid, convention)
    if not isinstance(spec, Conv2D):
        raise SymconvError(f"xla_macs: {type(spec).__name__} is not a convolution")
    nobias = replace(spec, use_bias=False)
    if convention == "dense":
        pads = _explicit_pads(spec, (h, w))
        valid = replace(nobias, padding="VALID")
        model = xla.abstract(lambda: _ZeroPadded(pads, flax_layer(valid, rngs=nnx.Rngs(0))))
    else:
        model = xla.abstract(lambda: flax_layer(nobias, rngs=nnx.Rngs(0)))
    measured = xla.cost(model, (1, h, w, c))
    return measured["flops"] // 2


def _positive(spec: Layer) -> Layer:
    """Max pooling routes the gradient to one pixel; average pooling has the same window."""
    if isinstance(spec, MaxPool2D):
        return AvgPool2D(spec.window_shape, spec.strides, spec.padding)
    if isinstance(spec, Stack):
        return Stack(tuple(_positive(s) for s in spec.layers), spec.names)
    return spec


@functools.partial(jax.jit, static_argnums=0)
def _unit_gradient(graphdef, params, rest, x, i, j):
    r"""$\partial y_{0,i,j,0} / \partial x$ with every parameter made positive ($|p| + 0.01$),
    compiled once per network (the unit is an argument)."""
    positive = jax.tree.map(lambda p: jnp.abs(p) + 0.01, params)
    model = nnx.merge(graphdef, positive, rest)
    return jax.grad(lambda x: model(x)[0, i, j, 0])(x)


def gradient_support(spec: Stack, in_shape: Sequence[int], unit: Sequence[int]
                     ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Rows and columns ``((r0, r1), (c0, c1))`` (inclusive) where the gradient of output unit
    ``(i, j)`` (channel 0) with respect to the input is non-zero: its bounding box; ``None``
    when the unit sees only padding.

    Weights are made positive (``|w| + 0.01``), biases zero, the input all ones, max pooling
    replaced by average pooling, so that every path contributes and nothing cancels.
    """
    h, w, c = (int(v) for v in in_shape)
    model = flax_layer(_positive(spec), rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    grad = _unit_gradient(graphdef, params, rest, jnp.ones((1, h, w, c), jnp.float32),
                          *(jnp.int32(v) for v in unit))
    support = np.asarray(jnp.abs(grad[0]).sum(-1) > 0)
    rows, cols = np.nonzero(support.any(1))[0], np.nonzero(support.any(0))[0]
    if rows.size == 0:
        return None
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def predicted_window(size, jump, start, index: int, n: int) -> tuple[int, int]:
    r"""Input interval of output ``index``: $\text{start} + i j \pm (r-1)/2$, clipped to
    $[0, n)$."""
    centre = start + index * jump
    lo, hi = centre - (size - 1) / 2, centre + (size - 1) / 2
    return max(0, int(np.ceil(float(lo)))), min(n - 1, int(np.floor(float(hi))))
    # (lo > hi when the window lies wholly in the padding)
