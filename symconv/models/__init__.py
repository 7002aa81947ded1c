"""Flax NNX networks (NHWC); each matches an algebra description in :mod:`symconv.algebra`.

Imported on first use (PEP 562), so that listing the registry loads neither JAX nor Flax.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {"flax_layer": "symconv.models.layers"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'symconv.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
