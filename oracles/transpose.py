"""The oracle: transposed convolution in float64, by one batched matrix product per kernel offset.

Canonical form (no kernel flip), per spatial dim with ``K = d*(k-1)+1`` and ``L = (i-1)*s + K``::

    full[n, g*Mg + m, j*s + t*d] += x[n, g*Cg + c, j] * w[g*Cg + c, m, t]
    y = full[crop_before : L - crop_after] + bias        (negative crop = zeros appended)

Each kernel offset ``t`` contributes ``w[:, :, t]``-weighted copies of the whole input to a strided
slice of the output, so the work is ``prod(k)`` matrix products of shape ``(Mg, Cg) @ (Cg, N*prod(i))``
added into slices of the cropped output. The full output is never materialised; peak memory is the
output plus one input-sized product.
"""

from __future__ import annotations

import numpy as np

from .geometry import Geometry, validate_operands


def conv_transpose(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1) -> np.ndarray:
    """Transposed convolution of ``x`` with ``w``, computed in float64.

    Args:
        x: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
        w: ``(C_in, C_out/groups, *k)``: PyTorch's and ONNX's layout.
        bias: ``(C_out,)`` or None.
        stride, dilation, output_padding: an int or one int per spatial dim.
        padding: an int or one int per dim (crop that many at both ends, PyTorch's meaning), or one
            ``(before, after)`` pair per dim. Negative means zeros appended on that side.
        output_padding: extends the end: ``crop_after = after - output_padding``.
        groups: input channels ``[g*Cg, (g+1)*Cg)`` map to output channels ``[g*Mg, (g+1)*Mg)``.

    Returns:
        float64 array ``(N, C_out, *o)`` (or ``(C_out, *o)`` for unbatched input) with
        ``o = (i-1)*s + d*(k-1) + 1 - crop_before - crop_after`` per dim.

    Raises:
        ValueError: naming the offending parameter and its numbers.
    """
    x, w, bias, batched = validate_operands(x, w, bias, groups, weight_layout="transpose")
    geometry = Geometry.from_arguments(
        x.shape[2:], w.shape[2:], stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    out = scatter_products(x, w, geometry, groups)
    if bias is not None:
        out += bias.reshape((-1,) + (1,) * geometry.ndim)
    return out if batched else out[0]


def output_size(input_size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1) -> tuple[int, ...]:
    """Spatial output size ``(i-1)*s + d*(k-1) + 1 - crop_before - (crop_after - output_padding)`` per dim.

    ``input_size`` and ``kernel_size`` are an int (1-D) or one int per spatial dim; the other
    arguments as in :func:`conv_transpose`. Raises ``ValueError`` where the output would be empty.
    """
    return Geometry.from_arguments(
        input_size, kernel_size, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    ).output_size


def scatter_products(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int) -> np.ndarray:
    """Bias-free transposed convolution of validated float64 operands (``x`` batched)."""
    batch, in_channels = x.shape[:2]
    per_group_in = in_channels // groups
    per_group_out = w.shape[1]
    out = np.zeros((batch, per_group_out * groups, *geometry.output_size))
    # (G, Cg, Mg, T) -> (T, G, Mg, Cg): one contiguous (G, Mg, Cg) matrix stack per kernel offset.
    weights = np.ascontiguousarray(
        w.reshape(groups, per_group_in, per_group_out, -1).transpose(3, 0, 2, 1)
    )
    inputs = x.reshape(batch, groups, per_group_in, -1)
    for flat_offset, offset in enumerate(np.ndindex(*geometry.kernel_size)):
        overlap = _overlap(offset, geometry)
        if overlap is None:
            continue
        input_slices, output_slices = overlap
        if all(sl.start == 0 and sl.stop == i for sl, i in zip(input_slices, geometry.input_size)):
            operand, spatial = inputs, geometry.input_size
        else:
            # Heavy crops: only the inputs that land inside the output are multiplied.
            window = x[(slice(None), slice(None), *input_slices)]
            spatial = window.shape[2:]
            operand = window.reshape(batch, groups, per_group_in, -1)
        products = np.matmul(weights[flat_offset], operand)  # (N, G, Mg, P)
        out[(slice(None), slice(None), *output_slices)] += products.reshape(batch, -1, *spatial)
    return out


def _overlap(offset: tuple[int, ...], geometry: Geometry):
    """Input and output slices linked by one kernel offset, or None if it reaches no output.

    Input ``j`` and kernel tap ``t`` land at output ``p = j*s + t*d - crop_before``; keep the ``j``
    with ``0 <= p < o``.
    """
    input_slices, output_slices = [], []
    for t, i, s, d, cb, o in zip(
        offset, geometry.input_size, geometry.stride, geometry.dilation, geometry.crop_before, geometry.output_size
    ):
        shift = t * d - cb
        first = max(0, _ceil_div(-shift, s))
        last = min(i - 1, (o - 1 - shift) // s)
        if first > last:
            return None
        start = first * s + shift
        input_slices.append(slice(first, last + 1))
        output_slices.append(slice(start, start + (last - first) * s + 1, s))
    return tuple(input_slices), tuple(output_slices)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)
