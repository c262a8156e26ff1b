"""A kernel author's transposed convolution on torch tensors, to try ``--impl-arrays torch`` with.

It lowers the transposed convolution to a correlation, as a kernel would: insert ``s-1`` zeros between
the inputs, pad each dim by ``K-1-before`` and ``K-1-after+op`` (``K = d*(k-1)+1``; a negative pad
crops, which ``F.pad`` does), and correlate with the kernel flipped and regrouped to
``(C_out, C_in/groups, *k)``, dilated by ``d``. It runs wherever its tensors are (CPU or CUDA), in
every floating dtype, and its gradients come from torch's autodiff through these ops::

    pytest --pyargs conformance --impl examples/torch_impl.py:conv_transpose --impl-arrays torch
"""

import torch.nn.functional as F

from conformance import Capabilities

__version__ = "1.0"


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    ndim = w.dim() - 2
    unbatched = x.dim() == ndim + 1
    if unbatched:
        x = x.unsqueeze(0)
    batch, channels, *size = x.shape
    # Zeros between the inputs: the stride of the transposed convolution.
    spread = x.new_zeros((batch, channels, *((i - 1) * s + 1 for i, s in zip(size, stride))))
    spread[(slice(None), slice(None), *(slice(None, None, s) for s in stride))] = x
    # Pads for a correlation whose output is the cropped full output: zeros where a pad is positive
    # (F.pad lists the last dim first), then a slice where it is negative (F.pad would crop first,
    # and refuses to crop more than a dim holds even where the other end pads it back).
    pads, crops = [], []
    for k, d, (before, after), op in zip(w.shape[2:], dilation, padding, output_padding):
        reach = d * (k - 1)
        low, high = reach - before, reach - after + op
        pads = [max(low, 0), max(high, 0)] + pads
        crops.append((max(-low, 0), max(-high, 0)))
    spread = F.pad(spread, pads)
    spread = spread[(slice(None), slice(None), *(slice(low, n - high) for (low, high), n in zip(crops, spread.shape[2:])))]
    # (C_in, C_out/g, *k) -> (C_out, C_in/g, *k), flipped: the correlation's kernel.
    c_in, out_per_group, *kernel = w.shape
    regrouped = w.reshape(groups, c_in // groups, out_per_group, *kernel).transpose(1, 2).reshape(groups * out_per_group, c_in // groups, *kernel)
    flipped = regrouped.flip(list(range(2, 2 + ndim)))
    y = getattr(F, f"conv{ndim}d")(spread, flipped, bias, dilation=dilation, groups=groups)
    return y[0] if unbatched else y


conv_transpose.capabilities = Capabilities(
    dtypes=("float16", "bfloat16", "float32", "float64"), devices=("cpu", "gpu"), gradients="autodiff",
)
