r"""ESPCN, the efficient sub-pixel convolutional network for super-resolution (Shi et al. 2016,
*Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional
Neural Network*, Sec. 3 and 4.2): three convolutions on the low-resolution image — $5 \times 5$
to 64 maps, $3 \times 3$ to 32, $3 \times 3$ to $R^2 C$ — with tanh after the first two, then a
pixel shuffle to the $R H \times R W \times C$ high-resolution image. Convolutions keep the size
('SAME'), so every cost is a multiple of $H W$.
"""

from __future__ import annotations

from dataclasses import dataclass

from symconv.algebra.composite import Stack
from symconv.algebra.conv import Conv2D
from symconv.algebra.darknet_layers import check_int
from symconv.algebra.elementwise import Activation
from symconv.algebra.pixel_shuffle import PixelShuffle

#: (kernel, filters) of the two feature layers (Sec. 4.2: f1 = 5, n1 = 64, f2 = 3, n2 = 32)
FEATURES = ((5, 64), (3, 32))
LAST_KERNEL = 3  #: f3 = 3


@dataclass(frozen=True, slots=True)
class ESPCNConfig:
    """Upscale factor $R$ (the paper reports 2, 3, 4) and image channels $C$ (1: luminance)."""

    upscale: int = 3
    channels: int = 1

    def __post_init__(self) -> None:
        check_int(self.upscale, "ESPCNConfig: upscale")
        check_int(self.channels, "ESPCNConfig: channels")


def espcn_stack(cfg: ESPCNConfig = ESPCNConfig()) -> Stack:
    """conv 5x5/64, tanh, conv 3x3/32, tanh, conv 3x3/(R²C), pixel shuffle R."""
    layers, names, c = [], [], cfg.channels
    for i, (k, n) in enumerate(FEATURES, 1):
        layers += [Conv2D(c, n, k, padding="SAME"), Activation("tanh")]
        names += [f"conv{i}", f"tanh{i}"]
        c = n
    layers += [Conv2D(c, cfg.upscale ** 2 * cfg.channels, LAST_KERNEL, padding="SAME"),
               PixelShuffle(cfg.upscale)]
    names += ["conv3", "shuffle"]
    return Stack(tuple(layers), tuple(names))
