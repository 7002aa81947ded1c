"""The gradient-flow experiment as the Q2 proofs use it: its results (committed unless
``symconv prove --experiments``), the two ratios the claims compare, their derivation steps, and
the figure."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symconv.experiments import gradient_flow, record
from symconv.experiments.gradient_flow import ARCHS, VARIANTS, variant_name
from symconv.report.proof import Check, Figure, Step
from symconv.report.runner import experiments_enabled

from ._q2_common import RESULTS

G_DEEP, G_SHALLOW = sp.symbols(r"\lVert{g_1}\rVert_{D=24} \lVert{g_1}\rVert_{D=6}",
                               positive=True)


def decades(x: float) -> float:
    """How many factors of ten ``x`` is away from 1."""
    return abs(float(np.log10(x)))


@dataclass(frozen=True)
class Gradients:
    """The measurements and, per variant ``(arch, batch_norm)``:

    - ``rho``: median first-layer gradient at the largest depth over that at the smallest
      (near 1: depth does not change what reaches the first layer; far below: it vanishes);
    - ``spread``: median over seeds of ``||g_1|| / ||g_D||`` at the largest depth (1: the first
      layer gets as much gradient as the last).
    """

    results: tuple
    where: str

    @property
    def depths(self) -> list[int]:
        return sorted({r.depth for r in self.results})

    @functools.cached_property
    def rho(self) -> dict:
        return {v: gradient_flow.first_layer_decay(self.results, *v) for v in VARIANTS}

    @functools.cached_property
    def spread(self) -> dict:
        return {v: gradient_flow.pick(self.results, *v)[-1].first_to_last for v in VARIANTS}

    def first_layer(self, arch: str, batch_norm: bool, depth: int) -> float:
        r = next(r for r in self.results
                 if (r.arch, r.batch_norm, r.depth) == (arch, batch_norm, depth))
        return float(np.median(r.norms[:, 0]))

    def rho_steps(self, label: str, lhs: str, arch: str, batch_norm: bool = False) -> tuple:
        """``rho`` with the two medians put in, then its value."""
        lo, hi = self.depths[0], self.depths[-1]
        values = {G_DEEP: sp.Float(self.first_layer(arch, batch_norm, hi), 3),
                  G_SHALLOW: sp.Float(self.first_layer(arch, batch_norm, lo), 3)}
        return (Step(label, lhs, G_DEEP / G_SHALLOW, values),
                Step(f"{label}: result", lhs, sp.Float(self.rho[(arch, batch_norm)], 3)))

    def check(self, what: str) -> Check:
        """The experiment side: every norm finite and non-zero, the ratios in the detail."""
        return Check("experiment", f"jax.grad of {what} conv stacks without and with batch norm "
                     "(3 seeds, median); every norm finite and non-zero",
                     f"depths {self.depths}; {self.where}",
                     all(np.isfinite(r.norms).all() and (r.norms > 0).all()
                         for r in self.results),
                     f"first-layer gradient, depth {self.depths[-1]} over {self.depths[0]}: "
                     + "; ".join(f"{variant_name(*v)} {self.rho[v]:.3g}" for v in VARIANTS))

    def figure(self) -> Figure:
        deepest = {(r.arch, r.batch_norm): r for r in self.results
                   if r.depth == self.depths[-1]}
        medians = {v: np.median(r.norms, axis=0) for v, r in deepest.items()}
        lo = int(np.floor(np.log10(min(m.min() for m in medians.values()))))
        hi = int(np.floor(np.log10(max(m.max() for m in medians.values()))))

        def draw():
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 3, figsize=(7.6, 2.9), layout="constrained",
                                     width_ratios=(1.15, 1.15, 0.85))
            colours = {"plain": "tab:red", "residual": "tab:blue", "dense": "tab:green"}
            for ax, bn, title in ((axes[0], False, "no batch norm"),
                                  (axes[1], True, "with batch norm")):
                for arch in ARCHS:
                    med = medians[(arch, bn)]
                    ax.semilogy(range(1, len(med) + 1), med, "o-" if bn else "s--", ms=2.5,
                                color=colours[arch], lw=1.2)
                ax.set_title(f"{title}, depth {self.depths[-1]}", fontsize=9)
                ax.set_xlabel("layer (1 = next to the input)")
                ax.set_xlim(0.5, self.depths[-1] + 0.5)
            axes[0].set_ylabel(r"$\Vert \partial L / \partial W_l \Vert$ (median of 3 seeds)")
            ax = axes[2]
            for arch, bn in VARIANTS:
                first = [self.first_layer(arch, bn, d) for d in self.depths]
                ax.loglog(self.depths, first, "o-" if bn else "s--", ms=3, lw=1.2,
                          color=colours[arch], label=variant_name(arch, bn))
            ax.set_xticks(self.depths, [str(d) for d in self.depths])
            ax.minorticks_off()
            ax.set_title("first layer against depth", fontsize=9)
            ax.set_xlabel("depth D")
            ax.set_ylabel(r"$\Vert \partial L / \partial W_1 \Vert$")
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=6,
                       fontsize=8, frameon=False)
            return fig

        return Figure(
            "q2_gradient_flow",
            "Gradient of the loss reaching each layer's kernel at initialisation (3x3 "
            "convolutions, 16 maps; log scales: the values span "
            f"1e{lo} to 1e{hi + 1}). Left, no batch norm: the plain stack's gradient is small "
            "everywhere and smallest at the input, the residual stack's explodes (the sums "
            "grow with depth), the dense stack's stays of one size. Middle, with batch norm as "
            "the papers build the networks (plain: conv-BN-ReLU; residual: He et al.'s block "
            "of two convolutions; dense: BN-ReLU-conv): nothing vanishes; the plain stack's "
            "gradient grows toward the input, the residual stack's less, the dense stack's is "
            f"nearly flat. Right, the first layer's gradient at depths {self.depths}: without "
            "batch norm the plain stack's falls by orders of magnitude (it vanishes) and the "
            "residual stack's rises by more; the dense stacks' barely move. Numbers "
            + self.where + ".", draw)


@functools.lru_cache(maxsize=1)
def _committed() -> Gradients:
    results, stamp = gradient_flow.load(RESULTS / "gradient_flow.json")
    return Gradients(results, record.provenance(stamp, fresh=False))


def gradients() -> Gradients:
    """The gradient-flow measurements: run again with ``--experiments`` (:func:`gradient_flow.run`
    caches them for the other proofs), else the committed ones."""
    if experiments_enabled():
        return Gradients(gradient_flow.run(), record.provenance({}, fresh=True))
    return _committed()
