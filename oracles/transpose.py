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
    """Bias-free transposed convolution of validated float64 operands (``x`` batched).

    Polyphase accumulation: tap ``t`` of a dim lands on full positions ``j*s + t*d``, i.e. on phase
    ``(t*d) mod s`` at row ``j + (t*d) // s``. Accumulating in a phase-major buffer ``(..., s, Q)``
    per dim makes every tap's addition contiguous (strided additions run an order of magnitude
    slower); one interleaving copy per phase then writes the cropped output. The buffer covers only
    the rows that survive the crop, and is filled for a block of samples at a time so it stays at most
    about half the output.
    """
    batch, in_channels = x.shape[:2]
    per_group_in, per_group_out = in_channels // groups, w.shape[1]
    out = np.zeros((batch, per_group_out * groups, *geometry.output_size))
    windows = [_Window(*dims) for dims in zip(
        geometry.input_size, geometry.stride, geometry.dilation, geometry.crop_before, geometry.output_size, geometry.full_size
    )]
    if any(window.rows <= 0 for window in windows):
        return out  # every output lies in the zero extension
    taps = list(np.ndindex(*geometry.kernel_size))
    # (G, Cg, Mg, T) -> (G, T*Mg, Cg): the taps' weight matrices stacked, so that one product serves several taps.
    weights = np.ascontiguousarray(w.reshape(groups, per_group_in, per_group_out, -1).transpose(0, 3, 2, 1))
    weights = weights.reshape(groups, len(taps) * per_group_out, per_group_in)
    inputs = x.reshape(batch, groups, per_group_in, -1)
    plane = int(np.prod(geometry.input_size))
    block = max(1, -(-batch // 2))
    buffer_shape = tuple(size for window in windows for size in (window.stride, window.rows))
    buffer_size = block * groups * per_group_out * int(np.prod(buffer_shape))
    # Taps per product: the products may use about as much memory as half the buffer.
    chunk = max(1, min(len(taps), buffer_size // (2 * block * groups * per_group_out * plane)))
    lead = (slice(None),) * 3
    for first in range(0, batch, block):
        samples = slice(first, min(batch, first + block))
        buffer = np.zeros((samples.stop - samples.start, groups, per_group_out, *buffer_shape))
        for low in range(0, len(taps), chunk):
            high = min(len(taps), low + chunk)
            products = np.matmul(weights[:, low * per_group_out : high * per_group_out], inputs[samples])
            products = products.reshape(-1, groups, high - low, per_group_out, *geometry.input_size)
            for index in range(low, high):
                placement = [window.place(t, dilation) for window, t, dilation in zip(windows, taps[index], geometry.dilation)]
                if None in placement:
                    continue
                source = tuple(input_slice for input_slice, _ in placement)
                target = tuple(part for _, rows in placement for part in rows)
                buffer[lead + target] += products[(slice(None), slice(None), index - low, slice(None)) + source]
        destination = out[samples].reshape(-1, groups, per_group_out, *geometry.output_size)
        for phases in np.ndindex(*(window.stride for window in windows)):
            copies = [window.copy(phase) for window, phase in zip(windows, phases)]
            if None in copies:
                continue
            destination[lead + tuple(output_slice for output_slice, _ in copies)] = buffer[
                lead + tuple(part for _, rows in copies for part in rows)
            ]
    return out


class _Window:
    """One dim's phase-major buffer: full position ``f = (first_row + q)*s + phase``, ``q < rows``.

    It spans the full positions that survive the crop, ``[max(0, cb), min(L, cb + o))``.
    """

    def __init__(self, length, stride, dilation, crop_before, output, full):
        self.length, self.stride, self.crop_before = length, stride, crop_before
        self.kept_start, self.kept_stop = max(0, crop_before), min(full, crop_before + output)
        self.first_row = self.kept_start // stride
        self.rows = (self.kept_stop - 1) // stride - self.first_row + 1 if self.kept_stop > self.kept_start else 0

    def place(self, tap: int, dilation: int):
        """``(input slice, (phase, row slice))`` where tap ``tap`` deposits its products, or None."""
        shift, phase = divmod(tap * dilation, self.stride)
        first = max(0, self.first_row - shift)
        last = min(self.length - 1, self.first_row + self.rows - 1 - shift)
        if first > last:
            return None
        row = first + shift - self.first_row
        return slice(first, last + 1), (phase, slice(row, row + last - first + 1))

    def copy(self, phase: int):
        """``(output slice, (phase, row slice))`` moving one phase's kept positions to the output, or None."""
        first = max(0, _ceil_div(self.kept_start - phase, self.stride) - self.first_row)
        last = min(self.rows - 1, (self.kept_stop - 1 - phase) // self.stride - self.first_row)
        if first > last:
            return None
        start = (self.first_row + first) * self.stride + phase - self.crop_before
        return slice(start, start + (last - first) * self.stride + 1, self.stride), (phase, slice(first, last + 1))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)
