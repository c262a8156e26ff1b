"""tinygrad (0.14.0, CPU) driven in PyTorch's own signature: the parameters go straight to ``Tensor.conv_transpose2d``.

    pytest --pyargs conformance --impl examples/adapters/tinygrad_torch_dialect.py:conv_transpose --impl-dialect torch --report-dir reports/tinygrad-torch

``f(x, w, bias, *, stride, padding, output_padding, dilation, groups)`` with torch's per-dim int tuples
(``padding`` crops both ends alike), i.e. ``torch.nn.functional.conv_transpose{1,2,3}d``. tinygrad's
method takes exactly these arguments and weight layout, for any number of spatial dims (1-D and 3-D
included: checked against torch in float64), so nothing is translated. Needs clang for the CPU device
(see ``tinygrad_impl.py``).

What tinygrad does with arguments torch rejects (torch raises ``RuntimeError`` for each), passed
through unchanged so the suite sees them:

- negative ``padding``: no error; it appends zeros (its ``conv2d`` takes negative pads by design);
- ``output_padding >= max(stride, dilation)``: no error; the extra rows are computed (zeros, or values
  the crop had removed);
- an empty output (length 0): ``AssertionError`` ("kernel size cannot be greater than actual input size");
  a negative length: ``ValueError`` ("invalid shrink ...");
- unbatched ``x`` ``(C, *spatial)``, which torch accepts: ``AssertionError`` (declared away below).
"""

from __future__ import annotations

from conformance import Capabilities

try:
    from tinygrad import Tensor
except ImportError as error:
    raise ImportError(f"examples/adapters/tinygrad_torch_dialect.py needs tinygrad (pip install tinygrad): {error}") from None


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    return Tensor(x, device="CPU").conv_transpose2d(
        Tensor(w, device="CPU"), None if bias is None else Tensor(bias, device="CPU"), groups=groups,
        stride=tuple(stride), dilation=tuple(dilation), padding=tuple(padding), output_padding=tuple(output_padding),
    ).numpy()


conv_transpose.capabilities = Capabilities(
    unbatched=False,  # conv2d asserts x.ndim == w.ndim
    negative_padding=False, asymmetric_padding=False,  # torch's own parameter space
    output_padding="below-stride-or-dilation",  # torch's functional form
    dtypes=("float16", "float32", "float64"),
)
