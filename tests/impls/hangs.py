"""Never returns for dilation 3: the suite must record a timeout and carry on."""

import time

import oracles


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    if 3 in dilation:
        time.sleep(3600)
    return oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups).astype(x.dtype)
