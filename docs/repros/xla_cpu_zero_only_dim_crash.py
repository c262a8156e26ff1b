"""XLA:CPU kills the process (SIGSEGV) on a 2-D transposed convolution whose output, in one dim, is a
single element that no tap reaches: jax 0.10.2 / jaxlib 0.10.2, x86-64.

What it shows
-------------
A transposed convolution with 17 -> 16 channels, input (2, 1), kernel (1, 1), stride 1 and, in dim 0,
canonical crops (-1, 2): one zero prepended, both input rows cropped away, so the output is (1, 1)
and, with the bias, equal to the bias. jax spells it

    lax.conv_transpose(x, w, strides=(1, 1), padding=((1, -2), (0, 0)))   # NHWC, HWIO

and lowers it to a convolution of x padded by (1, -2) in dim 0. XLA:CPU crashes running it, eagerly
and under jax.jit, in every dtype. With ``--gradient`` the route is jax's input gradient of a
transposed convolution over input (1, 1) with crops (-2, 1) in dim 0 (an output of two zeros), whose
gradient conv pads the cotangent by (-2, 1) there.

Measured through the conformance suite's runner (the entries xla-cpu-zero-only-dim-crash and -grouped):
only 2-D, only with more than 16 input or output channels, only with a batch of one, only with stride
1 in the forward route; 16 -> 16 channels, a batch of 2, stride 2, 1-D and 3-D run and are right. An
output of one zero over an input of 1 does not crash but returns wrong values (the
xla-cpu-zero-only-dim-* entries, docs/repros/jax_conv_transpose_cropped_dim_input_gradient.py).

Each call runs in a child process, so that this script can report the crash:

    python xla_cpu_zero_only_dim_crash.py [--gradient] [--channels 17]
"""

import argparse
import subprocess
import sys

CHILD = r"""
import sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax import lax

gradient, channels = sys.argv[1] == "1", int(sys.argv[2])
rng = np.random.default_rng(0)
if not gradient:
    x = rng.standard_normal((1, 2, 1, channels)).astype(np.float32)      # NHWC: input (2, 1)
    w = rng.standard_normal((1, 1, channels, 16)).astype(np.float32)     # HWIO: kernel (1, 1)
    y = lax.conv_transpose(x, w, strides=(1, 1), padding=((1, -2), (0, 0)))
    print("y.shape", y.shape, "max |y| (expected 0: no tap reaches the output)", float(np.abs(np.asarray(y)).max()))
else:
    x = rng.standard_normal((1, 1, 1, channels)).astype(np.float32)      # input (1, 1)
    w = rng.standard_normal((1, 1, channels, 16)).astype(np.float32)
    f = lambda x: lax.conv_transpose(x, w, strides=(1, 1), padding=((2, -1), (0, 0)))  # crops (-2, 1): two zeros
    y, back = jax.vjp(f, x)
    (dx,) = back(np.ones(y.shape, np.float32))
    print("y.shape", y.shape, "max |dx| (expected 0: y does not depend on x)", float(np.abs(np.asarray(dx)).max()))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradient", action="store_true", help="the input-gradient route (an output of two zeros)")
    parser.add_argument("--channels", type=int, default=17, help="input channels (16 or fewer: no crash)")
    args = parser.parse_args()
    run = subprocess.run([sys.executable, "-c", CHILD, "1" if args.gradient else "0", str(args.channels)])
    if run.returncode < 0:
        print(f"the process was killed by signal {-run.returncode} (11 = SIGSEGV)")
        return 1
    print("ran to the end: exit status", run.returncode)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
