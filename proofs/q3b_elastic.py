"""Q3 part (b): random elastic deformation (U-Net's augmentation, Sec. 3.1 of the paper) —
Gaussian displacements on a coarse grid, bicubic per-pixel displacements, smooth (no folds) —
checked on ``symconv.augment`` against the paper's parameters and a NumPy interpolant; a mask's
labels stay labels; shown on an image, its mask and the displacement field.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from symconv.augment import elastic_deform, elastic_field
from symconv.report.proof import (
    Basis,
    Check,
    Claim,
    Derivation,
    Figure,
    Labeled,
    Proof,
    Step,
    decimal,
)

CITE = ("ronneberger2015", "Sec. 3.1")
# The paper, Sec. 3.1: "random displacement vectors on a coarse 3 by 3 grid. The displacements
# are sampled from a Gaussian distribution with 10 pixels standard deviation. Per-pixel
# displacements are then computed using bicubic interpolation."
PAPER_GRID, PAPER_SIGMA = 3, 10.0
PAPER = Labeled.of(control="grid points", displacements="Gaussian", interpolation="bicubic")
TILE = 572  # the paper's input tile (Fig. 1)
DRAWS = 50  # random fields on the paper's tile, for the smoothness check
CONTROL_DRAWS = 2000  # random 3 x 3 fields (their pixels are the control points)


def _lagrange(n: int) -> np.ndarray:
    """``(n, 3)``: the quadratic Lagrange basis of the nodes 0, (n-1)/2, n-1 at pixels 0..n-1."""
    x = np.arange(n, dtype=np.float64)
    nodes = np.array([0.0, (n - 1) / 2, n - 1.0])
    return np.stack([np.prod([(x - nodes[m]) / (nodes[k] - nodes[m]) for m in range(3)
                              if m != k], axis=0) for k in range(3)], axis=1)


@jax.jit
def _experiment(keys, control_keys):
    """For each of ``keys`` (one field at a time, on the paper's tile): the largest displacement
    gradient and the smallest Jacobian determinant of x -> x + Delta(x), by forward
    differences. For each of ``control_keys``: the field of a 3 x 3 image, whose pixels are the
    control points of the paper's 3 x 3 grid, i.e. the control displacements themselves. And
    the first key's field on the tile with its control displacements."""
    def one(key):
        f = elastic_field(key, (TILE, TILE), PAPER_GRID, PAPER_SIGMA)
        dy = f[1:, :-1] - f[:-1, :-1]  # d Delta / d row
        dx = f[:-1, 1:] - f[:-1, :-1]  # d Delta / d column
        det = (1 + dy[..., 0]) * (1 + dx[..., 1]) - dx[..., 0] * dy[..., 1]
        return jnp.maximum(jnp.abs(dy).max(), jnp.abs(dx).max()), det.min()

    def control(k):
        return elastic_field(k, (PAPER_GRID, PAPER_GRID), PAPER_GRID, PAPER_SIGMA)

    first = elastic_field(keys[0], (TILE, TILE), PAPER_GRID, PAPER_SIGMA)
    return (*jax.lax.map(one, keys), jax.vmap(control)(control_keys), first, control(keys[0]))


def _claims() -> list[Claim]:
    grad, det, control, f, g = (np.asarray(a, np.float64) for a in _experiment(
        jax.random.split(jax.random.key(2015), DRAWS),
        jax.random.split(jax.random.key(3), CONTROL_DRAWS)))
    smooth = bool(grad.max() < 1 and det.min() > 0)
    samples = control.reshape(-1)
    mean, std = float(samples.mean()), float(samples.std())
    kurt = float(((samples - mean) ** 4).mean() / std ** 4)
    within = float((np.abs(samples) < PAPER_SIGMA).mean())
    se = PAPER_SIGMA / np.sqrt(2 * samples.size)  # standard error of a normal sample's std
    gaussian = bool(abs(mean) < 4 * PAPER_SIGMA / np.sqrt(samples.size)
                    and abs(std - PAPER_SIGMA) < 4 * se and abs(kurt - 3) < 0.3
                    and abs(within - 0.6827) < 0.03)
    # bicubic per-pixel displacements: Keys' cubic convolution (with its end condition)
    # reproduces quadratics, so through 3 points per axis it is the biquadratic through the 9
    # control values (the same key's 3 x 3 field), recomputed here in NumPy
    basis = _lagrange(TILE)
    ref = np.einsum("ik,klc,jl->ijc", basis, g, basis)
    err = float(np.abs(ref - f).max())
    return [
        Claim(id="q3b.smooth", statement="Random deformation augments U-Net's training data "
              "with smooth elastic transformations.",
              quote="Random deformation is used in U-Net to augment training data by applying "
                    "smooth elastic transformations.",
              stated=True, derived=smooth, cite=CITE,
              reading="'Smooth' read as: the displacement changes by far less than a pixel from "
                      "one pixel to the next, and the warp x -> x + Delta(x) never folds (its "
                      "Jacobian determinant stays positive).",
              derivation=Derivation((
                  Step(f"largest change of the displacement between neighbouring pixels, "
                       f"{DRAWS} fields on the {TILE} x {TILE} tile",
                       r"\max |\partial \Delta|", decimal(grad.max(), 3)),
                  Step("smallest Jacobian determinant of the warp",
                       r"\min \det(I + \partial \Delta)", decimal(det.min(), 3))),
                  (f"the paper's {PAPER_GRID} x {PAPER_GRID} grid and sigma = {PAPER_SIGMA:g} "
                   "px",)),
              checks=(Check("experiment", "symconv.augment.elastic_field: forward differences "
                            "of every field, largest below 1 px per px and determinant above 0",
                            f"{DRAWS} keys, {TILE} x {TILE}", smooth,
                            f"max gradient {grad.max():.3f}, min det {det.min():.3f}"),),
              note="The paper: 'We generate smooth deformations using random displacement "
                   "vectors on a coarse 3 by 3 grid' (Sec. 3.1)."),
        Claim(id="q3b.method", statement="Grid control points are displaced by random values "
              "from a Gaussian; the per-pixel deformation is interpolated bicubically.",
              quote="This is achieved by displacing grid control points with random values "
                    "sampled from a Gaussian distribution and interpolating the deformation "
                    "smoothly across the image using bicubic interpolation.",
              stated=Labeled.of(control="grid points", displacements="Gaussian",
                                interpolation="bicubic"),
              derived=PAPER, cite=CITE,
              derivation=Derivation((
                  Step("control values, the paper's grid", r"G_{kl}",
                       sp.Symbol(r"\sigma\, \mathcal{N}(0, I_2)")),
                  Step("sigma, the paper's", r"\sigma", sp.Integer(int(PAPER_SIGMA))),
                  Step("per pixel: Keys' bicubic kernel W (a = -1/2) on each axis, u the pixel's "
                       "grid coordinate", r"\Delta_{ij}",
                       sp.Symbol(r"\sum_{k,l} G_{kl}\, W(u_i - k)\, W(u_j - l)")))),
              checks=(Check("experiment", "control displacements of symconv.augment's fields "
                            "(fields of 3 x 3 images, whose pixels are the control points): "
                            f"mean 0, standard deviation {PAPER_SIGMA:g} px, kurtosis 3 and "
                            "68.3 % within one sigma, as a Gaussian",
                            f"{CONTROL_DRAWS} keys x 9 points x 2 components",
                            gaussian, f"mean {mean:.2f}, std {std:.2f}, kurtosis {kurt:.2f}, "
                            f"within 1 sigma {within:.3f}"),
                      Check("numpy", "the field equals the biquadratic through its 3 x 3 control "
                            "values, computed here from Lagrange polynomials (Keys' bicubic "
                            "convolution reproduces quadratics, so through 3 points per axis "
                            "it is that polynomial)", f"{TILE} x {TILE}, one key", err < 1e-3,
                            f"max |difference| {err:.1e} px")),
              note=f"Right as far as it goes; the paper also fixes the grid ({PAPER_GRID} x "
                   f"{PAPER_GRID}, coarse) and the standard deviation ({PAPER_SIGMA:g} pixels), "
                   "which the source leaves out. symconv.augment uses both."),
        Claim(id="q3b.tissue", statement="Elastic deformation simulates realistic variations "
              "such as tissue deformations, which are common in biomedical images.",
              quote="This technique effectively simulates realistic variations, such as tissue "
                    "deformations, which are common in biomedical images.",
              basis=Basis.UNSOURCED, cite=("ronneberger2015", "Sec. 1"),
              note="The paper says the same ('deformation used to be the most common variation "
                   "in tissue and realistic deformations can be simulated efficiently', Sec. 1) "
                   "without evidence for it; nothing here can check how common or how realistic "
                   "such deformations are."),
        Claim(id="q3b.robust", statement="As a result the model becomes more robust to such "
              "transformations and generalizes better with limited annotated data.",
              quote="As a result, the model becomes more robust to such transformations and "
                    "generalizes better, even with limited annotated training data.",
              basis=Basis.UNSOURCED, cite=CITE,
              note="The paper calls elastic deformation 'the key concept to train a segmentation "
                   "network with very few annotated images' (Sec. 3.1) but reports no training "
                   "with and without it; checking it would mean training U-Nets, which this "
                   "report does not do."),
    ]


def _figure() -> plt.Figure:
    yy, xx = np.mgrid[0:128, 0:128]
    image = ((yy // 16 + xx // 16) % 2).astype(np.float32)[..., None]
    mask = (((yy - 64) ** 2 + (xx - 60) ** 2) < 30 ** 2).astype(np.int32)
    key = jax.random.key(0)
    out, out_mask = elastic_deform(key, jnp.asarray(image), jnp.asarray(mask), grid=PAPER_GRID,
                                   sigma=PAPER_SIGMA)
    field = np.asarray(elastic_field(key, image.shape, PAPER_GRID, PAPER_SIGMA))
    fig, axes = plt.subplots(1, 6, figsize=(11.0, 2.3), constrained_layout=True)
    for ax, img, title in zip(axes, (image[..., 0], mask, np.asarray(out)[..., 0],
                                     np.asarray(out_mask).squeeze()),
                              ("image", "mask", "deformed image", "deformed mask")):
        ax.imshow(img, cmap="gray", interpolation="nearest")
        ax.set_title(title)
    bound = float(np.abs(field).max())  # the bar covers the data, negative values included
    for ax, c, title in zip(axes[4:], (0, 1), ("row shift (px)", "column shift (px)")):
        im = ax.imshow(field[..., c], cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_title(title)
    for ax in axes:
        ax.axis("off")
    fig.colorbar(im, ax=list(axes[4:]), shrink=0.85, label="displacement (px)")
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
    fig = Figure("q3b_elastic", "One random elastic deformation (the paper's 3 x 3 grid, "
                 "Gaussian displacements with sigma = 10 px, bicubic interpolation) on a 128 x "
                 "128 checkerboard and a disc mask: the image and mask before and after, and "
                 "the displacement field's row and column components, whose colour bar is "
                 "symmetric about 0 and spans the largest shift either way.", _figure)
    return Proof("Q3", "b", "Elastic deformation", (*_claims(), claim), figures=(fig,))
