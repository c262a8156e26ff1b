"""Hypothesis strategy for ONNX Runtime's own ``ConvTranspose`` attributes, valid and deliberately invalid.

Per spatial dim, with ``K = d*(k-1) + 1`` and ``L = (i-1)*s + K``, ONNX Runtime (the ``onnx`` dialect with
``runtime="onnxruntime"``) accepts::

    output_padding   0 <= op < s                    (op < max(s, d) is not enough: onnxruntime#14208)
    pads             o = L + op - b - e >= 1         (negative pads append zeros; only with auto_pad NOTSET)
    auto_pad         SAME_UPPER/SAME_LOWER/VALID     (without pads)
    output_shape     1 <= o <= L + s - 1             (pads ignored; the total padding clamped at 0),
                     or -1: that dim as if no output_shape were given (an ORT quirk, see the dialect)

Each case is drawn in one variant's spelling (``conformance.targets.onnxruntime``): ``pads``,
``initializers`` and ``signed_pads`` (NOTSET, explicit pads; the last with negative entries, which
only a model without W's shape accepts), ``auto_pad`` (a mode and no pads) or ``output_shape`` (an
output shape, any auto_pad, pads now and then where they are allowed).
Valid dims derive their ranges from ``s``, ``d`` and ``L``, so nothing is filtered. About one case in
three breaks one rule (its *fault*): pads together with auto_pad, an ``output_padding`` that is
negative or ``>= s`` (about half of those below ``d``, which torch would accept), pads that leave no output,
or an ``output_shape`` of 0, -2 or beyond ``L + s - 1``. Whether ORT raises is for the dialect's
``Rejected`` and ORT to agree on; every case carries ``runtime="onnxruntime"`` so the dialect models
ONNX Runtime (its default is the reference evaluator).
"""

from __future__ import annotations

from hypothesis import strategies as st

from ..cases import NativeCase
from ..strategies import operand_recipe

VARIANTS = ("pads", "initializers", "signed_pads", "output_shape", "auto_pad")
FAULTS = {
    "pads": ("pads_with_auto_pad", "negative_output_padding", "output_padding_too_large", "empty_output"),
    "initializers": ("pads_with_auto_pad", "negative_output_padding", "output_padding_too_large", "empty_output"),
    "signed_pads": ("pads_with_auto_pad", "output_padding_too_large", "empty_output"),
    "auto_pad": ("pads_with_auto_pad", "negative_output_padding", "output_padding_too_large"),
    # output_shape's own rule twice: its range has two ends (0 and below, L + s and above)
    "output_shape": ("pads_with_auto_pad", "output_padding_too_large", "output_shape_out_of_range", "output_shape_out_of_range"),
}
MODES = ("SAME_UPPER", "SAME_LOWER", "VALID")
MAX_INPUT = {1: 6, 2: 4, 3: 3}  # small products of spatial sizes keep the oracle and the calls cheap


@st.composite
def output_padding(draw, stride: int, dilation: int, fault=None) -> int:
    """Valid ``[0, s)``, or the fault's: negative, or ``>= s`` (below ``max(s, d)`` wherever ``d > s``)."""
    if fault == "negative_output_padding":
        return draw(st.integers(-2, -1))
    if fault == "output_padding_too_large":
        if dilation > stride:
            return draw(st.integers(stride, dilation - 1))  # op < d: torch's rule accepts it, ORT's does not
        return draw(st.integers(max(stride, dilation), max(stride, dilation) + 1))
    return draw(st.integers(0, stride - 1))


@st.composite
def pads_dim(draw, full: int, op: int, signed: bool, fault=None) -> tuple[int, int]:
    """``(b, e)`` with ``o = L + op - b - e >= 1`` (``<= 0`` for the ``empty_output`` fault); negative
    entries only where ``signed``."""
    low = -2 if signed else 0
    room = full + max(op, 0)  # b + e < room keeps an output
    before = draw(st.integers(low, max(low, min(3, room - 1 - low))))
    if fault == "empty_output":
        smallest = room - before  # o = room - b - e <= 0
        return before, draw(st.integers(smallest, smallest + 1))
    return before, draw(st.integers(low, max(low, room - 1 - before)))


def output_shape_dim(draw, full: int, stride: int, fault=None) -> int:
    """A length in ORT's range ``[1, L + s - 1]`` or now and then -1 (ORT: "not given" in that dim),
    or (fault) 0, -2 or beyond the range."""
    if fault == "output_shape_out_of_range":
        return draw(st.sampled_from((0, -2, full + stride, full + stride + 1)))
    if draw(st.integers(0, 7)) == 0:
        return -1
    return draw(st.integers(1, full + stride - 1))


@st.composite
def native_cases(draw, spaces=None, *, variants=VARIANTS, dims=st.integers(1, 3), max_groups=2, max_per_group=2,
                 max_batch=2, values=st.sampled_from(["float", "integer"]), invalid=True) -> NativeCase:
    """A ``NativeCase(dialect="onnx")`` in one variant's spelling; invalid about 1/3 of the time (never
    with ``invalid=False``). ``spaces`` (variant -> ``Variant.space``) keeps to the variants a lane runs;
    every ORT variant runs the whole native space, so a space only selects."""
    if spaces is not None:
        variants = tuple(v for v in variants if v in spaces)
    variant = draw(st.sampled_from(variants))
    ndim = draw(dims)
    fault = draw(st.sampled_from(FAULTS[variant])) if invalid and draw(st.integers(0, 2)) == 0 else None
    faulty_dim = draw(st.integers(0, ndim - 1))
    signed = variant == "signed_pads"

    inputs, kernels, strides, dilations, ops, pads, shapes = [], [], [], [], [], [], []
    for dim in range(ndim):
        dim_fault = fault if dim == faulty_dim else None
        i, k = draw(st.integers(1, MAX_INPUT[ndim])), draw(st.integers(1, 3))
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        if dim_fault == "output_padding_too_large" and draw(st.booleans()):
            d = s + draw(st.integers(1, 2))  # room for s <= op < d (onnxruntime#14208)
        full = (i - 1) * s + d * (k - 1) + 1
        op = draw(output_padding(s, d, dim_fault))
        inputs.append(i), kernels.append(k), strides.append(s), dilations.append(d), ops.append(op)
        if variant == "output_shape":
            shapes.append(output_shape_dim(draw, full, s, dim_fault))
        pads.append(draw(pads_dim(full, op, signed, dim_fault)))

    native = {"runtime": "onnxruntime"}
    if draw(st.booleans()) or any(s != 1 for s in strides):
        native["strides"] = tuple(strides)
    if draw(st.booleans()) or any(d != 1 for d in dilations):
        native["dilations"] = tuple(dilations)
    if draw(st.booleans()) or any(op != 0 for op in ops):
        native["output_padding"] = tuple(ops)
    flat_pads = tuple(b for b, _ in pads) + tuple(e for _, e in pads)
    if variant in ("pads", "initializers", "signed_pads"):
        if fault == "pads_with_auto_pad":
            native.update(auto_pad=draw(st.sampled_from(MODES)), pads=flat_pads)
        else:
            if draw(st.booleans()):
                native["auto_pad"] = "NOTSET"
            if signed or fault == "empty_output" or draw(st.integers(0, 4)):
                native["pads"] = flat_pads  # pads absent now and then: all zero
    elif variant == "auto_pad":
        native["auto_pad"] = draw(st.sampled_from(MODES + ("NOTSET",)))
        if fault == "pads_with_auto_pad":
            native["auto_pad"] = draw(st.sampled_from(MODES))
            native["pads"] = flat_pads
    else:  # output_shape
        native["output_shape"] = tuple(shapes)
        auto_pad = draw(st.sampled_from((None, "NOTSET") + MODES))
        if fault == "pads_with_auto_pad":
            native.update(auto_pad=draw(st.sampled_from(MODES)), pads=flat_pads)
        else:
            if auto_pad is not None:
                native["auto_pad"] = auto_pad
            if auto_pad in (None, "NOTSET") and draw(st.booleans()):
                native["pads"] = flat_pads  # ignored by ORT when output_shape is given
    return NativeCase(
        dialect="onnx", variant=variant, native=tuple(sorted(native.items())),
        input_size=tuple(inputs), kernel_size=tuple(kernels),
        **draw(operand_recipe(max_groups=max_groups, max_per_group=max_per_group, max_batch=max_batch, values=values)),
    )
