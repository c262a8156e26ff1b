"""torch.compile with inductor's freezing fails on a single-output-channel transposed convolution followed by a bias add: torch 2.13.0 (CPU).

What it shows
-------------
A model holding ``nn.ConvTranspose1d(2, 1, 1, bias=False)`` and a constant (a parameter) that it adds to
the output per channel, compiled for inference with ``torch._inductor.config.freezing = True`` (the CPU
inference recipe)::

    y = conv(x) + constant.reshape(-1, 1)        # x (1, 2, 2): one output channel

fails to compile: ``BackendCompilerFailed: ... RuntimeError: Given transposed=1, weight of size [2, 1, 1],
expected bias to be 1-dimensional with 1 elements, but got bias of size [2] instead``. Binary folding
(``torch/_inductor/fx_passes/binary_folding.py``, ``_create_new_conv_node``) folds the add into the
convolution's bias, resizing the constant to ``weight.size(0)``: the output channels of a forward
convolution's ``(C_out, C_in, *k)`` weight, but the input channels of a transposed one's
``(C_in, C_out/groups, *k)``. A one-element constant passes the fold's broadcast check and is expanded
to C_in elements. ``--case scale``: the same with ``conv(x) * constant`` where the module has a bias,
which the fold multiplies by the resized constant.

Eager, ``backend="aot_eager"`` and inductor without freezing give the right values; so does inductor
with one input channel, with more than one output channel, or with an unbatched input (the module
squeezes its output, so the add does not follow the convolution). 1-D, 2-D, 3-D, every dtype, oneDNN
on or off alike. (With C_in == C_out > 1 the fold's shapes line up: the add is right, the scale wrong,
see torch_inductor_freezing_transposed_conv.py.) The conformance suite found it on the compiled
``torch.module`` lane's bias epilogue.

Run::

    python docs/repros/torch_inductor_module_bias_epilogue.py [--case bias|scale]

Exit status 1 is the bug (inductor failed or differed where eager was right); 0 means the compiled
model matched the NumPy reference (fixed).
"""

import argparse
import sys

import numpy as np
import torch
import torch._inductor.config


class Model(torch.nn.Module):
    """A transposed convolution and a per-channel constant, as a deployed model holds them."""

    def __init__(self, conv, constant, op):
        super().__init__()
        self.conv, self.op = conv, op
        self.constant = torch.nn.Parameter(constant, requires_grad=False)

    def forward(self, x):
        y = self.conv(x)
        c = self.constant.reshape(-1, 1)
        return y + c if self.op == "bias" else y * c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("bias", "scale"), default="bias")
    case = parser.parse_args().case

    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])          # (N=1, C_in=2, L=2)
    w = np.array([[[0.5]], [[-1.0]]])                 # (C_in=2, C_out=1, k=1)
    bias = np.array([0.25]) if case == "scale" else None  # the module's own bias (scale case)
    constant = np.array([1.5])                        # the epilogue's per-channel constant (C_out=1)
    y = np.einsum("nil,io->nol", x, w[:, :, 0]) + (0 if bias is None else bias[:, None])
    expected = y + constant[:, None] if case == "bias" else y * constant[:, None]

    conv = torch.nn.ConvTranspose1d(2, 1, 1, bias=bias is not None, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    model = Model(conv, torch.from_numpy(constant), case).eval()
    xt = torch.from_numpy(x)

    outcomes = {}
    for name, backend, freezing in (("eager", None, False), ("aot_eager", "aot_eager", True),
                                    ("inductor", "inductor", False), ("inductor+freezing", "inductor", True)):
        torch._dynamo.reset()
        function = model if backend is None else torch.compile(model, backend=backend, fullgraph=True)
        try:
            with torch.no_grad(), torch._inductor.config.patch(freezing=freezing):
                actual = function(xt).numpy()
            right = actual.shape == expected.shape and np.allclose(actual, expected)
            outcomes[name] = right
            print(f"{name:18s} {'right' if right else 'WRONG'}: {actual.ravel().tolist()} (expected {expected.ravel().tolist()})")
        except Exception as error:  # noqa: BLE001  (what inductor raises is the finding)
            outcomes[name] = False
            lines = [line for line in str(error).strip().splitlines() if line.strip()]
            detail = next((line for line in lines if "RuntimeError" in line), lines[0] if lines else "")
            print(f"{name:18s} raised {type(error).__name__}: {detail[:160]}")
    return 1 if outcomes["eager"] and not outcomes["inductor+freezing"] else 0


if __name__ == "__main__":
    sys.exit(main())
