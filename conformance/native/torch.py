"""Hypothesis strategy for PyTorch's own transposed-convolution parameters, valid and deliberately invalid.

Per spatial dim, with ``K = d*(k-1) + 1`` and ``L = (i-1)*s + K``, torch accepts:

    functional:  p >= 0,  0 <= op,  op < s or op < d,   o = L - 2p + op >= 1
    module:      p >= 0,  L - 2p <= o <= L - 2p + s - 1,  o >= 1      (forward(x, output_size=o))

Valid dims are built by drawing ``s`` and ``d`` first and deriving the admissible ``op`` / ``o`` and
``p`` from them, so nothing is filtered. About one case in three breaks exactly one rule in one dim
(its *fault*): negative padding, negative or too large output_padding, an output length <= 0, or a
module ``output_size`` outside the module's range (above it by less than ``d`` is a case the kernel
alone would accept; the module still rejects it). Whether torch raises is for the dialect's
``Rejected`` and the framework to agree on; the strategy only aims at both sides of each rule.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ..cases import NativeCase
from ..strategies import MAX_NATIVE_INPUT, input_length, operand_recipe

VARIANTS = ("functional", "module")
FUNCTIONAL_FAULTS = ("negative_padding", "negative_output_padding", "output_padding_too_large", "empty_output")
MODULE_FAULTS = ("negative_padding", "output_size_below", "output_size_above", "empty_output")


@st.composite
def functional_dim(draw, length, kernel, stride, dilation, fault=None) -> dict:
    """``padding`` and ``output_padding`` for one dim; valid unless ``fault`` names the rule to break."""
    full = (length - 1) * stride + dilation * (kernel - 1) + 1
    limit = max(stride, dilation)  # op must be < stride or < dilation
    if fault == "output_padding_too_large":
        output_padding = draw(st.integers(limit, limit + 1))
    elif fault == "negative_output_padding":
        output_padding = draw(st.integers(-2, -1))
    else:
        output_padding = draw(st.integers(0, limit - 1))
    if fault == "negative_padding":
        padding = draw(st.integers(-2, -1))
    elif fault == "empty_output":
        # o = L - 2p + op <= 0  <=>  p >= ceil((L + op) / 2). An output of exactly 0 is the edge (where
        # kernels disagree on raising): op moves to the parity that reaches it where it can, and the
        # smallest such padding is taken three times in four (one more gives o = -1 or -2).
        if (full + output_padding) % 2 and output_padding + 1 < limit:
            output_padding += 1
        smallest = -(-(full + output_padding) // 2)
        padding = smallest + (draw(st.integers(0, 3)) == 3)
    else:
        # o >= 1  <=>  p <= (L + op - 1) // 2; a negative op keeps the upper end >= 0 via max.
        padding = draw(st.integers(0, max(0, (full + output_padding - 1) // 2)))
    return {"padding": padding, "output_padding": output_padding}


@st.composite
def module_dim(draw, length, kernel, stride, dilation, fault=None) -> dict:
    """``padding`` and ``output_size`` for one dim of ``forward(x, output_size=o)``; valid unless ``fault``."""
    full = (length - 1) * stride + dilation * (kernel - 1) + 1
    if fault == "negative_padding":
        padding = draw(st.integers(-2, -1))
    elif fault == "empty_output":
        padding = -(-full // 2) + draw(st.integers(0, 1))  # L - 2p <= 0
    else:
        padding = draw(st.integers(0, (full - 1) // 2))  # L - 2p >= 1
    smallest = full - 2 * padding
    largest = smallest + stride - 1
    if fault == "output_size_below":
        output_size = draw(st.integers(smallest - 2, smallest - 1))
    elif fault == "output_size_above":
        output_size = draw(st.integers(largest + 1, largest + 2))
    elif fault == "empty_output":
        output_size = draw(st.integers(smallest, min(largest, 0)))  # in range, but no output
    else:
        output_size = draw(st.integers(smallest, largest))
    return {"padding": padding, "output_size": output_size}


@st.composite
def native_cases(draw, *, variants=st.sampled_from(VARIANTS), dims=st.integers(1, 3), max_groups=3, max_per_group=3,
                 max_batch=2, values=st.sampled_from(["float", "integer"]), invalid=True, spaces=None) -> NativeCase:
    """A ``NativeCase`` for the ``torch`` dialect in torch's own parameters; invalid about 1/3 of the
    time, never with ``invalid=False`` (then a source of torch-expressible geometries). ``spaces``
    (variant -> ``Variant.space``) keeps to the variants a lane runs (an ``--impl-dialect torch`` function
    is ``functional`` only); every torch lane runs the whole native space, so a space only selects."""
    if spaces is not None:
        variants = st.sampled_from([name for name in VARIANTS if name in spaces])
    variant = draw(variants)
    ndim = draw(dims)
    faults = MODULE_FAULTS if variant == "module" else FUNCTIONAL_FAULTS
    fault = draw(st.sampled_from(faults)) if invalid and draw(st.integers(0, 2)) == 0 else None
    faulty_dim = draw(st.integers(0, ndim - 1))
    draw_dim = module_dim if variant == "module" else functional_dim
    columns = {name: [] for name in ("input_size", "kernel_size", "stride", "dilation")}
    per_dim = []
    for dim in range(ndim):
        length, kernel = input_length(draw, MAX_NATIVE_INPUT[ndim]), draw(st.integers(1, 4))
        stride, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        for name, value in zip(columns, (length, kernel, stride, dilation)):
            columns[name].append(value)
        per_dim.append(draw(draw_dim(length, kernel, stride, dilation, fault if dim == faulty_dim else None)))
    native = {"stride": tuple(columns["stride"]), "dilation": tuple(columns["dilation"])}
    for name in per_dim[0]:
        native[name] = tuple(entry[name] for entry in per_dim)
    return NativeCase(
        dialect="torch", variant=variant, native=tuple(sorted(native.items())),
        input_size=tuple(columns["input_size"]), kernel_size=tuple(columns["kernel_size"]),
        **draw(operand_recipe(max_groups=max_groups, max_per_group=max_per_group, max_batch=max_batch, values=values)),
    )
