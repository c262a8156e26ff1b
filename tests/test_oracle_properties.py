"""Properties of the oracle itself: its formulations agree, and the algebra of transposed convolution holds.

Float cases are compared within the oracle's own float64 error bound (each side may be off by up to
the bound, so twice it); integer cases must agree exactly.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oracles
from oracles.bounds import gamma
from conformance.strategies import cases


def assert_agree(actual, expected, case, x, w, bias, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, but should be {expected.shape} [{case}]"
    if case.values == "integer":
        np.testing.assert_array_equal(actual, expected, err_msg=f"{what} [{case}]")
        return
    bound = 2 * oracles.error_bound(x, w, bias, dtype="float64", **case.oracle_kwargs())
    excess = np.abs(actual - expected) - bound
    assert np.all(excess <= 0), f"{what}: max |diff| exceeds the float64 bound by {excess.max():.3g} at {np.unravel_index(excess.argmax(), excess.shape)} [{case}]"


FORMULATIONS = [
    oracles.conv_transpose_by_definition,
    oracles.conv_transpose_by_zero_insertion,
    oracles.conv_transpose_by_matrix,
    oracles.conv_transpose_by_gradient,
]


@pytest.mark.parametrize("formulation", FORMULATIONS, ids=lambda f: f.__name__)
@given(case=cases())
def test_formulations_agree_with_the_oracle(formulation, case):
    x, w, bias = case.arrays()
    expected = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
    assert expected.shape[-case.ndim :] == case.geometry.output_size
    assert_agree(formulation(x, w, bias, **case.oracle_kwargs()), expected, case, x, w, bias, formulation.__name__)


@given(case=cases(), data=st.data())
def test_adjoint_identity(case, data):
    """<conv(z, W), y> == <z, conv_transpose(y, W)> with conv padded by the transposed crops."""
    y, w, _ = case.arrays()
    geometry = case.geometry
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    z_shape = y.shape[:-case.ndim - 1] + (case.out_channels, *geometry.output_size)
    z = rng.integers(-4, 5, z_shape).astype(float) if case.values == "integer" else rng.standard_normal(z_shape)
    forward = oracles.conv(z, w, stride=case.stride, padding=geometry.padding(), dilation=case.dilation, groups=case.groups)
    assert forward.shape == y.shape
    transposed = oracles.conv_transpose(y, w, **case.oracle_kwargs())
    left, right = np.vdot(forward, y), np.vdot(z, transposed)
    if case.values == "integer":
        assert left == right
    else:
        # Each side is an n-term convolution inside an m-term inner product over the same products
        # |z||w||y|, so each is off by at most gamma_{n+m} times their total.
        scale = np.vdot(np.abs(z), oracles.conv_transpose(np.abs(y), np.abs(w), **case.oracle_kwargs()))
        terms = max(case.in_per_group, case.out_per_group) * int(np.prod(case.kernel_size)) + max(y.size, z.size)
        assert abs(left - right) <= 2 * gamma(terms, 2.0**-53) * scale


@given(case=cases(values=st.just("integer")), a=st.integers(-3, 3), b=st.integers(-3, 3), data=st.data())
def test_linearity_in_input_and_weight(case, a, b, data):
    x1, w1, _ = case.arrays()
    other = data.draw(st.integers(0, 2**32 - 1))
    x2, w2, _ = type(case)(**{**case.__dict__, "seed": other}).arrays()
    kw = case.oracle_kwargs()
    np.testing.assert_array_equal(
        oracles.conv_transpose(a * x1 + b * x2, w1, **kw), a * oracles.conv_transpose(x1, w1, **kw) + b * oracles.conv_transpose(x2, w1, **kw)
    )
    np.testing.assert_array_equal(
        oracles.conv_transpose(x1, a * w1 + b * w2, **kw), a * oracles.conv_transpose(x1, w1, **kw) + b * oracles.conv_transpose(x1, w2, **kw)
    )


@given(case=cases())
def test_batch_elements_are_independent(case):
    x, w, bias = case.arrays()
    kw = case.oracle_kwargs()
    whole = oracles.conv_transpose(x, w, bias, **kw)
    if case.batch is None:
        one = oracles.conv_transpose(x[np.newaxis], w, bias, **kw)
        assert_agree(one[0], whole, case, x, w, bias, "unbatched vs batch of one")
        return
    for n in range(case.batch):
        alone = oracles.conv_transpose(x[n], w, bias, **kw)
        assert_agree(alone, whole[n], case, x[n], w, bias, f"batch element {n} alone")


@given(case=cases())
def test_groups_are_concatenated_per_group_convolutions(case):
    x, w, bias = case.arrays()
    kw = case.oracle_kwargs()
    whole = oracles.conv_transpose(x, w, bias, **kw)
    channel_axis = 0 if case.batch is None else 1
    parts = []
    for g in range(case.groups):
        inputs = slice(g * case.in_per_group, (g + 1) * case.in_per_group)
        outputs = slice(g * case.out_per_group, (g + 1) * case.out_per_group)
        part_x = np.take(x, np.arange(case.in_channels)[inputs], axis=channel_axis)
        part_bias = None if bias is None else bias[outputs]
        parts.append(oracles.conv_transpose(part_x, w[inputs], part_bias, **{**kw, "groups": 1}))
    assert_agree(np.concatenate(parts, axis=channel_axis), whole, case, x, w, bias, "concatenated groups")


def unreached_positions(case):
    """Boolean mask over the spatial output: True where no (input j, tap t) lands, from the formula directly."""
    geometry = case.geometry
    masks = []
    for i, k, s, d, cb, o in zip(
        case.input_size, case.kernel_size, case.stride, case.dilation, geometry.crop_before, geometry.output_size
    ):
        landed = {j * s + t * d - cb for j in range(i) for t in range(k)}
        masks.append(np.array([p not in landed for p in range(o)]))
    mask = masks[0]
    for m in masks[1:]:
        mask = mask[..., np.newaxis] | m
    return mask


@given(case=cases())
def test_zero_extension_and_gaps_are_exactly_the_bias(case):
    x, w, bias = case.arrays()
    out = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
    mask = unreached_positions(case)
    channels_first = out if case.batch is None else np.moveaxis(out, 0, 1)  # (C_out, [N,] *spatial)
    expected = np.zeros(case.out_channels) if bias is None else bias
    for c in range(case.out_channels):
        values = channels_first[c][..., mask]
        assert np.all(values == expected[c]), f"channel {c}: unreached positions hold {np.unique(values)} [{case}]"


@given(
    length=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    dilation=st.integers(1, 3),
    padding=st.integers(0, 4),
)
def test_conv_then_conv_transpose_returns_the_input_size(length, kernel, stride, dilation, padding):
    effective = dilation * (kernel - 1) + 1
    if length + 2 * padding < effective:
        padding = (effective - length + 1) // 2  # the smallest padding for which the conv exists
    (conv_length,) = oracles.conv_output_size((length,), (kernel,), stride=stride, padding=padding, dilation=dilation)
    # Stride > 1 maps several lengths to one; output_padding picks the original back.
    output_padding = length - ((conv_length - 1) * stride - 2 * padding + effective)
    assert 0 <= output_padding < stride
    assert oracles.output_size(conv_length, kernel, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation) == (length,)


@given(case=cases(values=st.just("integer")), data=st.data())
def test_gradients_satisfy_the_chain_rule_identities(case, data):
    """<conv_transpose(x, w), g> == <x, dL/dx> == <w, dL/dw>: all three are the same sum of products."""
    from oracles.gradients import input_gradient, weight_gradient

    x, w, _ = case.arrays()
    kw = case.oracle_kwargs()
    y = oracles.conv_transpose(x, w, **kw)
    g = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(-4, 5, y.shape).astype(float)
    total = np.vdot(y, g)
    assert np.vdot(x, input_gradient(g, w, case.input_size, **kw)) == total
    assert np.vdot(w, weight_gradient(x, g, case.kernel_size, **kw)) == total


@given(case=cases(values=st.just("integer")), data=st.data())
def test_gradients_equal_the_response_to_unit_perturbations(case, data):
    """dL/dw[i] == <conv_transpose(x, e_i), g> and dL/dx[i] == <conv_transpose(e_i, w), g> at drawn indices i."""
    from oracles.gradients import input_gradient, weight_gradient

    x, w, _ = case.arrays()
    kw = case.oracle_kwargs()
    y = oracles.conv_transpose(x, w, **kw)
    g = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(-4, 5, y.shape).astype(float)
    dw, dx = weight_gradient(x, g, case.kernel_size, **kw), input_gradient(g, w, case.input_size, **kw)
    assert dw.shape == w.shape and dx.shape == x.shape
    for array, grad, response in ((w, dw, lambda e: oracles.conv_transpose(x, e, **kw)), (x, dx, lambda e: oracles.conv_transpose(e, w, **kw))):
        index = tuple(data.draw(st.integers(0, n - 1)) for n in array.shape)
        unit = np.zeros_like(array)
        unit[index] = 1
        assert grad[index] == np.vdot(response(unit), g), index
