"""Q1 part A: output size and cost of a K x K, stride-1, 'same'-padded convolution.

The source says the output is H x W x N and the cost H * W * N * K * K * M multiply-accumulates,
K * K * M per output element. The toolkit derives each from the Conv2D layer's own formulas,
checks the shapes with ``jax.eval_shape`` (symbolic H, W too) and the cost with XLA's
lowered-HLO count. It adds the exact convention (taps on zero padding excluded, what XLA counts
for the layer as written), with the taps lost to padding, mu, defined and counted.
"""

from __future__ import annotations

import jax
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, same_pads
from symconv.algebra.symbols import H, Ho, K, M, N, W, Wo, p
from symconv.checks import xla
from symconv.models import flax_layer
from symconv.report.proof import Check, Claim, Derivation, Proof, Step, sample_check

from ._q1_common import block, mu_definition, mu_stride_one, steps

Q, PART = "Q1", "a"

# Points at which the compiler side is sampled: odd and even kernels, square and not.
POINTS = [
    dict(H=h, W=w, M=m, N=n, K=k)
    for (h, w, m, n, k) in [
        (8, 8, 3, 4, 3), (7, 5, 2, 3, 5), (6, 9, 1, 2, 1), (10, 6, 3, 2, 7),
        (5, 5, 2, 2, 2), (9, 4, 1, 3, 4), (12, 12, 4, 1, 3), (3, 11, 2, 5, 5),
    ]
]
ODD_POINTS = [pt for pt in POINTS if pt["K"] % 2 == 1]

# The source's words (proofs/source/assignment3.txt, Q1 part A solution), verbatim.
QUOTE_SPATIAL = block(
    "The output spatial dimensions remain the same as the input when same padding is used, "
    "so the output dimensions are:",
    r"$$\text{Output Height (H')} = H$$",
    r"$$\text{Output Width (W')} = W$$")
QUOTE_CHANNELS = block(
    "Since the number of filters in the layer is N , the number of output channels is:",
    r"$$\text{Output Channels} = N$$")
QUOTE_SHAPE = block("Thus, the final output size is:", r"$$H \times W \times N$$")
QUOTE_PER_OUTPUT = ("The number of operations required to compute a single output element is "
                    "equal to the number of weights in the kernel, which is $K \\times K "
                    "\\times M$")
QUOTE_COST = r"$$\text{Total Operations} = H \times W \times N \times K \times K \times M$$"


def _layer(pt: dict) -> Conv2D:
    return Conv2D(pt["M"], pt["N"], pt["K"], padding="SAME", use_bias=False)


def _xla_same(pt: dict) -> int:
    spec = _layer(pt)
    model = xla.abstract(lambda: flax_layer(spec, rngs=nnx.Rngs(0)))
    return xla.flops(model, (1, pt["H"], pt["W"], pt["M"]))


def _xla_zero_padded(pt: dict) -> int:
    """FLOPs of the same conv on an input padded with explicit zeros, then 'VALID'.

    The zeros are now real input, so XLA counts every tap: the dense convention.
    """
    (t, b), (l, r) = (same_pads(pt["H"], pt["K"], 1, 1), same_pads(pt["W"], pt["K"], 1, 1))
    conv = nnx.eval_shape(lambda: nnx.Conv(pt["M"], pt["N"], (pt["K"],) * 2, padding="VALID",
                                           use_bias=False, rngs=nnx.Rngs(0)))

    class Padded(nnx.Module):
        def __init__(self):
            self.conv = conv

        def __call__(self, x):
            # lax.pad with a float constant: no convert op, so no stray FLOP (jnp.pad adds one)
            return self.conv(jax.lax.pad(x, 0.0, ((0, 0, 0), (t, b, 0), (l, r, 0), (0, 0, 0))))

    return xla.flops(Padded(), (1, pt["H"], pt["W"], pt["M"]))


def _symbolic_shape_check() -> Check:
    failures = []
    for k in (1, 2, 3, 5, 7):
        model = xla.abstract(lambda k=k: nnx.Conv(3, 4, (k, k), padding="SAME", use_bias=False,
                                                  rngs=nnx.Rngs(0)))
        got = xla.output_shape(model, "B, H, W, 3")
        want = (sp.Symbol("B", integer=True, positive=True), H, W, 4)
        if not all(sp.simplify(sp.Integer(a) - b if isinstance(a, int) else a - b) == 0
                   for a, b in zip(got, want)):
            failures.append(f"K={k}: eval_shape gave {got}")
    return Check("model", "jax.eval_shape of nnx.Conv(padding='SAME') with symbolic B, H, W "
                 "(jax.export.symbolic_shape) gives (B, H, W, N)", "K in {1, 2, 3, 5, 7}, M=3, N=4",
                 not failures, "; ".join(failures))


def _concrete_shape_check() -> Check:
    return sample_check("model", "algebra output shape == jax.eval_shape at concrete sizes",
                        POINTS,
                        lambda pt: tuple(_layer(pt).output_shape((pt["H"], pt["W"]))),
                        lambda pt: tuple(xla.output_shape(
                            xla.abstract(lambda: flax_layer(_layer(pt), rngs=nnx.Rngs(0))),
                            (1, pt["H"], pt["W"], pt["M"]), sympy=False)[1:]))


def _shape_claims(conv: Conv2D, shape_checks: tuple[Check, ...]) -> list[Claim]:
    out_shape = tuple(conv.output_shape((H, W)))
    pads = ("pad_total_h", "pad_lo_h", "pad_hi_h")
    return [
        Claim(
            id="q1a.spatial",
            statement="With stride 1 and same padding the output keeps the input's height and "
                      "width: H' = H, W' = W.",
            quote=QUOTE_SPATIAL,
            reading="'Same padding' as XLA's 'SAME' at the question's stride 1: K - 1 pixels "
                    "of padding per axis, the odd one after the image.",
            stated=(H, W), derived=out_shape[:2],
            derivation=Derivation(steps(conv, (H, W), "out_h", *pads, "out_w")),
            note="At stride S 'SAME' gives ceil(H/S) x ceil(W/S): the size stays the same only "
                 "at stride 1, which the question fixes.",
            checks=shape_checks),
        Claim(
            id="q1a.channels",
            statement="One output channel per filter: N output channels.",
            quote=QUOTE_CHANNELS, stated=N, derived=out_shape[2],
            derivation=Derivation((
                Step("each of the N filters gives one output map", r"\mathrm{channels}", N),
                *steps(conv, (H, W), "shape"))),
            checks=shape_checks[:1]),
        Claim(
            id="q1a.output_size",
            statement="A K x K convolution with stride 1 and same padding maps H x W x M to "
                      "H x W x N.",
            quote=QUOTE_SHAPE, stated=(H, W, N), derived=out_shape,
            derivation=Derivation((
                Step("height and width (q1a.spatial)", r"H' \times W'", out_shape[:2]),
                Step("one channel per filter (q1a.channels)", r"\mathrm{channels}", N),
                *steps(conv, (H, W), "shape"))),
            checks=shape_checks),
    ]


def _cost_claims(conv: Conv2D) -> list[Claim]:
    dense = conv.macs((H, W), "dense")
    weights = conv.weight_count()
    per_output = sp.simplify(dense / (H * W * N))
    general = Ho * Wo * N
    cost_steps = steps(conv, (H, W), "macs_dense")
    return [
        Claim(
            id="q1a.per_output",
            statement="Each output element costs one multiply-accumulate per kernel weight: "
                      "K * K * M.",
            quote=QUOTE_PER_OUTPUT, stated=K * K * M, derived=per_output, unit="MACs",
            reading="In the dense convention: every tap counted, also those on padded zeros "
                    "(an output at the border has fewer taps on real input: q1a.cost_exact).",
            derivation=Derivation((
                *steps(conv, (H, W), "weights"),
                Step("weights of one filter (divide by its N filters)",
                     r"\mathrm{weights} / N", sp.Mul(weights, 1 / N, evaluate=False)),
                Step("weights of one filter: result", r"\mathrm{weights} / N", weights / N),
                *cost_steps,
                Step("per output element: the MACs over the H' W' N outputs",
                     r"\mathrm{MACs}_{dense} / (H' W' N)",
                     sp.Mul(dense, 1 / general, evaluate=False), {Ho: H, Wo: W}),
                Step("per output element: result", r"\mathrm{MACs}_{dense} / (H' W' N)",
                     per_output))),
            checks=(
                Check("sympy", "dense MACs / (H' W' N) equals the weights of one filter "
                      "(difference simplifies to 0)", "symbolic H, W, M, N, K",
                      sp.simplify(per_output - weights / N) == 0),
                sample_check("xla", "XLA FLOPs of the conv on an explicitly zero-padded input "
                             "('VALID': every tap real) / (2 H W N) equals K K M", POINTS,
                             lambda pt: int(per_output.subs(_subs(pt))),
                             lambda pt: _xla_zero_padded(pt) // (2 * pt["H"] * pt["W"]
                                                                 * pt["N"])),
            )),
        Claim(
            id="q1a.cost",
            statement="The cost is H * W * N * K * K * M multiply-accumulate operations.",
            quote=QUOTE_COST, stated=H * W * N * K * K * M, derived=dense, unit="MACs",
            reading="Dense convention (every tap counted, padded zeros included), as line 49 "
                    "counts K x K x M operations for every output element.",
            derivation=Derivation(cost_steps),
            checks=(
                sample_check("xla", "2 x dense MACs == XLA FLOPs of the conv on an explicitly "
                             "zero-padded input with 'VALID' padding (zeros are then real taps)",
                             POINTS, lambda pt: 2 * int(dense.subs(_subs(pt))),
                             _xla_zero_padded),
            )),
    ]


def _exact_claim() -> Claim:
    odd = Conv2D(M, N, 2 * p + 1, padding="SAME", use_bias=False)
    from_algebra = odd.macs((H, W), "exact")
    exact = M * N * (K * H - p * (p + 1)) * (K * W - p * (p + 1))  # the readable form
    identity = sp.expand(exact.subs(K, 2 * p + 1) - from_algebra) == 0
    lost = sp.expand(K**2 * H * W - (K * H - p * (p + 1)) * (K * W - p * (p + 1)))
    on_padding = p * (p + 1) * (K * (H + W) - p * (p + 1))  # the same, as the note reads it
    shape = (H, W)
    derivation = Derivation((
        *steps(odd, shape, "pad_lo_h", "pad_hi_h", "overshoot_h"),
        mu_definition(),
        *mu_stride_one(),
        *steps(odd, shape, "taps_h", "macs_exact"),
        Step("the same, written with K = 2p + 1", r"\mathrm{MACs}_{exact}", exact),
    ))
    return Claim(
        id="q1a.cost_exact",
        statement="Taps that land on zero padding multiply zeros; XLA does not count them. For "
                  "odd K = 2p + 1 the exact count is (K H - p(p+1)) (K W - p(p+1)) M N.",
        derived=exact, unit="MACs",
        note="Per axis the K H (output, tap) pairs lose mu(p) = p(p+1)/2 on each side: tap k "
             "(k < p) of the first p - k outputs reads the p pixels of padding. The overshoot r "
             "is 0 at stride 1 (the last window ends on the last padded pixel). The dense count "
             "exceeds the exact one by p(p+1) (K (H + W) - p(p+1)) M N MACs, the taps on padding. "
             "Valid when H, W >= p. mu(p) = p(p+1)/2 holds for stride 1 and dilation 1 only: "
             "at stride 2 the outputs move 2 pixels at a time and fewer taps fall on the "
             "padding (q1b.cost_exact.L1).",
        derivation=derivation,
        checks=(
            Check("sympy", "the readable form equals the algebra's exact count at K = 2p + 1 "
                  "(expanded difference is 0)", "symbolic H, W, M, N, p", identity),
            Check("sympy", "dense minus exact per channel pair equals p(p+1)(K(H + W) - p(p+1))",
                  "symbolic H, W, K, p", sp.expand(lost - on_padding) == 0),
            sample_check("xla", "2 x exact MACs == XLA FLOPs (lowered HLO) of nnx.Conv 'SAME'",
                         ODD_POINTS,
                         lambda pt: 2 * int(exact.subs({**_subs(pt), p: (pt["K"] - 1) // 2})),
                         _xla_same),
        ),
    )


def build() -> Proof:
    conv = Conv2D(M, N, K, padding="SAME", use_bias=False)
    shape_checks = (_symbolic_shape_check(), _concrete_shape_check())
    claims = _shape_claims(conv, shape_checks) + _cost_claims(conv) + [_exact_claim()]
    return Proof(Q, PART, "Output size and cost of a same-padded convolution", tuple(claims))


def _subs(pt: dict) -> dict:
    return {H: pt["H"], W: pt["W"], M: pt["M"], N: pt["N"], K: pt["K"]}


if __name__ == "__main__":  # pragma: no cover
    for claim in build().claims:
        print(claim.id, claim.verdict.value, [c.passed for c in claim.checks])
    jax.clear_caches()
