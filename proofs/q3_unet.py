"""Q3: transposed convolution step by step (part c), with the augmentation (part b) shown on an
image and mask, and the skip-connection statements (part a) reported as judgements.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import ConvTranspose2D
from symconv.algebra.symbols import H, K, W
from symconv.checks import xla
from symconv.algebra.nets.unet import UNetGraph as UNetSpec
from symconv.algebra.nets.unet import output_size
from symconv.augment import elastic_deform
from symconv.models.unet import UNet
from symconv.models import flax_layer
from symconv.report.proof import Check, Claim, Derivation, Figure, Proof, Step
from symconv.experiments.transposed_steps import scatter_steps, transpose_matrix_view

Q = "Q3"
X = np.array([[1, 2], [3, 4]])
KERNEL = np.array([[1, 2], [3, 4]])
# The source's matrices after steps 2, 3 and 4 (transcribed; never used as expectations).
STATED = {2: [[1, 4, 4], [3, 10, 8], [0, 0, 0]], 3: [[1, 4, 4], [6, 16, 8], [9, 12, 0]],
          4: [[1, 4, 4], [6, 20, 16], [9, 24, 16]]}


def _flax(x: np.ndarray, w: np.ndarray, transpose_kernel: bool = True) -> np.ndarray:
    """The Flax layer with the given single-channel kernel (layout (K_h, K_w, out, in))."""
    spec = ConvTranspose2D(1, 1, w.shape, use_bias=False)
    layer = flax_layer(spec, rngs=nnx.Rngs(0))
    if not transpose_kernel:
        layer = nnx.ConvTranspose(1, 1, w.shape, padding=spec.lax_padding(), use_bias=False,
                                  transpose_kernel=False, rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.asarray(w, jnp.float32)[:, :, None, None]
    y = layer(jnp.asarray(x, jnp.float32)[None, :, :, None])
    return np.asarray(y[0, :, :, 0])


def _first(x: np.ndarray, t: int) -> np.ndarray:
    """``x`` with every element after the first ``t`` (row-major) set to zero."""
    flat = x.flatten().copy()
    flat[t:] = 0
    return flat.reshape(x.shape)


def _part_c() -> list[Claim]:
    steps = scatter_steps(X, KERNEL)
    final = steps.final
    flax_y = _flax(X, KERNEL)
    matrix_y = transpose_matrix_view(X.shape, KERNEL).apply(X)
    default_y = _flax(X, KERNEL, transpose_kernel=False)
    spec = ConvTranspose2D(1, 1, K)
    size = spec.output_shape((H, W))
    claims = [Claim(
        "q3c.output_size", Q, "c", "Output size (H + K - 1) x (W + K - 1) = 3 x 3 for stride 1 "
        "and no padding.", (H + K - 1, W + K - 1), tuple(size[:2]),
        Derivation((Step("general", "O", (sp.Symbol("n") - 1) * sp.Symbol("S") - 2 * sp.Symbol(
            "P") + K + sp.Symbol("P_o")), Step("S = 1, P = P_o = 0", "H' \\times W'",
                                               tuple(size[:2])))),
        (Check("model", "nnx.ConvTranspose (PyTorch semantics) on a 2x2 input, kernel 2x2",
               "1 point", flax_y.shape == (3, 3), f"{flax_y.shape}"),))]
    for t in (2, 3, 4):
        running = steps.steps[t - 1].running
        claims.append(Claim(
            f"q3c.step{t}", Q, "c", f"Output after adding input element {t} (row-major) times "
            "the kernel.", sp.ImmutableMatrix(STATED[t]), sp.ImmutableMatrix(running.tolist()),
            Derivation((Step(f"x[{(t - 1) // 2},{(t - 1) % 2}] * w added", f"Y^{{({t})}}",
                             sp.ImmutableMatrix(running.tolist())),)),
            (Check("model", "nnx.ConvTranspose on the input with the elements after the "
                   f"{t}th zeroed (the partial sum)", "assignment example",
                   np.array_equal(_flax(_first(X, t), KERNEL), running),
                   f"{_flax(_first(X, t), KERNEL).astype(int).tolist()}"),) if t < 4 else (
                Check("model", "nnx.ConvTranspose(transpose_kernel=True) with the same kernel",
                      "assignment example", np.array_equal(flax_y, final),
                      f"{flax_y.astype(int).tolist()}"),
                Check("numpy", "matrix view: C^T vec(x), C the direct convolution's matrix",
                      "assignment example", np.array_equal(matrix_y, final),
                      f"{matrix_y.astype(int).tolist()}"))))
    claims.append(Claim(
        "q3c.flax_default", Q, "c", "Flax's default transpose_kernel=False on the same input "
        "and kernel (not PyTorch's conv_transpose2d).", None, sp.ImmutableMatrix(default_y.tolist()),
        Derivation((Step("Flax default", "Y_{flax}", sp.ImmutableMatrix(default_y.astype(int).tolist())),)),
        (Check("model", "differs from the PyTorch-semantics result", "assignment example",
               not np.array_equal(default_y, final)),),
        note="Flax's default does not flip the kernel: it is the scatter of the kernel rotated "
             "by 180 degrees. Use transpose_kernel=True (symconv does) for PyTorch semantics."))
    return claims, steps


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


def build() -> list[Proof]:
    claims_c, steps = _part_c()
    yy, xx = np.mgrid[0:64, 0:64]
    mask = ((yy - 32) ** 2 + (xx - 30) ** 2 < 15 ** 2).astype(np.int32)
    _, warped = elastic_deform(jax.random.key(1), jnp.zeros((64, 64, 1)), jnp.asarray(mask))
    labels = set(np.unique(np.asarray(warped)).tolist())
    b = Claim("q3b.labels", Q, "b", "Random elastic deformation (3x3 grid of Gaussian "
              "displacements, sigma = 10 px, bicubic interpolation) keeps a segmentation "
              "mask's labels as labels.", None, tuple(sorted(labels)),
              Derivation((Step("labels after warping", r"\mathrm{labels}",
                               sp.FiniteSet(*sorted(labels))),)),
              (Check("numpy", "label set of the warped mask is a subset of the original's",
                     "64x64 disc, key 1", labels <= {0, 1}),),
              note="Nearest-neighbour sampling for masks; bicubic (Keys) for images.")
    spec = UNetSpec()
    model = xla.abstract(lambda: UNet(spec, rngs=nnx.Rngs(0)))
    got = xla.output_shape(model, (1, 572, 572, 1), sympy=False)[1:]
    n = sp.Symbol("n", integer=True, positive=True)
    tile = Claim("q3a.tile", Q, "a", "The paper's tile: an unpadded U-Net of depth 4 maps a "
                 "572x572 input to a 388x388 segmentation map.", (388, 388, 2),
                 tuple(spec.output_shape((572, 572, 1))),
                 Derivation((Step("output side (SymPy)", "n'", output_size(n)),
                             Step("n = 572", "n'", output_size(572)),
                             Step("skip crops per side, top level first", "c",
                                  tuple(spec.crops(572))))),
                 (Check("model", "jax.eval_shape of the Flax U-Net", "1x572x572x1",
                        tuple(got) == tuple(spec.output_shape((572, 572, 1))), f"{got}"),
                  Check("model", "parameters in nnx.state equal the algebra's",
                        "64-1024 channels, 2 classes",
                        xla.param_count(model) == spec.param_count(),
                        f"{xla.param_count(model):,}")),
                 note=f"{spec.param_count():,} parameters. Valid input sides are those for which "
                      "every pooled map is even: 188, 204, 220, ... (every 16).")
    a = Claim("q3a.skips", Q, "a", "Skip connections carry high-resolution encoder features to "
              "the decoder, recovering fine detail and helping gradients flow.", None, None,
              Derivation(()), opinion=True,
              note="What a skip carries, in shapes, is in q3a.tile (the crops); the effect on "
                   "accuracy is the paper's empirical claim.")
    return [
        Proof(Q, "a", "The U-Net and its skip connections", (tile, a)),
        Proof(Q, "b", "Elastic deformation", (b,),
              figures=(Figure("q3b_elastic", "An image and its mask before and after the same "
                              "random elastic deformation.", _figure),)),
        Proof(Q, "c", "Transposed convolution, step by step", tuple(claims_c),
              tables=(("Scatter-add, step by step", steps.markdown(),
                       r"\fiteq{" + steps.derivation().latex() + "}"),)),
    ]
