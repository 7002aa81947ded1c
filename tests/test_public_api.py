"""The public surface: what ``symconv``, ``symconv.algebra`` and ``symconv.tools.bench``
re-export and ``symconv.testing.__all__`` lists imports, is the object its defining module holds,
and every error is a ``ValueError``."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import symconv
import symconv.algebra
import symconv.errors
import symconv.testing
from symconv.errors import SymconvError


def _reexports(module) -> list[tuple[str, str, str]]:
    """``(public name, source module, source name)`` for each ``from X import Y as Y`` line."""
    tree = ast.parse(Path(module.__file__).read_text())
    rows = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                rows.append((alias.asname or alias.name, node.module, alias.name))
    return rows


ALGEBRA_EXPORTS = _reexports(symconv.algebra)


def test_algebra_reexports_use_the_explicit_as_form() -> None:
    """``from x import Y as Y`` (the re-export spelling of STYLE.md) on every line."""
    assert ALGEBRA_EXPORTS
    tree = ast.parse(Path(symconv.algebra.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                assert alias.asname == alias.name, ast.unparse(node)


@pytest.mark.parametrize("public, source, name", ALGEBRA_EXPORTS,
                         ids=[row[0] for row in ALGEBRA_EXPORTS])
def test_algebra_exports_import(public: str, source: str, name: str) -> None:
    exported = getattr(symconv.algebra, public)
    origin = importlib.import_module(source)
    if inspect.ismodule(exported):
        assert exported is importlib.import_module(f"{source}.{name}")
    else:
        assert exported is getattr(origin, name)


@pytest.mark.parametrize("name", symconv.testing.__all__)
def test_testing_all_imports(name: str) -> None:
    assert hasattr(symconv.testing, name)
    namespace: dict = {}
    exec(f"from symconv.testing import {name}", namespace)  # the user's spelling
    assert namespace[name] is getattr(symconv.testing, name)


def test_testing_star_import_is_all() -> None:
    namespace: dict = {}
    exec("from symconv.testing import *", namespace)
    assert set(symconv.testing.__all__) <= set(namespace)


def test_symconv_error_is_a_value_error() -> None:
    assert issubclass(SymconvError, ValueError)


@pytest.mark.parametrize(
    "error",
    [obj for _, obj in inspect.getmembers(symconv.errors, inspect.isclass)
     if obj.__module__ == symconv.errors.__name__],
    ids=lambda e: e.__name__,
)
def test_every_error_has_the_one_root(error) -> None:
    assert issubclass(error, SymconvError) and issubclass(error, ValueError)


@pytest.mark.parametrize("name", symconv.__all__)
def test_top_level_names_load_their_definitions(name: str) -> None:
    """``symconv``'s lazy names (PEP 562) are the objects of the modules that define them."""
    module, _, attr = symconv._EXPORTS[name].partition(":")
    source = importlib.import_module(module)
    expected = getattr(source, attr) if attr else (
        source if source.__name__.rsplit(".", 1)[-1] == name else getattr(source, name))
    namespace: dict = {}
    exec(f"from symconv import {name}", namespace)  # the user's spelling
    assert namespace[name] is expected is getattr(symconv, name)
    assert name in dir(symconv)


def test_top_level_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        symconv.nope  # noqa: B018
    assert not hasattr(symconv, "Conv2d")


def test_bench_package_reexports() -> None:
    """``symconv.tools.bench`` re-exports its modules' public names, each the same object."""
    import symconv.tools.bench as bench

    rows = _reexports(bench)
    assert {"bench", "prepare", "PEAKS", "format_table", "DataParallel"} <= {r[0] for r in rows}
    for public, source, name in rows:
        assert public == name and getattr(bench, public) is getattr(
            importlib.import_module(source), name)
