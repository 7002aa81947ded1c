"""Q1(B)'s receptive fields: the source's recursion against the right one, and each layer's
field derived as the sum 1 + (K_1 - 1) j_0 + (K_2 - 1) j_1 + ... with its numbers."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import sympy as sp

from symconv.algebra import receptive
from symconv.checks.measure import predicted_window
from symconv.report.proof import Check, Claim, Derivation, Step

from ._q1_common import block

_pos = dict(integer=True, positive=True)
R0 = sp.Symbol("r_0", **_pos)
RL, RPREV = sp.Symbol("r_l", **_pos), sp.Symbol("r_{l-1}", **_pos)
KL, SL = sp.Symbol("K_l", **_pos), sp.Symbol("S_l", **_pos)
JL, JPREV = sp.Symbol("j_l", **_pos), sp.Symbol("j_{l-1}", **_pos)

QUOTE_FORMULA = block(
    r"$$R_l = R_{l-1} + (K - 1) \cdot S_{l-1},$$", "where:",
    "- R_{l-1} is the receptive field size of the previous layer.\n- K is the kernel size.\n"
    "- S_{l-1} is the stride of the previous layer.")
QUOTE_LAYER = {
    1: block("- For the first convolutional layer:", "$$R_1 = 5.$$"),
    2: block("- For the second convolutional layer:", r"$$R_2 = 5 + (5 - 1) \times 2 = 13.$$"),
    3: block("- For the third convolutional layer:", r"$$R_3 = 13 + (5 - 1) \times 2 = 21.$$"),
}
STATED = {1: 5, 2: 13, 3: 21}
CITE = ("araujo2019", "section 'Single-path networks'")
CORRECTION_FORMULA = (
    "The source adds (K - 1) S_{l-1}: layer l's extra taps times the previous layer's stride "
    "alone. Neighbouring outputs of layer l - 1 lie j_{l-1} = S_1 S_2 ... S_{l-1} input pixels "
    "apart (every earlier stride multiplies the spacing), so layer l's K_l - 1 extra taps widen "
    "the field by (K_l - 1) j_{l-1}. The two agree while at most one earlier layer has a stride "
    "above 1 (layers 1 and 2 here) and differ from layer 3 on, by (K_3 - 1) S_2 (S_1 - 1).")
CORRECTION_R3 = (
    "The source computes R_3 = 13 + (5 - 1) x 2 = 21, multiplying layer 3's 4 extra taps by "
    "layer 2's stride alone. Neighbouring outputs of layer 2 are 4 input pixels apart (the "
    "strides of layers 1 and 2 multiply: j_2 = 2 x 2), so the 4 extra taps widen the field by "
    "4 x 4 = 16 pixels: R_3 = 13 + 16 = 29 = 1 + 4 x 1 + 4 x 2 + 4 x 4. The gradient of one "
    "layer-3 output of the real network is non-zero on exactly 29 input rows.")


def _recursion() -> tuple[Step, ...]:
    return (
        Step("recursion: layer l adds K_l - 1 taps, j_{l-1} input pixels apart", "r_l",
             RPREV + (KL - 1) * JPREV),
        Step("jump: input pixels between neighbouring outputs of layer l", "j_l", JPREV * SL),
        Step("before the first layer: one pixel, one pixel apart", "r_0 = j_0", 1))


def field_steps(windows, n: int, expected) -> tuple[Step, ...]:
    """The field of layer ``n`` as the sum of each layer's extra taps times its jump, with the
    kernels and strides of the layers' own windows put in; the total must equal
    ``expected`` (the algebra's field, from the recursion in symconv.algebra.receptive)."""
    ks = [sp.Symbol(f"K_{i}", **_pos) for i in range(1, n + 1)]
    js = [sp.Symbol(f"j_{i}", **_pos) for i in range(n)]
    jumps = [1]
    out = list(_recursion())
    for i, w in enumerate(windows[: n - 1], 1):
        jumps.append(jumps[-1] * w.stride)
        out.append(Step(f"jump after layer {i}: j_{i - 1} S_{i}", f"j_{i}",
                        sp.Mul(jumps[-2], w.stride, evaluate=False)))
        out.append(Step(f"jump after layer {i}: result", f"j_{i}", jumps[-1]))
    general = sp.Add(R0, *[sp.Mul(k - 1, j, evaluate=False) for k, j in zip(ks, js)],
                     evaluate=False)
    names = {R0: 1, **{k: w.kernel for k, w in zip(ks, windows)}, **dict(zip(js, jumps))}
    terms = [sp.Mul(w.kernel - 1, j, evaluate=False) for w, j in zip(windows[:n], jumps)]
    total = 1 + sum((w.kernel - 1) * j for w, j in zip(windows[:n], jumps))
    if total != expected:  # the sum written out and the algebra's recursion: two computations
        raise AssertionError(f"r_{n}: the sum gives {total}, the algebra {expected}")
    lhs = f"r_{n}"
    return (*out,
            Step("unrolled", lhs, general),
            Step("substitution (kernels and jumps of the layers)", lhs, general, names),
            Step("the terms", lhs, sp.Add(1, *terms, evaluate=False)),
            Step("result", lhs, total))


def rf_claims(table, cfg, in_shape, gradient_rows: Callable) -> list[Claim]:
    """The formula claim and one claim per layer (gradient support of the real network)."""
    rows = [table.rows[2 * i] for i in range(3)]
    windows = [row.field_h.windows[-1] for row in rows]
    ks = sp.symbols("K_1:4", **_pos)
    ss = sp.symbols("S_1:4", **_pos)
    source_r, right_r, prev_s = 1, receptive.closed_form(ks, ss), 1
    for k, s in zip(ks, ss):
        source_r, prev_s = source_r + (k - 1) * prev_s, s
    f = receptive.IDENTITY
    for k, s in zip(ks, ss):
        f = receptive.step(f, receptive.Window(k, s, 1, 0))
    claims = [Claim(
        id="q1b.rf.formula",
        statement="R_l = R_{l-1} + (K - 1) * S_{l-1}, S_{l-1} the stride of the previous layer.",
        quote=QUOTE_FORMULA, stated=sp.expand(source_r), derived=right_r,
        reading="Unrolled over three layers with kernels K_1, K_2, K_3 and strides S_1, S_2, "
                "S_3, from R_0 = 1 (the source's R_1 = 5 = K).",
        correction=CORRECTION_FORMULA, cite=CITE,
        derivation=Derivation((
            *_recursion(),
            Step("the source's recursion, unrolled", "R_3", sp.expand(source_r)),
            Step("the recursion with jumps, unrolled", "r_3", right_r),
            Step("difference", "r_3 - R_3", sp.factor(right_r - source_r)))),
        checks=(Check("sympy", "the recursion of symconv.algebra.receptive (r' = r + (K - 1) j, "
                      "j' = j S) expands to 1 + sum (K_l - 1) prod_{i<l} S_i",
                      "symbolic K_1..3, S_1..3", sp.expand(f.size - right_r) == 0),))]
    n = in_shape[0]
    for layer, row in enumerate(rows, 1):
        fld = row.field_h
        unit = (min(3, row.output_shape[0] - 1),) * 2
        r0, r1 = gradient_rows(layer, unit)
        p0, p1 = predicted_window(fld.size, fld.jump, fld.start, unit[0], n)
        refuted = STATED[layer] != fld.size
        claims.append(Claim(
            id=f"q1b.rf.L{layer}",
            statement=f"Receptive field of layer {layer}: R_{layer} = {STATED[layer]}.",
            quote=QUOTE_LAYER[layer], stated=STATED[layer], derived=fld.size, unit="pixels",
            correction=CORRECTION_R3 if refuted else "", cite=CITE,
            derivation=Derivation(field_steps(windows, layer, fld.size)),
            checks=(Check("model", "rows where d y[0, i, j, 0] / d x != 0 in the Flax network "
                          "(positive weights, ones input) equal the predicted window",
                          f"unit {unit}, input {n}x{n}", (r0, r1) == (p0, p1),
                          f"gradient rows {r0}..{r1} ({r1 - r0 + 1} rows), predicted "
                          f"{p0}..{p1}"),)))
    return claims


def rf_figure(table) -> plt.Figure:
    rows = [r for r in table.rows if r.kind != "ReLU"]
    fig, ax = plt.subplots()
    layers = range(1, len(rows) + 1)
    ax.plot(layers, [r.field_h.size for r in rows], "o-", label="receptive field r (derived)")
    ax.plot(layers, [STATED[i] for i in layers], "s--", label="source's R_l")
    ax.plot(layers, [r.field_h.jump for r in rows], "^:", label="jump j (effective stride)")
    ax.set_xticks(list(layers))
    ax.set_xlabel("conv layer")
    ax.set_ylabel("input pixels")
    ax.legend()
    ax.set_title("Receptive field growth, three 5x5 stride-2 convs")
    return fig
