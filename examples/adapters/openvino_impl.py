"""OpenVINO (tested with 2026.4.1, CPU plugin) as an ``--impl``: a one-op model per configuration, compiled once and cached.

    pytest --pyargs conformance --impl examples/adapters/openvino_impl.py:conv_transpose --report-dir reports/openvino

OpenVINO is an inference runtime: it has no autograd, so only the forward op is declared. The model
is ``ConvolutionBackpropData`` (``groups == 1``) or ``GroupConvolutionBackpropData`` (opset1 ops,
built with ``openvino.opset13``), plus an ``Add`` for the bias (neither op takes one). ``x``, ``w`` and
``bias`` are all model inputs, so one compiled model serves every value of a configuration: the cache
key is (shapes, dtype, parameters). A compile takes ~20-30 ms here, a cached call well under 1 ms.

Mapping and declarations, from the op specs
https://docs.openvino.ai/2026/documentation/openvino-ir-format/operation-sets/operation-specs/convolution/convolution-backprop-data-1.html
https://docs.openvino.ai/2026/documentation/openvino-ir-format/operation-sets/operation-specs/convolution/group-convolution-backprop-data-1.html
(source: openvinotoolkit/openvino docs/articles_en/documentation/openvino-ir-format/operation-sets/operation-specs/convolution/):

- ``Y = stride*(X-1) + ((K-1)*dilation + 1) - pads_begin - pads_end + output_padding``: the canonical
  crops are ``pads_begin``/``pads_end`` one for one (asymmetric allowed), ``output_padding`` is the
  canonical end extension. Its range is "non-negative integer values" with no upper bound:
  ``output_padding="any"``.
- ``pads_begin``/``pads_end`` range: "non-negative integers": ``negative_padding=False``.
- Inputs of "rank 3, 4 or 5", layout ``[N, C_IN, Z, Y, X]``: ndims 1-3, always batched
  (``unbatched=False``: an unbatched 2-D input would read as a batched 1-D one).
- Grouped kernel layout ``[GROUPS, C_IN, C_OUT, ...]``: the canonical ``(C_in, C_out/g, *k)`` reshaped
  (a view). (The spec names its spatial axes "X, Y, Z", reversed from the input's "Z, Y, X"; the
  implementation takes them in the input's order, as the reshape here assumes.)
- dtypes: the CPU plugin's inference precisions are f32, bf16 and f16 (CPU device page,
  https://docs.openvino.ai/2026/openvino-workflow/running-inference/inference-devices-and-modes/cpu-device.html
  "Supported Inference Data Types"). f64 is only a "tensor precision conversion" type: a float64
  model runs in float32 and returns float64, so float64 is declared away. The default inference
  precision is bf16 on CPUs with native bf16 (this one: ``INFERENCE_PRECISION_HINT`` reads bf16):
  the adapter sets it to f32, as the page says to for f32 inference. float16 inputs are then
  converted to f32, computed, and rounded back.
"""

from __future__ import annotations

import functools
import importlib.metadata


from conformance import Capabilities

try:
    import openvino as ov
    import openvino.opset13 as ops
except ImportError as error:  # fail at load with the reason, not on the first case
    raise ImportError(f"examples/adapters/openvino_impl.py needs openvino (pip install openvino): {error}") from None

__version__ = importlib.metadata.version("openvino")  # the version every record carries (known entries match on it)
DEVICE = "CPU"
# f32 arithmetic for float32 (and float16) models; without it bf16-capable CPUs compute in bf16.
CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}


@functools.cache
def _core() -> ov.Core:
    return ov.Core()


@functools.lru_cache(maxsize=512)
def _compiled(x_shape, w_shape, has_bias, dtype, stride, padding, output_padding, dilation, groups):
    x = ops.parameter(x_shape, dtype, name="x")
    if groups == 1:
        w = ops.parameter(w_shape, dtype, name="w")
        build = ops.convolution_backprop_data
    else:  # (C_in, C_out/g, *k) -> (g, C_in/g, C_out/g, *k)
        w = ops.parameter((groups, w_shape[0] // groups, *w_shape[1:]), dtype, name="w")
        build = ops.group_convolution_backprop_data
    y = build(x, w, strides=list(stride), pads_begin=[b for b, _ in padding], pads_end=[a for _, a in padding],
              dilations=list(dilation), output_padding=list(output_padding))
    inputs = [x, w]
    if has_bias:  # (C_out,) -> (1, C_out, 1, ...), broadcast by Add
        b = ops.parameter((1, w_shape[1] * groups) + (1,) * (len(x_shape) - 2), dtype, name="bias")
        y = ops.add(y, b)
        inputs.append(b)
    return _core().compile_model(ov.Model([y], inputs, "conv_transpose"), DEVICE, CONFIG)


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    model = _compiled(x.shape, w.shape, bias is not None, x.dtype.type, tuple(stride), tuple(map(tuple, padding)),
                      tuple(output_padding), tuple(dilation), groups)
    inputs = [x, w if groups == 1 else w.reshape(groups, w.shape[0] // groups, *w.shape[1:])]
    if bias is not None:
        inputs.append(bias.reshape((1, -1) + (1,) * (x.ndim - 2)))
    return model(inputs)[0]


conv_transpose.capabilities = Capabilities(
    ndims=(1, 2, 3),
    negative_padding=False,
    unbatched=False,
    output_padding="any",
    dtypes=("float16", "float32"),
)
