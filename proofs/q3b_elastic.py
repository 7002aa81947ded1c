"""Q3 part (b): random elastic deformation (U-Net's augmentation) keeps a mask's labels as
labels; shown on an image and its mask.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from symconv.augment import elastic_deform
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step


def _figure() -> plt.Figure:
    yy, xx = np.mgrid[0:128, 0:128]
    image = ((yy // 16 + xx // 16) % 2).astype(np.float32)[..., None]
    mask = (((yy - 64) ** 2 + (xx - 60) ** 2) < 30 ** 2).astype(np.int32)
    out, out_mask = elastic_deform(jax.random.key(0), jnp.asarray(image), jnp.asarray(mask),
                                   grid=3, sigma=10.0)
    fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
    for ax, img, title in zip(axes, (image[..., 0], mask, np.asarray(out)[..., 0],
                                     np.asarray(out_mask).squeeze()),
                              ("image", "mask", "deformed image", "deformed mask")):
        ax.imshow(img, cmap="gray", interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    return fig


def build() -> Proof:
    yy, xx = np.mgrid[0:64, 0:64]
    mask = ((yy - 32) ** 2 + (xx - 30) ** 2 < 15 ** 2).astype(np.int32)
    _, warped = elastic_deform(jax.random.key(1), jnp.zeros((64, 64, 1)), jnp.asarray(mask))
    labels = set(np.unique(np.asarray(warped)).tolist())
    claim = Claim(
        id="q3b.labels", statement="Random elastic deformation (3x3 grid of Gaussian "
        "displacements, sigma = 10 px, bicubic interpolation) keeps a segmentation mask's "
        "labels as labels.", derived=tuple(sorted(labels)),
        derivation=Derivation((Step("labels after warping", r"\mathrm{labels}",
                                    sp.FiniteSet(*sorted(labels))),)),
        checks=(Check("numpy", "label set of the warped mask is a subset of the original's",
                      "64x64 disc, key 1", labels <= {0, 1}),),
        note="Nearest-neighbour sampling for masks; bicubic (Keys) for images.")
    return Proof("Q3", "b", "Elastic deformation", (claim,),
                 figures=(Figure("q3b_elastic", "An image and its mask before and after the same "
                                 "random elastic deformation.", _figure),))
