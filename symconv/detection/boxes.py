r"""Box formats, conversions between them, areas, and host-side validation of box arrays.

A box is the last axis (length 4) of an array; every leading axis is a batch axis. Formats:

- ``'xyxy'``: corners $(x_1, y_1, x_2, y_2)$, valid when $x_2 \ge x_1$ and $y_2 \ge y_1$;
- ``'xywh'``: centre and size $(c_x, c_y, w, h)$ (YOLO's $b_x, b_y, b_w, b_h$);
- ``'ltwh'``: top-left corner and size $(x_1, y_1, w, h)$ (COCO's ``bbox``).

.. math::  x_1 = c_x - \tfrac{w}{2},\quad x_2 = c_x + \tfrac{w}{2},\qquad
           c_x = \tfrac{x_1 + x_2}{2},\quad w = x_2 - x_1 \quad(\text{same for } y, h).

Validation happens on the host, once, before anything is traced: :func:`check_boxes` reads a
concrete array with NumPy and raises :class:`NegativeBoxSizeError` (or another
:class:`~symconv.errors.SymconvError`) naming the first bad box. Inside ``jax.jit`` the arrays
are tracers whose values are unknown, so the jitted computations in :mod:`symconv.detection`
*assume valid input* and do not check it: validate concrete data with :func:`check_boxes` before
calling a jitted function. The public functions do this themselves when they receive concrete
arrays and skip it when they are traced.

The detection errors live here, beside the check that raises most of them; all derive from
:class:`~symconv.errors.SymconvError`.
"""

from __future__ import annotations

import numbers
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from symconv.errors import NonIntegerError, NonPositiveSizeError, ShapeMismatchError, SymconvError

BoxFormat = Literal["xyxy", "xywh", "ltwh"]
BOX_FORMATS: tuple[str, ...] = ("xyxy", "xywh", "ltwh")


class InvalidBoxFormatError(SymconvError):
    """A box format other than ``'xyxy'``, ``'xywh'`` or ``'ltwh'`` was asked for."""


class NegativeBoxSizeError(SymconvError):
    """A box has a negative width or height (``x2 < x1`` or ``y2 < y1`` in ``'xyxy'``)."""


class NonFiniteBoxError(SymconvError):
    """A box coordinate is NaN or infinite."""


class InvalidThresholdError(SymconvError):
    """A threshold is outside its allowed range (an IoU threshold outside [0, 1]) or NaN."""


class TooManyClustersError(SymconvError):
    """k-means was asked for more clusters than there are boxes."""


def is_traced(*xs: object) -> bool:
    """True when any argument is a JAX tracer (its value is unknown until run)."""
    return any(isinstance(x, jax.core.Tracer) for x in xs)


def positive_int(value: object, what: str) -> int:
    """A static count (``max_outputs``, ``k``): a Python/NumPy integer ``>= 1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NonIntegerError(f"{what}={value!r} must be an integer, not {type(value).__name__}")
    if value < 1:
        raise NonPositiveSizeError(f"{what}={value} must be >= 1")
    return int(value)


def check_format(fmt: object, what: str = "fmt") -> str:
    """``fmt`` itself, or :class:`InvalidBoxFormatError` when it is not a known format."""
    if not isinstance(fmt, str) or fmt not in BOX_FORMATS:
        raise InvalidBoxFormatError(f"{what}={fmt!r} is not a box format; use one of {BOX_FORMATS}")
    return fmt


def check_boxes(boxes: object, fmt: BoxFormat = "xyxy", *, name: str = "boxes") -> np.ndarray:
    r"""Validate a concrete box array on the host and return it as a NumPy array.

    Checks that the last axis has length 4, every coordinate is finite and every box has
    $w \ge 0$ and $h \ge 0$ ($x_2 \ge x_1$, $y_2 \ge y_1$ for ``'xyxy'``). Zero-size boxes are
    valid (their IoU with anything is 0).

    Args:
      boxes: array-like of shape ``(..., 4)``; not a tracer (check before ``jax.jit``).
      fmt: its format, one of :data:`BOX_FORMATS`.
      name: what to call the array in error messages.

    Returns:
      ``boxes`` as a NumPy array (a host copy; a JAX array is transferred once).

    Raises:
      ShapeMismatchError: the last axis is not 4.
      NonFiniteBoxError: a coordinate is NaN or infinite.
      NegativeBoxSizeError: a width or height is negative; the message names the box.
      SymconvError: ``boxes`` is a tracer, so its values cannot be checked.

    >>> check_boxes([[0, 0, 2, 3]]).tolist()
    [[0, 0, 2, 3]]
    >>> check_boxes([[0, 0, -1, 3]], "xywh")
    Traceback (most recent call last):
    ...
    symconv.detection.boxes.NegativeBoxSizeError: boxes[0] = [0, 0, -1, 3] ... width w=-1; ...
    """
    fmt = check_format(fmt)
    if is_traced(boxes):
        raise SymconvError(
            f"{name} is a JAX tracer: its values are unknown inside jax.jit; call check_boxes on "
            f"the concrete array before jitting"
        )
    arr = np.asarray(boxes)
    if arr.ndim < 1 or arr.shape[-1] != 4:
        raise ShapeMismatchError(f"{name} has shape {arr.shape}; the last axis must be 4 (a box)")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise SymconvError(f"{name} has dtype {arr.dtype}; box coordinates must be numbers")
    if arr.size == 0:
        return arr
    finite = np.isfinite(arr).all(axis=-1)
    if not finite.all():
        at = _first(~finite)
        raise NonFiniteBoxError(
            f"{_where(name, at)} = {arr[at].tolist()} has a NaN or infinite coordinate"
        )
    if fmt == "xyxy":
        w, h = arr[..., 2] - arr[..., 0], arr[..., 3] - arr[..., 1]
        wtxt, htxt = "x2 < x1", "y2 < y1"
    else:
        w, h = arr[..., 2], arr[..., 3]
        wtxt, htxt = "w={}", "h={}"
    for size, what, txt in ((w, "width", wtxt), (h, "height", htxt)):
        bad = size < 0
        if bad.any():
            at = _first(bad)
            detail = txt.format(size[at].item())
            raise NegativeBoxSizeError(
                f"{_where(name, at)} = {arr[at].tolist()} ({fmt!r}) has negative {what} {detail}; "
                f"every box needs w >= 0 and h >= 0"
            )
    return arr


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


def _where(name: str, at: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, at))}]" if at else name


def as_float(x: jax.typing.ArrayLike) -> jax.Array:
    """``x`` as a JAX array, cast to the default float dtype unless already floating."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def convert_boxes(boxes: jax.typing.ArrayLike, src: BoxFormat, dst: BoxFormat) -> jax.Array:
    r"""Convert boxes between ``'xyxy'``, ``'xywh'`` (centre, size) and ``'ltwh'``.

    .. math::  (c_x, c_y, w, h) \mapsto (c_x - \tfrac{w}{2},\ c_y - \tfrac{h}{2},\
               c_x + \tfrac{w}{2},\ c_y + \tfrac{h}{2})

    and the inverse maps; ``'ltwh'`` goes through ``'xyxy'`` by $x_2 = x_1 + w$. Jittable
    (``src`` and ``dst`` are static); any leading batch axes; integer input is cast to float.
    Values are not checked (see :func:`check_boxes`).

    Args:
      boxes: ``(..., 4)`` boxes in format ``src``.
      src: format of ``boxes``.
      dst: format wanted.

    Returns:
      ``(..., 4)`` boxes in format ``dst``.

    Raises:
      InvalidBoxFormatError: ``src`` or ``dst`` is not a box format.
      ShapeMismatchError: the last axis is not 4.

    >>> convert_boxes([[1, 2, 4, 6]], "xywh", "xyxy").tolist()
    [[-1.0, -1.0, 3.0, 5.0]]
    >>> convert_boxes([[-1, -1, 3, 5]], "xyxy", "ltwh").tolist()
    [[-1.0, -1.0, 4.0, 6.0]]
    """
    check_format(src, "src")
    check_format(dst, "dst")
    b = as_float(boxes)
    if b.ndim < 1 or b.shape[-1] != 4:
        raise ShapeMismatchError(f"boxes has shape {b.shape}; the last axis must be 4 (a box)")
    if src == dst:
        return b
    p, q, r, s = (b[..., i] for i in range(4))
    if src == "xywh":
        x1, y1, x2, y2 = p - r / 2, q - s / 2, p + r / 2, q + s / 2
    elif src == "ltwh":
        x1, y1, x2, y2 = p, q, p + r, q + s
    else:
        x1, y1, x2, y2 = p, q, r, s
    if dst == "xyxy":
        out = (x1, y1, x2, y2)
    elif dst == "xywh":
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    else:
        out = (x1, y1, x2 - x1, y2 - y1)
    return jnp.stack(out, axis=-1)


def box_area(boxes: jax.typing.ArrayLike, fmt: BoxFormat = "xyxy") -> jax.Array:
    r"""Area $w h$ of each box; ``(..., 4)`` in, ``(...)`` out. Jittable; values not checked.

    >>> box_area([[0, 0, 2, 3], [1, 1, 1, 5]]).tolist()
    [6.0, 0.0]
    """
    check_format(fmt)
    b = as_float(boxes)
    if fmt == "xyxy":
        return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return b[..., 2] * b[..., 3]
