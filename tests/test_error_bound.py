"""The per-element error bound: it holds for real lower-precision arithmetic, and it is tight enough to catch a narrow bug."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oracles
from conformance.strategies import cases

float_cases = cases(values=st.just("float"))


def conv_transpose_in(case, x, w, bias, accumulate):
    """The case computed by dense C^T products in the ``accumulate`` dtype (BLAS sgemm for float32).

    Zero entries of C add exact zeros, so each element is a sum of at most n real terms in that format.
    """
    geometry = case.geometry
    matrix = oracles.conv_matrix(w, geometry.output_size, stride=case.stride, padding=geometry.padding(), dilation=case.dilation, groups=case.groups)
    batched = x if case.batch is not None else x[np.newaxis]
    flat = batched.reshape(batched.shape[0], -1).astype(accumulate) @ matrix.astype(accumulate)
    out = flat.reshape(batched.shape[0], case.out_channels, *geometry.output_size)
    if bias is not None:
        out = out + bias.astype(accumulate).reshape((-1,) + (1,) * case.ndim)
    return out if case.batch is not None else out[0]


def round_mantissa(array, bits, mode="nearest"):
    """float32 values kept to ``bits`` explicit mantissa bits (TF32: 10, bfloat16: 7)."""
    raw = np.asarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    drop = 23 - bits
    if mode == "nearest":  # round half to even
        raw = raw + (1 << (drop - 1)) - 1 + ((raw >> drop) & 1)
    return ((raw >> drop) << drop).astype(np.uint32).view(np.float32)


def assert_within(result, exact, bound, case, what):
    excess = np.abs(result.astype(np.float64) - exact) - bound
    assert np.all(excess <= 0), f"{what}: error exceeds the bound by {excess.max():.3g} [{case}]"


def test_bound_by_hand():
    x = np.array([[[1.0], [-2.0]]])  # (N=1, C_in=2, L=1)
    w = np.array([[[3.0]], [[4.0]]])  # (C_in=2, C_out=1, k=1)
    u = 2.0**-24
    assert oracles.error_bound(x, w, dtype="float32")[0, 0, 0] == pytest.approx(2 * u / (1 - 2 * u) * 11, rel=1e-15)
    with_bias = oracles.error_bound(x, w, np.array([-5.0]), dtype="float32")[0, 0, 0]
    assert with_bias == pytest.approx(3 * u / (1 - 3 * u) * (11 + 5), rel=1e-15)


@given(case=float_cases)
def test_float32_arithmetic_is_within_the_float32_bound(case):
    x, w, bias = case.arrays(np.float32)
    exact = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
    bound = oracles.error_bound(x, w, bias, dtype="float32", **case.oracle_kwargs())
    assert_within(conv_transpose_in(case, x, w, bias, np.float32), exact, bound, case, "float32")


@given(case=float_cases)
def test_float16_arithmetic_is_within_the_float16_bounds(case):
    x, w, bias = case.arrays(np.float16)
    exact = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
    half = oracles.error_bound(x, w, bias, dtype="float16", **case.oracle_kwargs())
    assert_within(conv_transpose_in(case, x, w, bias, np.float16), exact, half, case, "float16 accumulation")
    widened = oracles.error_bound(x, w, bias, dtype="float16", accumulation="float32", **case.oracle_kwargs())
    rounded = conv_transpose_in(case, x, w, bias, np.float32).astype(np.float16)
    assert_within(rounded, exact, widened, case, "float32 accumulation rounded to float16")
    assert np.all(widened <= half)


@pytest.mark.parametrize("precision, bits, mode", [("tf32", 10, "nearest"), ("tf32", 10, "truncate"), ("bfloat16", 7, "nearest")])
@given(case=float_cases)
def test_reduced_precision_inputs_are_within_their_bound(precision, bits, mode, case):
    x, w, bias = case.arrays(np.float32)
    exact = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
    bound = oracles.error_bound(x, w, bias, dtype="float32", precision=precision, **case.oracle_kwargs())
    result = conv_transpose_in(case, round_mantissa(x, bits, mode), round_mantissa(w, bits, mode), bias, np.float32)
    assert_within(result, exact, bound, case, f"{precision} ({mode})")


@given(case=cases())
def test_unreached_positions_without_bias_have_a_zero_bound(case):
    x, w, _ = case.arrays()
    bound = oracles.error_bound(x, w, dtype="float32", **case.oracle_kwargs())
    magnitude = oracles.conv_transpose(np.abs(x), np.abs(w), **case.oracle_kwargs())
    np.testing.assert_array_equal(bound == 0, magnitude == 0)


@given(case=float_cases)
def test_dropping_one_product_exceeds_the_float32_bound(case):
    """A bug that loses a single product is caught: each sum's largest product exceeds the bound.

    Without a bias: a large bias legitimately hides a product smaller than its own rounding error.
    """
    x, w, _ = case.arrays(np.float32)
    kwargs = case.oracle_kwargs()
    bound = oracles.error_bound(x, w, dtype="float32", **kwargs)
    # Each nonzero output sums at most n products; its largest is at least M/n, where M is the magnitude.
    magnitude = oracles.conv_transpose(np.abs(x), np.abs(w), **kwargs)
    terms = case.in_per_group * int(np.prod(case.kernel_size))
    reached = magnitude > 0
    assert np.all(magnitude[reached] / terms > bound[reached])
