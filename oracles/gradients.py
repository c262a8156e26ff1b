"""Gradients of the transposed convolution ``y = conv_transpose(x, w)``, computed in float64.

For a scalar loss with upstream gradient ``g = dL/dy`` (the output's shape)::

    dL/dx = conv(g, w, stride, padding=(cb, ca), dilation, groups)          the forward correlation
    dL/dw[g*Cg + c, m, t] = sum_{n, j} x[n, g*Cg + c, j] * gfull[n, g*Mg + m, j*s + t*d]

where ``gfull`` is ``g`` placed back into the full output (``cb``/``ca`` undone; positions cropped
away receive no gradient, zero-extended positions pass none back).
"""

from __future__ import annotations

import numpy as np

from .forward import conv, pad_or_crop
from .geometry import Geometry


def input_gradient(upstream, w, input_size, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1) -> np.ndarray:
    """``dL/dx`` for an input of spatial size ``input_size``: the forward correlation of ``upstream`` with ``w``."""
    w = np.asarray(w, dtype=np.float64)
    geometry = Geometry.from_arguments(input_size, w.shape[2:], stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    return conv(upstream, w, stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=groups)


def weight_gradient(x, upstream, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1) -> np.ndarray:
    """``dL/dw`` of shape ``(C_in, C_out/groups, *k)``; ``x`` and ``upstream`` batched alike (or both unbatched)."""
    kernel_size = tuple(kernel_size)
    x = np.asarray(x, dtype=np.float64)
    upstream = np.asarray(upstream, dtype=np.float64)
    if x.ndim == len(kernel_size) + 1:
        x, upstream = x[np.newaxis], upstream[np.newaxis]
    geometry = Geometry.from_arguments(x.shape[2:], kernel_size, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    batch, in_channels = x.shape[:2]
    per_group_in, per_group_out = in_channels // groups, upstream.shape[1] // groups
    full = pad_or_crop(upstream, geometry.padding())
    grouped_x = x.reshape(batch, groups, per_group_in, -1)
    grad = np.empty((groups, per_group_in, per_group_out, *kernel_size))
    for offset in np.ndindex(*kernel_size):
        # The inputs j meet tap t at full position j*s + t*d: one strided window of gfull per tap.
        window = full[(slice(None), slice(None)) + tuple(
            slice(t * d, t * d + (i - 1) * s + 1, s) for t, d, i, s in zip(offset, geometry.dilation, geometry.input_size, geometry.stride)
        )]
        grad[(slice(None),) * 3 + offset] = np.einsum("ngcp,ngmp->gcm", grouped_x, window.reshape(batch, groups, per_group_out, -1))
    return grad.reshape(in_channels, per_group_out, *kernel_size)
