r"""Does the installed XLA count as symconv models it? Four small rules, checked once and cached.

Each rule is one op lowered with ``jax.jit(f).lower(...).cost_analysis()`` (never compiled) and
compared with the count symconv's algebra gives for it:

========================  ========================================  ===================
rule                      op                                        symconv's count
========================  ========================================  ===================
``conv``                  3x3 'SAME' conv, 8x8, M=3, N=4, no bias   ``Conv2D.flops`` exact: 11,616
``dot``                   (2, 16) @ (16, 8)                         ``Dense.batch_flops``: 512
``reduce_window``         2x2 max pool, stride 2, on 8x8x3          ``MaxPool2D.flops``: 144
``exponential``           softmax over 10 on (4, 10)                ``Softmax.transcendentals``: 40
========================  ========================================  ===================

:func:`run` lowers them on the first XLA use (:func:`symconv.checks.xla.cost` calls
:func:`ensure`) and keeps XLA's counts in ``selfcheck.json`` under the cache directory
(``$SYMCONV_CACHE_DIR``, else ``$XDG_CACHE_HOME/symconv``, else ``~/.cache/symconv``), keyed by
the jax and jaxlib versions and the backend, so later processes do not lower again. symconv's
side is computed afresh each time. When a rule differs, one :class:`SymconvWarning` line names
it and both numbers. An unwritable cache directory is not an error: the check then runs in every
process.

>>> {name: rule.expected() for name, rule in RULES.items()}
{'conv': 11616, 'dot': 512, 'reduce_window': 144, 'exponential': 40}
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra import Conv2D, Dense, MaxPool2D, Softmax

CACHE_ENV = "SYMCONV_CACHE_DIR"
CACHE_FILE = "selfcheck.json"


class SymconvWarning(UserWarning):
    """Something symconv's numbers rest on does not hold on this install."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One op to lower, the cost-analysis key to read, and symconv's count for it."""

    what: str
    fn: Callable
    args: tuple[jax.ShapeDtypeStruct, ...]
    key: str
    expected: Callable[[], int]


def _f32(*shape: int) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, jnp.float32)


def _conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


RULES: dict[str, Rule] = {
    "conv": Rule("3x3 'SAME' conv on 8x8, M=3, N=4 (FLOPs)", _conv, (_f32(1, 8, 8, 3),
                 _f32(3, 3, 3, 4)), "flops",
                 lambda: Conv2D(3, 4, 3, padding="SAME", use_bias=False).batch_flops(
                     (8, 8, 3), 1, "exact")),
    "dot": Rule("(2, 16) @ (16, 8) dot (FLOPs)", jnp.matmul, (_f32(2, 16), _f32(16, 8)), "flops",
                lambda: Dense(16, 8, use_bias=False).batch_flops((16,), 2)),
    "reduce_window": Rule("2x2 max pool on 8x8x3 (FLOPs)",
                          lambda x: nnx.max_pool(x, (2, 2), strides=(2, 2)),
                          (_f32(1, 8, 8, 3),), "flops",
                          lambda: MaxPool2D(2).batch_flops((8, 8, 3), 1)),
    "exponential": Rule("softmax over 10 on (4, 10) (transcendentals)",
                        lambda x: jax.nn.softmax(x, axis=-1), (_f32(4, 10),), "transcendentals",
                        lambda: Softmax().transcendentals((4, 10))),
}


def cache_dir() -> Path:
    """``$SYMCONV_CACHE_DIR``, else ``$XDG_CACHE_HOME/symconv``, else ``~/.cache/symconv``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "symconv"


def install_key() -> str:
    """What XLA's counts depend on: ``jax=<v> jaxlib=<v> backend=<name>``."""
    import jaxlib

    return f"jax={jax.__version__} jaxlib={jaxlib.__version__} backend={jax.default_backend()}"


def lower_count(rule: Rule) -> int:
    """XLA's count for ``rule``: its cost-analysis key of the lowered op (missing counts 0)."""
    analysis = jax.jit(rule.fn).lower(*rule.args).cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else {}
    return int((analysis or {}).get(rule.key, 0.0))


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict) -> None:
    """Atomically replace ``path``; an unwritable directory is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".selfcheck-", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass


def run(force: bool = False) -> dict[str, Any]:
    """Compare XLA's counts with symconv's for every rule of :data:`RULES`.

    XLA's counts come from the cache for this install unless ``force`` or missing; symconv's are
    computed now. Warns one :class:`SymconvWarning` line when any rule differs.

    Returns:
      ``{"install": key, "cached": bool, "agree": bool,
      "rules": {name: {"symconv": int, "xla": int}}}``.
    """
    key = install_key()
    path = cache_dir() / CACHE_FILE
    data = _read(path)
    counts = data.get(key)
    cached = not force and isinstance(counts, dict) and all(
        isinstance(counts.get(name), int) for name in RULES)
    if not cached:
        counts = {name: lower_count(rule) for name, rule in RULES.items()}
        _write(path, {**data, key: counts})
    rules = {name: {"symconv": int(rule.expected()), "xla": int(counts[name])}
             for name, rule in RULES.items()}
    differ = [name for name, r in rules.items() if r["symconv"] != r["xla"]]
    if differ:
        detail = "; ".join(f"{name} rule, {RULES[name].what}: symconv {rules[name]['symconv']}, "
                           f"XLA {rules[name]['xla']}" for name in differ)
        warnings.warn(f"XLA ({key}) counts differently from what symconv models: {detail}; "
                      f"symconv's cross-checks against XLA may disagree", SymconvWarning,
                      stacklevel=2)
    return {"install": key, "cached": cached, "agree": not differ, "rules": rules}


class _Once:
    """Runs :func:`run` once per process, the first time it is called (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            self._done = True
            try:
                run()
            except Exception as e:  # a check that cannot run must not stop the user
                warnings.warn(f"symconv's self-check of XLA's counting rules could not run: "
                              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                              SymconvWarning, stacklevel=3)


ensure = _Once()  #: run the self-check on the first XLA use of the process
