"""oracles.explain: the value equals the oracle's element and the sum of its terms; seed 000 by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracles
from conformance.strategies import cases
from oracles.explain import explain
from semantics_data import SEED000_OUTPUT, SEED000_PADDING, SEED000_STRIDE

# Seed 000: ConvTranspose2d(1, 1, 4, stride=2, padding=1, bias=False) on 4x4 ones with weight 1..16.
SEED_X = np.ones((1, 1, 4, 4))
SEED_W = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
SEED_OUT = np.array(SEED000_OUTPUT)  # the output printed in the seed
SEED_KW = dict(stride=SEED000_STRIDE, padding=SEED000_PADDING)

# Hand derivation: output (0, c) sits at full (1, c+1); per dim 2j + t = q. Row q=1: (j=0, t=1).
# Column q=1: (j=0, t=1) -> w[1][1] = 6. Column q=2: (j=0, t=2), (j=1, t=0) -> w[1][2] = 7, w[1][0] = 5.
SEED_TERMS = {
    (0, 0, 0, 0): [((0, 0, 0, 0), (0, 0, 1, 1), 1.0, 6.0, 6.0)],
    (0, 0, 0, 1): [((0, 0, 0, 0), (0, 0, 1, 2), 1.0, 7.0, 7.0), ((0, 0, 0, 1), (0, 0, 1, 0), 1.0, 5.0, 5.0)],
}


def as_rows(explanation):
    return [(t.input_index, t.weight_index, t.x, t.w, t.product) for t in explanation.terms]


@pytest.mark.parametrize("at, value", [((0, 0, 0, 0), 6.0), ((0, 0, 0, 1), 12.0)])
def test_seed_000_terms(at, value):
    result = explain(SEED_X, SEED_W, **SEED_KW, at=at)
    assert result.value == value
    assert as_rows(result) == SEED_TERMS[at]
    assert result.full_position == (1, at[3] + 1)
    assert result.crop == ((1, 1), (1, 1))
    assert result.full_size == (10, 10)
    assert result.bias is None and not result.zero_extension


def test_seed_000_every_element():
    for i, j in np.ndindex(8, 8):
        result = explain(SEED_X, SEED_W, **SEED_KW, at=(0, 0, i, j))
        assert result.value == SEED_OUT[i, j]


def test_seed_000_unbatched_indices_have_no_batch_dim():
    result = explain(SEED_X[0], SEED_W, **SEED_KW, at=(0, 0, 1))
    assert [t.input_index for t in result.terms] == [(0, 0, 0), (0, 0, 1)]
    assert result.value == 12.0


@settings(max_examples=80, deadline=None)
@given(case=cases(max_batch=2), data=st.data())
def test_value_is_the_oracle_element_and_the_sum_of_terms(case, data):
    x, w, bias = case.arrays()
    kwargs = case.oracle_kwargs()
    out = oracles.conv_transpose(x, w, bias, **kwargs)
    at = tuple(data.draw(st.integers(0, n - 1)) for n in out.shape)
    result = explain(x, w, bias, **kwargs, at=at)
    products = [t.x * t.w for t in result.terms]
    assert result.value == math.fsum(products + [result.bias or 0.0])
    if case.values == "integer":
        assert result.value == out[at]
    else:
        assert math.isclose(result.value, out[at], rel_tol=1e-12, abs_tol=1e-12)
    geometry = case.geometry
    spatial = at[-case.ndim:]
    assert result.full_position == tuple(o + cb for o, cb in zip(spatial, geometry.crop_before))
    assert result.crop == geometry.padding()
    for term in result.terms:
        # The canonical relation: j*s + t*d == q per dim, same batch, channels in one group.
        js, ts = term.input_index[-case.ndim:], term.weight_index[2:]
        assert all(j * s + t * d == q for j, t, s, d, q in zip(js, ts, case.stride, case.dilation, result.full_position))
        assert term.x == x[term.input_index] and term.w == w[term.weight_index]
        channel = at[-case.ndim - 1]
        assert term.weight_index[1] == channel % case.out_per_group
        assert term.weight_index[0] // case.in_per_group == channel // case.out_per_group
    if result.zero_extension:
        assert not result.terms


def test_zero_extension_is_the_bias_alone():
    x, w, bias = np.ones((1, 3)), np.ones((1, 2, 2)), np.array([0.5, -2.0])
    # Negative crop before: one zero prepended; output_padding 2: two zeros appended.
    result = explain(x, w, bias, padding=((-1, 0),), output_padding=2, at=(1, 0))
    assert result.zero_extension and result.terms == () and result.value == -2.0 and result.bias == -2.0
    assert result.full_position == (-1,)
    end = explain(x, w, bias, padding=((-1, 0),), output_padding=2, at=(0, 6))
    assert end.zero_extension and end.value == 0.5 and end.full_position == (5,)  # L = 4
    assert oracles.conv_transpose(x, w, bias, padding=((-1, 0),), output_padding=2)[0, 6] == 0.5


def test_gap_position_no_input_reaches():
    # Stride 3 > K = 1: full positions 1, 2, 4, 5 are gaps, not zero-extension.
    result = explain(np.ones((1, 1, 3)), np.ones((1, 1, 1)), stride=3, at=(0, 0, 1))
    assert result.terms == () and not result.zero_extension and result.value == 0.0


@pytest.mark.parametrize(
    "at, match",
    [
        ((0, 0, 0), "3 entries but the output has 4 dims"),
        ((0, 0, 0, 8), r"at\[3\]=8 is out of range .* size 8"),
        ((0, 1, 0, 0), r"at\[1\]=1 is out of range"),
        ((0, 0, -1, 0), r"at\[2\]=-1"),
        ((0, 0, 0.0, 0), "integers"),
        (5, "sequence"),
    ],
)
def test_bad_index(at, match):
    with pytest.raises(ValueError, match=match):
        explain(SEED_X, SEED_W, **SEED_KW, at=at)


def test_bad_configuration_uses_the_oracles_messages():
    with pytest.raises(ValueError, match="output length"):
        explain(SEED_X, SEED_W, stride=1, padding=4, at=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="input channels"):
        explain(np.ones((1, 2, 4, 4)), SEED_W, at=(0, 0, 0, 0))
