"""tinygrad 0.14.0 (CPU): a transposed convolution whose output no kernel tap reaches returns stale memory instead of zeros.

Every output position here lies in a stride gap (a multiple-of-3 grid never lands on it), so the exact
result is all zeros. In a fresh process tinygrad returns zeros, but once an earlier computation has freed
a buffer of the same byte size, the result is that buffer's old bytes: the output buffer is never written.
Run: python tinygrad_zero_output_stale_buffer.py   (needs numpy, tinygrad, and clang for the CPU device)
"""
import numpy as np
from tinygrad import Tensor


def conv_transpose(x, w):
    # 1-D, stride 3, dilation 3, kernel 4, input 6: full output length (6-1)*3 + 3*(4-1) + 1 = 25;
    # padding (7, 16) keeps positions 7 and 8 only.
    return Tensor(x, device="CPU").conv_transpose2d(Tensor(w, device="CPU"), stride=3, dilation=3, padding=(7, 16)).numpy()


def expected(x, w, stride=3, dilation=3, before=7, after=16):
    n, c_in, i = x.shape
    c_out, k = w.shape[1], w.shape[2]
    full = np.zeros((n, c_out, (i - 1) * stride + dilation * (k - 1) + 1))
    for j in range(i):
        for t in range(k):
            full[:, :, j * stride + t * dilation] += np.einsum("nc,cm->nm", x[:, :, j], w[:, :, t])
    return full[:, :, before:full.shape[2] - after]


rng = np.random.default_rng(0)
x32 = rng.standard_normal((2, 2, 6)).astype(np.float32)  # 96 bytes, freed after this first call
w32 = rng.standard_normal((2, 3, 4)).astype(np.float32)
first = conv_transpose(x32, w32)
print("float32 call, correct:      ", first.ravel()[:4], "...")

x = np.arange(1, 25, dtype=np.float64).reshape(2, 2, 6)
w = np.ones((2, 3, 4))
got = conv_transpose(x, w)  # float64 output of 12 elements: 96 bytes, like x32's buffer
want = expected(x, w)
print("tinygrad (wrong):            ", got.ravel()[:4], "...")
print("expected (explicit loop):    ", want.ravel()[:4], "...")
print("x32's bytes read as float64: ", x32.view(np.float64).ravel()[:4], "...")
print("DEFECT REPRODUCED" if not np.array_equal(got, want) else "not reproduced")
