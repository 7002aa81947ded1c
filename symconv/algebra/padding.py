r"""Padding: the spellings Flax NNX accepts, normalised, and XLA's meaning of 'SAME'.

XLA's ``'SAME'`` for input length $n$, kernel $K$, stride $S$ and dilation $D$ pads

.. math::  O = \lceil n / S \rceil, \quad
           P_{tot} = \max\bigl(0,\ (O - 1) S + D (K - 1) + 1 - n\bigr), \quad
           P_{lo} = \lfloor P_{tot} / 2 \rfloor, \quad P_{hi} = P_{tot} - P_{lo},

so an even total splits evenly and an odd one puts the extra pixel at the end (high side).
"""

from __future__ import annotations

from symconv.algebra.arith import Dim, as_dim, ceildiv, floordiv, out, smax
from symconv.errors import InvalidPaddingError, SymconvError

PaddingLike = str | int | tuple
Pads = tuple[tuple[Dim, Dim], tuple[Dim, Dim]]


def normalize_padding(padding: PaddingLike, layer: str) -> str | Pads:
    """Return ``'SAME'``, ``'VALID'`` or ``((top, bottom), (left, right))``.

    Accepts an int (all sides), a per-axis pair ``(ph, pw)``, per-side pairs
    ``((top, bottom), (left, right))``, or the strings ``'SAME'``/``'VALID'`` (any case).
    """
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in ("SAME", "VALID"):
            raise InvalidPaddingError(
                f"{layer}: padding={padding!r} is not supported; use 'SAME', 'VALID', an int, "
                f"(ph, pw) or ((top, bottom), (left, right))"
            )
        return mode
    try:
        if isinstance(padding, (tuple, list)):
            if len(padding) != 2:
                raise InvalidPaddingError(
                    f"{layer}: padding={padding!r} must have 2 entries (one per spatial axis)"
                )
            axes = []
            for i, entry in enumerate(padding):
                if isinstance(entry, (tuple, list)):
                    if len(entry) != 2:
                        raise InvalidPaddingError(
                            f"{layer}: padding[{i}]={entry!r} must be a (low, high) pair"
                        )
                    lo, hi = entry
                else:
                    lo = hi = entry
                axes.append(
                    (
                        as_dim(lo, f"{layer}: padding[{i}] low", allow_zero=True),
                        as_dim(hi, f"{layer}: padding[{i}] high", allow_zero=True),
                    )
                )
            return tuple(axes)  # type: ignore[return-value]
        v = as_dim(padding, f"{layer}: padding", allow_zero=True)
        return ((v, v), (v, v))
    except InvalidPaddingError:
        raise
    except SymconvError as e:
        raise InvalidPaddingError(f"{e} (negative padding/cropping is not supported)") from None


def same_pads(n: Dim, k: Dim, s: Dim, d: Dim) -> tuple[Dim, Dim]:
    r"""XLA's 'SAME' split $(P_{lo}, P_{hi})$ for one axis (see the module docstring).

    >>> same_pads(8, 3, 1, 1), same_pads(8, 2, 1, 1), same_pads(128, 5, 2, 1)
    ((1, 1), (0, 1), (1, 2))
    """
    o = ceildiv(n, s)
    total = smax(0, (o - 1) * s + d * (k - 1) + 1 - n)
    lo = floordiv(total, 2)
    return lo, out(total - lo)
