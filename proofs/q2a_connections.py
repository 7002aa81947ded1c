"""Q2 part (a): residual against dense connections — what each does to a block's shape, from
the algebra and from the Flax blocks; the design rationale reported as a judgement.
"""

from __future__ import annotations

from flax import nnx

from symconv.algebra.blocks import DenseBlock, ResidualBlock
from symconv.algebra.nets.densenet import DenseNetConfig
from symconv.checks import xla
from symconv.report.proof import Basis, Check, Claim, Derivation, Proof, Step


def build() -> Proof:
    res, dense = ResidualBlock(64, 64), DenseBlock(64, 6, 32)
    shape_res = tuple(res.output_shape((56, 56, 64)))
    shape_dense = tuple(dense.output_shape((56, 56, 64)))
    from symconv.models.densenet import DenseBlockModule
    from symconv.models.resnet import ResidualBlockModule

    m_res = xla.abstract(lambda: ResidualBlockModule(64, 64, 1, "basic", False, nnx.Rngs(0)))
    m_dense = xla.abstract(lambda: DenseBlockModule(64, 6, DenseNetConfig(), False, nnx.Rngs(0)))
    got_res = tuple(xla.output_shape(m_res, (1, 56, 56, 64), sympy=False)[1:])
    got_dense = tuple(xla.output_shape(m_dense, (1, 56, 56, 64), sympy=False)[1:])
    claims = (
        Claim(id="q2a.connections",
              statement="ResNet adds a block's input to its output; DenseNet concatenates every "
              "earlier layer's maps: a residual block keeps the channel count, a dense block of "
              "L layers adds L*k channels.",
              derived=(shape_res, shape_dense),
              derivation=Derivation((
                  Step("residual block, 64 channels", "x + F(x)", shape_res),
                  Step("dense block, k0 = 64, L = 6, k = 32", "[x, H_1, ..., H_6]",
                       shape_dense))),
              checks=(Check("model", "jax.eval_shape of the Flax residual and dense blocks",
                            "input 56x56x64", (got_res, got_dense) == (shape_res, shape_dense),
                            f"{got_res}, {got_dense}"),)),
        Claim(id="q2a.advantages",
              statement="Residual connections simplify optimisation; dense connections improve "
              "feature reuse.", basis=Basis.JUDGEMENT,
              note="Design rationale from the papers; the measurable parts are q2b.*.",
                  quote="TODO"),
    )
    return Proof("Q2", "a", "Residual against dense connections", claims)
