"""tinygrad 0.14.0 (CPU): a transposed convolution whose every output lies where no kernel tap reaches raises "bad reshape".

2-D, input (1, 3), kernel (3, 3), stride (10, 10), dilation (3, 3), padding (11, 15) in the last dim only: that dim's
full output has length (3-1)*10 + 3*(3-1) + 1 = 27, the taps land on 10*j + 3*t = 0, 3, 6, 10, 13, 16, 20, 23, 26,
and the crop keeps position 11 only, which none reaches: the exact result is all zeros. tinygrad's codegen folds the
masked reduction to a scalar and then fails to reshape it (in the devectorizer), for the forward; the gradients of
1-D input 2, kernel 2, stride 4, dilation 2, padding (1, 5), batch 2 (output position 1: taps at 0, 2, 4, 6) fail alike.
Run: python tinygrad_all_masked_reduce_bad_reshape.py   (needs numpy, tinygrad, and clang for the CPU device)
"""
import numpy as np
from tinygrad import Tensor

reproduced = 0
x = Tensor(np.ones((1, 1, 1, 3)), device="CPU")
w = Tensor(np.ones((1, 1, 3, 3)), device="CPU")
try:  # tinygrad's flat padding is last dim first: (left, right, top, bottom)
    print("forward:", x.conv_transpose2d(w, stride=(10, 10), dilation=(3, 3), padding=(11, 15, 0, 0)).numpy().ravel(), "(expected zeros)")
except ValueError as error:
    print(f"forward raised (wrong): {type(error).__name__}: {error}")
    reproduced += 1

x = Tensor(np.ones((2, 1, 2)), device="CPU")
w = Tensor(np.ones((1, 1, 2)), device="CPU")
out = x.conv_transpose2d(w, stride=4, dilation=2, padding=(1, 5))
try:
    dx, dw = out.sum().gradient(x, w)
    print("gradients:", dx.numpy().ravel(), dw.numpy().ravel(), "(expected zeros)")
except ValueError as error:
    print(f"gradients raised (wrong): {type(error).__name__}: {error}")
    reproduced += 1
print("DEFECT REPRODUCED" if reproduced else "not reproduced")
