"""Hypothesis strategies for transposed-convolution cases, valid by construction.

Each strategy draws the quantities that constrain the others first (kernel, dilation, stride, input
length), then derives the admissible range of what remains (crops, output length, output padding), so
no example is thrown away by ``assume``.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from .cases import Case


# Spatial input lengths the native strategies draw, by spatial rank: small products of sizes keep the
# oracle and the framework calls cheap.
MAX_NATIVE_INPUT = {1: 6, 2: 4, 3: 3}


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


@st.composite
def _drawn_case(draw, ndim, dims, recipe):
    return _case(draw, ndim, dims, recipe)


def _case(draw, ndim, dims, recipe):
    per_dim = [draw(dims) for _ in range(ndim)]
    length, kernel, stride, dilation, padding, output_padding = (tuple(column) for column in zip(*per_dim))
    return Case(
        input_size=length, kernel_size=kernel, stride=stride, dilation=dilation, padding=padding,
        output_padding=output_padding, **draw(recipe),
    )


@st.composite
def cases(draw, *, dims=st.integers(1, 3), max_groups=3, max_per_group=3, max_batch=3, values=st.sampled_from(["float", "integer"]),
          max_dilation=3, groups_3d=True):
    """A canonical case: 1 to 3 spatial dims, groups with several channels per group, batch or unbatched, bias or not."""
    ndim = draw(dims)
    # Keep the product of spatial sizes small in 3-D so the dense formulations stay cheap.
    max_input = {1: 7, 2: 5, 3: 3}.get(ndim, 3)
    groups = max_groups if groups_3d or ndim < 3 else 1
    recipe = operand_recipe(max_groups=groups, max_per_group=max_per_group, max_batch=max_batch, values=values)
    return _case(draw, ndim, canonical_dims(max_input=max_input, max_dilation=max_dilation), recipe)


@st.composite
def string_padding_cases(draw, *, dilation=True, groups=True, groups_3d=True, max_per_group=3, max_batch=3,
                         values=st.sampled_from(["float", "integer"]), dims=st.integers(1, 3), max_inputs=(7, 5, 3)):
    """A canonical case whose crops are TensorFlow's 'SAME' or 'VALID' ones, drawn in TF's own terms
    (strides, dilations, padding string, an admissible output length per dim) and mapped through the
    tensorflow dialect: the geometries a TF lane runs on its oneDNN kernels, and the only ones
    ``tf.nn`` expresses in 1-D and 3-D."""
    from oracles.dialects import tensorflow as tf_dialect

    ndim = draw(dims)
    padding = draw(st.sampled_from(("SAME", "VALID")))
    max_input = max_inputs[ndim - 1]
    inputs, kernels, strides, dilations, outputs = [], [], [], [], []
    for _ in range(ndim):
        i, k, s = draw(st.integers(1, max_input)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
        d = draw(st.integers(1, 3)) if dilation else 1
        full = (i - 1) * s + d * (k - 1) + 1
        admissible = range((i - 1) * s + 1, i * s + 1) if padding == "SAME" else range(full, full + s)
        inputs.append(i), kernels.append(k), strides.append(s), dilations.append(d), outputs.append(draw(st.sampled_from(admissible)))
    geometry = tf_dialect.DIALECT.to_canonical(tuple(inputs), tuple(kernels), strides=tuple(strides), dilations=tuple(dilations),
                                               padding=padding, output_shape=tuple(outputs))
    max_groups = (3 if groups is True else groups or 1) if groups_3d or ndim < 3 else 1
    recipe = draw(operand_recipe(max_groups=max_groups, max_per_group=max_per_group, max_batch=max_batch, values=values))
    return Case(input_size=geometry.input_size, kernel_size=geometry.kernel_size, stride=geometry.stride, dilation=geometry.dilation,
                padding=geometry.padding(), output_padding=(0,) * ndim, **recipe)


@st.composite
def torch_dims(draw, *, max_input=5, max_kernel=4, max_stride=4, max_dilation=3, module=False):
    """One spatial dim in PyTorch's own terms, mapped to canonical crops: ``padding = p >= 0`` crops
    both ends, ``0 <= output_padding < max(s, d)`` (the module: ``< s``) extends the end, and the output
    is at least one long; ``(i, k, s, d, (p, p - op), 0)`` as :func:`canonical_dims` returns."""
    kernel, dilation = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_dilation))
    stride, length = draw(st.integers(1, max_stride)), draw(st.integers(1, max_input))
    full = (length - 1) * stride + dilation * (kernel - 1) + 1
    output_padding = draw(st.integers(0, (stride if module else max(stride, dilation)) - 1))
    padding = draw(st.integers(0, (full + output_padding - 1) // 2))
    return length, kernel, stride, dilation, (padding, padding - output_padding), 0


@st.composite
def torch_cases(draw, *, dims=st.integers(1, 3), max_dilation=3, max_groups=3, module=False, **recipe):
    """A canonical case PyTorch's functional (or, with ``module``, ``nn.ConvTranspose*d(output_size=)``)
    form expresses, drawn in its own terms: so a torch lane's draws become checks, not skips."""
    ndim = draw(dims)
    max_input = {1: 7, 2: 5, 3: 3}.get(ndim, 3)
    return _case(draw, ndim, torch_dims(max_input=max_input, max_dilation=max_dilation, module=module),
                 operand_recipe(max_groups=max_groups, **recipe))


def lane_cases(space: dict | None = None, **kwargs):
    """Cases a lane can run, drawn by construction from its space (``Variant.space``): dilation and groups
    "any", only with 'SAME'/'VALID' crops ("string-padding"), or "none"; grouped 3-D or not; crops
    drawn freely ("explicit", default) and/or from TF's 'SAME'/'VALID' ("string_padding"); the spatial
    ranks ("ndims", default 1 to 3); crops torch's functional or module form expresses ("torch": "functional"
    or "module"), half of the draws."""
    return _lane_cases(tuple(sorted((space or {}).items())), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=None)
def _lane_cases(space: tuple, kwargs: tuple):
    space, kwargs = dict(space), dict(kwargs)
    if "ndims" in space:  # a variant for some spatial ranks only (torch channels_last: 2-D)
        kwargs["dims"] = st.sampled_from(tuple(space["ndims"]))
    dilation, groups = space.get("dilation", "any"), space.get("groups", "any")
    groups_3d = space.get("groups_3d", True)
    parts = []
    if space.get("explicit", True):
        parts.append(cases(max_dilation=3 if dilation == "any" else 1, max_groups=3 if groups == "any" else 1, groups_3d=groups_3d, **kwargs))
    if space.get("string_padding"):
        parts.append(string_padding_cases(dilation=dilation != "none", groups=groups != "none", groups_3d=groups_3d, **kwargs))
    if space.get("torch"):
        parts.append(torch_cases(module=space["torch"] == "module", **kwargs))
    return st.one_of(*parts)


@st.composite
def large_cases(draw, space: dict | None = None):
    """Outputs longer than 32 along some dim, where implementations switch algorithms (tiling, FFT, Winograd)."""
    space = space or {}
    ndim = draw(st.sampled_from([n for n in space.get("ndims", (1, 2)) if n <= 2]))
    dilation, groups = space.get("dilation", "any"), space.get("groups", "any")
    parts = []
    if space.get("explicit", True):
        dims = canonical_dims(max_input=24 if ndim == 1 else 12, max_kernel=5, max_stride=3, max_dilation=3 if dilation == "any" else 1)
        recipe = operand_recipe(max_groups=2 if groups == "any" else 1, max_per_group=8, max_batch=2, values=st.just("float"))
        parts.append(_drawn_case(ndim, dims, recipe))
    if space.get("string_padding"):
        parts.append(string_padding_cases(dilation=dilation != "none", groups=2 if groups != "none" else 1, max_per_group=8, max_batch=2,
                                          values=st.just("float"), dims=st.just(ndim), max_inputs=(24, 12)))
    case = draw(st.one_of(*parts))
    if max(case.geometry.output_size) <= 32:
        # Stretch the first dim: a longer input gives a longer output with the same crops.
        grow = 33 // case.stride[0] + 1
        case = Case(**{**case.__dict__, "input_size": (case.input_size[0] + grow,) + case.input_size[1:]})
    return case


@st.composite
def batched_cases(draw, space: dict | None = None):
    """Cases with a batch of at least two, for the batch-split identity."""
    case = draw(lane_cases(space))
    return Case(**{**case.__dict__, "batch": max(2, case.batch or 2)})
