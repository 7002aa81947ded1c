r"""Assignment Q3(c) step by step: a transposed convolution as scatter-add, as $C^\top$, as Flax.

The example is the assignment's: input $x = [[1, 2], [3, 4]]$, kernel $w = [[1, 2], [3, 4]]$,
stride 1, no padding. The expected output is never typed in: it is computed three other ways
and they must agree with :func:`symconv.experiments.transposed_steps.scatter_steps`:

(a) the Flax layer ``flax_layer(ConvTranspose2D(1, 1, 2), rngs=nnx.Rngs(0))``;
(b) the matrix view $C^\top \operatorname{vec}(x)$;
(c) a NumPy implementation written here from the *gather* form (dilate, pad, correlate with
    the flipped kernel), a different algorithm from the scatter in the library.

Kernel layout of ``nnx.ConvTranspose(..., transpose_kernel=True)`` — found by reasoning, then
checked below. Flax stores ``kernel`` with shape ``(K_h, K_w, out, in)`` (it swaps the channel
axes when ``transpose_kernel=True``) and calls ``lax.conv_transpose(x, kernel, S, pads,
transpose_kernel=True)``. That call (i) flips the kernel's spatial axes and swaps its channel
axes back, giving the HWIO kernel $w'[k, c_{in}, c_{out}] = kernel[K-1-k, c_{out}, c_{in}]$,
then (ii) runs a direct cross-correlation over $x$ dilated by $S$ ($x[j]$ at position $jS$)
and padded by ``lax_padding()`` $= (K-1-P,\ K-1-P+P_o)$. Output $o$ reads dilated position
$o + k - (K-1-P)$, which holds $x[j]$ when $o = jS + (K-1-k) - P$; with $k' = K-1-k$ that is

.. math::  y[o] \mathrel{+}= x[j, c_{in}] \cdot kernel[k', c_{out}, c_{in}]
           \quad\text{at}\quad o = jS + k' - P,

exactly the scatter-add with $w = kernel[:, :, c_{out}, c_{in}]$ *unflipped*. So for one
channel the layer's kernel is the scatter kernel as written: ``kernel = w[:, :, None, None]``.
Equivalently ``kernel`` is the HWIO kernel of the direct convolution (``out`` -> ``in``
channels, stride $S$, padding $P$) whose transpose the layer computes — the $C$ of (b).

Flax's default ``transpose_kernel=False`` skips step (i): it correlates the dilated, padded
input with the kernel as stored, which is the scatter-add of the kernel rotated by 180°; on
the assignment's example that is a different matrix.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.algebra import ConvTranspose2D
from symconv.errors import (
    KernelLargerThanInputError,
    OutputPaddingTooLargeError,
    ShapeMismatchError,
    SymconvError,
)
from symconv.experiments import transposed_steps
from symconv.experiments.transposed_steps import scatter_steps, transpose_matrix_view
from symconv.models import flax_layer
from symconv.report.notation import derivation_latex
from symconv.report.proof import Labeled

X = np.array([[1, 2], [3, 4]])  # assignment Q3(c): the input ...
KERNEL = np.array([[1, 2], [3, 4]])  # ... and the kernel, stride 1, no padding
FLAX_EXAMPLES = 40  # each example builds a layer and compiles a convolution


# --- independent references ---------------------------------------------------------------


def gather_conv_transpose(x, w, stride=(1, 1), padding=(0, 0), output_padding=(0, 0)):
    """Dilate x by S, pad by K-1-P (K-1-P+P_o at the end), correlate with the flipped kernel."""
    (n_h, n_w), (k_h, k_w) = x.shape, w.shape
    dil = np.zeros(((n_h - 1) * stride[0] + 1, (n_w - 1) * stride[1] + 1), dtype=x.dtype)
    dil[::stride[0], ::stride[1]] = x
    lo = [k_h - 1 - padding[0], k_w - 1 - padding[1]]
    hi = [lo[0] + output_padding[0], lo[1] + output_padding[1]]
    # negative padding crops: pad generously, then slice
    big = np.pad(dil, ((k_h, k_h + output_padding[0]), (k_w, k_w + output_padding[1])))
    big = big[k_h - lo[0]:big.shape[0] - (k_h + output_padding[0] - hi[0]),
              k_w - lo[1]:big.shape[1] - (k_w + output_padding[1] - hi[1])]
    flipped = w[::-1, ::-1]
    out_h, out_w = big.shape[0] - k_h + 1, big.shape[1] - k_w + 1
    y = np.zeros((out_h, out_w), dtype=np.result_type(x, w))
    for o in range(out_h):
        for p in range(out_w):
            y[o, p] = (big[o:o + k_h, p:p + k_w] * flipped).sum()
    return y


def correlate(z, w, stride, padding):
    """Direct cross-correlation (stride S, zero padding P), for checking ``C``."""
    zp = np.pad(z, ((padding[0],) * 2, (padding[1],) * 2))
    k_h, k_w = w.shape
    out_h = (zp.shape[0] - k_h) // stride[0] + 1
    out_w = (zp.shape[1] - k_w) // stride[1] + 1
    return np.array([[(zp[i * stride[0]:i * stride[0] + k_h,
                          j * stride[1]:j * stride[1] + k_w] * w).sum()
                      for j in range(out_w)] for i in range(out_h)])


def flax_conv_transpose(x, w, stride=1, padding=0, output_padding=0):
    """The symconv Flax layer with its one-channel kernel set to ``w`` (layout: see above)."""
    spec = ConvTranspose2D(1, 1, tuple(w.shape), strides=stride, padding=padding,
                           output_padding=output_padding)
    layer = flax_layer(spec, rngs=nnx.Rngs(0))
    assert layer.kernel.shape == (*w.shape, 1, 1)  # (K_h, K_w, out, in)
    layer.kernel[...] = jnp.asarray(w, jnp.float32)[:, :, None, None]
    layer.bias[...] = jnp.zeros_like(layer.bias[...])
    y = layer(jnp.asarray(x, jnp.float32)[None, :, :, None])
    return np.asarray(y[0, :, :, 0])


# --- the assignment's example -------------------------------------------------------------


def test_assignment_example_three_ways():
    steps = scatter_steps(X, KERNEL)
    final = steps.final
    assert final.dtype.kind == "i" and final.shape == (3, 3)  # (2-1)*1 + 2 + 0, exact ints
    np.testing.assert_array_equal(flax_conv_transpose(X, KERNEL), final)  # (a)
    view = transpose_matrix_view(X.shape, KERNEL)
    np.testing.assert_array_equal(view.apply(X), final)  # (b)
    np.testing.assert_array_equal((view.matrix.T @ X.reshape(-1)).reshape(3, 3), final)
    np.testing.assert_array_equal(gather_conv_transpose(X, KERNEL), final)  # (c)


def test_assignment_steps_are_scaled_kernels_added_in_row_major_order():
    steps = scatter_steps(X, KERNEL)
    assert [s.index for s in steps.steps] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    previous = np.zeros(steps.canvas_shape, dtype=int)
    for s in steps.steps:
        i, j = s.index
        assert s.value == X[i, j]
        np.testing.assert_array_equal(s.contribution, X[i, j] * KERNEL)
        assert (s.rows, s.cols) == (range(i, i + 2), range(j, j + 2))
        added = s.running - previous
        np.testing.assert_array_equal(added[s.rows.start:s.rows.stop, s.cols.start:s.cols.stop],
                                      s.contribution)
        assert added.sum() == s.contribution.sum()  # nothing outside the block
        previous = s.running
    np.testing.assert_array_equal(steps.canvas, steps.final)  # P = 0: nothing cropped


def test_matrix_view_is_the_direct_convolution_transposed():
    view = transpose_matrix_view(X.shape, KERNEL)
    assert view.matrix.shape == (4, 9)  # vec(x) has 4 entries, vec(y) 9
    z = np.arange(9).reshape(3, 3)
    np.testing.assert_array_equal(view.direct(z), correlate(z, KERNEL, (1, 1), (0, 0)))
    # adjointness: <C z, x> = <z, C^T x>
    assert (view.direct(z) * X).sum() == (z * view.apply(X)).sum()


def test_flax_default_transpose_kernel_false_computes_something_else():
    """Default ``transpose_kernel=False``: no flip; it equals the scatter of w rotated 180°."""
    spec = ConvTranspose2D(1, 1, 2)
    layer = nnx.ConvTranspose(1, 1, (2, 2), padding=spec.lax_padding(), rngs=nnx.Rngs(0))
    assert layer.kernel.shape == (2, 2, 1, 1)  # (K_h, K_w, in, out) without the flag
    layer.kernel[...] = jnp.asarray(KERNEL, jnp.float32)[:, :, None, None]
    layer.bias[...] = jnp.zeros_like(layer.bias[...])
    default = np.asarray(layer(jnp.asarray(X, jnp.float32)[None, :, :, None])[0, :, :, 0])
    right = scatter_steps(X, KERNEL).final
    assert not np.array_equal(default, right)
    np.testing.assert_array_equal(default, scatter_steps(X, KERNEL[::-1, ::-1]).final)
    # i.e. the full cross-correlation of x with the kernel as stored (not flipped)
    np.testing.assert_array_equal(default, correlate(np.pad(X, 1), KERNEL, (1, 1), (0, 0)))


def test_flax_kernel_layout_with_several_channels():
    """``kernel[:, :, c_out, c_in]`` is the scatter kernel from input c_in to output c_out."""
    layer = flax_layer(ConvTranspose2D(2, 3, 2, strides=2), rngs=nnx.Rngs(0))
    assert layer.kernel.shape == (2, 2, 3, 2)  # (K_h, K_w, out, in)
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[:, :, 2, 1] = KERNEL
    layer.kernel[...] = jnp.asarray(kernel)
    layer.bias[...] = jnp.zeros_like(layer.bias[...])
    x = np.zeros((1, 2, 2, 2), np.float32)
    x[0, :, :, 1] = X
    y = np.asarray(layer(jnp.asarray(x)))[0]
    np.testing.assert_array_equal(y[:, :, 2], scatter_steps(X, KERNEL, stride=2).final)
    np.testing.assert_array_equal(y[:, :, :2], 0)


def test_markdown_walk_through():
    steps = scatter_steps(X, KERNEL)
    md = steps.markdown()
    assert md == scatter_steps(X, KERNEL).markdown()  # deterministic
    assert "**Step 4.** x[1,1] = 4" in md and "(2-1)·1 + 2 + 0 = 3" in md
    width = max(len(str(v)) for v in steps.final.flat)
    last_row = "[ " + "  ".join(str(v).rjust(width) for v in steps.final[-1]) + " ]"
    assert md.rstrip().endswith(last_row + "\n```")


def test_the_experiment_is_plain_data_below_the_report_layer():
    """``transposed_steps`` imports nothing of ``symconv.report``: the Q3(c) proof builds the
    report's steps from its plain data."""
    tree = ast.parse(Path(transposed_steps.__file__).read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("symconv.report")], imported
    steps = scatter_steps(X, KERNEL)
    assert [s.index for s in steps.steps] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [(s.rows, s.cols) for s in steps.steps][-1] == (range(1, 3), range(1, 3))


def test_the_q3_proof_derives_every_step(all_proofs):
    """The Q3(c) report: per input element its product, its block on the canvas and the running
    sum; the printed result as the canvas size (from ConvTranspose2D's own formula) and the sum
    of every element's block; a table with one row per element."""
    steps = scatter_steps(X, KERNEL)
    proof = next(p for p in all_proofs if (p.question, p.part) == ("Q3", "c"))
    claims = {c.id: c for c in proof.claims}
    for t, s in enumerate(steps.steps, start=1):
        claim = claims[f"q3c.step{t}"]
        assert claim.derived == Labeled.of(product=sp.Matrix(s.contribution.tolist()),
                                           output=sp.Matrix(s.running.tolist()))
        assert claim.derivation.steps[-1].rhs == sp.Matrix(s.running.tolist())
    derivation = claims["q3c.printed"].derivation
    sizes = [st.rhs for st in derivation.steps if st.label.endswith(": result")]
    assert sizes == [3, 3]  # the canvas, from the layer's output-size formula
    assert derivation.steps[-1].rhs == sp.Matrix(steps.final.tolist())
    latex = derivation_latex(derivation)
    assert latex.startswith("\\begin{aligned}") and latex.count("\\begin{matrix}") == 5
    (table,) = proof.tables
    assert [row[-1] for row in table.rows] == [sp.Matrix(s.running.tolist()) for s in steps.steps
                                              ] + [sp.Matrix(steps.final.tolist())]


def test_the_q3_proof_reads_the_question_and_the_code(all_proofs):
    """The input, filter, stride and padding the proof uses are those of the question and of the
    solution's code, read from the source text."""
    proof = next(p for p in all_proofs if (p.question, p.part) == ("Q3", "c"))
    claims = {c.id: c for c in proof.claims}
    assert claims["q3c.sizes"].derived == Labeled.of(input=(2, 2), filter=(2, 2))
    assert claims["q3c.code"].derived == Labeled.of(input=sp.Matrix(X.tolist()),
                                                    filter=sp.Matrix(KERNEL.tolist()),
                                                    stride=1, padding=0)
    assert all(c.verdict.value == "verified" for c in proof.claims if c.quote)


def test_padding_crops_the_canvas():
    s = scatter_steps(X, KERNEL, stride=2, padding=1, output_padding=1)
    assert s.canvas_shape == (2 * 1 + 2 + 1,) * 2
    np.testing.assert_array_equal(s.final, s.canvas[1:4, 1:4])
    np.testing.assert_array_equal(s.canvas[-1], 0)  # the output-padding row gets nothing
    np.testing.assert_array_equal(s.canvas[:, -1], 0)


BAD = {
    "output-padding": (lambda: scatter_steps(X, KERNEL, stride=2, output_padding=2),
                       OutputPaddingTooLargeError, "output_padding=2"),
    "empty-output": (lambda: scatter_steps(X, KERNEL, padding=2), KernelLargerThanInputError,
                     "= -1 < 1"),
    "negative-padding": (lambda: scatter_steps(X, KERNEL, padding=-1), SymconvError,
                         "padding=-1"),
    "stride-0": (lambda: scatter_steps(X, KERNEL, stride=0), SymconvError, "stride=0"),
    "stride-float": (lambda: scatter_steps(X, KERNEL, stride=1.5), SymconvError, "stride=1.5"),
    "x-1d": (lambda: scatter_steps([1, 2], KERNEL), ShapeMismatchError, "shape (2,)"),
    "kernel-strings": (lambda: scatter_steps(X, [["a"]]), SymconvError, "dtype"),
    "view-shape": (lambda: transpose_matrix_view((2, 2), KERNEL).apply(np.ones((3, 3))),
                   ShapeMismatchError, "(3, 3)"),
}


@pytest.mark.parametrize("call,error,fragment", BAD.values(), ids=BAD.keys())
def test_bad_input(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


# --- properties ---------------------------------------------------------------------------


@st.composite
def transposed_cases(draw, *, max_size: int = 4, max_kernel: int = 4, max_stride: int = 3,
                     max_padding: int = 2):
    """(x, w, S, P, P_o), valid by construction, shrinking toward 1×1, S=1, P=0, P_o=0.

    Per axis draw K, S, P, then P_o < S, then the smallest n with output >= 1 and up.
    """
    shapes, params = [], []
    for _ in range(2):
        k = draw(st.integers(1, max_kernel))
        s = draw(st.integers(1, max_stride))
        p = draw(st.integers(0, max_padding))
        po = draw(st.integers(0, s - 1))
        n_min = max(1, -(-(2 * p + 1 - k - po) // s) + 1)
        n = draw(st.integers(n_min, max(n_min, max_size)))
        shapes.append((n, k))
        params.append((s, p, po))
    x = np.array(draw(st.lists(st.integers(-9, 9), min_size=shapes[0][0] * shapes[1][0],
                               max_size=shapes[0][0] * shapes[1][0]))).reshape(
        shapes[0][0], shapes[1][0])
    w = np.array(draw(st.lists(st.integers(-9, 9), min_size=shapes[0][1] * shapes[1][1],
                               max_size=shapes[0][1] * shapes[1][1]))).reshape(
        shapes[0][1], shapes[1][1])
    stride, padding, output_padding = (tuple(v) for v in zip(*params))
    return x, w, stride, padding, output_padding


@given(transposed_cases())
def test_steps_equal_matrix_view_and_gather_reference(case):
    x, w, stride, padding, output_padding = case
    final = scatter_steps(x, w, stride, padding, output_padding).final
    view = transpose_matrix_view(x.shape, w, stride, padding, output_padding)
    np.testing.assert_array_equal(view.apply(x), final)
    np.testing.assert_array_equal(
        gather_conv_transpose(x, w, stride, padding, output_padding), final)
    z = np.arange(final.size).reshape(final.shape) % 7 - 3
    np.testing.assert_array_equal(view.direct(z), correlate(z, w, stride, padding))


def kernel_fits_input(case) -> bool:
    """n >= K on both axes: jaxlib 0.10.2 on CPU can abort the process while compiling a
    transposed convolution whose kernel is longer than its input (XLA_CPU_CRASH in
    test_transposed_numpy.py; seen here too, as a crashed xdist worker)."""
    x, w = case[0], case[1]
    return all(n >= k for n, k in zip(x.shape, w.shape))


@settings(max_examples=FLAX_EXAMPLES, deadline=None)
@given(transposed_cases().filter(kernel_fits_input))
def test_steps_equal_flax_and_matrix_view(case):
    x, w, stride, padding, output_padding = case
    final = scatter_steps(x, w, stride, padding, output_padding).final
    np.testing.assert_array_equal(flax_conv_transpose(x, w, stride, padding, output_padding),
                                  final)
    view = transpose_matrix_view(x.shape, w, stride, padding, output_padding)
    np.testing.assert_array_equal(view.apply(x), final)
