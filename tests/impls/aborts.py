"""Aborts the process on the first call with stride 2: the suite must record a crash and carry on."""

import os

import oracles


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    if 2 in stride:
        os.abort()
    return oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups).astype(x.dtype)
