"""U-Net in Flax NNX (Ronneberger et al., 2015, Fig. 1): unpadded ('VALID') as in the paper, or
padded ('SAME'); configurable depth, base width and classes. The algebra is
:class:`symconv.algebra.nets.unet.UNetGraph` (same hyper-parameters).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.nets.unet import UNetGraph, check_unet_input


def center_crop(x: jax.Array, h: int, w: int) -> jax.Array:
    """The central ``h`` x ``w`` window of an NHWC map (the paper's crop of a skip)."""
    top, left = (x.shape[1] - h) // 2, (x.shape[2] - w) // 2
    return x[:, top:top + h, left:left + w, :]


class _Double(nnx.Module):
    def __init__(self, cin: int, cout: int, padding: str, rngs: nnx.Rngs):
        self.a = nnx.Conv(cin, cout, (3, 3), padding=padding, rngs=rngs)
        self.b = nnx.Conv(cout, cout, (3, 3), padding=padding, rngs=rngs)

    def __call__(self, x):
        return jax.nn.relu(self.b(jax.nn.relu(self.a(x))))


class UNet(nnx.Module):
    def __init__(self, spec: UNetGraph = UNetGraph(), *, rngs: nnx.Rngs):
        self.spec = spec
        pad = "SAME" if spec.padded else "VALID"
        widths = [spec.base * 2 ** i for i in range(spec.depth + 1)]
        self.down = nnx.List([_Double(spec.in_features if i == 0 else widths[i - 1], w, pad,
                                      rngs) for i, w in enumerate(widths)])
        # 2x2 up-convolution, stride 2, halving the channels (PyTorch semantics, no padding).
        self.up = nnx.List([nnx.ConvTranspose(widths[i + 1], widths[i], (2, 2), strides=(2, 2),
                                              padding=((1, 1), (1, 1)), transpose_kernel=True,
                                              rngs=rngs) for i in reversed(range(spec.depth))])
        self.merge = nnx.List([_Double(2 * widths[i], widths[i], pad, rngs)
                               for i in reversed(range(spec.depth))])
        self.head = nnx.Conv(widths[0], spec.classes, (1, 1), rngs=rngs)

    def __call__(self, x):
        for n in x.shape[1:3]:
            if isinstance(n, int):
                check_unet_input(n, self.spec.depth, self.spec.padded)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.spec.depth:
                skips.append(x)
                x = nnx.max_pool(x, (2, 2), (2, 2))
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = up(x)
            x = merge(jnp.concatenate([center_crop(skip, x.shape[1], x.shape[2]), x], -1))
        return self.head(x)
