r"""A transposed convolution worked step by step, and as the transpose of a matrix.

Scatter view (PyTorch's ``ConvTranspose2d`` semantics, one channel, no dilation): on a canvas
of the *uncropped* size, per axis

.. math::  L = (n - 1)S + K + P_o ,

every input element $x[i, j]$, in row-major order, adds the scaled kernel $x[i, j]\,w$ to the
$K_h \times K_w$ block whose top-left corner is $(iS_h,\ jS_w)$. The last $P_o$ rows (columns)
of the canvas receive nothing: they are the output padding. The result crops $P$ from each side:

.. math::  Y = \text{canvas}[P : L - P], \qquad O = L - 2P = (n - 1)S - 2P + K + P_o ,

i.e. $Y[o] = \sum_{i,k:\ iS + k - P = o} x[i]\, w[k]$, the output size of
:class:`symconv.algebra.ConvTranspose2D`.

Matrix view: the direct convolution (cross-correlation, stride $S$, padding $P$) from an
$O_h \times O_w$ input to an $n_h \times n_w$ output is a matrix $C$ of shape
$(n_h n_w) \times (O_h O_w)$ with $C[(i, j), (o, p)] = w[o - iS_h + P,\ p - jS_w + P]$ (zero
where that is outside the kernel). The transposed convolution is its transpose:
$\operatorname{vec}(Y) = C^\top \operatorname{vec}(x)$ (row-major ``vec``).

Everything is NumPy and exact for integer arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symconv.errors import (
    KernelLargerThanInputError,
    NonIntegerError,
    NonPositiveSizeError,
    OutputPaddingTooLargeError,
    ShapeMismatchError,
    SymconvError,
)

Pair = tuple[int, int]


def _pair(value: object, what: str, *, minimum: int) -> Pair:
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise SymconvError(f"{what}={value!r} must be an int or a (height, width) pair")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise NonIntegerError(f"{what}={value!r} must be integers")
        if v < minimum:
            cls = NonPositiveSizeError if minimum > 0 else SymconvError
            raise cls(f"{what}={value!r} must be >= {minimum}")
        out.append(int(v))
    return out[0], out[1]


def _matrix(value: object, what: str) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 2 or 0 in a.shape:
        raise ShapeMismatchError(f"{what} must be a non-empty 2-D array, got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise SymconvError(f"{what} must hold integers or floats, got dtype {a.dtype}")
    return a


def _geometry(x_shape, k_shape, stride, padding, output_padding):
    s = _pair(stride, "stride", minimum=1)
    p = _pair(padding, "padding", minimum=0)
    po = _pair(output_padding, "output_padding", minimum=0)
    canvas, out = [], []
    for axis, n, k, si, pi, poi in zip(("height", "width"), x_shape, k_shape, s, p, po):
        if poi >= si:
            raise OutputPaddingTooLargeError(
                f"output_padding={poi} along {axis} must be smaller than stride={si}")
        length = (n - 1) * si + k + poi
        if length - 2 * pi < 1:
            raise KernelLargerThanInputError(
                f"output {axis} (n-1)S - 2P + K + P_o = {length - 2 * pi} < 1 for n={n}, "
                f"S={si}, P={pi}, K={k}, P_o={poi}; reduce the padding")
        canvas.append(length)
        out.append(length - 2 * pi)
    return s, p, po, tuple(canvas), tuple(out)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class ScatterStep:
    """Input element ``x[index] = value`` adds ``contribution`` at ``rows``×``cols``."""

    index: Pair
    value: int | float
    contribution: np.ndarray  # value * kernel, (K_h, K_w)
    rows: range  # canvas rows the block covers
    cols: range
    running: np.ndarray  # the canvas after this step


@dataclass(frozen=True, slots=True, eq=False)
class ScatterSteps:
    """The scatter-add of a transposed convolution, one input element at a time.

    ``canvas_shape`` is the uncropped $(n-1)S + K + P_o$ per axis; ``final`` the output after
    cropping ``padding`` from each side. Plain data: a report turns the steps into a derivation
    (``proofs/q3c_transposed.py``); :meth:`markdown` writes a walk-through for a terminal.
    """

    x: np.ndarray
    kernel: np.ndarray
    stride: Pair
    padding: Pair
    output_padding: Pair
    canvas_shape: Pair
    steps: tuple[ScatterStep, ...]
    final: np.ndarray

    @property
    def canvas(self) -> np.ndarray:
        """The uncropped canvas after the last step."""
        return self.steps[-1].running

    @property
    def output_shape(self) -> Pair:
        return self.final.shape  # type: ignore[return-value]

    def _size_text(self, times: str = "·") -> list[tuple[str, str]]:
        (nh, nw), (kh, kw) = self.x.shape, self.kernel.shape
        sizes = []
        for n, k, s, p, po, c in zip((nh, nw), (kh, kw), self.stride, self.padding,
                                     self.output_padding, self.canvas_shape):
            sizes.append((f"({n}-1){times}{s} + {k} + {po} = {c}",
                          f"{c} - 2{times}{p} = {c - 2 * p}"))
        return sizes

    def markdown(self) -> str:
        """A Markdown walk-through: sizes, then each step's block and running canvas."""
        sizes = self._size_text()
        lines = [
            f"Transposed convolution of a {self.x.shape[0]}×{self.x.shape[1]} input with a "
            f"{self.kernel.shape[0]}×{self.kernel.shape[1]} kernel, stride {self.stride}, "
            f"padding {self.padding}, output padding {self.output_padding}.",
            "",
            f"- canvas (n−1)S + K + P_o: {sizes[0][0]} rows × {sizes[1][0]} columns, zeros",
            f"- output after cropping P from each side: {sizes[0][1]} × {sizes[1][1]}",
            "",
            "x =", "", _block(self.x), "", "w =", "", _block(self.kernel), "",
        ]
        for t, st in enumerate(self.steps, start=1):
            i, j = st.index
            lines += [
                f"**Step {t}.** x[{i},{j}] = {st.value}: add {st.value}·w =", "",
                _block(st.contribution), "",
                f"at rows {st.rows.start}–{st.rows.stop - 1}, columns "
                f"{st.cols.start}–{st.cols.stop - 1}; the canvas is now", "",
                _block(st.running), "",
            ]
        ph, pw = self.padding
        lines += [f"**Result.** Crop {ph} row(s) and {pw} column(s) from each side:", "",
                  _block(self.final)]
        return "\n".join(lines) + "\n"


def _block(a: np.ndarray) -> str:
    cells = [[_fmt(v) for v in row] for row in np.asarray(a)]
    width = max(len(c) for row in cells for c in row)
    body = "\n".join("[ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells)
    return "```\n" + body + "\n```"


def _fmt(v) -> str:
    return str(int(v)) if isinstance(v, (int, np.integer)) else repr(float(v))


def scatter_steps(x, kernel, stride: int | Pair = 1, padding: int | Pair = 0,
                  output_padding: int | Pair = 0) -> ScatterSteps:
    r"""Run a single-channel transposed convolution as a scatter-add, keeping every step.

    Per axis: canvas $L = (n-1)S + K + P_o$, element $x[i, j]$ adds $x[i, j]\,w$ at
    $[iS_h, iS_h + K_h) \times [jS_w, jS_w + K_w)$, and the output is the canvas cropped by
    $P$ per side, $O = (n-1)S - 2P + K + P_o$ (PyTorch ``ConvTranspose2d``).

    Args:
      x: 2-D input (integers stay exact).
      kernel: 2-D kernel $w$, used as is (the scatter view never flips it).
      stride, padding, output_padding: ints or ``(h, w)`` pairs; $0 \le P_o < S$.

    Returns:
      :class:`ScatterSteps` with one :class:`ScatterStep` per input element (row-major).

    Raises:
      SymconvError: arrays not 2-D, stride < 1, negative padding, $P_o \ge S$, output < 1.

    The assignment's Q3(c) (stride 1, no padding):

    >>> r = scatter_steps([[1, 2], [3, 4]], [[1, 2], [3, 4]])
    >>> r.canvas_shape, r.final.tolist()
    ((3, 3), [[1, 4, 4], [6, 20, 16], [9, 24, 16]])
    >>> [s.running.tolist() for s in r.steps[:2]]
    [[[1, 2, 0], [3, 4, 0], [0, 0, 0]], [[1, 4, 4], [3, 10, 8], [0, 0, 0]]]
    """
    x = _matrix(x, "x")
    w = _matrix(kernel, "kernel")
    s, p, po, canvas_shape, out_shape = _geometry(x.shape, w.shape, stride, padding,
                                                  output_padding)
    dtype = np.result_type(x.dtype, w.dtype)
    canvas = np.zeros(canvas_shape, dtype=dtype)
    steps = []
    kh, kw = w.shape
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            value = x[i, j]
            block = (value * w).astype(dtype)
            rows = range(i * s[0], i * s[0] + kh)
            cols = range(j * s[1], j * s[1] + kw)
            canvas[rows.start:rows.stop, cols.start:cols.stop] += block
            steps.append(ScatterStep((i, j), value.item(), _frozen(block), rows, cols,
                                     _frozen(canvas)))
    final = canvas[p[0]:p[0] + out_shape[0], p[1]:p[1] + out_shape[1]]
    return ScatterSteps(_frozen(x), _frozen(w), s, p, po, canvas_shape, tuple(steps),
                        _frozen(final))


@dataclass(frozen=True, slots=True, eq=False)
class MatrixView:
    r"""The direct convolution as a matrix $C$, $(n_h n_w) \times (O_h O_w)$.

    ``C @ vec(z)`` is the strided, padded cross-correlation of an $O_h \times O_w$ image ``z``
    with the kernel; ``C.T @ vec(x)`` is the transposed convolution of ``x`` (:meth:`apply`).
    """

    matrix: np.ndarray
    input_shape: Pair  # x's shape, the transposed conv's input
    output_shape: Pair  # the transposed conv's output

    @property
    def transpose(self) -> np.ndarray:
        return self.matrix.T

    def apply(self, x) -> np.ndarray:
        r"""$C^\top \operatorname{vec}(x)$, reshaped to ``output_shape``."""
        x = _matrix(x, "x")
        if x.shape != self.input_shape:
            raise ShapeMismatchError(f"x shape {x.shape} must be {self.input_shape}")
        return (self.matrix.T @ x.reshape(-1)).reshape(self.output_shape)

    def direct(self, z) -> np.ndarray:
        r"""$C \operatorname{vec}(z)$: the direct convolution, reshaped to ``input_shape``."""
        z = _matrix(z, "z")
        if z.shape != self.output_shape:
            raise ShapeMismatchError(f"z shape {z.shape} must be {self.output_shape}")
        return (self.matrix @ z.reshape(-1)).reshape(self.input_shape)


def transpose_matrix_view(x_shape: Pair, kernel, stride: int | Pair = 1,
                          padding: int | Pair = 0, output_padding: int | Pair = 0
                          ) -> MatrixView:
    r"""Build $C$ with $C[(i, j), (o, p)] = w[o - iS_h + P_h,\ p - jS_w + P_w]$ (dense NumPy).

    $C$ maps an $O_h \times O_w$ image to the $n_h \times n_w$ output of the direct
    convolution (stride $S$, padding $P$; $P_o$ only sets $O$); the transposed convolution of
    ``x`` is $C^\top \operatorname{vec}(x)$. Meant for small sizes: $C$ has
    $n_h n_w O_h O_w$ entries.

    >>> view = transpose_matrix_view((2, 2), [[1, 2], [3, 4]])
    >>> view.matrix.shape, view.matrix[0].tolist()
    ((4, 9), [1, 2, 0, 3, 4, 0, 0, 0, 0])
    >>> view.apply([[1, 2], [3, 4]]).tolist()
    [[1, 4, 4], [6, 20, 16], [9, 24, 16]]
    """
    w = _matrix(kernel, "kernel")
    x_shape = tuple(int(n) for n in x_shape)
    if len(x_shape) != 2 or min(x_shape) < 1:
        raise ShapeMismatchError(f"x_shape={x_shape} must be two positive sizes")
    s, p, _, _, (oh, ow) = _geometry(x_shape, w.shape, stride, padding, output_padding)
    nh, nw = x_shape
    kh, kw = w.shape
    c = np.zeros((nh * nw, oh * ow), dtype=w.dtype)
    for i in range(nh):
        for j in range(nw):
            for a in range(kh):
                o = i * s[0] + a - p[0]
                if not 0 <= o < oh:
                    continue
                for b in range(kw):
                    q = j * s[1] + b - p[1]
                    if 0 <= q < ow:
                        c[i * nw + j, o * ow + q] = w[a, b]
    return MatrixView(_frozen(c), (nh, nw), (oh, ow))
