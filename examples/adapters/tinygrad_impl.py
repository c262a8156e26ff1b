"""tinygrad (tested with 0.14.0, CPU device) as an ``--impl``: ``Tensor.conv_transpose2d``, forward and autograd.

    pytest --pyargs conformance --impl examples/adapters/tinygrad_impl.py:conv_transpose --report-dir reports/tinygrad

tinygrad's CPU device compiles every kernel with ``clang`` at run time: install it first (Debian:
``apt-get install clang``); without it tinygrad raises "no usable devices". Each new shape compiles
new kernels (~0.2-0.6 s a call here); repeated shapes hit tinygrad's own kernel cache.

Mapping (``Tensor.conv_transpose2d(weight, bias, groups, stride, dilation, padding, output_padding)``
takes PyTorch's arguments and weight layout ``(C_in, C_out/groups, *k)``, which is the canonical one):

- Despite the name it runs any number of spatial dims ("NOTE: unlike PyTorch, this implementation is
  not limited to only 2d transposed convolutions"): ndims 1, 2, 3.
- ``padding`` accepts ``2*ndim`` ints, one ``(before, after)`` pair per dim, **last dim first**
  (``(left, right, top, bottom, ...)``, as ``torch.nn.functional.pad``): the canonical pairs reversed
  and flattened. Each pad crops the full output exactly like the canonical crop.
- A negative pad (the canonical "append zeros") becomes a larger zero pad of the inner ``conv2d``,
  whose source says padding may be negative ("_pad_constant handles the shrink").
- ``output_padding`` is added to the inner end pad with no range check (torch's ``op < max(s, d)``
  is not enforced), so any value is the documented formula: ``output_padding="any"``.
- ``bias``, ``groups`` (3-D too) and ``dilation`` are arguments.
- Unbatched ``x`` is not accepted (``conv2d`` asserts ``x.ndim == w.ndim``): declared away.
- dtypes: float16, float32, float64 are all native on the CPU device (half accumulates in float32).
- Gradients: tinygrad's autograd through the same op (``backward`` below).

Source read (tinygrad/tinygrad, identical to the 0.14.0 wheel):
https://github.com/tinygrad/tinygrad/blob/a9069c177a9da9cca18593edf55acd2e6073cca6/tinygrad/mixin/op.py#L1566-L1646
(``conv2d``, ``conv_transpose2d``), #L282-L289 (``_pad_constant``), and
https://github.com/tinygrad/tinygrad/blob/a9069c177a9da9cca18593edf55acd2e6073cca6/tinygrad/helpers.py#L54-L59
(``flat_to_grouped``, ``resolve_pool_pads``: the padding orders). Docs: https://docs.tinygrad.org/tensor/ops/
"""

from __future__ import annotations

import numpy as np

from conformance import Capabilities

try:
    from tinygrad import Tensor
except ImportError as error:  # fail at load with the reason, not on the first case
    raise ImportError(f"examples/adapters/tinygrad_impl.py needs tinygrad (pip install tinygrad): {error}") from None

DEVICE = "CPU"  # pinned: tinygrad would otherwise pick the first device it finds (CUDA, METAL, ...)


def _arguments(stride, padding, output_padding, dilation, groups) -> dict:
    # Canonical (before, after) pairs, first dim first -> tinygrad's flat pads, last dim first.
    flat = tuple(p for before, after in reversed(padding) for p in (before, after))
    return dict(groups=groups, stride=tuple(stride), dilation=tuple(dilation), padding=flat, output_padding=tuple(output_padding))


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    out = Tensor(x, device=DEVICE).conv_transpose2d(
        Tensor(w, device=DEVICE), None if bias is None else Tensor(bias, device=DEVICE),
        **_arguments(stride, padding, output_padding, dilation, groups))
    return out.numpy()


def backward(x, w, bias, upstream, *, stride, padding, output_padding, dilation, groups):
    """``(dx, dw)`` of ``sum(upstream * conv_transpose(x, w, bias))`` by tinygrad's autograd."""
    xt, wt = Tensor(x, device=DEVICE), Tensor(w, device=DEVICE)
    bt = None if bias is None else Tensor(bias, device=DEVICE)
    out = xt.conv_transpose2d(wt, bt, **_arguments(stride, padding, output_padding, dilation, groups))
    dx, dw = (out * Tensor(upstream, device=DEVICE)).sum().gradient(xt, wt)  # Tensor.gradient: no .grad state
    return dx.numpy(), dw.numpy()


conv_transpose.backward = backward
conv_transpose.capabilities = Capabilities(
    ndims=(1, 2, 3),
    unbatched=False,  # conv2d: "Input Tensor shape ... does not match the shape of the weights"
    output_padding="any",
    dtypes=("float16", "float32", "float64"),
    gradients="backward",
)
