"""A measured result kept in the repository: a small JSON file stamped with what produced it.

An experiment that takes tens of seconds is not re-run by every ``symconv prove``: its last
result is committed (``proofs/results/*.json``) with a stamp — the command that produced it, its
seeds and setting, and the versions of JAX, Flax and NumPy — and the report says the numbers
come from that stamped run. ``symconv prove --experiments`` (or the experiment's benchmark
script) runs it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symconv.errors import SymconvError


def versions() -> dict[str, str]:
    """The library versions a measurement depends on."""
    import flax
    import jax
    import numpy as np

    return {"jax": jax.__version__, "flax": flax.__version__, "numpy": np.__version__}


def stamp(command: str, **setting: Any) -> dict[str, Any]:
    """What a run depends on: the command, its setting (seeds, sizes), versions and platform."""
    import jax

    return {"command": command, "setting": setting, "versions": versions(),
            "platform": jax.devices()[0].platform}


def write(path: str | Path, stamp_: dict, results: list) -> dict:
    """``{"stamp": ..., "results": [...]}`` as sorted, indented JSON (floats written exactly)."""
    record = {"stamp": stamp_, "results": results}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return record


def read(path: str | Path) -> tuple[list, dict]:
    """The results and the stamp :func:`write` wrote."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        return record["results"], record["stamp"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SymconvError(f"cannot read the committed result {path}: {e}") from None


def provenance(stamp_: dict, fresh: bool) -> str:
    """One sentence for the report: where the numbers come from."""
    if fresh:
        return "measured in this run (symconv prove --experiments)"
    v = stamp_.get("versions", {})
    setting = ", ".join(f"{k} {val}" for k, val in sorted(stamp_.get("setting", {}).items()))
    return (f"read from the committed result of `{stamp_.get('command', '?')}` ({setting}; "
            f"JAX {v.get('jax', '?')}, Flax {v.get('flax', '?')}, NumPy {v.get('numpy', '?')}, "
            f"{stamp_.get('platform', '?')}); `symconv prove --experiments` measures it again")
