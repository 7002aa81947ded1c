"""Q3 part (c): transposed convolution step by step — the sizes, the zero canvas, each input
element's scaled filter added at its place, the PyTorch code and its printed result; checked
against Flax's ``nnx.ConvTranspose`` (PyTorch semantics), the matrix view
:math:`C^\\top \\operatorname{vec}(x)` and the question's own matrices; Flax's default
``transpose_kernel=False`` shown to differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import ConvTranspose2D
from symconv.algebra.symbols import H, K, W
from symconv.experiments.transposed_steps import ScatterSteps, scatter_steps, transpose_matrix_view
from symconv.models import flax_layer
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Derivation, Figure, Labeled, Proof, Step, Table

# The question's input and filter (part c's statement, not its solution).
X = np.array([[1, 2], [3, 4]])
KERNEL = np.array([[1, 2], [3, 4]])
SOURCE = Path(__file__).parent / "source" / "assignment3.txt"
# The solution's numbers, transcribed into ``stated`` only (never used as expectations):
# per step the product x_ij * w and the output matrix after adding it.
STATED_PRODUCT = {1: [[1, 2], [3, 4]], 2: [[2, 4], [6, 8]], 3: [[3, 6], [9, 12]],
                  4: [[4, 8], [12, 16]]}
STATED_OUTPUT = {1: [[1, 2, 0], [3, 4, 0], [0, 0, 0]], 2: [[1, 4, 4], [3, 10, 8], [0, 0, 0]],
                 3: [[1, 4, 4], [6, 16, 8], [9, 12, 0]], 4: [[1, 4, 4], [6, 20, 16], [9, 24, 16]]}
STATED_PRINTED = [[1, 4, 4], [6, 20, 16], [9, 24, 16]]
# The code's arguments: torch.tensor([[1, 2], [3, 4]]) twice, stride=1, padding=0.
STATED_CODE = {"input": [[1, 2], [3, 4]], "filter": [[1, 2], [3, 4]], "stride": 1, "padding": 0}
WHERE = {1: "top-left", 2: "top-right", 3: "bottom-left", 4: "bottom-right"}

# The source's words for each step: "Multiply t (...) by the filter:", its product, "Add this
# result ...", the output matrix (one quote per step, verbatim).
_STEP_QUOTES = {
    1: "Multiply 1 (top-left element of input) by the filter:\n\n"
       "$$1 \\cdot \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix} = \\begin{bmatrix} 1 & 2 "
       "\\\\ 3 & 4 \\end{bmatrix}.$$\n\n"
       "Add this result to the top-left of the output matrix:\n\n"
       "$$\\text{Output} = \\begin{bmatrix} 1 & 2 & 0 \\\\ 3 & 4 & 0 \\\\ 0 & 0 & 0 "
       "\\end{bmatrix}.$$",
    2: "Multiply 2 (top-right element of input) by the filter:\n\n"
       "$$2 \\cdot \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix} = \\begin{bmatrix} 2 & 4 "
       "\\\\ 6 & 8 \\end{bmatrix}.$$\n\n"
       "Add this result to the output matrix starting from the top-right position:\n\n"
       "$$\\text{Output} = \\begin{bmatrix} 1 & 4 & 4 \\\\ 3 & 10 & 8 \\\\ 0 & 0 & 0 "
       "\\end{bmatrix}.$$",
    3: "Multiply 3 (bottom-left element of input) by the filter:\n\n"
       "$$3 \\cdot \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix} = \\begin{bmatrix} 3 & 6 "
       "\\\\ 9 & 12 \\end{bmatrix}.$$\n\n"
       "Add this result to the output matrix starting from the bottom-left position:\n\n"
       "$$\\text{Output} = \\begin{bmatrix} 1 & 4 & 4 \\\\ 6 & 16 & 8 \\\\ 9 & 12 & 0 "
       "\\end{bmatrix}.$$",
    4: "Multiply 4 (bottom-right element of input) by the filter:\n\n"
       "$$4 \\cdot \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix} = \\begin{bmatrix} 4 & 8 "
       "\\\\ 12 & 16 \\end{bmatrix}.$$\n\n"
       "Add this result to the output matrix starting from the bottom-right position:\n\n"
       "$$\\text{Output} = \\begin{bmatrix} 1 & 4 & 4 \\\\ 6 & 20 & 16 \\\\ 9 & 24 & 16 "
       "\\end{bmatrix}.$$",
}
_CODE_START = "```\n1 import torch\n2 import torch.nn.functional as F"
_PRINTED = ("```\n1      Output Matrix:\n2 tensor([[ 1.,  4.,  4.],\n3         [ 6., 20., 16.],\n"
            "4         [ 9., 24., 16.]])\n5\n```")


def _matrix(a) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(np.asarray(a).astype(int).tolist())


def question_matrices(text: str) -> dict[str, np.ndarray]:
    r"""The ``\text{Input}`` and ``\text{Filter}`` matrices of the question, read from its
    LaTeX (``\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}``)."""
    out = {}
    for name in ("Input", "Filter"):
        m = re.search(r"\\text\{" + name + r"\} = \\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", text)
        rows = [r.split("&") for r in m.group(1).split("\\\\")]
        out[name] = np.array([[int(v) for v in r] for r in rows])
    return out


def code_block(text: str) -> str:
    """The PyTorch code block of the solution, as it stands (numbered lines)."""
    start = text.index(_CODE_START)
    return text[start:text.index("```", start + 3) + 3]


def _flax(x: np.ndarray, w: np.ndarray, transpose_kernel: bool = True, stride: int = 1,
          padding: int = 0) -> np.ndarray:
    """The Flax layer with the given single-channel kernel (layout (K_h, K_w, out, in))."""
    spec = ConvTranspose2D(1, 1, w.shape, strides=stride, padding=padding, use_bias=False)
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


def _only(x: np.ndarray, t: int) -> np.ndarray:
    """``x`` with every element but the ``t``-th (row-major, 1-based) set to zero."""
    flat = np.zeros(x.size, x.dtype)
    flat[t - 1] = x.flatten()[t - 1]
    return flat.reshape(x.shape)


def _placed(steps: ScatterSteps, t: int) -> np.ndarray:
    """Step ``t``'s block alone on a zero canvas."""
    st = steps.steps[t - 1]
    canvas = np.zeros(steps.canvas_shape, st.contribution.dtype)
    canvas[st.rows.start:st.rows.stop, st.cols.start:st.cols.stop] = st.contribution
    return canvas


def _rows_cols(steps: ScatterSteps, t: int) -> str:
    st = steps.steps[t - 1]
    return (f"rows {st.rows.start} to {st.rows.stop - 1}, columns {st.cols.start} to "
            f"{st.cols.stop - 1}")


def canvas_steps(steps: ScatterSteps) -> list[Step]:
    """The canvas size from ``ConvTranspose2D``'s own output-size formula with no cropping
    (padding 0): the scatter writes into the uncropped output."""
    (kh, kw), (s, _), (po, _) = steps.kernel.shape, steps.stride, steps.output_padding
    spec = ConvTranspose2D(1, 1, (kh, kw), strides=s, output_padding=po)
    d = derive(spec, (*steps.x.shape, 1), keys=("out_h", "out_w"))
    return [Step("canvas, " + st.label.replace("output ", ""), st.lhs, st.rhs, st.symbol_names)
            for st in d.steps]


def sum_derivation(steps: ScatterSteps) -> Derivation:
    """Canvas size, then the output as the sum of every element's placed block, then the crop."""
    blocks = [_matrix(_placed(steps, t)) for t in range(1, len(steps.steps) + 1)]
    terms = r" + ".join(rf"\Delta^{{({t})}}" for t in range(1, len(blocks) + 1))
    out = canvas_steps(steps)
    out.append(Step("every element's block on the canvas, added", rf"Y = {terms}",
                    sp.MatAdd(*blocks, evaluate=False)))
    out.append(Step(f"result (crop P = {steps.padding[0]} from each side: nothing)", "Y",
                    _matrix(steps.final)))
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


def _size_claims(steps: ScatterSteps, question: dict, flax_y: np.ndarray) -> list[Claim]:
    general = ConvTranspose2D(1, 1, K).output_shape((H, W, 1))
    spec = ConvTranspose2D(1, 1, KERNEL.shape)
    size = tuple(spec.output_shape((*X.shape, 1)))[:2]
    sizes = Labeled.of(input=tuple(X.shape), filter=tuple(KERNEL.shape))
    return [
        Claim(id="q3c.sizes", statement="The input and the filter are 2 x 2.",
              quote="The input size is 2×2 , and the filter size is 2×2 .",
              stated=Labeled.of(input=(2, 2), filter=(2, 2)), derived=sizes,
              derivation=Derivation((Step("input x, from the question", "x", _matrix(X)),
                                     Step("filter w, from the question", "w", _matrix(KERNEL)),
                                     Step("their shapes", r"\mathrm{shape}", sizes))),
              checks=(Check("numpy", "the input and filter used here equal the question's "
                            "matrices, read from its LaTeX in the source text",
                            "Q3(c) statement",
                            all(np.array_equal(question[k], v)
                                for k, v in (("Input", X), ("Filter", KERNEL))),
                            f"{question['Input'].tolist()}, {question['Filter'].tolist()}"),)),
        Claim(id="q3c.output_formula", statement="The output size of a transposed convolution "
              "with stride 1 and no padding: (H + K - 1) x (W + K - 1).",
              quote="(H + K - 1) \\times (W + K - 1)", stated=(H + K - 1, W + K - 1),
              derived=tuple(general[:2]),
              reading="For stride 1 and no padding (the code's stride=1, padding=0); the source "
                      "does not say so.",
              derivation=derive(ConvTranspose2D(1, 1, K), (H, W, 1), keys=("out_h", "out_w")),
              checks=(Check("model", "nnx.ConvTranspose (PyTorch semantics) output shape on a "
                            "2x2 input with a 2x2 kernel against the formula at H = W = K = 2",
                            "1 point", flax_y.shape == tuple(sp.Tuple(*general[:2]).subs(
                                {H: 2, W: 2, K: 2})), f"{flax_y.shape}"),),
              note="In general (stride S, padding P, output padding P_o, dilation D) the side "
                   "is (H - 1)S - 2P + D(K - 1) + P_o + 1; the source's formula is the case "
                   "S = D = 1, P = P_o = 0."),
        Claim(id="q3c.output_size", statement="For the 2 x 2 input and filter: (2 + 2 - 1) x "
              "(2 + 2 - 1) = 3 x 3.", quote="= (2 + 2 - 1) \\times (2 + 2 - 1) = 3 \\times 3.",
              stated=(3, 3), derived=size,
              derivation=derive(spec, (*X.shape, 1), keys=("out_h", "out_w")),
              checks=(Check("model", "nnx.ConvTranspose (PyTorch semantics) on the 2x2 input, "
                            "kernel 2x2: output shape", "1 point", flax_y.shape == size,
                            f"{flax_y.shape}"),
                      Check("numpy", "canvas of the scatter-add, written here element by "
                            "element", "assignment example", steps.canvas_shape == size,
                            f"{steps.canvas_shape}"))),
        Claim(id="q3c.zeros", statement="The output starts as a 3 x 3 matrix of zeros.",
              quote="We start with a 3×3 output matrix initialized to zeros:\n\n$$\\text{Output} "
                    "= \\begin{bmatrix} 0 & 0 & 0 \\\\ 0 & 0 & 0 \\\\ 0 & 0 & 0 "
                    "\\end{bmatrix}.$$",
              stated=sp.zeros(3, 3).as_immutable(),
              derived=sp.zeros(*steps.canvas_shape).as_immutable(),
              derivation=Derivation((*canvas_steps(steps),
                                     Step("zeros", r"Y^{(0)}",
                                          sp.zeros(*steps.canvas_shape).as_immutable()))),
              checks=(Check("model", "nnx.ConvTranspose of an all-zero 2x2 input (no bias)",
                            "assignment example",
                            np.array_equal(_flax(np.zeros_like(X), KERNEL),
                                           np.zeros(steps.canvas_shape)),
                            f"{_flax(np.zeros_like(X), KERNEL).astype(int).tolist()}"),)),
    ]


def _step_claim(steps: ScatterSteps, t: int) -> Claim:
    st = steps.steps[t - 1]
    (i, j) = st.index
    prev = _matrix(steps.steps[t - 2].running) if t > 1 else sp.zeros(
        *steps.canvas_shape).as_immutable()
    placed = _matrix(_placed(steps, t))
    partial = _flax(_first(X, t), KERNEL)
    alone = _flax(_only(X, t), KERNEL)
    derivation = Derivation((
        Step(f"element ({i}, {j}) of the input times the filter", rf"x_{{{i},{j}}}\, w",
             sp.MatMul(st.value, _matrix(KERNEL), evaluate=False)),
        Step("product", rf"x_{{{i},{j}}}\, w", _matrix(st.contribution)),
        Step(f"placed at {_rows_cols(steps, t)} of the canvas", rf"\Delta^{{({t})}}", placed),
        Step(f"added to the output of step {t - 1}", rf"Y^{{({t})}} = Y^{{({t - 1})}} + "
             rf"\Delta^{{({t})}}", sp.MatAdd(prev, placed, evaluate=False)),
        Step("result", rf"Y^{{({t})}}", _matrix(st.running))))
    return Claim(
        id=f"q3c.step{t}", statement=f"Step {t}: the {WHERE[t]} input element, {st.value}, "
        "times the filter, added to the output at its place.",
        quote=_STEP_QUOTES[t],
        stated=Labeled.of(product=sp.ImmutableMatrix(STATED_PRODUCT[t]),
                          output=sp.ImmutableMatrix(STATED_OUTPUT[t])),
        derived=Labeled.of(product=_matrix(st.contribution), output=_matrix(st.running)),
        reading=f"The {WHERE[t]} element is x[{i}, {j}] (row-major order); its block starts at "
                f"row {i}, column {j} of the output (stride 1).",
        derivation=derivation,
        checks=(Check("model", f"nnx.ConvTranspose of the input with only element {t} kept: "
                      "its block, nothing elsewhere", "assignment example",
                      np.array_equal(alone, _placed(steps, t)), f"{alone.astype(int).tolist()}"),
                Check("model", f"nnx.ConvTranspose of the input with the elements after "
                      f"element {t} zeroed (the partial sum)", "assignment example",
                      np.array_equal(partial, st.running), f"{partial.astype(int).tolist()}")))


def _code_claims(steps: ScatterSteps, text: str, flax_y, matrix_y) -> list[Claim]:
    code = code_block(text)
    stride = int(re.search(r"stride=(\d+)", code).group(1))
    padding = int(re.search(r"padding=(\d+)", code).group(1))
    tensors = [np.array(eval_list(m)) for m in re.findall(r"torch\.tensor\((\[\[.*?\]\])", code)]
    code_y = _flax(tensors[0], tensors[1], stride=stride, padding=padding)
    same = Labeled.of(input=_matrix(X), filter=_matrix(KERNEL), stride=steps.stride[0],
                      padding=steps.padding[0])
    return [
        Claim(id="q3c.code", statement="The PyTorch code runs F.conv_transpose2d on the "
              "question's input and filter with stride 1 and padding 0: the worked example.",
              quote=code,
              stated=Labeled.of(input=sp.ImmutableMatrix(STATED_CODE["input"]),
                                filter=sp.ImmutableMatrix(STATED_CODE["filter"]),
                                stride=STATED_CODE["stride"], padding=STATED_CODE["padding"]),
              derived=same,
              reading="The code's tensors are 1 x 1 x 2 x 2 (batch, channels, height, width; "
                      "for the weight: in, out, height, width) after the two unsqueeze calls.",
              derivation=Derivation((
                  Step("input, from the question", "x", _matrix(X)),
                  Step("filter, from the question", "w", _matrix(KERNEL)),
                  Step("stride and padding of the worked steps", "(S, P)",
                       sp.Tuple(steps.stride[0], steps.padding[0])))),
              checks=(Check("numpy", "tensors, stride and padding read from the code block in "
                            "the source against the question's matrices and the worked steps",
                            "the code block",
                            len(tensors) == 2 and np.array_equal(tensors[0], X)
                            and np.array_equal(tensors[1], KERNEL)
                            and (stride, padding) == (steps.stride[0], steps.padding[0]),
                            f"tensors {[t.tolist() for t in tensors]}, stride={stride}, "
                            f"padding={padding}"),
                      Check("model", "nnx.ConvTranspose (PyTorch semantics) with the code's "
                            "arguments gives the worked result", "assignment example",
                            np.array_equal(code_y, steps.final),
                            f"{code_y.astype(int).tolist()}"))),
        Claim(id="q3c.printed", statement="What the code prints: the transposed convolution of "
              "the example.", quote=_PRINTED, stated=sp.ImmutableMatrix(STATED_PRINTED),
              derived=_matrix(steps.final),
              reading="The printed tensor is float32 (1., 4., ...); read as the integer matrix.",
              derivation=sum_derivation(steps),
              checks=(Check("model", "nnx.ConvTranspose(transpose_kernel=True) with the same "
                            "kernel", "assignment example", np.array_equal(flax_y, steps.final),
                            f"{flax_y.astype(int).tolist()}"),
                      Check("numpy", "matrix view: C^T vec(x), C the direct convolution's "
                            "matrix", "assignment example", np.array_equal(matrix_y, steps.final),
                            f"{matrix_y.astype(int).tolist()}"))),
    ]


def eval_list(text: str) -> list:
    """A nested list of integers written as Python (``[[1, 2], [3, 4]]``), without eval."""
    rows = re.findall(r"\[([^\[\]]*)\]", text)
    return [[int(v) for v in r.split(",")] for r in rows]


def _figure(steps: ScatterSteps) -> plt.Figure:
    n = len(steps.steps)
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n + 0.8, 2.2), constrained_layout=True)
    values = np.stack([st.running for st in steps.steps])
    lo, hi = min(0, int(values.min())), int(values.max())
    for t, (ax, st) in enumerate(zip(axes, steps.steps), start=1):
        im = ax.imshow(st.running, cmap="viridis", vmin=lo, vmax=hi)
        for (r, c), v in np.ndenumerate(st.running):
            ax.text(c, r, str(int(v)), ha="center", va="center", fontsize=8,
                    color="white" if v < (lo + hi) / 2 else "black")
        ax.add_patch(plt.Rectangle((st.cols.start - 0.5, st.rows.start - 0.5), len(st.cols),
                                   len(st.rows), fill=False, ec="tab:red", lw=2))
        ax.set_title(f"step {t}: + {st.value} w", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="output value")
    return fig


def build() -> Proof:
    text = SOURCE.read_text(encoding="utf-8")
    steps = scatter_steps(X, KERNEL)
    flax_y = _flax(X, KERNEL)
    matrix_y = transpose_matrix_view(X.shape, KERNEL).apply(X)
    default_y = _flax(X, KERNEL, transpose_kernel=False)
    claims = _size_claims(steps, question_matrices(text), flax_y)
    claims += [_step_claim(steps, t) for t in range(1, len(steps.steps) + 1)]
    claims += _code_claims(steps, text, flax_y, matrix_y)
    claims.append(Claim(
        id="q3c.flax_default", statement="Flax's default transpose_kernel=False on the same "
        "input and kernel (not PyTorch's conv_transpose2d).",
        derived=sp.ImmutableMatrix(default_y.tolist()),
        derivation=Derivation((Step("Flax default", "Y_{flax}", _matrix(default_y)),)),
        checks=(Check("model", "differs from the PyTorch-semantics result", "assignment example",
                      not np.array_equal(default_y, steps.final)),),
        note="Flax's default does not flip the kernel: it is the scatter of the kernel rotated "
             "by 180 degrees. Use transpose_kernel=True (symconv does) for PyTorch semantics."))
    lo = min(0, int(min(st.running.min() for st in steps.steps)))
    hi = int(max(st.running.max() for st in steps.steps))
    fig = Figure("q3c_transposed", "Transposed convolution of the question's 2 x 2 input with "
                 "its 2 x 2 filter: the 3 x 3 output after each of the four steps; the red "
                 "square is the block x[i, j] w just added, and one colour scale, from "
                 f"{lo} to {hi} (the range of every step's values), serves all four panels.",
                 lambda: _figure(steps))
    return Proof("Q3", "c", "Transposed convolution, step by step", tuple(claims),
                 figures=(fig,), tables=(scatter_table(steps),))
