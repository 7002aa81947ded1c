"""Q3 part (c): transposed convolution step by step — the scatter-add of every input element,
checked against Flax's ``nnx.ConvTranspose`` (PyTorch semantics) and the matrix view
:math:`C^\\top \\operatorname{vec}(x)`; Flax's default ``transpose_kernel=False`` shown to differ.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import ConvTranspose2D
from symconv.algebra.symbols import H, K, W
from symconv.experiments.transposed_steps import ScatterSteps, scatter_steps, transpose_matrix_view
from symconv.models import flax_layer
from symconv.report.proof import Check, Claim, Derivation, Proof, Step, Table

X = np.array([[1, 2], [3, 4]])
KERNEL = np.array([[1, 2], [3, 4]])
# The source's matrices after steps 2, 3 and 4 (transcribed; never used as expectations).
STATED = {2: [[1, 4, 4], [3, 10, 8], [0, 0, 0]], 3: [[1, 4, 4], [6, 16, 8], [9, 12, 0]],
          4: [[1, 4, 4], [6, 20, 16], [9, 24, 16]]}
n_, S_, P_, Po_ = sp.symbols("n S P P_o", integer=True)


def _matrix(a: np.ndarray) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(np.asarray(a).astype(int).tolist())


def _flax(x: np.ndarray, w: np.ndarray, transpose_kernel: bool = True) -> np.ndarray:
    """The Flax layer with the given single-channel kernel (layout (K_h, K_w, out, in))."""
    spec = ConvTranspose2D(1, 1, w.shape, use_bias=False)
    layer = flax_layer(spec, rngs=nnx.Rngs(0))
    if not transpose_kernel:
        layer = nnx.ConvTranspose(1, 1, w.shape, padding=spec.lax_padding(), use_bias=False,
                                  transpose_kernel=False, rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.asarray(w, jnp.float32)[:, :, None, None]
    y = layer(jnp.asarray(x, jnp.float32)[None, :, :, None])
    return np.asarray(y[0, :, :, 0])


def _first(x: np.ndarray, t: int) -> np.ndarray:
    """``x`` with every element after the first ``t`` (row-major) set to zero."""
    flat = x.flatten().copy()
    flat[t:] = 0
    return flat.reshape(x.shape)


def scatter_derivation(steps: ScatterSteps) -> Derivation:
    """Canvas size, the zero canvas, one running canvas per input element, the crop."""
    side = (n_ - 1) * S_ + K + Po_
    (nh, nw), (kh, kw) = steps.x.shape, steps.kernel.shape
    out = [Step("canvas side, per axis", "L", side),
           Step(f"canvas, n = ({nh}, {nw}), S = {steps.stride}, K = ({kh}, {kw}), "
                f"P_o = {steps.output_padding}", "(L_h, L_w)", sp.Tuple(*steps.canvas_shape)),
           Step("zeros", r"Y^{(0)}", sp.zeros(*steps.canvas_shape).as_immutable())]
    for t, st in enumerate(steps.steps, start=1):
        (i, j), r, c = st.index, st.rows, st.cols
        out.append(Step(
            f"x[{i},{j}] = {st.value}: add {st.value}*w at rows {r.start}-{r.stop - 1}, "
            f"columns {c.start}-{c.stop - 1}",
            rf"Y^{{({t})}} = Y^{{({t - 1})}} + x_{{{i},{j}}}\, w"
            rf"\ \text{{at}}\ ({r.start}, {c.start})",
            _matrix(st.running)))
    out.append(Step(f"crop P = {steps.padding} from each side", "Y", _matrix(steps.final)))
    return Derivation(tuple(out))


def scatter_table(steps: ScatterSteps) -> Table:
    """One row per input element: the block it adds and the canvas after it; then the crop."""
    rows = [(t, sp.Tuple(*st.index), st.value, sp.Range(st.rows.start, st.rows.stop),
             sp.Range(st.cols.start, st.cols.stop), _matrix(st.running))
            for t, st in enumerate(steps.steps, start=1)]
    (ph, pw), (oh, ow) = steps.padding, steps.output_shape
    rows.append(("crop", None, None, sp.Range(ph, ph + oh), sp.Range(pw, pw + ow),
                 _matrix(steps.final)))
    return Table(
        f"Scatter-add, step by step: x = {steps.x.tolist()}, w = {steps.kernel.tolist()}, "
        f"stride {steps.stride}, padding {steps.padding}: each input element adds x[i, j] w "
        "to the canvas rows and columns shown",
        ("step $t$", "element $(i, j)$", "$x_{ij}$", "rows", "columns", "canvas $Y^{(t)}$"),
        tuple(rows), align="lrrllc")


def build() -> Proof:
    steps = scatter_steps(X, KERNEL)
    final = steps.final
    flax_y = _flax(X, KERNEL)
    matrix_y = transpose_matrix_view(X.shape, KERNEL).apply(X)
    default_y = _flax(X, KERNEL, transpose_kernel=False)
    size = ConvTranspose2D(1, 1, K).output_shape((H, W))
    claims = [Claim(
        id="q3c.output_size", statement="Output size (H + K - 1) x (W + K - 1) = 3 x 3 for "
        "stride 1 and no padding.", stated=(H + K - 1, W + K - 1), derived=tuple(size[:2]),
        derivation=Derivation((
            Step("general", "O", (n_ - 1) * S_ - 2 * P_ + K + Po_),
            Step("S = 1, P = P_o = 0", "H' \\times W'", tuple(size[:2])))),
        checks=(Check("model", "nnx.ConvTranspose (PyTorch semantics) on a 2x2 input, kernel "
                      "2x2", "1 point", flax_y.shape == (3, 3), f"{flax_y.shape}"),),
                          quote="TODO", correction="TODO")]
    for t in (2, 3, 4):
        running = steps.steps[t - 1].running
        if t < 4:
            partial = _flax(_first(X, t), KERNEL)
            checks = (Check("model", "nnx.ConvTranspose on the input with the elements after "
                            f"element {t} zeroed (the partial sum)", "assignment example",
                            np.array_equal(partial, running), f"{partial.astype(int).tolist()}"),)
            derivation = Derivation((Step(f"x[{(t - 1) // 2},{(t - 1) % 2}] * w added",
                                          f"Y^{{({t})}}", _matrix(running)),))
        else:
            checks = (Check("model", "nnx.ConvTranspose(transpose_kernel=True) with the same "
                            "kernel", "assignment example", np.array_equal(flax_y, final),
                            f"{flax_y.astype(int).tolist()}"),
                      Check("numpy", "matrix view: C^T vec(x), C the direct convolution's "
                            "matrix", "assignment example", np.array_equal(matrix_y, final),
                            f"{matrix_y.astype(int).tolist()}"))
            derivation = scatter_derivation(steps)
        claims.append(Claim(
            id=f"q3c.step{t}", statement=f"Output after adding input element {t} (row-major) "
            "times the kernel.", stated=sp.ImmutableMatrix(STATED[t]),
            derived=sp.ImmutableMatrix(running.tolist()), derivation=derivation,
            checks=checks, quote="TODO", correction="TODO"))
    claims.append(Claim(
        id="q3c.flax_default", statement="Flax's default transpose_kernel=False on the same "
        "input and kernel (not PyTorch's conv_transpose2d).",
        derived=sp.ImmutableMatrix(default_y.tolist()),
        derivation=Derivation((Step("Flax default", "Y_{flax}", _matrix(default_y)),)),
        checks=(Check("model", "differs from the PyTorch-semantics result", "assignment example",
                      not np.array_equal(default_y, final)),),
        note="Flax's default does not flip the kernel: it is the scatter of the kernel rotated "
             "by 180 degrees. Use transpose_kernel=True (symconv does) for PyTorch semantics."))
    return Proof("Q3", "c", "Transposed convolution, step by step", tuple(claims),
                 tables=(scatter_table(steps),))
