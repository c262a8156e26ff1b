"""For ``--impl-arrays jax``: asserts that it receives JAX arrays (x, w and bias alike, in one of its
declared dtypes, on the CPU where the array is concrete), logs each call's dtype to ``CONVT_TEST_LOG``
(if set), and computes the transposed convolution in ``jax.numpy`` by its definition (each kernel tap's
products added into the full output at ``j*s + t*d``, then cropped, or padded with zeros where a
padding is negative), so that its gradients come from JAX's autodiff (``gradients="autodiff"``)."""

import itertools
import os

import jax
import jax.numpy as jnp

from conformance import Capabilities


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    for name, array in (("x", x), ("w", w), ("bias", bias)):
        if array is not None:
            assert isinstance(array, jax.Array), f"{name} is a {type(array).__name__}, not a jax.Array"
            assert array.dtype == x.dtype, f"{name}: {array.dtype}, x: {x.dtype}"
            if not isinstance(array, jax.core.Tracer):
                assert {d.platform for d in array.devices()} == {"cpu"}, array.devices()
    assert x.dtype.name in conv_transpose.capabilities.dtypes, x.dtype
    if os.environ.get("CONVT_TEST_LOG"):
        with open(os.environ["CONVT_TEST_LOG"], "a") as log:
            log.write(f"{x.dtype.name}\n")
    ndim = w.ndim - 2
    unbatched = x.ndim == ndim + 1
    x = x[None] if unbatched else x
    batch, channels, *size = x.shape
    per_in, per_out, *kernel = w.shape[0] // groups, w.shape[1], *w.shape[2:]
    xg = x.reshape(batch, groups, per_in, *size)
    wg = w.reshape(groups, per_in, per_out, *kernel)
    full = [(i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(size, kernel, stride, dilation)]
    y = jnp.zeros((batch, groups, per_out, *full), dtype=x.dtype)
    for tap in itertools.product(*(range(k) for k in kernel)):
        products = jnp.einsum("ngc...,gcm->ngm...", xg, wg[(slice(None), slice(None), slice(None), *tap)])
        at = tuple(slice(t * d, t * d + (i - 1) * s + 1, s) for t, d, i, s in zip(tap, dilation, size, stride))
        y = y.at[(slice(None), slice(None), slice(None), *at)].add(products)
    y = y.reshape(batch, groups * per_out, *full)
    # Crop (before, after) and extend the end by output_padding; where that reaches beyond the full output, zeros.
    starts = [before for before, _ in padding]
    lengths = [n - before - after + op for n, (before, after), op in zip(full, padding, output_padding)]
    y = jnp.pad(y, [(0, 0), (0, 0)] + [(max(0, -b), max(0, b + o - n)) for b, o, n in zip(starts, lengths, full)])
    y = y[(slice(None), slice(None), *(slice(max(b, 0), max(b, 0) + o) for b, o in zip(starts, lengths)))]
    if bias is not None:
        y = y + bias.reshape((-1,) + (1,) * ndim)
    return y[0] if unbatched else y


conv_transpose.capabilities = Capabilities(dtypes=("float32", "float64"), gradients="autodiff")
