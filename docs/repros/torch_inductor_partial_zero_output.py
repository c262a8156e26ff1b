"""torch.compile (inductor) returns an empty tensor where eager raises "Output size is too small": torch 2.13.0 (CPU).

What it shows
-------------
A transposed convolution whose output length is 0 in one spatial dim but positive in another,
followed by an elementwise op (ReLU here; sigmoid, tanh alike):

    F.conv_transpose2d(x, w, padding=(1, 0))   # x (1, 1, 1, 1), w (1, 1, 2, 1): output (0 x 1)

Eager and ``backend="aot_eager"`` raise ``RuntimeError: ... Calculated output size per channel:
(0 x 1). Output size is too small``; inductor returns a ``(1, 1, 0, 1)`` tensor. pytorch#144013 reported
this for outputs empty in every dim; its fix (#144225) added
``torch._check(any(x > 0 for x in ret_shape[2:]))`` to the meta function, which rejects only those, and
inductor drops the convolution feeding an elementwise op on an empty buffer, so the kernel's own check
never runs. Every dtype, oneDNN on or off. Without the elementwise op inductor raises as eager does,
unless oneDNN runs the convolution, whose kernel does not check either:
docs/repros/torch_compiled_onednn_partial_zero_output.py.

Run::

    python docs/repros/torch_inductor_partial_zero_output.py

Exit status 1 is the bug (inductor returned where eager raised); 0 means both raised (fixed).
"""

import sys

import numpy as np
import torch
import torch.nn.functional as F


def main() -> int:
    x = torch.from_numpy(np.ones((1, 1, 1, 1)))
    w = torch.from_numpy(np.ones((1, 1, 2, 1)))

    def model(x, w):
        return torch.relu(F.conv_transpose2d(x, w, padding=(1, 0)))

    outcomes = {}
    for name, function in (("eager", model), ("aot_eager", torch.compile(model, backend="aot_eager", fullgraph=True)),
                           ("inductor", torch.compile(model, backend="inductor", fullgraph=True))):
        torch._dynamo.reset()
        try:
            outcomes[name] = f"returned shape {tuple(function(x, w).shape)}"
        except RuntimeError as error:
            outcomes[name] = "raised: " + str(error).strip().splitlines()[-1][:120]
        print(f"{name:10s} {outcomes[name]}")
    return 1 if outcomes["inductor"].startswith("returned") and outcomes["eager"].startswith("raised") else 0


if __name__ == "__main__":
    sys.exit(main())
