"""The layout rules, read from the source with ``ast`` (nothing is imported):

- no module of ``symconv/``, ``proofs/``, ``examples/`` or ``benchmarks/`` uses a private name
  (``_x``: a function, class or module) of another package, by ``from m import _x``, by
  ``import p._m`` or as an attribute ``m._x`` of a module it imported. A module's own package and
  its subpackages may: ``symconv.detection.nms`` may use ``symconv.detection.iou._overlap``, a
  proof may use ``proofs/_yolo_common.py``. The rule is about symconv's own code (the repository's
  packages); a third-party private name is each use's own documented decision.
- no module of ``symconv/`` or ``proofs/`` exceeds ``MAX_LINES`` lines.

Known breaches are listed, with the reason, in ``KNOWN_*``: the tests fail on any other breach,
and on a listed one that is gone (so the lists only shrink).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("symconv", "proofs", "examples", "benchmarks")
MAX_LINES = 400

#: (importing file, private name used) -> why it is still there
KNOWN_PRIVATE: dict[tuple[str, str], str] = {}
#: file -> why it is still over MAX_LINES
KNOWN_LONG: dict[str, str] = {}


def _files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """Dotted name of a file (``proofs/q1a.py`` -> ``proofs.q1a``) and whether it is a package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _first_party(module: str, importer: Path, root: Path, tops: tuple[str, ...]) -> str | None:
    """The repository module an absolute import names, or None for a third-party one. A bare
    name that is a file beside the importer (a script's ``sys.path`` import) is that file."""
    if module.split(".")[0] in tops:
        return module
    if (importer.parent / f"{module.split('.')[0]}.py").exists():
        return ".".join(importer.parent.relative_to(root).parts) + "." + module
    return None


def _is_module(module: str, root: Path) -> bool:
    path = root.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _owner(module: str, root: Path) -> str:
    """The package a name defined in ``module`` belongs to."""
    return module if (root.joinpath(*module.split(".")) / "__init__.py").exists() else \
        module.rpartition(".")[0]


def private_uses(path: Path, root: Path = ROOT,
                 tops: tuple[str, ...] = SCANNED) -> list[tuple[str, int, str]]:
    """``(name, line, owner package)`` for every private name of the repository's packages
    (``tops``) that ``path`` uses from outside its own package and subpackages."""
    me, is_package = _module_name(path, root)
    package = me if is_package else me.rpartition(".")[0]
    uses: list[tuple[str, int, str]] = []
    modules: dict[str, str] = {}  # local name -> first-party module it is bound to

    def module_path(module: str, line: int) -> None:
        parts = module.split(".")
        for i, part in enumerate(parts):
            if _is_private(part):
                uses.append((".".join(parts[:i + 1]), line, ".".join(parts[:i])))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = _first_party(alias.name, path, root, tops)
                if module is None:
                    continue
                module_path(module, node.lineno)
                if alias.asname:
                    modules[alias.asname] = module
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = _first_party(node.module or "", path, root, tops)
            if module is None:
                continue
            module_path(module, node.lineno)
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if _is_private(alias.name):
                    uses.append((full, node.lineno, _owner(module, root)))
                if _is_module(full, root):
                    modules[alias.asname or alias.name] = full
        elif (isinstance(node, ast.Attribute) and _is_private(node.attr)
              and isinstance(node.value, ast.Name) and node.value.id in modules):
            module = modules[node.value.id]
            uses.append((f"{module}.{node.attr}", node.lineno, _owner(module, root)))
    return [(name, line, owner) for name, line, owner in uses
            if not (owner == package or owner.startswith(package + "."))]


@pytest.mark.parametrize("path", _files(*SCANNED), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_of_another_package(path):
    rel = str(path.relative_to(ROOT))
    found = {name: line for name, line, _ in private_uses(path)}
    known = {name for file, name in KNOWN_PRIVATE if file == rel}
    new = {name: line for name, line in found.items() if name not in known}
    assert not new, f"{rel} uses private names of other packages: " + ", ".join(
        f"{name} (line {line})" for name, line in sorted(new.items()))
    assert known <= set(found), f"{rel}: no longer uses {sorted(known - set(found))}: remove " \
                                f"them from KNOWN_PRIVATE"


def test_private_name_rule_catches_what_it_should(tmp_path):
    """The checker itself, on a small tree: other packages' private names are found in every
    spelling, the own package's and a third party's are not."""
    for rel in ("pkg/__init__.py", "pkg/a/__init__.py", "pkg/a/m.py", "pkg/a/sub/__init__.py",
                "pkg/a/sub/s.py", "pkg/b/__init__.py", "pkg/b/_hidden.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    user = tmp_path / "pkg" / "a" / "user.py"
    user.write_text(
        "from pkg.a.m import _mine\n"          # own package: allowed
        "from pkg.a.sub.s import _deeper\n"    # a subpackage: allowed
        "from .m import _also_mine\n"          # relative, own package: allowed
        "from jax._src import core\n"          # third party: out of scope
        "from pkg.b import _x\n"               # another package: caught
        "import pkg.b._hidden\n"               # another package's private module: caught
        "from pkg.a import m\n"
        "from pkg import b\n"
        "m._fine\n"                            # own package, as an attribute: allowed
        "b._attr\n")                           # another package, as an attribute: caught
    found = sorted(name for name, _, _ in private_uses(user, tmp_path, ("pkg",)))
    assert found == ["pkg.b._attr", "pkg.b._hidden", "pkg.b._x"]


@pytest.mark.parametrize("path", _files("symconv", "proofs"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_module_length(path):
    rel = str(path.relative_to(ROOT))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel in KNOWN_LONG:
        assert lines > MAX_LINES, f"{rel} has {lines} lines now: remove it from KNOWN_LONG"
    else:
        assert lines <= MAX_LINES, f"{rel} has {lines} lines (at most {MAX_LINES})"
