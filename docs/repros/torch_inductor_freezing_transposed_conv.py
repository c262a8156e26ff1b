"""torch.compile with inductor's freezing (the CPU inference recipe) miscompiles transposed convolutions: torch 2.13.0 (CPU).

What it shows
-------------
``torch._inductor.config.freezing = True`` turns a model's parameters into constants that inductor folds
into the convolution. Two of its passes treat a transposed convolution's weight as a forward
convolution's:

- ``scale`` (default), ``batchnorm``: binary folding (``torch/_inductor/fx_passes/binary_folding.py``)
  folds a constant per-channel multiply after the convolution into the weight along axis 0, which is
  C_out for a forward convolution's ``(C_out, C_in, *k)`` weight but C_in for a transposed one's
  ``(C_in, C_out/groups, *k)``. Where C_in == C_out the shapes line up and the result is silently wrong:
  ``ConvTranspose1d(2, 2, 1)`` then ``* [s0, s1]`` scales by input channel instead of output channel;
  ``ConvTranspose2d(4, 4, 3, stride=2)`` followed by an eval ``BatchNorm2d`` is off by about 2.
- ``scalar-add``: the same fold of ``y + 1.5`` resizes the constant to ``weight.size(0)`` = C_in, so with
  C_in != C_out compilation fails: "Given transposed=1, weight of size [2, 1, 3], expected bias to be
  1-dimensional with 1 elements, but got bias of size [2] instead" (``BackendCompilerFailed``).
- ``float64``: with oneDNN enabled (``torch.backends.mkldnn.enabled``, the default) the freezing
  weight-prepack pass inserts ``mkldnn._reorder_convolution_transpose_weight`` for a float64 weight,
  which oneDNN cannot take: "itensor_view_from_dense expects float/bfloat16/half/int8/fp8 tensor input".

Eager, ``backend="aot_eager"`` and inductor without freezing give the right values in every case.
The conformance suite found the first by its generated search (compiled ``torch.module`` lane, scale
epilogue, shrunk to the ``scale`` case); the others were found following it up.

Run::

    python docs/repros/torch_inductor_freezing_transposed_conv.py [--case scale|batchnorm|scalar-add|float64]

Exit status 1 is the bug (wrong values or a compile failure); 0 means the compiled model matched the
NumPy reference (fixed).
"""

import argparse
import sys

import numpy as np
import torch
import torch._inductor.config


def conv_transpose_reference(x, w, b, stride):
    """NumPy, 1-D or 2-D, groups 1, no padding: out[n, m, j*s + t] += x[n, c, j] * w[c, m, t]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    spatial = x.shape[2:]
    kernel = w.shape[2:]
    out = np.zeros((x.shape[0], w.shape[1], *[(i - 1) * stride + k for i, k in zip(spatial, kernel)]))
    for index in np.ndindex(*spatial):
        for taps in np.ndindex(*kernel):
            position = tuple(i * stride + t for i, t in zip(index, taps))
            out[(slice(None), slice(None), *position)] += np.einsum("nc,cm->nm", x[(slice(None), slice(None), *index)],
                                                                      w[(slice(None), slice(None), *taps)])
    return out + (0 if b is None else np.asarray(b, np.float64).reshape((-1,) + (1,) * len(spatial)))


class Scaled(torch.nn.Module):
    def __init__(self, conv, scale):
        super().__init__()
        self.conv, self.scale = conv, torch.nn.Parameter(scale, requires_grad=False)

    def forward(self, x):
        return self.conv(x) * self.scale


class Shifted(torch.nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(x) + 1.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["scale", "batchnorm", "scalar-add", "float64"], default="scale")
    case = parser.parse_args(argv).case
    torch.manual_seed(0)
    torch._inductor.config.freezing = True
    dtype = torch.float64 if case == "float64" else torch.float32
    if case == "scale":
        conv = torch.nn.ConvTranspose1d(2, 2, 1, bias=False)
        scale = torch.tensor([2.0, -3.0]).reshape(2, 1)
        model, x = Scaled(conv, scale), torch.randn(1, 2, 1)
        reference = conv_transpose_reference(x.numpy(), conv.weight.detach().numpy(), None, 1) * scale.numpy()
    elif case == "batchnorm":
        conv, norm = torch.nn.ConvTranspose2d(4, 4, 3, stride=2), torch.nn.BatchNorm2d(4)
        with torch.no_grad():
            norm.running_mean.uniform_(-1, 1), norm.running_var.uniform_(0.5, 2), norm.weight.uniform_(-2, 2), norm.bias.uniform_(-1, 1)
        model, x = torch.nn.Sequential(conv, norm), torch.randn(2, 4, 5, 5)
        y = conv_transpose_reference(x.numpy(), conv.weight.detach().numpy(), conv.bias.detach().numpy(), 2)
        shape = (-1, 1, 1)
        reference = ((y - norm.running_mean.numpy().reshape(shape)) / np.sqrt(norm.running_var.numpy().reshape(shape) + norm.eps)
                     * norm.weight.detach().numpy().reshape(shape) + norm.bias.detach().numpy().reshape(shape))
    elif case == "scalar-add":
        conv = torch.nn.ConvTranspose1d(2, 1, 3, stride=3, bias=False)
        model, x = Shifted(conv), torch.randn(1, 2, 4)
        reference = conv_transpose_reference(x.numpy(), conv.weight.detach().numpy(), None, 3) + 1.5
    else:
        torch.backends.mkldnn.enabled = True  # the default
        conv = torch.nn.ConvTranspose2d(3, 2, (3, 2), stride=2).to(dtype)
        model, x = conv, torch.randn(2, 3, 4, 5, dtype=dtype)
        reference = conv_transpose_reference(x.numpy(), conv.weight.detach().numpy(), conv.bias.detach().numpy(), 2)
    model = model.to(dtype).eval()
    with torch.no_grad():
        eager = model(x).numpy()
        try:
            compiled = torch.compile(model, fullgraph=True, dynamic=False)(x).numpy()
        except Exception as error:  # noqa: BLE001  (the compile failure is the bug being shown)
            print(f"eager max |error| vs NumPy: {np.abs(eager - reference).max():.3g}")
            print(f"compiled with freezing raised {type(error).__name__}: {[l for l in str(error).splitlines() if l.strip()][:2]}")
            return 1
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    print(f"eager max |error| vs NumPy:    {np.abs(eager - reference).max():.3g}")
    print(f"compiled max |error| vs NumPy: {np.abs(compiled - reference).max():.3g}")
    return 0 if np.abs(compiled - reference).max() <= tolerance * max(1.0, np.abs(reference).max()) else 1


if __name__ == "__main__":
    sys.exit(main())
