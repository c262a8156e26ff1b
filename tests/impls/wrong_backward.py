"""A right forward with a ``backward`` (``capabilities.gradients = "backward"``) whose weight gradient is
twice what it should be: the gradient-weight check must fail, the gradient-input check must not."""

import numpy as np

import oracles
from conformance import Capabilities
from oracles.gradients import input_gradient, weight_gradient


def conv_transpose(x, w, bias, **kw):
    return oracles.conv_transpose(x, w, bias, **kw).astype(x.dtype)


def backward(x, w, bias, upstream, **kw):
    u = upstream.astype(np.float64)
    dx = input_gradient(u, w.astype(np.float64), x.shape[-(w.ndim - 2):], **kw)
    dw = weight_gradient(x.astype(np.float64), u, w.shape[2:], **kw)
    return dx.astype(x.dtype), (2 * dw).astype(w.dtype)  # the bug


conv_transpose.backward = backward
conv_transpose.capabilities = Capabilities(gradients="backward")
