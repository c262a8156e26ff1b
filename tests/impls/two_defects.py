"""Two unrelated narrow bugs in one implementation, for the suite to report separately:

- every value is off by one where some dim's start crop exceeds the zero-insertion padding
  (``crop_before > K-1``, ``K = d*(k-1) + 1``);
- elsewhere, with groups (``groups > 1``), the output is one element too long in its last dim.

The regions are disjoint so that neither defect hides the other: a wrong shape is judged before values.
"""

import numpy as np

import oracles


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    out = oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    effective = [d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation)]
    if any(before > K - 1 for (before, _), K in zip(padding, effective)):
        out = out + 1.0
    elif groups > 1:
        out = np.concatenate([out, np.zeros(out.shape[:-1] + (1,))], axis=-1)
    return out.astype(x.dtype)
