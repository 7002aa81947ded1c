"""The symbols of the closed forms, declared once with their assumptions and meaning.

All are positive integers (so SymPy can simplify floors, maxima and ratios) except the padding
``P``, which may be zero. ``DESCRIPTIONS`` gives the text the renderers print beside them.
"""

from __future__ import annotations

import sympy as sp

_pos = dict(integer=True, positive=True)

H = sp.Symbol("H", **_pos)  #: input height
W = sp.Symbol("W", **_pos)  #: input width
B = sp.Symbol("B", **_pos)  #: batch size
M = sp.Symbol("M", **_pos)  #: input channels
N = sp.Symbol("N", **_pos)  #: filters (output channels)
K = sp.Symbol("K", **_pos)  #: kernel size
S = sp.Symbol("S", **_pos)  #: stride
D = sp.Symbol("D", **_pos)  #: kernel dilation
G = sp.Symbol("G", **_pos)  #: feature groups
C = sp.Symbol("C", **_pos)  #: classes
P = sp.Symbol("P", integer=True, nonnegative=True)  #: padding per side
p = sp.Symbol("p", integer=True, nonnegative=True)  #: half kernel: K = 2p + 1

DESCRIPTIONS: dict[sp.Symbol, str] = {
    H: "input height",
    W: "input width",
    B: "batch size",
    M: "input channels",
    N: "number of filters (output channels)",
    K: "kernel size",
    S: "stride",
    D: "kernel dilation",
    G: "feature groups",
    C: "number of classes",
    P: "padding per side",
    p: "half kernel, K = 2p + 1",
}


def positive_symbol(name: str) -> sp.Symbol:
    """A fresh positive-integer symbol. ``name`` must be a plain identifier (never parsed)."""
    if not name.isidentifier():
        from symconv.errors import UnsafeInputError

        raise UnsafeInputError(f"symbol name {name!r} is not a plain identifier")
    return sp.Symbol(name, **_pos)
