"""One error root for everything symconv rejects.

Every message names the layer (or argument) and the violated condition with its values, e.g.
``Conv2D(in_features=6, ...): in_features=6 is not divisible by feature_group_count=4``.
"""

from __future__ import annotations


class SymconvError(ValueError):
    """Bad input to symconv: the message says what is wrong and how to fix it."""


class NonIntegerError(SymconvError):
    """A size that must be a (positive) integer is a float, bool, string or non-integer."""


class NonPositiveSizeError(SymconvError):
    """A size, channel count, kernel, stride or dilation is zero or negative."""


class KernelLargerThanInputError(SymconvError):
    """The (dilated) kernel does not fit in the padded input."""


class GroupsDoNotDivideChannelsError(SymconvError):
    """``feature_group_count`` does not divide the input or output channels."""


class OutputPaddingTooLargeError(SymconvError):
    """A transposed convolution's ``output_padding`` is not smaller than max(stride, dilation)."""


class ShapeMismatchError(SymconvError):
    """A layer receives an input whose shape or channel count it cannot take."""


class InvalidPaddingError(SymconvError):
    """Padding is not an int, a per-axis pair, per-side pairs, 'SAME' or 'VALID', or is negative."""


class InvalidConventionError(SymconvError):
    """A counting convention other than 'dense' or 'exact' was asked for."""


class UnsafeInputError(SymconvError):
    """User text that is not a plain identifier or integer where one was expected."""
