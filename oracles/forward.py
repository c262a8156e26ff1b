"""Forward correlation ("convolution" in deep learning) in float64, the operator conv_transpose is the adjoint of.

Per spatial dim, with the input zero-padded by ``before``/``after`` (negative = cropped)::

    y[n, g*Mg + m, j] = sum_{c, t} zpad[n, g*Cg + c, j*s + t*d] * w[g*Mg + m, c, t]
    o = floor((i + before + after - K) / s) + 1,   K = d*(k-1) + 1

``w`` has PyTorch's forward layout ``(C_out, C_in/groups, *k)``; the same array is the weight of the
transposed convolution that is this operator's adjoint.
"""

from __future__ import annotations

import numpy as np

from .geometry import padding_pairs, per_dim, positive, validate_operands


def conv(z, w, bias=None, *, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Forward correlation of ``z`` with ``w``, computed in float64.

    Args:
        z: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        w: ``(C_out, C_in/groups, *k)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: an int or one int per spatial dim.
        padding: an int, one int per dim, or one ``(before, after)`` pair per dim of zeros added to
            the input; negative crops the input.

    Returns:
        float64 array ``(N, C_out, *o)`` (or unbatched), ``o = floor((i + before + after - K)/s) + 1``.
    """
    z, w, bias, batched = validate_operands(z, w, bias, groups, weight_layout="forward")
    ndim = w.ndim - 2
    stride = per_dim(stride, ndim, "stride")
    dilation = per_dim(dilation, ndim, "dilation")
    pairs = padding_pairs(padding, ndim)
    size = conv_output_size(z.shape[2:], w.shape[2:], stride=stride, padding=pairs, dilation=dilation)
    padded = pad_or_crop(z, pairs)
    batch, in_channels = z.shape[:2]
    out_channels, per_group_in = w.shape[:2]
    per_group_out = out_channels // groups
    # (G, Mg, Cg, T) -> (T, G, Mg, Cg): one contiguous matrix stack per kernel offset.
    weights = np.ascontiguousarray(w.reshape(groups, per_group_out, per_group_in, -1).transpose(3, 0, 1, 2))
    out = np.zeros((batch, groups, per_group_out, int(np.prod(size))))
    for flat_offset, offset in enumerate(np.ndindex(*w.shape[2:])):
        window = padded[
            (slice(None), slice(None))
            + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(offset, dilation, size, stride))
        ]
        out += np.matmul(weights[flat_offset], window.reshape(batch, groups, per_group_in, -1))
    out = out.reshape(batch, out_channels, *size)
    if bias is not None:
        out += bias.reshape((-1,) + (1,) * ndim)
    return out if batched else out[0]


def conv_output_size(input_size, kernel_size, *, stride=1, padding=0, dilation=1) -> tuple[int, ...]:
    """``floor((i + before + after - K)/s) + 1`` per dim; ``ValueError`` where it is <= 0."""
    kernel_size = tuple(kernel_size)
    ndim = len(kernel_size)
    input_size = per_dim(tuple(input_size), ndim, "input_size")
    stride = per_dim(stride, ndim, "stride")
    dilation = per_dim(dilation, ndim, "dilation")
    pairs = padding_pairs(padding, ndim)
    for name, values in (("stride", stride), ("dilation", dilation), ("kernel_size", kernel_size)):
        positive(values, name)
    sizes = []
    for dim, (i, k, s, d, (before, after)) in enumerate(zip(input_size, kernel_size, stride, dilation, pairs)):
        effective = d * (k - 1) + 1
        span = i + before + after - effective
        if span < 0:
            raise ValueError(
                f"conv output length is <= 0 in spatial dim {dim}: the padded input i + before + after = "
                f"{i} + {before} + {after} = {i + before + after} is shorter than the effective kernel K = d*(k-1)+1 = {effective}"
            )
        sizes.append(span // s + 1)
    return tuple(sizes)


def pad_or_crop(array: np.ndarray, pairs) -> np.ndarray:
    """Zero-pad (positive) or crop (negative) the trailing spatial dims of ``array`` by ``(before, after)`` pairs.

    Pads first, then crops, so a crop longer than the array eats into the padding of the other end.
    """
    lead = array.ndim - len(pairs)
    widths = [(0, 0)] * lead + [(max(0, before), max(0, after)) for before, after in pairs]
    if any(width != (0, 0) for width in widths):
        array = np.pad(array, widths)
    crop = tuple(
        slice(max(0, -before), array.shape[lead + dim] - max(0, -after)) for dim, (before, after) in enumerate(pairs)
    )
    return array[(slice(None),) * lead + crop]
