"""Set-up and CI stay in step: the README opens with its two commands, ``.ci/run`` runs the test
command exactly as printed there and then the slow tier, and ``constraints.txt`` pins every
declared dependency to a version inside the range ``pyproject.toml`` declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The lines of the README's first fenced block, which must open the file."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"# symconv\n\n```bash\n(.*?)\n```\n", text, re.DOTALL)
    assert match, "the README must open with its title and one ```bash block"
    return match.group(1).splitlines()


def test_readme_opens_with_two_commands():
    install_and_prove, install_and_test = readme_commands()
    for command in (install_and_prove, install_and_test):
        assert command.startswith("apt-get update && apt-get install -y "
                                  "--no-install-recommends ")
        assert " lmodern " in command and "python3 -m pip install -c constraints.txt -e " in command
    assert install_and_prove.endswith("&& symconv prove")
    assert install_and_test.endswith('-e ".[test]" && python3 -m pytest -n 2 -q')


def test_ci_runs_the_readme_test_command_then_the_slow_tier():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line and not line.startswith("#")]
    readme_test = readme_commands()[1]
    assert readme_test in lines, ".ci/run must run the README's test command as printed"
    after = lines[lines.index(readme_test) + 1:]
    assert after == ["python3 -m pytest -n 2 -q -m slow || [ $? -eq 5 ]"]


def test_constraints_pin_every_dependency_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    declared = [Requirement(r) for r in
                project["dependencies"] + project["optional-dependencies"]["test"]]
    for req in declared:
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(pin, prereleases=True), f"{req.name}=={pin} is not {req}"
