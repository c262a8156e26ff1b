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
- unbatched ``x`` ``(C, *spatial)``, which torch accepts: tinygrad's ``conv2d`` asserts ``x.ndim ==
  w.ndim``, so the adapter adds the batch dim and takes it off again, as torch itself does (a dialect's
  function is drawn torch's whole space, unbatched inputs and batch-split's single samples included).

A kernel this machine's clang cannot compile is ``Unsupported`` as in ``tinygrad_impl.py`` (its helper).
Known findings (tinygrad 0.14.0): ``known_discrepancies.toml`` beside this file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from conformance import Capabilities

try:
    from tinygrad import Tensor
except ImportError as error:
    raise ImportError(f"examples/adapters/tinygrad_torch_dialect.py needs tinygrad (pip install tinygrad): {error}") from None

__version__ = importlib.metadata.version("tinygrad")  # the version every record carries (known entries match on it)

# The canonical adapter beside this file, loaded by path (an --impl file is not on sys.path): its _realized.
_spec = importlib.util.spec_from_file_location("tinygrad_impl_helpers", Path(__file__).with_name("tinygrad_impl.py"))
_canonical = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_canonical)


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    unbatched = x.ndim == w.ndim - 1  # torch's (C, *spatial): tinygrad's conv2d asserts x.ndim == w.ndim
    out = Tensor(x[None] if unbatched else x, device="CPU").conv_transpose2d(
        Tensor(w, device="CPU"), None if bias is None else Tensor(bias, device="CPU"), groups=groups,
        stride=tuple(stride), dilation=tuple(dilation), padding=tuple(padding), output_padding=tuple(output_padding),
    )
    result = _canonical._realized(out)[0]
    return result[0] if unbatched else result


conv_transpose.capabilities = Capabilities(dtypes=("float16", "float32", "float64"))  # a dialect's function declares dtypes only
