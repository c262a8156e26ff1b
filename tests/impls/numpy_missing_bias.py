"""A narrow bug in NumPy alone (so its repro runs where only NumPy is installed): the bias of the last
output channel is lost when there are three or more. A direct scatter over input positions and taps."""

import numpy as np


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    unbatched = x.ndim == w.ndim - 1
    x = x[None] if unbatched else x
    per_in, per_out = w.shape[0] // groups, w.shape[1]
    size = [(i - 1) * s + d * (k - 1) + 1 - b - a + p
            for i, k, s, d, (b, a), p in zip(x.shape[2:], w.shape[2:], stride, dilation, padding, output_padding)]
    y = np.zeros((x.shape[0], groups * per_out, *size), dtype=x.dtype)
    for j in np.ndindex(*x.shape[2:]):
        for t in np.ndindex(*w.shape[2:]):
            at = tuple(jj * s + tt * d - b for jj, tt, s, d, (b, _) in zip(j, t, stride, dilation, padding))
            if all(0 <= o < n for o, n in zip(at, size)):
                for g in range(groups):
                    cin, cout = slice(g * per_in, (g + 1) * per_in), slice(g * per_out, (g + 1) * per_out)
                    y[(slice(None), cout) + at] += x[(slice(None), cin) + j] @ w[(cin, slice(None)) + t]
    if bias is not None:
        kept = bias.copy()
        if len(kept) >= 3:
            kept[-1] = 0  # the bug
        y += kept.reshape((-1,) + (1,) * (x.ndim - 2))
    return y[0] if unbatched else y
