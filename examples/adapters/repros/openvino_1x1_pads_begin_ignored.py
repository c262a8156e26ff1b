"""OpenVINO 2026.4.1 CPU: ConvolutionBackpropData with a 1-wide kernel, stride 1 and pads_begin == output_padding
(pads_end 0, so the output length equals the input's) ignores pads_begin: it returns the input unshifted.

Spec (ConvolutionBackpropData-1): Y = stride*(X-1) + ((K-1)*dilation+1) - pads_begin - pads_end + output_padding,
pads_begin crops the start, output_padding "adds ... paddings ... at the higher coordinate indices".
With x = [1, 2, 3, 4], w = [1], pads_begin 1, output_padding 1: crop one at the start, one zero row at
the end: [2, 3, 4, 0]. The same with dilation 3 is valid for PyTorch too (output_padding 2 < dilation 3,
padding 1 at both ends): torch.nn.functional.conv_transpose1d gives [2, 3, 4, 0].
Run: python openvino_1x1_pads_begin_ignored.py   (needs numpy, openvino)
"""
import numpy as np
import openvino as ov
import openvino.opset13 as ops

core = ov.Core()
x = np.array([[[1.0, 2.0, 3.0, 4.0]]], np.float32)
w = np.ones((1, 1, 1), np.float32)


def openvino(pads_begin, pads_end, output_padding, dilation=1):
    p = ops.parameter(x.shape, np.float32)
    y = ops.convolution_backprop_data(p, ops.constant(w), [1], pads_begin=[pads_begin], pads_end=[pads_end],
                                      dilations=[dilation], output_padding=[output_padding])
    return core.compile_model(ov.Model([y], [p]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0].ravel()


def expected(pads_begin, pads_end, output_padding):
    full = x.ravel() * w.ravel()[0]  # kernel 1, stride 1: the full output is x * w
    extended = np.concatenate([full, np.zeros(output_padding)])  # output_padding rows at the end
    return extended[pads_begin:len(extended) - pads_end] if pads_end else extended[pads_begin:]


reproduced = False
for pads_begin, pads_end, output_padding, dilation in [(1, 0, 1, 1), (2, 0, 2, 1), (1, 1, 2, 3), (1, 0, 0, 1), (2, 0, 1, 1)]:
    got, want = openvino(pads_begin, pads_end, output_padding, dilation), expected(pads_begin, pads_end, output_padding)
    wrong = got.shape != want.shape or not np.array_equal(got, want)
    reproduced |= wrong
    print(f"pads_begin={pads_begin} pads_end={pads_end} output_padding={output_padding} dilation={dilation}: "
          f"openvino {got}  expected {want}{'   WRONG' if wrong else ''}")
print("DEFECT REPRODUCED" if reproduced else "not reproduced")
