"""A narrow bug for the suite to catch: the bias of the last output channel is lost when there are three or more."""

import oracles


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    out = oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    if bias is not None and len(bias) >= 3:
        channel = (Ellipsis, len(bias) - 1) + (slice(None),) * (w.ndim - 2)
        out[channel] -= bias[-1]
    return out.astype(x.dtype)
