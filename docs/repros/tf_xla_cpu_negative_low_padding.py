"""TensorFlow 2.21 (CPU) under XLA: tf.nn.conv2d_transpose reads outside its input when a start crop exceeds K-1.

What it shows
-------------
With stride 1, explicit pads ``[[0, 0], [cb0, ca0], [cb1, ca1], [0, 0]]`` (NHWC; NCHW likewise) whose start
crop exceeds ``K-1`` (``cb >= K``) and whose end crop is at most ``K-2``, TensorFlow's XLA lowering of
``Conv2DBackpropInput`` is the correlation padded by ``(K-1-cb, K-1-ca)``: a negative low padding and a
positive high one (``low < 0 < high <= -low``). Under ``tf.function(jit_compile=True)`` XLA:CPU's Eigen
spatial convolution reads each zero of the high padding from memory past the row: in a batched call that
is the next sample's first element, and for the last sample (or a call with one sample) whatever lies past
the buffer (garbage such as 6e16 or NaN, or by chance 0). Eager TensorFlow computes NHWC right and has no
CPU kernel for NCHW (InvalidArgumentError); the same convolution under XLA is wrong in both layouts, with
oneDNN on or off (XLA runs its own kernels).

It is the XLA:CPU bug jax meets (openxla/xla#48713; a fix is proposed in openxla/xla#48748), reached through
TensorFlow's own lowering. Observed (tensorflow-cpu 2.21.0, x86-64): float32, float16, bfloat16 (not float64);
stride and dilation 1; 2-D only (1-D and 3-D tf.nn take only 'SAME'/'VALID'); grouped too; where a whole
8-float packet of the patch (channels per group x k0 x k1) reaches the high padding, at any channel count;
every epilogue (bias, relu, sigmoid, scale, residual) and none alike.

Cases (``--case``):

- ``suite`` (default): the suite's find, float32, 2 -> 2 channels, input (2, 3), kernel (2, 2), crops
  ``((2, 0), (1, 1))`` (XLA pads (-1, 1) and (0, 0)), a per-channel scale after it as the suite checked it,
  batch 2 (the suite's case was unbatched: see ``--batch 1``), NCHW.
- ``marked``: marked operands, NHWC, batch 3, 8 -> 1 channels, input (1, 4), kernel (1, 2), crops
  ``((0, 0), (2, 0))``: x[n, 0, 0, w] = 100 n + w + 1 (the other channels 0) and a kernel that copies it, so
  the output is x[n, 0, 0, 2:] then one padding zero; XLA returns sample n+1's first element (101, 201) there.

Run::

    TF_CPP_MIN_LOG_LEVEL=2 python docs/repros/tf_xla_cpu_negative_low_padding.py [--case suite|marked] [--data-format NCHW|NHWC] [--batch N]

Exit status 1 is the bug (the compiled answer differs from the NumPy reference); 0 means it matched (fixed).
"""

import argparse
import sys

import numpy as np
import tensorflow as tf


def reference(x, w, crops):
    """2-D transposed convolution, stride 1, by definition (float64): scatter every product, then crop.
    x: (N, C_in, *i); w: (C_in, C_out, *k), canonical layouts."""
    n, _, i0, i1 = x.shape
    k0, k1 = w.shape[2:]
    full = np.zeros((n, w.shape[1], i0 + k0 - 1, i1 + k1 - 1))
    for a in range(i0):
        for b in range(i1):
            for t in range(k0):
                for u in range(k1):
                    full[:, :, a + t, b + u] += x[:, :, a, b] @ w[:, :, t, u]
    (cb0, ca0), (cb1, ca1) = crops  # crops of at least 0, as TF's explicit pads
    return full[:, :, cb0:full.shape[2] - ca0, cb1:full.shape[3] - ca1]


def compiled(x, w, crops, scale, data_format):
    """The transposed convolution as the suite calls it: tf.nn.conv_transpose with explicit pads, then the
    per-channel scale (if any), in one tf.function(jit_compile=True)."""
    out = reference(np.zeros_like(x), w, crops).shape[2:]
    n, c_out = x.shape[0], w.shape[1]
    first = data_format == "NCHW"
    xn = x if first else np.moveaxis(x, 1, -1)
    kernel = np.moveaxis(w, (0, 1), (-1, -2))  # (C_in, C_out, kH, kW) -> [kH, kW, C_out, C_in]
    shape = [n, c_out, *out] if first else [n, *out, c_out]
    spatial = [list(pair) for pair in crops]
    padding = [[0, 0], [0, 0], *spatial] if first else [[0, 0], *spatial, [0, 0]]
    print(f"tf.nn.conv_transpose(x {list(xn.shape)}, filters {list(kernel.shape)}, output_shape={shape}, strides=1, "
          f"padding={padding}, data_format={data_format!r}){' * scale' if scale is not None else ''} in "
          "tf.function(jit_compile=True), float32")

    def f(xt, kt, st):
        y = tf.nn.conv_transpose(xt, kt, shape, 1, padding=padding, data_format=data_format)
        if st is not None:
            y = y * (tf.reshape(st, (-1, 1, 1)) if first else st)
        return y

    st = None if scale is None else tf.constant(scale, tf.float32)
    y = tf.function(f, jit_compile=True)(tf.constant(xn, tf.float32), tf.constant(kernel, tf.float32), st).numpy()
    return np.asarray(y if first else np.moveaxis(y, -1, 1), dtype=np.float64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("suite", "marked"), default="suite")
    parser.add_argument("--data-format", choices=("NCHW", "NHWC"), default=None,
                        help="the layout (default: NCHW for 'suite', as the suite found it; NHWC for 'marked')")
    parser.add_argument("--batch", type=int, default=None, help="samples (default: 2 for 'suite', 3 for 'marked')")
    args = parser.parse_args(argv)
    if args.case == "suite":
        batch, data_format, crops = args.batch or 2, args.data_format or "NCHW", ((2, 0), (1, 1))
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, 2, 2, 3)).astype(np.float32).astype(np.float64)
        w = rng.standard_normal((2, 2, 2, 2)).astype(np.float32).astype(np.float64)
        scale = rng.standard_normal(2).astype(np.float32).astype(np.float64)
    else:
        batch, data_format, crops = args.batch or 3, args.data_format or "NHWC", ((0, 0), (2, 0))
        x = np.zeros((batch, 8, 1, 4))
        x[:, 0, 0, :] = 100 * np.arange(batch)[:, None] + np.arange(1, 5)[None, :]
        w = np.zeros((8, 1, 1, 2))
        w[0, 0, 0, 0] = 1.0  # y[n, 0, 0, j] = x[n, 0, 0, j + 2], and 0 past the input
        scale = None
    print(f"tensorflow {tf.__version__}, case {args.case!r}")
    expected = reference(x, w, crops)
    if scale is not None:
        expected = expected * scale.reshape(-1, 1, 1)
    got = compiled(x, w, crops, scale, data_format)
    wrong = False
    for n in range(batch):
        ok = bool(np.allclose(got[n], expected[n], rtol=1e-4, atol=1e-4))
        wrong |= not ok
        print(f"sample {n}: XLA {np.array2string(got[n, 0].ravel(), precision=4)}  expected "
              f"{np.array2string(expected[n, 0].ravel(), precision=4)}  {'ok' if ok else 'WRONG'}")
    print("WRONG: XLA:CPU read outside the input (the bug)" if wrong else "ok: XLA matches the reference (fixed in this build)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
