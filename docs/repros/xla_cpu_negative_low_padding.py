"""XLA:CPU reads outside the input for a conv with negative low padding: jax 0.10.2 / jaxlib 0.10.2.

What it shows
-------------
A transposed convolution with stride 1 whose start crop exceeds K-1 (and whose end crop is smaller)
lowers to ``lax.conv_general_dilated(x, flipped_w, window_strides=1, padding=(K-1-cb, K-1-ca))`` with
a negative low padding and a positive high one (``low < 0 < high <= -low``). XLA:CPU's Eigen spatial
convolution then reads each zero of the high padding from memory past the row: in a batched call that
is the next sample's first element, and for the last sample (or a call with one sample) whatever lies
past the buffer (garbage, e.g. 1e35, or by chance 0: the one-sample calls below happened to be right on
the machine it was written on). So the batched answer differs from the true result and from the same
samples called one at a time.

Observed (jax/jaxlib 0.10.2, x86-64): float32, float16, bfloat16 (not float64); stride and dilation 1;
1-D at any channel count (the default case has 17), grouped too, where channels per group times kernel
taps reach 8; 2-D, grouped (depthwise included) or not, with at most 16 input and 16 output channels
(more go to YNNPACK), where a whole 8-float packet of the patch reaches the high padding; not 3-D.
Eager and jit alike. Reported as
openxla/xla#48713; a fix is proposed in openxla/xla#48748.

Cases (``--case``):

- ``batch`` (default): the suite's find, 1-D, batch 2, 17 -> 1 channels, input 4, kernel 3, crops (3, 1)
  (jax padding (-1, 1)), float32.
- ``marked``: the same geometry on marked operands (x[n, 0, h] = 100 n + h + 1, the other channels 0;
  the kernel copies tap k-1 of channel 0), batch 3: the last output of sample n shows sample n+1's first
  element (101, 201) where the padding's 0 belongs.

Run::

    python docs/repros/xla_cpu_negative_low_padding.py [--case batch|marked] [--jit]

Exit status 1 is the bug (jax's answer printed beside the NumPy reference); 0 means jax matched it.
"""

import argparse
import sys

import numpy as np

import jax
from jax import lax


def reference(x, w, crops):
    """1-D transposed convolution, stride 1, by definition (float64): scatter every product, then crop
    (a negative crop appends zeros). x: (N, C_in, i); w: (C_in, C_out, k)."""
    n, _, i = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], i + k - 1))
    for j in range(i):
        for t in range(k):
            full[:, :, j + t] += x[:, :, j] @ w[:, :, t]
    cb, ca = crops
    full = np.pad(full, ((0, 0), (0, 0), (max(-cb, 0), max(-ca, 0))))
    return full[:, :, max(cb, 0):full.shape[2] - max(ca, 0)]


def jax_transposed(x, w, crops, dtype, jit):
    """The transposed convolution as jax lowers it: flipped kernel, in/out swapped, pads K-1-crop."""
    k = w.shape[2]
    padding = [(k - 1 - crops[0], k - 1 - crops[1])]
    rhs = np.flip(w, axis=2).swapaxes(0, 1)  # (C_out, C_in, k)
    print(f"lax.conv_general_dilated(lhs {x.shape}, rhs {rhs.shape}, window_strides=(1,), padding={padding}), {dtype}")
    f = lambda lhs, rhs: lax.conv_general_dilated(lhs, rhs, (1,), padding)
    f = jax.jit(f) if jit else f
    return np.asarray(f(x.astype(dtype), rhs.astype(dtype)), dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("batch", "marked"), default="batch")
    parser.add_argument("--jit", action="store_true", help="jax.jit the call (the default runs it op by op)")
    args = parser.parse_args()
    dtype, crops = np.float32, (3, 1)
    if args.case == "batch":
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 17, 4)).astype(dtype).astype(np.float64)
        w = rng.standard_normal((17, 1, 3)).astype(dtype).astype(np.float64)
    else:
        x = np.zeros((3, 17, 4))
        x[:, 0, :] = 100 * np.arange(3)[:, None] + np.arange(1, 5)[None, :]
        w = np.zeros((17, 1, 3))
        w[0, 0, 0] = 1.0  # flipped: tap k-1 of the correlation, out[j] = padded[j + 2]
    print(f"jax {jax.__version__}, {jax.default_backend()}, case {args.case!r}, {'jit' if args.jit else 'eager'}")
    expected = reference(x, w, crops)
    batched = jax_transposed(x, w, crops, dtype, args.jit)
    single = np.concatenate([jax_transposed(x[n:n + 1], w, crops, dtype, args.jit) for n in range(len(x))])
    wrong = False
    for n in range(len(x)):
        for label, got in (("batched", batched[n]), ("alone", single[n])):
            ok = np.allclose(got, expected[n], rtol=1e-4, atol=1e-4)
            wrong |= not ok
            print(f"sample {n} {label:7s} jax {np.array2string(got[0], precision=4)}  expected "
                  f"{np.array2string(expected[n, 0], precision=4)}  {'ok' if ok else 'WRONG'}")
    print("WRONG: jax read outside the input (the bug)" if wrong else "ok: jax matches the reference (fixed in this build)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
