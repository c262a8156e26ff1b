"""Native Keras 3 ``Conv{1,2,3}DTranspose`` configurations, drawn in Keras's own parameter space.

Per dim draw ``i, k`` and either a stride (dilation 1) or a dilation (stride 1), since Keras rejects
``strides > 1`` together with ``dilation_rate > 1``; then ``padding`` ('same'/'valid', sometimes
upper-case, which Keras accepts) and ``output_padding``: None or ``0 <= op < s`` per dim.

About a third are deliberately invalid: one dim's ``output_padding`` at or above its stride, or a
stride and a dilation both above 1. Some valid-looking ones are rejected by the TensorFlow backend
only ('same' with an even effective kernel and ``output_padding=0``); the keras dialect says which.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from ..cases import NativeCase
from ..strategies import MAX_NATIVE_INPUT, layout_ambiguous, operand_recipe



@st.composite
def native_cases(draw, *, data_formats=(None, "channels_last", "channels_first"), spaces=None, invalid=True):
    """A ``NativeCase(dialect="keras", variant="keras")``, groups 1 (Keras has none). ``spaces["keras"]``
    (the lane's ``Variant.space``) leaves out dilation and channels_first where the lane cannot run them.
    With ``invalid=False`` every case is one the dialect accepts (a source of Keras geometries): no
    flaw, and a 'same' the TensorFlow backend rejects becomes 'valid'."""
    space = (spaces or {}).get("keras", {})
    if not space.get("channels_first", True):
        data_formats = tuple(f for f in data_formats if f != "channels_first")
    ndim = draw(st.integers(1, 3))
    flaw = draw(st.sampled_from(("none", "none", "output_padding", "stride_and_dilation"))) if invalid else "none"
    if invalid and space.get("dilation", "any") == "none":
        flaw = draw(st.sampled_from(("none", "none", "output_padding")))  # a dilation this lane never runs proves nothing
    dilated = (space.get("dilation", "any") != "none" and draw(st.booleans())) or flaw == "stride_and_dilation"
    strides, dilations = [], []
    for _ in range(ndim):
        strides.append(1 if dilated else draw(st.integers(1, 3)))
        dilations.append(draw(st.integers(1, 2)) if dilated else 1)
    if flaw == "stride_and_dilation":
        dim = draw(st.integers(0, ndim - 1))
        strides[dim], dilations[dim] = draw(st.integers(2, 3)), 2
    output_padding = None
    if flaw == "output_padding" or draw(st.booleans()):
        output_padding = [draw(st.integers(0, s - 1)) for s in strides]
        if flaw == "output_padding":
            dim = draw(st.integers(0, ndim - 1))
            output_padding[dim] = strides[dim] + draw(st.integers(0, 1))
        output_padding = tuple(output_padding)
    native = dict(
        strides=tuple(strides),
        dilation_rate=tuple(dilations),
        padding=draw(st.sampled_from(("same", "valid", "SAME", "Valid"))),
        output_padding=output_padding,
        data_format=draw(st.sampled_from(data_formats)),
    )
    case = NativeCase(
        dialect="keras", variant="keras", native=tuple(sorted(native.items())),
        input_size=tuple(draw(st.integers(1, MAX_NATIVE_INPUT[ndim])) for _ in range(ndim)),
        kernel_size=tuple(draw(st.integers(1, 3)) for _ in range(ndim)),
        **draw(operand_recipe(max_groups=1, max_per_group=3, max_batch=2)),
    )
    if not invalid:
        try:
            case.canonical()
        except ValueError:  # 'same' with an even effective kernel and no output_padding: the backend refuses it
            case = dataclasses.replace(case, native=tuple(sorted({**native, "padding": "valid"}.items())))
    try:
        output_length = case.canonical().geometry.output_size[-1]
    except ValueError:  # an invalid case: no output, its input length is still an edge
        output_length = None
    return layout_ambiguous(draw, case, output_length)
