"""Hypothesis strategies for transposed-convolution cases, valid by construction.

Each strategy draws the quantities that constrain the others first (kernel, dilation, stride, input
length), then derives the admissible range of what remains (crops, output length, output padding), so
no example is thrown away by ``assume``.
"""

from __future__ import annotations

from hypothesis import strategies as st

from .cases import Case


@st.composite
def canonical_dims(draw, *, max_input=5, max_kernel=4, max_stride=4, max_dilation=3, max_extension=2):
    """One spatial dim: ``(i, k, s, d, (crop_before, crop_after + op), op)``.

    Crops range from ``-max_extension`` (zeros appended) to crops that remove all but one output,
    which covers crops heavier than the kernel overlap and strides larger than the effective kernel
    (gaps in the output).
    """
    kernel = draw(st.integers(1, max_kernel))
    dilation = draw(st.integers(1, max_dilation))
    stride = draw(st.integers(1, max_stride))
    length = draw(st.integers(1, max_input))
    full = (length - 1) * stride + dilation * (kernel - 1) + 1
    crop_before = draw(st.integers(-max_extension, full - 1))
    output = draw(st.integers(1, full - crop_before + max_extension))
    crop_after = full - crop_before - output
    output_padding = draw(st.integers(0, 2))
    return length, kernel, stride, dilation, (crop_before, crop_after + output_padding), output_padding


@st.composite
def operand_recipe(draw, *, max_groups=3, max_per_group=3, max_batch=3, values=st.sampled_from(["float", "integer"])):
    """The fields of :class:`~conformance.cases.Operands` other than the sizes: channels, batch, bias, values, seed."""
    return dict(
        batch=draw(st.one_of(st.none(), st.integers(1, max_batch))),
        groups=draw(st.integers(1, max_groups)),
        in_per_group=draw(st.integers(1, max_per_group)),
        out_per_group=draw(st.integers(1, max_per_group)),
        bias=draw(st.booleans()),
        values=draw(values),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _case(draw, ndim, dims, recipe):
    per_dim = [draw(dims) for _ in range(ndim)]
    length, kernel, stride, dilation, padding, output_padding = (tuple(column) for column in zip(*per_dim))
    return Case(
        input_size=length, kernel_size=kernel, stride=stride, dilation=dilation, padding=padding,
        output_padding=output_padding, **draw(recipe),
    )


@st.composite
def cases(draw, *, dims=st.integers(1, 3), max_groups=3, max_per_group=3, max_batch=3, values=st.sampled_from(["float", "integer"])):
    """A canonical case: 1 to 3 spatial dims, groups with several channels per group, batch or unbatched, bias or not."""
    ndim = draw(dims)
    # Keep the product of spatial sizes small in 3-D so the dense formulations stay cheap.
    max_input = {1: 7, 2: 5, 3: 3}.get(ndim, 3)
    recipe = operand_recipe(max_groups=max_groups, max_per_group=max_per_group, max_batch=max_batch, values=values)
    return _case(draw, ndim, canonical_dims(max_input=max_input), recipe)


@st.composite
def large_cases(draw):
    """Outputs longer than 32 along some dim, where implementations switch algorithms (tiling, FFT, Winograd)."""
    ndim = draw(st.integers(1, 2))
    dims = canonical_dims(max_input=24 if ndim == 1 else 12, max_kernel=5, max_stride=3)
    case = _case(draw, ndim, dims, operand_recipe(max_groups=2, max_per_group=8, max_batch=2, values=st.just("float")))
    if max(case.geometry.output_size) <= 32:
        # Stretch the first dim: a longer input gives a longer output with the same crops.
        grow = 33 // case.stride[0] + 1
        case = Case(**{**case.__dict__, "input_size": (case.input_size[0] + grow,) + case.input_size[1:]})
    return case


@st.composite
def batched_cases(draw):
    """Cases with a batch of at least two, for the batch-split identity."""
    case = draw(cases())
    return Case(**{**case.__dict__, "batch": max(2, case.batch or 2)})
