"""One layer from keyword values, as ``symconv derive`` builds it: sizes left out stay symbols.

Importing this module is light (SymPy loads when a layer is built), so the command line can offer
:data:`LAYERS` as choices in ``--help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from symconv.errors import SymconvError

if TYPE_CHECKING:
    from symconv.algebra.arith import Dim
    from symconv.report.proof import Derivation

LAYERS = ("conv2d", "depthwise", "pointwise", "separable", "conv_transpose2d", "dense",
          "maxpool", "avgpool")


def build_layer(kind: str, *, in_features: Dim | None = None, out_features: Dim | None = None,
                kernel: Dim | None = None, stride: Dim | None = None,
                dilation: Dim | None = None, groups: Dim | None = None,
                padding: Dim | str | None = None, input_hw: Sequence[Dim] | None = None,
                output_padding: Dim | None = None,
                use_bias: bool = True) -> tuple[Any, tuple[Dim, ...]]:
    """``(layer, input shape)`` for a layer ``kind`` of :data:`LAYERS`.

    Left out: ``in_features`` M, ``out_features`` N, ``kernel`` K and ``input_hw`` (H, W) stay
    symbols; ``stride``, ``dilation``, ``groups`` are 1, ``padding`` and ``output_padding`` 0.
    ``padding`` may also be ``"SAME"``/``"VALID"`` (not for ``conv_transpose2d``, whose integer
    padding has PyTorch's meaning). The input shape is ``input_hw`` for convolutions, ``(M,)``
    for ``dense`` and ``(*input_hw, M)`` for pooling.

    >>> layer, shape = build_layer("conv2d", in_features=3, out_features=64, kernel=5, stride=2,
    ...                            padding=2, input_hw=(128, 128))
    >>> layer.param_count(), shape
    (4864, (128, 128))
    """
    from symconv import algebra as A
    from symconv.algebra import symbols as S

    if kind not in LAYERS:
        raise SymconvError(f"kind must be one of {LAYERS}, got {kind!r}")
    m = S.M if in_features is None else in_features
    n = S.N if out_features is None else out_features
    k = S.K if kernel is None else kernel
    s, d, g = (1 if v is None else v for v in (stride, dilation, groups))
    pad: Any = 0 if padding is None else padding
    if isinstance(pad, str):
        if pad.upper() not in ("SAME", "VALID"):
            raise SymconvError(f"padding must be an integer, 'SAME' or 'VALID', got {pad!r}")
        pad = pad.upper()
    hw = (S.H, S.W) if input_hw is None else tuple(input_hw)
    if len(hw) != 2:
        raise SymconvError(f"input_hw takes H,W (two entries), got {tuple(input_hw)!r}")
    if kind == "conv2d":
        return A.Conv2D(m, n, k, s, pad, d, g, use_bias), hw
    if kind == "depthwise":
        return A.depthwise_conv2d(m, k, s, pad, d, use_bias=use_bias), hw
    if kind == "pointwise":
        return A.pointwise_conv2d(m, n, use_bias), hw
    if kind == "separable":
        return A.SeparableConv2D(m, n, k, s, pad, d, use_bias=use_bias), hw
    if kind == "conv_transpose2d":
        if isinstance(pad, str):
            raise SymconvError("conv_transpose2d takes an integer padding (PyTorch meaning)")
        op = 0 if output_padding is None else output_padding
        return A.ConvTranspose2D(m, n, k, s, pad, op, d, use_bias), hw
    if kind == "dense":
        return A.Dense(m, n, use_bias), (m,)
    pool = A.MaxPool2D if kind == "maxpool" else A.AvgPool2D
    return pool(k, s, pad if isinstance(pad, str) else ((pad, pad), (pad, pad))), (*hw, m)


def derive_layer(kind: str, **options: Any) -> Derivation:
    """The step-by-step derivation of :func:`build_layer`'s layer on its input shape."""
    from symconv.report.derive import derive

    layer, shape = build_layer(kind, **options)
    return derive(layer, shape)
