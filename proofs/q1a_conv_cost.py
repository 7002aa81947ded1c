"""Q1 part A: output size and cost of a K x K, stride-1, 'same'-padded convolution.

Source claims: the output is H x W x N, and the cost is H * W * N * K * K * M multiply-accumulates.
The toolkit derives both from the general Conv2D closed form, checks the shape with
``jax.eval_shape`` on symbolic H, W, and the cost with XLA's lowered-HLO count. It adds the exact
convention (taps on zero padding excluded), which is what XLA reports for the same layer.
"""

from __future__ import annotations

import jax
import sympy as sp
from flax import nnx

from symconv.algebra import Conv2D, same_pads
from symconv.algebra.symbols import H, K, M, N, W, p
from symconv.checks import xla
from symconv.models import flax_layer
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Derivation, Proof, Step, sample_check

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
    spec = _layer(pt)
    (t, b), (l, r) = (same_pads(pt["H"], pt["K"], 1, 1), same_pads(pt["W"], pt["K"], 1, 1))
    conv = nnx.eval_shape(lambda: nnx.Conv(pt["M"], pt["N"], (pt["K"],) * 2, padding="VALID",
                                           use_bias=False, rngs=nnx.Rngs(0)))

    class Padded(nnx.Module):
        def __init__(self):
            self.conv = conv

        def __call__(self, x):
            # lax.pad with a float constant: no convert op, so no stray FLOP (jnp.pad adds one)
            return self.conv(jax.lax.pad(x, 0.0, ((0, 0, 0), (t, b, 0), (l, r, 0), (0, 0, 0))))

    del spec
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


def build() -> Proof:
    conv = Conv2D(M, N, K, padding="SAME", use_bias=False)
    shape = conv.output_shape((H, W))
    shape_claim = Claim(
        id="q1a.output_size",
        statement="A K x K convolution with stride 1 and same padding maps H x W x M to H x W x N.",
        stated=(H, W, N),
        derived=tuple(shape),
        derivation=derive(conv, (H, W), keys=("out_h", "pad_total_h", "pad_lo_h", "pad_hi_h",
                                               "out_w", "shape")),
        checks=(
            _symbolic_shape_check(),
            sample_check("model", "algebra output shape == jax.eval_shape at concrete sizes",
                         POINTS,
                         lambda pt: tuple(_layer(pt).output_shape((pt["H"], pt["W"]))),
                         lambda pt: tuple(xla.output_shape(
                             xla.abstract(lambda: flax_layer(_layer(pt), rngs=nnx.Rngs(0))),
                             (1, pt["H"], pt["W"], pt["M"]), sympy=False)[1:])),
        ),
    quote="TODO", correction="TODO")
    dense = conv.macs((H, W), "dense")
    cost_claim = Claim(
        id="q1a.cost",
        statement="The cost is H * W * N * K * K * M multiply-accumulate operations "
                  "(every tap counted, padded zeros included: the dense convention).",
        stated=H * W * N * K * K * M,
        derived=dense,
        unit="MACs",
        derivation=derive(conv, (H, W), keys=("out_h", "out_w", "macs_dense")),
        checks=(
            sample_check("xla", "2 x dense MACs == XLA FLOPs of the conv on an explicitly "
                         "zero-padded input with 'VALID' padding (zeros are then real taps)",
                         POINTS, lambda pt: 2 * int(dense.subs(_subs(pt))), _xla_zero_padded),
        ),
    quote="TODO", correction="TODO")
    odd = Conv2D(M, N, 2 * p + 1, padding="SAME", use_bias=False)
    from_algebra = odd.macs((H, W), "exact")
    exact = M * N * (K * H - p * (p + 1)) * (K * W - p * (p + 1))  # the readable form
    identity = sp.expand(exact.subs(K, 2 * p + 1) - from_algebra) == 0
    exact_claim = Claim(
        id="q1a.cost_exact",
        statement="Taps that land on zero padding are not real work; XLA does not count them. "
                  "For odd K = 2p + 1 the exact count is (K H - p(p+1)) (K W - p(p+1)) M N.",
        stated=None,
        derived=exact,
        unit="MACs",
        note="Valid when H, W >= p; the difference from the dense count is "
             "(K^2 H W - (K H - p(p+1))(K W - p(p+1))) M N, the taps on padding.",
        derivation=_with_steps(
            derive(odd, (H, W), keys=("pad_lo_h", "pad_hi_h", "taps_h", "taps_w", "macs_exact")),
            Step("taps lost to p zeros (S = D = 1): the pairs (a, k) with a + k < p", r"\mu(p)",
                 p * (p + 1) / 2),
            Step("the same, written with K = 2p + 1", r"\mathrm{MACs}_{exact}", exact)),
        checks=(
            Check("sympy", "the readable form equals the algebra's exact count at K = 2p + 1 "
                  "(expanded difference is 0)", "symbolic H, W, M, N, p", identity),
            sample_check("xla", "2 x exact MACs == XLA FLOPs (lowered HLO) of nnx.Conv 'SAME'",
                         ODD_POINTS,
                         lambda pt: 2 * int(exact.subs({**_subs(pt), p: (pt["K"] - 1) // 2})),
                         _xla_same),
        ),
    )
    return Proof(Q, PART, "Output size and cost of a same-padded convolution",
                 (shape_claim, cost_claim, exact_claim))


def _with_steps(derivation: Derivation, *steps: Step) -> Derivation:
    return Derivation(derivation.steps + steps, derivation.assumptions)


def _subs(pt: dict) -> dict:
    return {H: pt["H"], W: pt["W"], M: pt["M"], N: pt["N"], K: pt["K"]}


if __name__ == "__main__":  # pragma: no cover
    for claim in build().claims:
        print(claim.id, claim.verdict.value, [c.passed for c in claim.checks])
    jax.clear_caches()
