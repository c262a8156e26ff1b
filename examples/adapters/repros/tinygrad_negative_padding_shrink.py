"""tinygrad 0.14.0: conv_transpose2d raises "invalid shrink" for a negative padding that the opposite end's padding makes valid.

1-D, input 2, kernel 3, stride 3: full output length (2-1)*3 + 3 = 6. padding=(-2, 7): two zeros are
prepended (negative padding, which tinygrad's conv2d handles: "_pad_constant handles the shrink"), then 7
rows are cropped from the end: length 6 + 2 - 7 = 1, the first prepended zero. tinygrad lowers this to a
conv2d with pads (4, -5) on the 4-long stride-dilated input, and _pad_constant shrinks by 5 before padding
by 4, which is out of range; padding first, then cropping, is fine.
Run: python tinygrad_negative_padding_shrink.py   (needs numpy, tinygrad, and clang for the CPU device)
"""
import numpy as np
from tinygrad import Tensor

x = np.array([[[1.0, 2.0]]])
w = np.array([[[1.0, 10.0, 100.0]]])
full = np.zeros(6)
for j in range(2):
    for t in range(3):
        full[j * 3 + t] += x[0, 0, j] * w[0, 0, t]
want = np.concatenate([np.zeros(2), full])[:6 + 2 - 7]  # prepend 2 zeros, crop 7 from the end
print("expected (explicit loop):", want)
try:
    got = Tensor(x, device="CPU").conv_transpose2d(Tensor(w, device="CPU"), stride=3, padding=(-2, 7)).numpy()
    print("tinygrad:", got, "" if np.array_equal(got, want) else "(wrong)")
except Exception as error:
    print(f"tinygrad raised (wrong): {type(error).__name__}: {error}")
    print("DEFECT REPRODUCED")
