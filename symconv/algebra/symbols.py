"""The symbols of the closed forms, declared once with their assumptions and meaning.

Every general formula of :mod:`symconv.algebra` is written over these symbols; a layer binds them
to its own fields and input (the *substitution*). All are positive integers (so SymPy can
simplify floors, maxima and ratios) except paddings and remainders, which may be zero.
``DESCRIPTIONS`` gives the text the renderers print beside them. Names that SymPy prints with a
subscript use an underscore (``P_lo`` prints as $P_{lo}$).
"""

from __future__ import annotations

import sympy as sp

from symconv.errors import UnsafeInputError

_pos = dict(integer=True, positive=True)
_nonneg = dict(integer=True, nonnegative=True)

# --- sizes of a convolution ------------------------------------------------------------------
H = sp.Symbol("H", **_pos)  #: input height (along one axis: its input length)
W = sp.Symbol("W", **_pos)  #: input width
B = sp.Symbol("B", **_pos)  #: batch size
M = sp.Symbol("M", **_pos)  #: input channels
N = sp.Symbol("N", **_pos)  #: filters (output channels)
K = sp.Symbol("K", **_pos)  #: kernel size (along one axis)
S = sp.Symbol("S", **_pos)  #: stride
D = sp.Symbol("D", **_pos)  #: kernel dilation
G = sp.Symbol("G", **_pos)  #: feature groups
C = sp.Symbol("C", **_pos)  #: channels of a map (classes for a classifier)
P = sp.Symbol("P", **_nonneg)  #: padding per side
p = sp.Symbol("p", **_nonneg)  #: half kernel: K = 2p + 1
Kh = sp.Symbol("K_h", **_pos)  #: kernel height
Kw = sp.Symbol("K_w", **_pos)  #: kernel width
P_lo = sp.Symbol("P_lo", **_nonneg)  #: padding before the first pixel of an axis
P_hi = sp.Symbol("P_hi", **_nonneg)  #: padding after the last pixel of an axis
P_tot = sp.Symbol("P_tot", **_nonneg)  #: total padding of an axis
P_o = sp.Symbol("P_o", **_nonneg)  #: output padding of a transposed convolution
Ho = sp.Symbol("H'", **_pos)  #: output height
Wo = sp.Symbol("W'", **_pos)  #: output width
O = sp.Symbol("O", **_pos)  #: output length along one axis
T = sp.Symbol("T", **_nonneg)  #: (output, tap) pairs of one axis that read real input
Th = sp.Symbol("T_h", **_nonneg)  #: real taps along the height
Tw = sp.Symbol("T_w", **_nonneg)  #: real taps along the width
r = sp.Symbol("r", **_nonneg)  #: the last output's overshoot: (H + P_lo + P_hi - D(K-1) - 1) mod S
R = sp.Symbol("R", **_pos)  #: upscale factor (pixel shuffle, nearest upsampling)

# --- fully connected, pooling -------------------------------------------------------------
F = sp.Symbol("F", **_pos)  #: input features of a dense layer
U = sp.Symbol("U", **_pos)  #: units (output features) of a dense layer
Hin = sp.Symbol("H_in", **_pos)  #: input side of a layer inside a network

# --- blocks and transformers ---------------------------------------------------------------
Lb = sp.Symbol("L_b", **_pos)  #: layers of a dense block
k = sp.Symbol("k", **_pos)  #: growth rate of a dense block
k0 = sp.Symbol("k_0", **_pos)  #: channels entering a dense block
l = sp.Symbol("l", **_pos)  #: index of a layer inside a block
L = sp.Symbol("L", **_pos)  #: sequence length (tokens)
Lq = sp.Symbol("L_q", **_pos)  #: query length
Lk = sp.Symbol("L_k", **_pos)  #: key length
Lmax = sp.Symbol("L_max", **_pos)  #: longest sequence a positional table holds
V = sp.Symbol("V", **_pos)  #: vocabulary size
d = sp.Symbol("d", **_pos)  #: model width
dq = sp.Symbol("d_q", **_pos)  #: query input width
dkv = sp.Symbol("d_kv", **_pos)  #: key/value input width
dff = sp.Symbol("d_ff", **_pos)  #: feed-forward width
h = sp.Symbol("h", **_pos)  #: attention heads

DESCRIPTIONS: dict[sp.Symbol, str] = {
    H: "input height", W: "input width", B: "batch size", M: "input channels",
    N: "number of filters (output channels)", K: "kernel size", S: "stride",
    D: "kernel dilation", G: "feature groups", C: "channels (classes for a classifier)",
    P: "padding per side", p: "half kernel, K = 2p + 1", Kh: "kernel height",
    Kw: "kernel width", P_lo: "padding before the first pixel",
    P_hi: "padding after the last pixel",
    P_tot: "total padding of an axis", P_o: "output padding (transposed convolution)",
    Ho: "output height", Wo: "output width", O: "output length along one axis",
    T: "(output, tap) pairs on real input along one axis", Th: "real taps along the height",
    Tw: "real taps along the width", r: "overshoot of the last window, in pixels (mod S)",
    R: "upscale factor", F: "input features", U: "units (output features)",
    Hin: "input side of the layer", Lb: "layers of the block", k: "growth rate",
    k0: "channels entering the block", l: "layer index inside the block",
    L: "sequence length", Lq: "query length", Lk: "key length",
    Lmax: "positions in the positional table", V: "vocabulary size", d: "model width",
    dq: "query input width", dkv: "key/value input width", dff: "feed-forward width",
    h: "attention heads",
}


def positive_symbol(name: str) -> sp.Symbol:
    """A fresh positive-integer symbol. ``name`` must be a plain identifier (never parsed)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise UnsafeInputError(f"symbol name {name!r} is not a plain identifier")
    return sp.Symbol(name, **_pos)
