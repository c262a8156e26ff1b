"""torch.compile on oneDNN returns an empty tensor for a partially empty output, no epilogue needed: torch 2.13.0 (CPU).

What it shows
-------------
A transposed convolution whose output length is 0 in one spatial dim but positive in another, with
nothing after it, compiled with inductor (oneDNN on: ``torch.backends.mkldnn.enabled``, the default):

    nn.ConvTranspose2d(1, 1, (2, 1), padding=(1, 0))   # x (1, 1, 1, 1): output (0 x 1)

Eager raises ``RuntimeError: ... Calculated output size per channel: (0 x 1). Output size is too
small``; the module compiled for inference (``torch.no_grad()``, ``torch._inductor.config.freezing``)
returns a ``(1, 1, 0, 1)`` tensor. The meta check of pytorch#144225 (the fix of #144013) rejects only
outputs empty in every dim, so the call reaches a kernel, and oneDNN's transposed convolution does not
check the output size (pytorch#127734, the eager side: ``torch-zero-length-output-not-rejected``).
Freezing packs the convolution as ``mkldnn._convolution_transpose_pointwise`` (2-D and 3-D, not
depthwise), so the module returns where eager does not pick oneDNN at all; the functional form
compiles to the aten call and returns exactly where eager does (torch picks oneDNN, e.g. groups > 1
or a batch > 1: the second case below, eager returns too). With oneDNN off both raise. With an
elementwise op after the convolution inductor returns on every backend:
docs/repros/torch_inductor_partial_zero_output.py.

Run::

    python docs/repros/torch_compiled_onednn_partial_zero_output.py

Exit status 1 is the bug (the compiled module returned where eager raised); 0 means both raised (fixed).
"""

import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F


def outcome(function, *args):
    try:
        with torch.no_grad():
            return f"returned shape {tuple(function(*args).shape)}"
    except RuntimeError as error:
        return "raised: " + str(error).strip().splitlines()[-1][:100]


def run(onednn: bool) -> None:
    """Print each case's eager and inductor outcome, one per line, with oneDNN on or off for the whole
    process: inductor sets up its oneDNN patterns on its first compile and keeps them, so a switch
    flipped later in the same process would not be what the compiled call sees."""
    torch.backends.mkldnn.enabled = onednn

    # A module, batch 1, groups 1: eager takes the native kernel (raises); frozen, inductor packs oneDNN's.
    conv = torch.nn.ConvTranspose2d(1, 1, (2, 1), padding=(1, 0), bias=False).eval()
    x = torch.from_numpy(np.ones((1, 1, 1, 1), np.float32))
    compiled = torch.compile(conv, backend="inductor", fullgraph=True)
    with torch._inductor.config.patch(freezing=True):
        for name, function in (("eager", conv), ("inductor", compiled)):
            print(f"module, frozen       {name:9s} {outcome(function, x)}")

    # The functional form, unbatched, groups 2: torch picks oneDNN eagerly too; compiled does the same.
    x = torch.from_numpy(np.ones((2, 1, 1), np.float32))
    w = torch.from_numpy(np.ones((2, 1, 2, 1), np.float32))

    def functional(x, w):
        return F.conv_transpose2d(x, w, padding=(1, 0), groups=2)

    for name, function in (("eager", functional), ("inductor", torch.compile(functional, backend="inductor", fullgraph=True))):
        print(f"functional, groups 2 {name:9s} {outcome(function, x, w)}")


def main() -> int:
    lines = {}
    for onednn in (True, False):
        out = subprocess.run([sys.executable, __file__, "on" if onednn else "off"], capture_output=True, text=True, check=True).stdout
        print(f"-- oneDNN {'on' if onednn else 'off'}")
        print(out, end="")
        lines[onednn] = out.splitlines()
    module = {line.split()[2]: line for line in lines[True] if line.startswith("module")}
    return 1 if "returned" in module["inductor"] and "raised" in module["eager"] else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run(sys.argv[1] == "on")
        sys.exit(0)
    sys.exit(main())
