"""Independent formulations of transposed convolution, each by a different route to the same numbers.

They exist to check :func:`oracles.conv_transpose` (and to teach): each has the signature of
``conv_transpose`` and returns the same array up to float64 rounding (exactly, on small integers).
They are meant for small sizes: the definition and the matrix are dense index enumerations.
"""

from __future__ import annotations

import numpy as np

from .forward import conv, conv_output_size, pad_or_crop
from .geometry import Geometry, padding_pairs, per_dim, validate_operands


def _prepare(x, w, bias, stride, padding, output_padding, dilation, groups):
    x, w, bias, batched = validate_operands(x, w, bias, groups, weight_layout="transpose")
    geometry = Geometry.from_arguments(
        x.shape[2:], w.shape[2:], stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    return x, w, bias, batched, geometry


def _finish(out, bias, batched, ndim):
    if bias is not None:
        out = out + bias.reshape((-1,) + (1,) * ndim)
    return out if batched else out[0]


def conv_transpose_by_definition(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """The canonical formula, literally: scatter every product into the full output, then crop.

    ``full[n, g*Mg + m, j*s + t*d] += x[n, g*Cg + c, j] * w[g*Cg + c, m, t]``;
    ``y = full[cb : L - ca]`` with negative crops appending zeros.
    """
    x, w, bias, batched, geometry = _prepare(x, w, bias, stride, padding, output_padding, dilation, groups)
    ndim = geometry.ndim
    batch, in_channels = x.shape[:2]
    per_group_in, per_group_out = in_channels // groups, w.shape[1]
    grid = np.indices((in_channels, per_group_out, *geometry.input_size, *geometry.kernel_size)).reshape(2 + 2 * ndim, -1)
    channel, m = grid[0], grid[1]
    j, t = grid[2 : 2 + ndim], grid[2 + ndim :]
    out_channel = (channel // per_group_in) * per_group_out + m
    position = tuple(j[dim] * geometry.stride[dim] + t[dim] * geometry.dilation[dim] for dim in range(ndim))
    # Batch last, so that one index tuple addresses a whole batch row of products.
    products = x[(slice(None), channel, *j)].T * w[(channel, m, *t)][:, None]
    full = np.zeros((per_group_out * groups, *geometry.full_size, batch))
    np.add.at(full, (out_channel, *position), products)
    full = np.moveaxis(full, -1, 0)
    out = pad_or_crop(full, [(-cb, -ca) for cb, ca in zip(geometry.crop_before, geometry.crop_after)])
    return _finish(out, bias, batched, ndim)


def conv_transpose_by_zero_insertion(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Insert ``s-1`` zeros between input elements, pad by ``K-1-cb`` / ``K-1-ca``, and run a stride-1
    forward correlation with dilation ``d`` and the kernel flipped spatially with in/out channels swapped.

    Forgetting the flip or the swap is the classic mistake (conv-arithmetic guide, section 4.3).
    """
    x, w, bias, batched, geometry = _prepare(x, w, bias, stride, padding, output_padding, dilation, groups)
    ndim = geometry.ndim
    batch, in_channels = x.shape[:2]
    per_group_in, per_group_out = in_channels // groups, w.shape[1]
    dilated = np.zeros((batch, in_channels, *((i - 1) * s + 1 for i, s in zip(geometry.input_size, geometry.stride))))
    dilated[(slice(None), slice(None), *(slice(None, None, s) for s in geometry.stride))] = x
    flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim]
    # (C_in, Mg, k) -> (G, Cg, Mg, k) -> (G, Mg, Cg, k) -> forward layout (C_out, Cg, k).
    swapped = flipped.reshape(groups, per_group_in, per_group_out, *geometry.kernel_size).swapaxes(1, 2)
    swapped = swapped.reshape(groups * per_group_out, per_group_in, *geometry.kernel_size)
    pairs = [(K - 1 - cb, K - 1 - ca) for K, cb, ca in zip(geometry.effective_kernel, geometry.crop_before, geometry.crop_after)]
    out = conv(dilated, swapped, stride=1, padding=pairs, dilation=geometry.dilation, groups=groups)
    return _finish(out, bias, batched, ndim)


def conv_matrix(w, input_size, *, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Dense matrix ``C`` of the forward correlation on one unbatched input of spatial size ``input_size``.

    ``conv(z, w, ...).ravel() == C @ z.ravel()``, ``C`` of shape ``(C_out*prod(o), C_in*prod(i))``;
    entry ``[(m, jo), (c, ji)]`` is ``w[m, c mod Cg, t]`` where ``ji = jo*s + t*d - before``.
    """
    w = np.asarray(w, dtype=np.float64)
    ndim = w.ndim - 2
    input_size = per_dim(tuple(input_size), ndim, "input_size")
    stride, dilation = per_dim(stride, ndim, "stride"), per_dim(dilation, ndim, "dilation")
    pairs = padding_pairs(padding, ndim)
    out_size = conv_output_size(input_size, w.shape[2:], stride=stride, padding=pairs, dilation=dilation)
    out_channels, per_group_in = w.shape[:2]
    per_group_out = out_channels // groups
    grid = np.indices((out_channels, per_group_in, *out_size, *w.shape[2:])).reshape(2 + 2 * ndim, -1)
    m, c_local = grid[0], grid[1]
    jo, t = grid[2 : 2 + ndim], grid[2 + ndim :]
    ji = np.stack([jo[dim] * stride[dim] + t[dim] * dilation[dim] - pairs[dim][0] for dim in range(ndim)])
    inside = np.all((ji >= 0) & (ji < np.array(input_size)[:, None]), axis=0)
    c = (m // per_group_out) * per_group_in + c_local
    rows = np.ravel_multi_index((m[inside], *jo[:, inside]), (out_channels, *out_size))
    cols = np.ravel_multi_index((c[inside], *ji[:, inside]), (per_group_in * groups, *input_size))
    matrix = np.zeros((out_channels * int(np.prod(out_size)), per_group_in * groups * int(np.prod(input_size))))
    np.add.at(matrix, (rows, cols), w[(m[inside], c_local[inside], *t[:, inside])])
    return matrix


def conv_transpose_by_matrix(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``C^T @ x``: ``C`` the matrix of the forward correlation with the same weight, stride, dilation
    and groups, padding ``(cb, ca)``, on an input of the transposed convolution's output size."""
    x, w, bias, batched, geometry = _prepare(x, w, bias, stride, padding, output_padding, dilation, groups)
    matrix = conv_matrix(
        w, geometry.output_size, stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=groups
    )
    batch = x.shape[0]
    out = (matrix.T @ x.reshape(batch, -1).T).T.reshape(batch, w.shape[1] * groups, *geometry.output_size)
    return _finish(out, bias, batched, geometry.ndim)


def conv_input_gradient(upstream, w, input_size, *, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Gradient of ``sum(upstream * conv(z, w, ...))`` with respect to ``z`` of spatial size ``input_size``.

    Computed as the adjoint of conv's gather (im2col): ``dcols = w^T upstream``, scattered back to the
    padded input positions ``jo*s + t*d``, then the padding undone.
    """
    # A forward weight (C_out, Cg, k) is, read as-is, the transposed-layout weight for an upstream of
    # C_out channels: the same channel checks apply.
    upstream, w, _, batched = validate_operands(upstream, w, None, groups, weight_layout="transpose")
    ndim = w.ndim - 2
    input_size = per_dim(tuple(input_size), ndim, "input_size")
    stride, dilation = per_dim(stride, ndim, "stride"), per_dim(dilation, ndim, "dilation")
    pairs = padding_pairs(padding, ndim)
    out_size = conv_output_size(input_size, w.shape[2:], stride=stride, padding=pairs, dilation=dilation)
    if tuple(upstream.shape[2:]) != out_size:
        raise ValueError(f"upstream has spatial size {tuple(upstream.shape[2:])} but conv on input_size={input_size} gives {out_size}")
    batch, out_channels = upstream.shape[:2]
    per_group_in = w.shape[1]
    per_group_out = out_channels // groups
    kernel_taps = int(np.prod(w.shape[2:]))
    grouped_weight = w.reshape(groups, per_group_out, per_group_in, kernel_taps)
    grouped_upstream = upstream.reshape(batch, groups, per_group_out, -1)
    # dcols[g, c, t, p, n]: the gradient reaching each gathered input element.
    dcols = np.einsum("ngmp,gmct->gctpn", grouped_upstream, grouped_weight)
    grid = np.indices((groups, per_group_in, *w.shape[2:], *out_size)).reshape(2 + 2 * ndim, -1)
    g, c_local = grid[0], grid[1]
    t, jo = grid[2 : 2 + ndim], grid[2 + ndim :]
    position = tuple(jo[dim] * stride[dim] + t[dim] * dilation[dim] for dim in range(ndim))
    padded_size = tuple(i + before + after for i, (before, after) in zip(input_size, pairs))
    grad_padded = np.zeros((groups * per_group_in, *padded_size, batch))
    np.add.at(grad_padded, (g * per_group_in + c_local, *position), dcols.reshape(-1, batch))
    grad = pad_or_crop(np.moveaxis(grad_padded, -1, 0), [(-before, -after) for before, after in pairs])
    return grad if batched else grad[0]


def conv_transpose_by_gradient(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """The input-gradient of the forward correlation with the same stride, dilation, groups and weight,
    padding ``(cb, ca)``, at an input of the transposed convolution's output size."""
    x, w, bias, batched, geometry = _prepare(x, w, bias, stride, padding, output_padding, dilation, groups)
    out = conv_input_gradient(
        x, w, geometry.output_size, stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=groups
    )
    return _finish(out, bias, batched, geometry.ndim)
