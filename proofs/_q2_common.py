"""Shared by the Q2 proofs: the papers' numbers the claims compare with, the training-memory
experiment (its committed result unless ``symconv prove --experiments``), models built once
(the gradient-flow experiment: ``_q2_gradient``)."""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

import numpy as np
import sympy as sp

from symconv.algebra.nets.densenet import DenseNetConfig, densenet_stack
from symconv.algebra.nets.resnet import ResNetConfig, resnet_stack
from symconv.experiments import record, training_step
from symconv.report.proof import Step
from symconv.report.runner import experiments_enabled

RESULTS = Path(__file__).resolve().parent / "results"

#: Top-1 error (%) on the ImageNet validation set, 10-crop testing, as the papers print them:
#: Huang et al. 2017, Table 3 (the number after the slash); He et al. 2016, Table 3.
IMAGENET_TOP1_10CROP = {
    "DenseNet-121": ("huang2017", "Table 3", Decimal("23.61")),
    "DenseNet-169": ("huang2017", "Table 3", Decimal("22.08")),
    "DenseNet-201": ("huang2017", "Table 3", Decimal("21.46")),
    "DenseNet-264": ("huang2017", "Table 3", Decimal("20.80")),
    "ResNet-50": ("he2016", "Table 3", Decimal("22.85")),
    "ResNet-101": ("he2016", "Table 3", Decimal("21.75")),
    "ResNet-152": ("he2016", "Table 3", Decimal("21.43")),
}
#: He et al. 2016, Table 2: top-1 error (%, 10-crop) of plain and residual nets of 18 and 34
#: layers ("the ResNets have no extra parameter compared to their plain counterparts").
HE_TABLE2 = {("plain", 18): Decimal("27.94"), ("plain", 34): Decimal("28.54"),
             ("ResNet", 18): Decimal("27.88"), ("ResNet", 34): Decimal("25.03")}
#: Huang et al. 2017, Table 2 and Sec. 4.3: CIFAR-10 with augmentation (C10+), test error (%)
#: and parameters as printed (the pre-activation ResNet-1001 is not built here).
HUANG_C10 = {"DenseNet (L=100, k=12)": ("7.0M", Decimal("4.10")),
             "DenseNet-BC (L=100, k=12)": ("0.8M", Decimal("4.51")),
             "pre-activation ResNet-1001": ("10.2M", Decimal("4.62"))}
RESNET1001_PARAMS = 10_200_000  # Huang et al. 2017, Table 2 ("10.2M"), to the digits printed


def training_step_results() -> tuple[tuple[training_step.TrainingStep, ...], str, str]:
    """A training step of DenseNet-121 and ResNet-50 (XLA's memory plan, the step's time), where
    the numbers come from (one sentence) and the backend they were measured on."""
    if experiments_enabled():
        import jax

        return (_fresh_steps(), record.provenance({}, fresh=True),
                jax.devices()[0].platform)
    results, stamp = training_step.load(RESULTS / "training_step.json")
    return results, record.provenance(stamp, fresh=False), stamp.get("platform", "?")


@functools.lru_cache(maxsize=1)
def _fresh_steps():
    return training_step.run()


@functools.lru_cache(maxsize=1)
def densenet121_abstract():
    """The Flax DenseNet-121 (ImageNet head), abstract: shapes only, built once."""
    from flax import nnx

    from symconv.algebra.nets.densenet import DenseNetConfig
    from symconv.checks import xla
    from symconv.models.densenet import DenseNet

    return xla.abstract(lambda: DenseNet(DenseNetConfig.densenet121(), rngs=nnx.Rngs(0)))


_A, _B = sp.symbols("a b")


def difference_steps(label: str, lhs: str, a: Decimal, b: Decimal) -> tuple[Step, Step]:
    """``a - b`` with the printed values put in, then its exact decimal result."""
    return Step(label, lhs, _A - _B, {_A: a, _B: b}), Step(f"{label}: result", lhs, a - b)


def random_state(factory, seed: int = 0):
    """``(graphdef, state)`` of the module ``factory()`` builds, abstractly (no initialiser
    runs or compiles), with values drawn by NumPy: kernels standard normal, batch-norm scales
    uniform in [0.5, 1), biases and running means 0, running variances 1."""
    import jax
    from flax import nnx

    from symconv.checks import xla

    graphdef, state = nnx.split(xla.abstract(factory))
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        names = [getattr(p, "key", getattr(p, "name", None)) for p in path]
        name = next(n for n in reversed(names) if n not in ("value", "raw_value"))
        if name == "kernel":
            value = rng.normal(size=leaf.shape)
        elif name == "scale":
            value = rng.uniform(0.5, 1.0, leaf.shape)
        elif name == "var":
            value = np.ones(leaf.shape)
        else:  # bias, mean
            value = np.zeros(leaf.shape)
        return np.asarray(value, dtype=leaf.dtype)

    return graphdef, jax.tree_util.tree_map_with_path(fill, state)


RESNETS = {"ResNet-50": (3, 4, 6, 3), "ResNet-101": (3, 4, 23, 3), "ResNet-152": (3, 8, 36, 3)}
DENSENETS = {"DenseNet-121": "densenet121", "DenseNet-169": "densenet169",
             "DenseNet-201": "densenet201", "DenseNet-264": "densenet264"}
PAIRS = (("DenseNet-169", "ResNet-50"), ("DenseNet-201", "ResNet-101"),
         ("DenseNet-264", "ResNet-152"))


def imagenet_counts() -> dict[str, tuple[int, int]]:
    """Parameters and dense MACs at 224 x 224 of every network the comparisons name."""
    stacks = {**{n: densenet_stack(getattr(DenseNetConfig, p)()) for n, p in DENSENETS.items()},
              **{n: resnet_stack(ResNetConfig(layers=b, kind="bottleneck"))
                 for n, b in RESNETS.items()}}
    return {n: (s.param_count(), s.macs((224, 224, 3))) for n, s in stacks.items()}
