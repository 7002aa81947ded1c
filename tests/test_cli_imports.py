"""The command line stays light: ``--help`` and ``models`` load neither JAX, Flax nor SymPy
(checked by the modules loaded, in a fresh interpreter), and ``python -m symconv`` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
HEAVY = ("jax", "flax", "sympy")

_PROBE = """
import contextlib, io, sys
from symconv.tools.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main({argv!r})
    except SystemExit as e:
        code = e.code
print(code, *sorted(m for m in {heavy!r} if m in sys.modules))
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["models"], ["cost", "--help"],
                                  ["derive", "--help"], ["bench", "--help"],
                                  ["prove", "--help"], ["models", "--help"]],
                         ids=lambda argv: "-".join(argv))
def test_light_commands_load_no_heavy_module(argv):
    proc = _run("-c", _PROBE.format(argv=argv, heavy=HEAVY))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"], f"{argv} loaded {proc.stdout.split()[1:]}"


def test_import_symconv_is_light_and_names_load_on_use():
    proc = _run("-c", f"import sys, symconv; before = [m for m in {HEAVY!r} if m in sys.modules]; "
                      "from symconv import Conv2D, Stack, SymconvError, Claim; "
                      "print(before, Conv2D.__module__, 'sympy' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "symconv.algebra.conv", "True"]


def test_python_dash_m_symconv():
    proc = _run("-m", "symconv", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: symconv")
    proc = _run("-m", "symconv", "models")
    assert proc.returncode == 0 and "mobilenet_v1" in proc.stdout


def test_lazy_registry_entries_match_their_networks():
    """Sizes the registry states without importing a network agree with the network's own."""
    from symconv.algebra.nets.unet import UNetGraph
    from symconv.models.registry import MODELS

    for name in ("unet", "unet-padded"):
        assert MODELS[name].channels == UNetGraph().in_features
        assert MODELS[name].algebra((64, 64)) is MODELS[name].algebra((32, 32))  # one spec
