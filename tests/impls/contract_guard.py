"""The oracle behind a declared contract that it polices: every call (forward and ``backward``) outside
what ``capabilities`` declares raises ``AssertionError`` (an error-mismatch in the run), so a run that
passes drew only declared configurations, in declared dtypes.

The declaration is read from the environment (JSON in ``CONVT_TEST_CAPABILITIES``, default: every
field's default), so that one file serves every narrowing; ``CONVT_TEST_LOG`` (optional) gets a line
per call: ``dtype ndim batched bias``.
"""

import json
import os

import numpy as np

import oracles
from conformance import Capabilities
from oracles.gradients import input_gradient, weight_gradient

__version__ = "2.5.0"

LIMITS = {"none": lambda s, d: 0, "below-stride": lambda s, d: s - 1, "below-stride-or-dilation": lambda s, d: max(s, d) - 1,
          "any": lambda s, d: max(s, d) + 1}


def _police(x, w, bias, stride, padding, output_padding, dilation, groups):
    declared = conv_transpose.capabilities
    ndim = w.ndim - 2
    problems = []
    if x.dtype.name not in declared.dtypes or w.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        problems.append(f"dtypes {x.dtype}, {w.dtype}, {None if bias is None else bias.dtype}")
    if ndim not in declared.ndims:
        problems.append(f"{ndim}-D")
    if not declared.unbatched and x.ndim != w.ndim:
        problems.append("unbatched")
    if not declared.bias and bias is not None:
        problems.append("bias")
    if not declared.dilation and max(dilation) > 1:
        problems.append(f"dilation {dilation}")
    if (not declared.groups or (ndim == 3 and not declared.groups_3d)) and groups > 1:
        problems.append(f"groups {groups}")
    if not declared.negative_padding and min(min(pair) for pair in padding) < 0:
        problems.append(f"negative padding {padding}")
    if not declared.asymmetric_padding and any(before != after for before, after in padding):
        problems.append(f"asymmetric padding {padding}")
    for s, d, op in zip(stride, dilation, output_padding):
        if not 0 <= op <= LIMITS[declared.output_padding](s, d):
            problems.append(f"output_padding {output_padding} with stride {stride}, dilation {dilation}")
    if problems:
        raise AssertionError("outside the declared contract: " + "; ".join(problems))
    log = os.environ.get("CONVT_TEST_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{x.dtype.name} {ndim} {x.ndim == w.ndim} {bias is not None}\n")


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    _police(x, w, bias, stride, padding, output_padding, dilation, groups)
    out = oracles.conv_transpose(x.astype(np.float64), w.astype(np.float64), None if bias is None else bias.astype(np.float64),
                                 stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    return out.astype(x.dtype)


def backward(x, w, bias, upstream, *, stride, padding, output_padding, dilation, groups):
    _police(x, w, bias, stride, padding, output_padding, dilation, groups)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    size = x.shape[-(w.ndim - 2):]
    u, x64, w64 = upstream.astype(np.float64), x.astype(np.float64), w.astype(np.float64)
    dx = input_gradient(u, w64, size, **kw)
    dw = weight_gradient(x64, u, w.shape[2:], **kw)
    return dx.astype(x.dtype), dw.astype(w.dtype)


conv_transpose.backward = backward
conv_transpose.capabilities = Capabilities.of(json.loads(os.environ.get("CONVT_TEST_CAPABILITIES") or "{}"))
