"""Convert JAX symbolic dimensions (``jax.export`` ``_DimExpr``) to SymPy, faithfully.

JAX prints a dimension expression as text such as ``- floordiv(- H, 2)`` or
``max(H - 4, 0) + 1``, a power as ``s^2``. That text comes from JAX, not from a user, but it is
still parsed with :mod:`ast` and a whitelist (names, integers, ``+ - *``, ``^`` with an integer
exponent, and the calls ``floordiv``, ``mod``, ``max``, ``min``), never with ``eval`` or
``sympify``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import sympy as sp

from symconv.errors import SymconvError

_CALLS = {
    "floordiv": lambda a, b: sp.floor(a / b),
    "mod": sp.Mod,
    "max": sp.Max,
    "min": sp.Min,
}


def dim_to_sympy(dim: object, symbols: Mapping[str, sp.Symbol] | None = None) -> sp.Expr | int:
    """One dimension (int or JAX ``_DimExpr``) as an int or a SymPy expression.

    ``symbols`` maps JAX dimension names to SymPy symbols (by default positive integers).
    """
    if isinstance(dim, int):
        return dim
    tree = ast.parse(str(dim), mode="eval")
    table = dict(symbols or {})

    def walk(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id not in table:
                table[node.id] = sp.Symbol(node.id, integer=True, positive=True)
            return table[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = walk(node.left), walk(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(
                node.op, ast.Sub) else a * b
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor)
                and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)):
            return walk(node.left) ** node.right.value  # JAX prints a power as ``s^2``
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _CALLS and not node.keywords):
            return _CALLS[node.func.id](*[walk(a) for a in node.args])
        raise SymconvError(f"cannot convert JAX dimension {dim!s}: unexpected {ast.dump(node)}")

    result = walk(tree)
    return int(result) if result.is_Integer else result


def shape_to_sympy(shape, symbols: Mapping[str, sp.Symbol] | None = None) -> tuple:
    """A whole shape, dimension by dimension (see :func:`dim_to_sympy`)."""
    return tuple(dim_to_sympy(d, symbols) for d in shape)
