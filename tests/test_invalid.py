"""Bad inputs are rejected with the declared error class and a message that states the condition.

Every error is a :class:`symconv.errors.SymconvError`, hence a ``ValueError``. The table below
gives, per spec, one explicit bad input per rule (ids name the rule), the error class expected
and a fragment of the message (the condition, with its values where the message has them).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from symconv.algebra import (
    Conv2D,
    ConvTranspose2D,
    Dense,
    Flatten,
    MaxPool2D,
    SeparableConv2D,
)
from symconv.errors import (
    GroupsDoNotDivideChannelsError,
    InvalidConventionError,
    InvalidPaddingError,
    KernelLargerThanInputError,
    NonIntegerError,
    NonPositiveSizeError,
    OutputPaddingTooLargeError,
    ShapeMismatchError,
    SymconvError,
)
from symconv.testing import InvalidCase, invalid_conv2d_configs


@settings(deadline=None)
@given(invalid_conv2d_configs())
def test_invalid_conv2d_configs_raise_the_declared_error(case: InvalidCase) -> None:
    with pytest.raises(case.error) as info:
        case.build()
    assert isinstance(info.value, SymconvError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert case.condition in message
    assert case.layer.__name__ in message  # the message names the layer


def case(thunk, error, fragment, id):  # `id` mirrors pytest.param
    return pytest.param(thunk, error, fragment, id=id)


BAD_INPUTS = [
    # --- Conv2D ---------------------------------------------------------------------------
    case(lambda: Conv2D(3, 4, 5).output_shape((4, 4)), KernelLargerThanInputError,
         "D(K-1)+1 = 5 exceeds the padded input along height: 4 + 0 + 0 = 4",
         "conv2d-kernel-larger-than-input"),
    case(lambda: Conv2D(1, 1, 3, padding=1, kernel_dilation=3).output_shape((9, 4)),
         KernelLargerThanInputError, "D(K-1)+1 = 7 exceeds the padded input along width",
         "conv2d-dilated-kernel-larger-than-padded-input"),
    case(lambda: Conv2D(0, 4, 3), NonPositiveSizeError, "in_features=0 must be >= 1",
         "conv2d-zero-in-features"),
    case(lambda: Conv2D(3, -4, 3), NonPositiveSizeError, "out_features=-4 must be >= 1",
         "conv2d-negative-out-features"),
    case(lambda: Conv2D(3, 4, -1), NonPositiveSizeError, "kernel_size=-1 must be >= 1",
         "conv2d-negative-kernel"),
    case(lambda: Conv2D(3, 4, 3, strides=(1, 0)), NonPositiveSizeError,
         "strides[1]=0 must be >= 1", "conv2d-zero-stride"),
    case(lambda: Conv2D(3, 4, 3, kernel_dilation=0), NonPositiveSizeError,
         "kernel_dilation=0 must be >= 1", "conv2d-zero-dilation"),
    case(lambda: Conv2D(3, 4, 3, feature_group_count=0), NonPositiveSizeError,
         "feature_group_count=0 must be >= 1", "conv2d-zero-groups"),
    case(lambda: Conv2D(6, 4, 3, feature_group_count=4), GroupsDoNotDivideChannelsError,
         "in_features=6 is not divisible by feature_group_count=4", "conv2d-groups-in"),
    case(lambda: Conv2D(4, 6, 3, feature_group_count=4), GroupsDoNotDivideChannelsError,
         "out_features=6 is not divisible by feature_group_count=4", "conv2d-groups-out"),
    case(lambda: Conv2D(3.0, 4, 3), NonIntegerError, "in_features=3.0 must be an integer",
         "conv2d-float-channels"),
    case(lambda: Conv2D(3, 4, "3"), NonIntegerError, "kernel_size='3' must be an integer",
         "conv2d-string-kernel"),
    case(lambda: Conv2D(3, 4, 3, strides=True), NonIntegerError,
         "strides=True must be an integer", "conv2d-bool-stride"),
    case(lambda: Conv2D(3, 4, (3, 2.5)), NonIntegerError, "kernel_size[1]=2.5 must be an integer",
         "conv2d-float-kernel-entry"),
    case(lambda: Conv2D(3, 4, 3, use_bias=1), NonIntegerError, "use_bias=1 must be True or False",
         "conv2d-int-use-bias"),
    case(lambda: Conv2D(3, 4, 3, padding="CIRCULAR"), InvalidPaddingError,
         "padding='CIRCULAR' is not supported", "conv2d-circular-padding"),
    case(lambda: Conv2D(3, 4, 3, padding="FULL"), InvalidPaddingError,
         "padding='FULL' is not supported", "conv2d-full-padding"),
    case(lambda: Conv2D(3, 4, 3, padding=((0, -1), (0, 0))), InvalidPaddingError,
         "must be >= 0", "conv2d-negative-padding"),
    case(lambda: Conv2D(3, 4, 3, padding=1.5), InvalidPaddingError,
         "padding=1.5 must be an integer", "conv2d-float-padding"),
    case(lambda: Conv2D(3, 4, 3, padding=(1, 2, 3)), InvalidPaddingError,
         "must have 2 entries", "conv2d-padding-three-axes"),
    case(lambda: Conv2D(3, 4, 3, padding=((1, 2, 3), (0, 0))), InvalidPaddingError,
         "must be a (low, high) pair", "conv2d-padding-three-sides"),
    case(lambda: Conv2D(3, 4, (3, 3, 3)), SymconvError, "must be an int or a pair",
         "conv2d-kernel-three-axes"),
    case(lambda: Conv2D(3, 4, 3).output_shape((8, 8, 5)), ShapeMismatchError,
         "input has 5 channels but the layer expects in_features=3", "conv2d-wrong-channels"),
    case(lambda: Conv2D(3, 4, 3).output_shape((1, 8, 8, 3)), ShapeMismatchError,
         "must be (H, W) or (H, W, C), batch excluded", "conv2d-batched-input"),
    case(lambda: Conv2D(3, 4, 3).output_shape((8,)), ShapeMismatchError,
         "must be (H, W) or (H, W, C)", "conv2d-rank-1-input"),
    case(lambda: Conv2D(3, 4, 3).output_shape((0, 8)), NonPositiveSizeError,
         "input height=0 must be >= 1", "conv2d-zero-height"),
    case(lambda: Conv2D(3, 4, 3).output_shape((8, 8.5)), NonIntegerError,
         "input width=8.5 must be an integer", "conv2d-float-width"),
    case(lambda: Conv2D(3, 4, 3).macs((8, 8), "flops"), InvalidConventionError,
         "convention='flops' is not one of ('dense', 'exact')", "conv2d-bad-convention"),
    # --- ConvTranspose2D --------------------------------------------------------------------
    case(lambda: ConvTranspose2D(1, 1, 3, strides=2, output_padding=2),
         OutputPaddingTooLargeError,
         "output_padding=2 along height must be smaller than max(stride, dilation) = 2",
         "convT-output-padding-equals-stride"),
    case(lambda: ConvTranspose2D(1, 1, 3, kernel_dilation=3, output_padding=(0, 4)),
         OutputPaddingTooLargeError,
         "output_padding=4 along width must be smaller than max(stride, dilation) = 3",
         "convT-output-padding-above-dilation"),
    case(lambda: ConvTranspose2D(1, 1, 1, padding=2).output_shape((2, 2)),
         KernelLargerThanInputError, "= -2 < 1; reduce the padding P=2",
         "convT-padding-leaves-no-output"),
    case(lambda: ConvTranspose2D(1, 0, 3), NonPositiveSizeError, "out_features=0 must be >= 1",
         "convT-zero-out-features"),
    case(lambda: ConvTranspose2D(1, 1, 0), NonPositiveSizeError, "kernel_size=0 must be >= 1",
         "convT-zero-kernel"),
    case(lambda: ConvTranspose2D(1, 1, 3, strides=(0, 1)), NonPositiveSizeError,
         "strides[0]=0 must be >= 1", "convT-zero-stride"),
    case(lambda: ConvTranspose2D(1, 1, 3, padding=-1), InvalidPaddingError,
         "padding=-1 must be >= 0", "convT-negative-padding"),
    case(lambda: ConvTranspose2D(1, 1, 3, padding="SAME"), InvalidPaddingError,
         "padding='SAME' must be an integer", "convT-string-padding"),
    case(lambda: ConvTranspose2D(1, 1, 3, output_padding=-1), NonPositiveSizeError,
         "output_padding=-1 must be >= 0", "convT-negative-output-padding"),
    case(lambda: ConvTranspose2D(1, 1, 2, strides=2, output_padding=0.5), NonIntegerError,
         "output_padding=0.5 must be an integer", "convT-float-output-padding"),
    case(lambda: ConvTranspose2D(True, 1, 3), NonIntegerError,
         "in_features=True must be an integer", "convT-bool-channels"),
    case(lambda: ConvTranspose2D(1, 1, 3, use_bias="no"), NonIntegerError,
         "use_bias='no' must be True or False", "convT-string-use-bias"),
    case(lambda: ConvTranspose2D(2, 1, 2).output_shape((4, 4, 3)), ShapeMismatchError,
         "input has 3 channels but the layer expects in_features=2", "convT-wrong-channels"),
    case(lambda: ConvTranspose2D(2, 1, 2).output_shape((4,)), ShapeMismatchError,
         "must be (H, W) or (H, W, C)", "convT-rank-1-input"),
    case(lambda: ConvTranspose2D(2, 1, 2).flops((4, 4), "macs"), InvalidConventionError,
         "convention='macs' is not one of", "convT-bad-convention"),
    # --- SeparableConv2D ---------------------------------------------------------------------
    case(lambda: SeparableConv2D(3, 4, 5).output_shape((3, 3)), KernelLargerThanInputError,
         "exceeds the padded input", "separable-kernel-larger-than-input"),
    case(lambda: SeparableConv2D(0, 4, 3), NonPositiveSizeError, "in_features=0 must be >= 1",
         "separable-zero-in-features"),
    case(lambda: SeparableConv2D(3, 0, 3), NonPositiveSizeError, "out_features=0 must be >= 1",
         "separable-zero-out-features"),
    case(lambda: SeparableConv2D(3, 4, 3, depth_multiplier=0), NonPositiveSizeError,
         "depth_multiplier=0 must be >= 1", "separable-zero-depth-multiplier"),
    case(lambda: SeparableConv2D(3, 4, 3, strides=1.0), NonIntegerError,
         "strides=1.0 must be an integer", "separable-float-stride"),
    case(lambda: SeparableConv2D(3, 4, 3, use_bias="yes"), NonIntegerError,
         "use_bias='yes' must be True or False", "separable-string-use-bias"),
    case(lambda: SeparableConv2D(3, 4, 3, padding="CIRCULAR"), InvalidPaddingError,
         "padding='CIRCULAR' is not supported", "separable-circular-padding"),
    case(lambda: SeparableConv2D(3, 4, 3).output_shape((8, 8, 4)), ShapeMismatchError,
         "input has 4 channels but the layer expects in_features=3", "separable-wrong-channels"),
    case(lambda: SeparableConv2D(3, 4, 3).output_shape((1, 8, 8, 3)), ShapeMismatchError,
         "must be (H, W) or (H, W, C)", "separable-batched-input"),
    case(lambda: SeparableConv2D(3, 4, 3).macs((8, 8), "textbook"), InvalidConventionError,
         "convention='textbook' is not one of", "separable-bad-convention"),
    case(lambda: SeparableConv2D(3, 4, 3).ratio("flops"), SymconvError,
         "quantity='flops' must be 'macs' or 'params'", "separable-bad-ratio-quantity"),
    case(lambda: SeparableConv2D(3, 4, 3).ratio("macs"), SymconvError,
         "needs in_shape=(H, W)", "separable-mac-ratio-without-input"),
    # --- Dense --------------------------------------------------------------------------------
    case(lambda: Dense(0, 4), NonPositiveSizeError, "in_features=0 must be >= 1",
         "dense-zero-in-features"),
    case(lambda: Dense(4, -3), NonPositiveSizeError, "out_features=-3 must be >= 1",
         "dense-negative-out-features"),
    case(lambda: Dense(2.5, 4), NonIntegerError, "in_features=2.5 must be an integer",
         "dense-float-features"),
    case(lambda: Dense("4", 3), NonIntegerError, "in_features='4' must be an integer",
         "dense-string-features"),
    case(lambda: Dense(True, 3), NonIntegerError, "in_features=True must be an integer",
         "dense-bool-features"),
    case(lambda: Dense(4, 3, use_bias=None), NonIntegerError, "use_bias=None must be True or False",
         "dense-none-use-bias"),
    case(lambda: Dense(4, 3).output_shape((5,)), ShapeMismatchError,
         "input has 5 features but in_features=4", "dense-wrong-features"),
    case(lambda: Dense(4, 3).output_shape((2, 2)), ShapeMismatchError,
         "must be (features,)", "dense-rank-2-input"),
    case(lambda: Dense(4, 3).macs((4,), "exactly"), InvalidConventionError,
         "convention='exactly' is not one of", "dense-bad-convention"),
    # --- MaxPool2D ----------------------------------------------------------------------------
    case(lambda: MaxPool2D(0), NonPositiveSizeError, "window_shape=0 must be >= 1",
         "maxpool-zero-window"),
    case(lambda: MaxPool2D(2, strides=0), NonPositiveSizeError, "strides=0 must be >= 1",
         "maxpool-zero-stride"),
    case(lambda: MaxPool2D(2.0), NonIntegerError, "window_shape=2.0 must be an integer",
         "maxpool-float-window"),
    case(lambda: MaxPool2D(2, padding="CIRCULAR"), InvalidPaddingError,
         "padding='CIRCULAR' is not supported", "maxpool-circular-padding"),
    case(lambda: MaxPool2D(2, padding=-1), InvalidPaddingError, "padding=-1 must be >= 0",
         "maxpool-negative-padding"),
    case(lambda: MaxPool2D(5).output_shape((4, 4, 3)), KernelLargerThanInputError,
         "exceeds the padded input", "maxpool-window-larger-than-input"),
    case(lambda: MaxPool2D(2).output_shape((4, 4)), ShapeMismatchError, "must be (H, W, C)",
         "maxpool-rank-2-input"),
    case(lambda: MaxPool2D(2).output_shape((4, 4, 0)), NonPositiveSizeError,
         "input C=0 must be >= 1", "maxpool-zero-channels"),
    case(lambda: MaxPool2D(2).flops((4, 4, 3), "x"), InvalidConventionError,
         "convention='x' is not one of", "maxpool-bad-convention"),
    # --- Flatten ------------------------------------------------------------------------------
    case(lambda: Flatten().output_shape(()), ShapeMismatchError, "must be a non-empty tuple",
         "flatten-empty-shape"),
    case(lambda: Flatten().output_shape("abc"), ShapeMismatchError, "must be a non-empty tuple",
         "flatten-string-shape"),
    case(lambda: Flatten().output_shape((2, 0, 3)), NonPositiveSizeError,
         "input dim 1=0 must be >= 1", "flatten-zero-dim"),
    case(lambda: Flatten().output_shape((2, -3)), NonPositiveSizeError,
         "input dim 1=-3 must be >= 1", "flatten-negative-dim"),
    case(lambda: Flatten().output_shape((2, 1.5)), NonIntegerError,
         "input dim 1=1.5 must be an integer", "flatten-float-dim"),
    case(lambda: Flatten().macs((2, 3), "bad"), InvalidConventionError,
         "convention='bad' is not one of", "flatten-bad-convention"),
]


@pytest.mark.parametrize("thunk, error, fragment", BAD_INPUTS)
def test_bad_input_raises(thunk, error, fragment) -> None:
    with pytest.raises(error) as info:
        thunk()
    assert isinstance(info.value, SymconvError) and isinstance(info.value, ValueError)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "thunk",
    [
        pytest.param(lambda: SeparableConv2D(3, 4, 3, depth_multiplier=0), id="depth-multiplier"),
        pytest.param(lambda: SeparableConv2D(3, 4, 3, padding="CIRCULAR"), id="padding"),
        pytest.param(lambda: SeparableConv2D(3, 4, 5).output_shape((3, 3)), id="input-too-small"),
    ],
)
def test_separable_errors_name_the_layer(thunk) -> None:
    """Regression: errors.py promises that every message names the layer; the checks run in the
    depthwise and pointwise stages, whose own messages say "depthwise: ..." or "Conv2D: ..."."""
    with pytest.raises(SymconvError) as info:
        thunk()
    assert "SeparableConv2D" in str(info.value)
