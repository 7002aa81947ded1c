"""The linters run in CI as tests: ``ruff check`` (rules in ``[tool.ruff.lint]``) and
``lint-imports`` (the layer, forbidden-import, acyclic and private-module contracts in
``[tool.importlinter]``), each on the whole repository, failing with the tool's own output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LINTERS = {
    "ruff": [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
    # no __main__ module: call its console script's entry point (it exits with the status)
    "import-linter": [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                      "lint_imports_command()", "--no-cache"],
}


@pytest.mark.parametrize("tool", LINTERS)
def test_linter_is_clean(tool):
    # The checkout comes first on the path, so lint-imports reads this tree's symconv even where
    # another checkout is installed.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run(LINTERS[tool], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{tool} failed:\n{proc.stdout}\n{proc.stderr}"
