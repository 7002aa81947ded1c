r"""Pixel shuffle (depth-to-space; Shi et al. 2016, *Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network*): ``PixelShuffle``.

An upscale factor $R$ rearranges $R^2$ channels into an $R \times R$ block of pixels,
PyTorch's ``nn.PixelShuffle`` order in NHWC: output $(h R + i,\ w R + j,\ c)$ is input
$(h, w,\ c R^2 + i R + j)$. So

.. math::  (H, W, C) \mapsto \left(R H,\ R W,\ \frac{C}{R^2}\right), \qquad R^2 \mid C,

with no parameters and no arithmetic (a reshape and a transpose: 0 FLOPs). Each output pixel
reads one input pixel, the one above it at $\lfloor \cdot / R \rfloor$: for receptive fields a
nearest upsampling by $R$ (the jump divides by $R$).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symconv.algebra.arith import Dim, as_dim
from symconv.algebra.formula import FormulaBuilder, Formulas
from symconv.algebra.layer import ParameterFree, dims_of
from symconv.algebra.receptive import Window
from symconv.algebra.symbols import C, H, Ho, R, W, Wo
from symconv.errors import ShapeMismatchError

SHUFFLED_CHANNELS = sp.Symbol("C'", integer=True, positive=True)


@dataclass(frozen=True, slots=True)
class PixelShuffle(ParameterFree):
    r"""``nn.PixelShuffle(upscale_factor)`` in NHWC: $(H, W, C) \mapsto (RH, RW, C/R^2)$.

    >>> PixelShuffle(3).output_shape((8, 8, 18)), PixelShuffle(3).flops((8, 8, 18))
    ((24, 24, 2), 0)
    """

    upscale_factor: Dim

    def __post_init__(self) -> None:
        object.__setattr__(self, "upscale_factor",
                           as_dim(self.upscale_factor, "PixelShuffle: upscale_factor"))

    def formulas(self, in_shape: Sequence[Dim], batch: Dim = 1) -> Formulas:
        h, w, c = dims_of(self.label, in_shape, 3, "HWC")
        rr = self.upscale_factor
        f = FormulaBuilder(self.label)
        f.require(sp.Eq(sp.Mod(C, R**2), 0), {C: c, R: rr}, ShapeMismatchError,
                  f"{self.label}: {c} input channels are not divisible by upscale_factor² = "
                  f"{rr}² = {rr * rr}; the input needs C = R²·C' channels")
        oh = f.add("out_h", "output height", Ho, R * H, {R: rr, H: h})
        ow = f.add("out_w", "output width", Wo, R * W, {R: rr, W: w})
        oc = f.add("out_c", "output channels", SHUFFLED_CHANNELS, C / R**2, {C: c, R: rr})
        return f.build((oh, ow, oc))

    def windows(self, in_shape: Sequence[Dim]):
        r"""Nearest upsampling by $R$: every output pixel reads exactly one input pixel."""
        window = Window(1, 1, 1, 0, upsample=self.upscale_factor, mode="repeat")
        return [(window, window)]
