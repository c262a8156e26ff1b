"""A reference implementation to try ``--impl`` with: the oracle itself, cast back to the input's dtype.

    pytest conformance --impl examples/reference_impl.py:conv_transpose
"""

import oracles


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    out = oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    return out.astype(x.dtype)
