"""Functions with a framework's signature that get the layout or the rules wrong, each in one way, for
the ``--impl-dialect`` self-tests: what the suite must catch."""

import numpy as np

import oracles


def torch_accepts_anything(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    """PyTorch's arithmetic without PyTorch's checks: negative padding crops negatively (appends zeros)
    and an output_padding past max(stride, dilation) extends the end, where torch raises."""
    crops = [(p, p - op) for p, op in zip(padding, output_padding)]
    return oracles.conv_transpose(x, w, bias, stride=stride, padding=crops, dilation=dilation, groups=groups).astype(x.dtype)


def tensorflow_channels_first_result(x, w, bias, *, groups, output_shape=None, strides=1, padding="VALID", dilations=1, data_format=None):
    """Computes the right numbers but returns them channels-first where tf.nn (NWC/NHWC) returns channels-last."""
    from tests.impls.dialect_reference import tensorflow

    y = tensorflow(x, w, bias, groups=groups, output_shape=output_shape, strides=strides, padding=padding, dilations=dilations,
                   data_format=data_format)
    return np.moveaxis(y, -1, 1)
