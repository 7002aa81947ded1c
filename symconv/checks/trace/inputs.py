r"""Inputs as users write them: shapes with expressions, constraints, dtypes, names, keyword
arguments for the call and for a factory.

- a shape is JAX's own syntax (``jax.export.symbolic_shape``): ``"B, 32*h, 32*w, 3"``; its text
  is first checked against a whitelist (names, integers, ``+ - *``, parentheses, commas, and
  JAX's ``floordiv``/``mod``/``max``/``min``), then parsed by JAX, never evaluated;
- an input may carry a name and a dtype: ``"tokens=B, L:int32"`` (name before ``=``, dtype after
  the last ``:``);
- a constraint is ``"L <= 2048"`` or ``"H >= 4"`` (also ``==``), handed to
  ``jax.export.SymbolicScope``, which all the inputs share;
- keyword arguments (for the call, ``train=False``, or for a factory, ``depth=3, img=H``) are
  read by :func:`parse_kwargs` from the :mod:`ast` of the text: literals only (numbers,
  strings, booleans, ``None``, tuples and lists of them) and bare names, which stand for
  dimensions (:class:`Dim`). Nothing is evaluated; ``sympify`` never sees user text.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from symconv.errors import SymconvError, UnsafeInputError

_SHAPE = re.compile(r"[A-Za-z0-9_ ,*+\-()]{1,300}")
_CONSTRAINT = re.compile(r"[A-Za-z0-9_ *+\-()]{1,100}(<=|>=|==)[A-Za-z0-9_ *+\-()]{1,100}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}")
_FUNCS = {"floordiv", "mod", "max", "min"}
DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "int16", "int8",
          "uint8", "bool")


@dataclass(frozen=True)
class Dim:
    """A keyword argument that stands for a dimension expression of the inputs, e.g.
    ``Dim("H")`` or ``Dim("32*h")``: the factory receives JAX's symbolic dimension."""

    expr: str


@dataclass(frozen=True)
class InputSpec:
    """One input: its shape (text or a sequence of ints and JAX dims), dtype and optional name
    (a named input is passed as a keyword argument of the call)."""

    shape: str | Sequence[Any]
    dtype: Any = jnp.float32
    name: str | None = None


def parse_input(text: str | InputSpec | Sequence[Any], dtype: Any = jnp.float32) -> InputSpec:
    """``"[name=]dims[:dtype]"`` (or a sequence of dims, or an :class:`InputSpec`) -> InputSpec.

    >>> parse_input("tokens=B, L:int32")
    InputSpec(shape='B, L', dtype='int32', name='tokens')
    """
    dtype = check_dtype(dtype)
    if isinstance(text, InputSpec):
        return text
    if not isinstance(text, str):
        return InputSpec(tuple(text), dtype)
    name = None
    head, sep, tail = text.partition("=")
    if sep and _NAME.fullmatch(head.strip()) and "=" not in tail:
        name, text = head.strip(), tail
    if ":" in text:
        text, _, dt = text.rpartition(":")
        dtype = check_dtype(dt.strip())
    check_shape_text(text)
    return InputSpec(text.strip(), dtype, name)


def check_dtype(name: Any) -> Any:
    """A dtype given by name must be one of :data:`DTYPES`; other dtype objects pass."""
    if isinstance(name, str) and name not in DTYPES:
        raise UnsafeInputError(f"unknown dtype {name!r}; use one of {', '.join(DTYPES)}")
    return name


def check_shape_text(text: str) -> None:
    """Whitelist a shape's text before JAX parses it (names, integers, ``+ - *``, parentheses,
    commas, JAX's ``floordiv``/``mod``/``max``/``min``)."""
    if not isinstance(text, str) or not _SHAPE.fullmatch(text) or not text.strip():
        raise UnsafeInputError(
            f"input shape {text!r}: use dimension names, integers, + - * and parentheses, "
            f"separated by commas, e.g. 'B, 32*h, 32*w, 3'")
    for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*\()", text):
        if name not in _FUNCS:
            raise UnsafeInputError(f"input shape {text!r}: {name}(...) is not one of JAX's "
                                   f"dimension functions {sorted(_FUNCS)}")
    if any(n.startswith("__") for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)):
        raise UnsafeInputError(f"input shape {text!r}: names may not start with '__'")


def scope(constraints: Sequence[str] = ()) -> Any:
    """One ``jax.export.SymbolicScope`` for all the inputs, with the checked constraints."""
    constraints = [constraints] if isinstance(constraints, str) else list(constraints)
    for c in constraints:
        if not isinstance(c, str) or not _CONSTRAINT.fullmatch(c.strip()):
            raise UnsafeInputError(f"constraint {c!r}: expected an inequality such as "
                                   f"'L <= 2048' or 'H >= 4' (<=, >= or ==)")
    try:
        return jax.export.SymbolicScope([c.strip() for c in constraints])
    except Exception as e:  # JAX's own parser: report, do not crash
        raise SymconvError(f"bad constraints {constraints}: {first_line(e)}") from None


def shape_of(spec: InputSpec, where: Any) -> tuple:
    """The spec's shape as ints and JAX symbolic dims of the scope ``where``."""
    if not isinstance(spec.shape, str):
        return tuple(spec.shape)
    check_shape_text(spec.shape)
    try:
        return tuple(jax.export.symbolic_shape(spec.shape, scope=where))
    except Exception as e:  # JAX's own parser: report, do not crash
        raise SymconvError(f"bad input shape {spec.shape!r}: {first_line(e)}") from None


def dim_of(d: Dim, where: Any) -> Any:
    """A :class:`Dim` as one JAX symbolic dimension of the scope ``where``."""
    shape = shape_of(InputSpec(d.expr), where)
    if len(shape) != 1:
        raise UnsafeInputError(f"{d.expr!r} is not one dimension")
    return shape[0]


def parse_kwargs(text: str | None, what: str) -> dict[str, Any]:
    """``"train=False, depth=3, size=(3, 3), img=H"`` -> a dict of literals; a bare name such as
    ``H`` becomes :class:`Dim`. Read from the :mod:`ast`, never evaluated."""
    if text is None or not text.strip():
        return {}
    if len(text) > 1000:
        raise UnsafeInputError(f"{what}: too long")
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise UnsafeInputError(f"{what}: {text!r} is not NAME=VALUE pairs such as "
                               f"train=False,depth=3") from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise UnsafeInputError(f"{what}: {text!r} is not NAME=VALUE pairs such as "
                               f"train=False,depth=3")
    out = {}
    for k in call.keywords:
        if k.arg.startswith("__") or k.arg in out:
            raise UnsafeInputError(f"{what}: bad or repeated name {k.arg!r}")
        out[k.arg] = _literal(k.value, what, k.arg)
    return out


def _literal(node: ast.AST, what: str, name: str) -> Any:
    if isinstance(node, ast.Name) and not node.id.startswith("__"):
        if node.id in ("True", "False", "None"):  # pragma: no cover (parsed as constants)
            return {"True": True, "False": False, "None": None}[node.id]
        return Dim(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e, what, name) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    try:
        return ast.literal_eval(node)  # a node, not text: literals only
    except (ValueError, TypeError, SyntaxError):
        raise UnsafeInputError(f"{what}: the value of {name} must be a literal (number, string, "
                               f"True/False/None, tuple) or a dimension name, got "
                               f"{ast.unparse(node)!r}") from None


def resolve(value: Any, where: Any) -> Any:
    """Replace every :class:`Dim` in ``value`` (nested in tuples, lists, dicts) by JAX's dim."""
    if isinstance(value, Dim):
        return dim_of(value, where)
    if isinstance(value, (tuple, list)):
        return type(value)(resolve(v, where) for v in value)
    if isinstance(value, Mapping):
        return {k: resolve(v, where) for k, v in value.items()}
    return value


def constraint_hint(error: Exception) -> str:
    """What to add when JAX cannot decide a comparison of symbolic dimensions."""
    text = str(error)
    m = re.search(r"comparison '(.+?)' (>=|<=|==|>|<|!=) '(.+?)' is inconclusive", text)
    if m:
        a, op, b = m.groups()
        want = {">=": f"{a} >= {b}", "<=": f"{a} <= {b}", "==": f"{a} == {b}",
                ">": f"{a} >= {b} + 1", "<": f"{a} <= {b} - 1"}.get(op)
        if want:
            return (f"JAX cannot decide whether {a} {op} {b} for every size; if it holds, add "
                    f"the constraint '{want}' (trace(..., constraints=[...]) or --constraint)")
    if "divide evenly" in text:
        return (f"{first_line(error)}: write that dimension as a multiple in the input shape "
                f"(e.g. '2*n' instead of 'N')")
    return (f"JAX cannot decide a comparison of symbolic dimensions ({first_line(error)}); "
            f"add a constraint such as 'H >= 4' (trace(..., constraints=[...]) or "
            f"--constraint), or give that dimension a number")


def first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
