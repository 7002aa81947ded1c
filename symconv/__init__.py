"""symconv: closed-form shapes, parameters and costs of CNNs, verified against Flax NNX and XLA.

The public surface is declared here, once, and imported on first use (PEP 562): ``import
symconv`` and the command line's ``--help`` load neither JAX, Flax nor SymPy. See the README for a
runnable tour.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it (a subpackage's own name: the subpackage itself;
#: ``module:attr`` where the attribute has the module's name)
_EXPORTS: dict[str, str] = {
    "algebra": "symconv.algebra",
    "AvgPool2D": "symconv.algebra",
    "BatchNorm": "symconv.algebra",
    "Conv2D": "symconv.algebra",
    "ConvTranspose2D": "symconv.algebra",
    "Dense": "symconv.algebra",
    "Flatten": "symconv.algebra",
    "GlobalAvgPool2D": "symconv.algebra",
    "MaxPool2D": "symconv.algebra",
    "ReLU": "symconv.algebra",
    "SeparableConv2D": "symconv.algebra",
    "Softmax": "symconv.algebra",
    "Stack": "symconv.algebra",
    "depthwise_conv2d": "symconv.algebra",
    "pointwise_conv2d": "symconv.algebra",
    "PixelShuffle": "symconv.algebra",
    "derive": "symconv.report.derive:derive",
    "receptive_field": "symconv.checks.trace.receptive:receptive_field",
    "SymconvError": "symconv.errors",
    "Check": "symconv.report.proof",
    "Claim": "symconv.report.proof",
    "Derivation": "symconv.report.proof",
    "Proof": "symconv.report.proof",
    "Step": "symconv.report.proof",
    "Verdict": "symconv.report.proof",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'symconv' has no attribute {name!r}")
    module, _, attr = module.partition(":")
    value = importlib.import_module(module)
    if attr or module.rsplit(".", 1)[-1] != name:
        value = getattr(value, attr or name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
