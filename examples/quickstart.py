"""Quickstart: a closed form, its value, and the check against Flax NNX and XLA."""

from symconv import Conv2D, SeparableConv2D, derive
from symconv.algebra.symbols import H, K, M, N, W
from symconv.report.notation import derivation_latex, derivation_markdown
from symconv.testing import assert_matches_xla

# Symbolic: a K x K, stride-2, 'SAME' convolution on H x W x M.
conv = Conv2D(M, N, K, strides=2, padding="SAME", use_bias=False)
print("output shape:", conv.output_shape((H, W)))        # (ceiling(H/2), ceiling(W/2), N)
print("dense MACs:  ", conv.macs((H, W)))                 # K**2*M*N*ceiling(H/2)*ceiling(W/2)

# Concrete: the first layer of the assignment's network (128x128x3, 5x5, stride 2, pad 2, 64).
layer1 = Conv2D(3, 64, 5, strides=2, padding=2)
print("layer 1:", layer1.output_shape((128, 128)), layer1.param_count(), "params,",
      f"{layer1.macs((128, 128)):,} dense MACs, {layer1.macs((128, 128), 'exact'):,} exact MACs")

# The verification triangle: algebra == jax.eval_shape == XLA's lowered-HLO FLOP count.
assert_matches_xla(layer1, (1, 128, 128, 3))
print("layer 1 matches Flax NNX and XLA")

# Depthwise separable over standard, derived and simplified by SymPy.
print("MAC ratio:", SeparableConv2D(M, N, K, padding="SAME", use_bias=False).ratio("macs", (H, W)))

# The same layer's derivation (general formula, substitution, result) for your own report.
derivation = derive(layer1, (128, 128))
print(derivation_latex(derivation, display=True))  # \[ \begin{aligned} H' &= ... \]
print(derivation_markdown(derivation))
