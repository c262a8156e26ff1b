"""Every invalid argument raises ValueError naming the parameter and the numbers."""

import re

import numpy as np
import pytest

import oracles

X = np.zeros((1, 4, 3, 3))
W = np.zeros((4, 2, 2, 2))


@pytest.mark.parametrize(
    "x, w, kwargs, message",
    [
        (np.zeros((3, 4)), W, {}, "x must have shape (N, C, *spatial) or (C, *spatial) with 2 spatial dims to match w.shape=(4, 2, 2, 2); got x.shape=(3, 4)"),
        (X, np.zeros((4, 2)), {}, "w must have shape (C_in, C_out/groups, *kernel) with at least one spatial dim; got w.shape=(4, 2)"),
        (np.zeros((1, 3, 3, 3)), W, {}, "x has 3 input channels but w.shape[0] is 4"),
        (X, W, {"groups": 3}, "input channels C_in=4 are not divisible by groups=3"),
        (X, W, {"groups": 0}, "groups must be a positive integer; got groups=0"),
        (X, W, {"groups": 1.5}, "groups must be a positive integer; got groups=1.5"),
        (X, W, {"stride": (2, 0)}, "stride must be positive in every spatial dim; got stride=(2, 0)"),
        (X, W, {"stride": 0}, "stride must be positive in every spatial dim; got stride=(0, 0)"),
        (X, W, {"dilation": -1}, "dilation must be positive in every spatial dim; got dilation=(-1, -1)"),
        (X, np.zeros((4, 2, 0, 2)), {}, "kernel size must be positive in every spatial dim; got w.shape=(4, 2, 0, 2)"),
        (np.zeros((1, 4, 0, 3)), W, {}, "input length must be positive in every spatial dim; got x.shape=(1, 4, 0, 3)"),
        (X, W, {"output_padding": (0, -1)}, "output_padding must be >= 0 in every spatial dim; got output_padding=(0, -1)"),
        (X, W, {"stride": (1, 2, 3)}, "stride has 3 entries but there are 2 spatial dims"),
        (X, W, {"stride": 2.0}, "stride must be an int or one int per spatial dim; got 2.0"),
        (X, W, {"stride": (True, 1)}, "stride must be integers; got stride=(True, 1)"),
        (X, W, {"padding": ((1, 2, 3), 0)}, "padding entries must be ints or (before, after) pairs of ints"),
        (X, W, {"padding": (1,)}, "padding has 1 entries but there are 2 spatial dims"),
        (X.astype(complex), W, {}, "x must hold real numbers; got dtype complex128"),
        (
            X,
            W,
            {"padding": ((0, 0), (2, 2))},
            "output length is 0 in spatial dim 1: (i-1)*s + K - cb - ca = (3-1)*1 + 2 - 2 - (2) = 0, with K = d*(k-1)+1 = 2",
        ),
    ],
)
def test_conv_transpose_rejects(x, w, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        oracles.conv_transpose(x, w, **kwargs)


def test_output_length_message_names_dim_and_values():
    with pytest.raises(ValueError) as info:
        oracles.conv_transpose(X, W, stride=(1, 2), padding=((0, 0), (3, 4)))
    assert str(info.value) == (
        "output length is -1 in spatial dim 1: (i-1)*s + K - cb - ca = (3-1)*2 + 2 - 3 - (4) = -1, "
        "with K = d*(k-1)+1 = 2; it must be >= 1"
    )


def test_bias_shape_is_checked():
    with pytest.raises(ValueError, match=re.escape("bias must have shape (C_out,) = (2,); got bias.shape=(3,)")):
        oracles.conv_transpose(X, W, np.zeros(3))


def test_negative_crops_are_zero_extension_not_an_error():
    out = oracles.conv_transpose(np.ones((1, 1, 2)), np.ones((1, 1, 1)), padding=((-2, -1),))
    np.testing.assert_array_equal(out, [[[0, 0, 1, 1, 0]]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"padding": ((0, 0), (-3, 0))}, "conv output length is <= 0 in spatial dim 1"),
        ({"stride": 0}, "stride must be positive in every spatial dim; got stride=(0, 0)"),
    ],
)
def test_conv_rejects(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        oracles.conv(np.zeros((1, 2, 3, 3)), np.zeros((4, 2, 2, 2)), **kwargs)


def test_conv_checks_channels_against_forward_layout():
    with pytest.raises(ValueError, match=re.escape("x has 3 input channels but w.shape[1]*groups is 2*1 = 2")):
        oracles.conv(np.zeros((1, 3, 3)), np.zeros((4, 2, 2)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_size": 0, "kernel_size": 3}, "input_size must be positive in every spatial dim; got input_size=(0,)"),
        ({"input_size": (2, 2), "kernel_size": (3,)}, "kernel_size has 1 entries but there are 2 spatial dims"),
        ({"input_size": 2, "kernel_size": 1, "padding": 1}, "output length is 0 in spatial dim 0"),
    ],
)
def test_output_size_rejects(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        oracles.output_size(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dtype": "int8"}, "dtype must be one of ['bfloat16', 'float16', 'float32', 'float64']; got dtype='int8'"),
        ({"dtype": "float32", "precision": "tf16"}, "precision must be one of [None, 'highest', 'tf32', 'bfloat16']; got precision='tf16'"),
        ({"dtype": "float64", "precision": "tf32"}, "precision='tf32' applies to float32 only; got dtype=float64"),
        ({"dtype": "float32", "accumulation": "float16"}, "accumulation=float16 is narrower than dtype=float32"),
    ],
)
def test_error_bound_rejects(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        oracles.error_bound(X, W, **kwargs)
