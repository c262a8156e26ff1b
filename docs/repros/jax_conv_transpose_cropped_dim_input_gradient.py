"""jax's input gradient of a transposed convolution whose output dim lies wholly in prepended zeros:
jax 0.10.2 / jaxlib 0.10.2, XLA:CPU.

What it shows
-------------
The suite's find (17 -> 16 channels, input (1, 3), kernel (1, 4), stride (3, 4), dilation (2, 3),
canonical crops ((-1, 1), (9, 0))): jax spells it

    lax.conv_transpose(x, w, strides=(3, 4), padding=((1, -1), (0, 9)), rhs_dilation=(2, 3))   # NHWC, HWIO

In dim 0 the input has length 1 and the padding (1, -1) prepends one zero and crops x's only row, so the
output's single row is that zero: y does not depend on x, and d x must be 0. jax lowers the vjp
correctly (StableHLO: convolution(g, reverse(w)), stride (3, 4), pad ((-1, 1), (9, 0)), rhs_dilate
(2, 3)); XLA:CPU computes that conv as if dim 0 had no padding, so d x comes back nonzero (the gradient
of the uncropped row). The same forward conv_general_dilated called directly is wrong the same way.

Observed (jax/jaxlib 0.10.2, x86-64): eager and jit, float16, bfloat16, float32 and float64;
conv_transpose and conv_general_dilated alike. Characterised through the suite's own check
(Runner.gradients against the oracle; 255 cases, 49 wrong, plus a sweep of 29 channel counts and
batches; the grid is in tests/test_known_predicates.py, the entries are xla-cpu-zero-only-dim-input-gradient
and its -grouped twin in conformance/known_discrepancies.toml). d x is wrong only where all hold:

- a dim with input 1 and kernel 1 whose single output is a padding zero: crops (-1, 1) (prepended) or
  (1, -1) (appended), or (-2, 2), (2, -2); stride and dilation there do not matter;
- 2-D, with that dim first, or last behind a dim with input, kernel and output 1 (1-D and 3-D, and the
  dim last behind any other dim, were right);
- a batch of one or none (2 to 5: right);
- more than 16 input or output channels in all (16 -> 16, 1 -> 16, 16 -> 1 right; 17 -> 1, 1 -> 17 and
  more wrong: the count openxla/xla#48713 says takes XLA:CPU's YNNPACK path);
- grouped: float16, bfloat16 and float32 only, except one channel per group (wrong in float64 too).

Earlier direct forward convs (padding (-1, 1) or (1, -1) on a size-1 dim with a size-1 window) agree:
2-D with the dim first was wrong for 16 -> 17 channels and right for 1 -> 1, the dim last, 1-D and 3-D
right; some small channel counts (4..16 in, 2 out) returned garbage (~1e13), as in #48713.

A kernel of 2 or more, or an input of 2, in that dim was right. An output of two zeros there (crops
(-2, 1) or (1, -2)) crashed the process (SIGSEGV) where one zero is wrong. openxla/xla#48713 (negative
low padding read out of bounds) is the closest public report; nothing closer was found in the openxla/xla
and jax-ml/jax issues.

The forward (xla-cpu-zero-only-dim-forward, -grouped, -batch-split, -batch-split-grouped)
-----------------------------------------------------------------------------------------------
The suite later hit the same defect in the forward itself (epilogue-relu and epilogue-bias on jax.vjp
and jax.conv_general_dilated: 2 groups of 1 -> 15 or 15 -> 1, input (1, 1), kernel (1, 1), dilation
(2, 2), crops ((0, 0), (-1, 1))). The transposed conv's own conv (padding (K-1-cb, K-1-ca) = (1, -1)
there, lhs_dilation = stride; jax.vjp's linear transpose runs the same conv with (-1, 1)) fills the zero
from x. Measured through Runner.forward and the other checks (about 340 cases, 1,750 checks; every jax
variant, eager and jit, float16 to float64): wrong only where all hold

- 2-D (1-D and 3-D right), stride 1 in every dim (unlike the gradient: any stride 2 or 3 is right);
- the zero dim is dim 0 and dim 1 does not grow (kernel <= input and output <= input), or the zero dim is
  dim 1 behind a dim 0 of kernel 1 and output 1 (any input); dilation does not matter;
- more than 16 input or output channels in all; a batch of one or none (2, 3, 21, 32 right, so
  batch-split fails wherever the forward of one sample does);
- grouped with more than one input channel per group: float16, bfloat16, float32 only (float64 right);
  ungrouped or one input channel per group: every dtype.

forward, native, linearity and every epilogue check fail; determinism passes. An output of only zeros
over an input of 2 (crops (-1, 2)) crashed the worker instead.

Run::

    python docs/repros/jax_conv_transpose_cropped_dim_input_gradient.py [--jit] [--dtype float32|float64] [--forward]

Exits 1 while jax's d x (or, with --forward, y) differs from the expected 0.
"""

import argparse
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jit", action="store_true")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16"])
    parser.add_argument("--forward", action="store_true", help="the forward: y over a zero dim, 17 -> 16, unbatched")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    if args.forward:
        return forward(args, rng, dtype)
    x = rng.standard_normal((1, 1, 3, 17)).astype(dtype)    # NHWC: input (1, 3), 17 channels
    w = rng.standard_normal((1, 4, 17, 16)).astype(dtype)   # HWIO: kernel (1, 4), 17 -> 16

    def f(a, b):
        return lax.conv_transpose(a, b, strides=(3, 4), padding=((1, -1), (0, 9)), rhs_dilation=(2, 3))

    if args.jit:
        f = jax.jit(f)
    y, back = jax.vjp(f, x, w)
    # y does not depend on x: its only row in dim 0 is the prepended zero.
    y2 = np.asarray(f(2 * x + 1, w))
    print(f"jax {jax.__version__}, {args.dtype}, {'jit' if args.jit else 'eager'}; y shape {y.shape}; "
          f"max |y(x) - y(2x+1)| = {np.abs(np.asarray(y) - y2).max():.3g} (y independent of x)")
    g = rng.standard_normal(y.shape).astype(dtype)
    dx = np.asarray(back(g)[0], dtype=np.float64)
    expected = np.zeros(x.shape)
    print("d x (jax)     [0, 0, :, :4]:\n", dx[0, 0, :, :4])
    print("d x (expected)[0, 0, :, :4]:\n", expected[0, 0, :, :4])
    wrong = np.count_nonzero(np.abs(dx - expected) > 1e-3)
    print(f"{wrong} of {dx.size} elements wrong, max |d x| = {np.abs(dx).max():.4g}")
    return 1 if wrong else 0


def forward(args, rng, dtype) -> int:
    """conv_transpose over input (1, 1), kernel (1, 1), stride 1, padding ((0, 0), (1, -1)) (canonical crops
    ((0, 0), (-1, 1))): the output's only column is a prepended zero, so y must be 0."""
    x = rng.standard_normal((1, 1, 17)).astype(dtype)     # HWC, unbatched is jax's batch of one here
    w = rng.standard_normal((1, 1, 17, 16)).astype(dtype)  # HWIO

    def f(a, b):
        return lax.conv_transpose(a[None], b, strides=(1, 1), padding=((0, 0), (1, -1)))[0]

    if args.jit:
        f = jax.jit(f)
    y = np.asarray(f(x, w), dtype=np.float64)
    print(f"jax {jax.__version__}, {args.dtype}, {'jit' if args.jit else 'eager'}; y shape {y.shape}")
    print("y (jax)[0, 0, :4]:", y[0, 0, :4], " expected: zeros")
    wrong = np.count_nonzero(np.abs(y) > 1e-3)
    print(f"{wrong} of {y.size} elements wrong, max |y| = {np.abs(y).max():.4g}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
