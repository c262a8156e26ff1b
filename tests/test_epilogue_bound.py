"""Epilogue bounds: they hold for realistic float32 and float16 evaluations, fused or not, and catch narrow bugs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oracles
from conformance.strategies import cases
from oracles.epilogues import SIGMOID_ABSOLUTE
from test_error_bound import assert_within, conv_transpose_in

U32 = 2.0**-24
ETA32 = 2.0**-150
float_cases = cases(values=st.just("float"))
# Scales of x (powers of two: the rounded values stay exact): tiny outputs, ordinary ones, and |y| of 30
# and more, where sigmoid saturates.
scales = st.sampled_from([2.0**-6, 1.0, 8.0])
# Residual/bias stream of a case seed, apart from conformance.operands' streams (0, 1, 2).
OPERAND_STREAM = 3


def sigmoid_ways(y):
    """Sigmoid evaluated the ways compilers and libraries do, in ``y``'s dtype."""
    one, half = y.dtype.type(1), y.dtype.type(0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        return {
            "1/(1+exp(-y))": one / (one + np.exp(-y)),
            "0.5+0.5*tanh(0.5*y)": half + half * np.tanh(half * y),
            "exp(y)/(1+exp(y)) for y<0": np.where(y < 0, np.exp(y) / (one + np.exp(y)), one / (one + np.exp(-y))),
        }


def epilogue_ways(name, y, operands):
    """``name`` applied to ``y`` in ``y``'s dtype, by each realistic formulation; the operands are cast to it."""
    operands = {key: value.astype(y.dtype) for key, value in operands.items()}
    if name == "sigmoid":
        return sigmoid_ways(y)
    if name == "relu":
        return {"np.maximum": np.maximum(y, y.dtype.type(0))}
    if name == "scale":
        return {"y * s": y * operands[name]}
    return {"y + v": y + operands[name]}


def draw_operands(case, computed, dtype):
    """A bias ``(C, 1, ..)`` and a residual of ``computed``'s shape, in ``dtype``, of the outputs' magnitude.

    A quarter of the residual is ``-computed``: ``y + r`` cancels to the pre-epilogue error there (and to
    an exact zero where no product reaches and the bound is 0).
    """
    rng = np.random.default_rng(case.seed + OPERAND_STREAM)
    magnitude = float(np.abs(computed).max()) or 1.0
    bias = (rng.standard_normal(case.out_channels) * magnitude).astype(dtype).reshape((-1,) + (1,) * case.ndim)
    residual = (rng.standard_normal(computed.shape) * magnitude).astype(dtype)
    residual = np.where(rng.random(computed.shape) < 0.25, -computed.astype(dtype), residual)
    scale = (rng.standard_normal(case.out_channels) * 2).astype(dtype).reshape((-1,) + (1,) * case.ndim)
    return {"bias": bias, "residual": residual, "scale": scale}


def needs(name, operands):
    return {name: operands[name]} if name in operands else {}


@given(case=float_cases, scale=scales)
def test_float32_epilogues_are_within_their_bound(case, scale):
    x, w, _ = case.arrays(np.float32)
    x = x * np.float32(scale)
    kwargs = case.oracle_kwargs()
    exact = oracles.conv_transpose(x, w, **kwargs)
    bound = oracles.error_bound(x, w, dtype="float32", **kwargs)
    computed = conv_transpose_in(case, x, w, None, np.float32)
    accumulator = conv_transpose_in(case, x, w, None, np.float64)
    operands = draw_operands(case, computed, np.float32)
    for name in oracles.EPILOGUES:
        given_operands = needs(name, operands)
        expected = oracles.apply_epilogue(name, exact, **given_operands)
        limit = oracles.epilogue_bound(name, exact, bound, dtype="float32", **given_operands)
        for way, result in epilogue_ways(name, computed, given_operands).items():
            assert result.dtype == np.float32
            assert_within(result, expected, limit, case, f"{name} as {way} in float32")
        fused = oracles.apply_epilogue(name, accumulator, **given_operands).astype(np.float32)
        assert_within(fused, expected, limit, case, f"{name} fused on the float64 accumulator")


@given(case=float_cases, scale=scales)
def test_float16_epilogues_are_within_their_bound(case, scale):
    """The convolution accumulated in float32 and rounded to float16; the epilogue in float16, in float32
    then rounded, or fused on the float32 accumulator before the one rounding."""
    x, w, _ = case.arrays(np.float16)
    x = x * np.float16(scale)
    kwargs = case.oracle_kwargs()
    exact = oracles.conv_transpose(x, w, **kwargs)
    bound = oracles.error_bound(x, w, dtype="float16", accumulation="float32", **kwargs)
    accumulator = conv_transpose_in(case, x, w, None, np.float32)
    computed = accumulator.astype(np.float16)
    operands = draw_operands(case, computed, np.float16)
    for name in oracles.EPILOGUES:
        given_operands = needs(name, operands)
        expected = oracles.apply_epilogue(name, exact, **given_operands)
        limit = oracles.epilogue_bound(name, exact, bound, dtype="float16", **given_operands)
        for way, result in epilogue_ways(name, computed, given_operands).items():
            assert result.dtype == np.float16
            assert_within(result, expected, limit, case, f"{name} as {way} in float16")
        for way, result in epilogue_ways(name, computed.astype(np.float32), given_operands).items():
            assert_within(result.astype(np.float16), expected, limit, case, f"{name} as {way} in float32, rounded")
        for way, result in epilogue_ways(name, accumulator, given_operands).items():
            assert_within(result.astype(np.float16), expected, limit, case, f"{name} as {way} fused on the float32 accumulator")


@given(case=cases(values=st.just("integer")))
def test_exact_integer_lane_epilogues_are_within_their_bound(case):
    """The integer lane's convolution is exact (bound 0): the epilogue's own rounding must be covered
    alone. Its outputs reach |y| of 20 and more, where sigmoid's tanh form loses all relative accuracy."""
    x, w, _ = case.arrays(np.float32)
    kwargs = case.oracle_kwargs()
    exact = oracles.conv_transpose(x, w, **kwargs)
    computed = conv_transpose_in(case, x, w, None, np.float32)
    np.testing.assert_array_equal(computed, exact)
    operands = draw_operands(case, computed, np.float32)
    for name in oracles.EPILOGUES:
        given_operands = needs(name, operands)
        expected = oracles.apply_epilogue(name, exact, **given_operands)
        limit = oracles.epilogue_bound(name, exact, np.zeros_like(exact), dtype="float32", **given_operands)
        for way, result in epilogue_ways(name, computed, given_operands).items():
            assert_within(result, expected, limit, case, f"{name} as {way} in float32 on exact inputs")


def test_relu_bound_by_hand():
    exact = np.array([[-2.0, 0.0, 3.0]])
    bound = np.array([[1e-6, 0.0, 2e-6]])
    np.testing.assert_array_equal(oracles.apply_epilogue("relu", exact), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(oracles.epilogue_bound("relu", exact, bound, dtype="float32"), bound)


def test_bias_bound_by_hand():
    exact = np.array([[[1.0, 0.0]], [[-2.0, 0.0]]])  # (C=2, 1, L=2): unbatched 2-D output
    bias = np.array([0.5, 2.0]).reshape(2, 1, 1)
    bound = np.array([[[1e-6, 0.0]], [[0.0, 0.0]]])
    np.testing.assert_array_equal(oracles.apply_epilogue("bias", exact, bias=bias), [[[1.5, 0.5]], [[0.0, 2.0]]])
    expected = [[[1e-6 + U32 * (1.5 + 1e-6) + ETA32, U32 * 0.5 + ETA32]], [[0.0, U32 * 2.0 + ETA32]]]  # -2 + 2 is an exact zero
    np.testing.assert_allclose(oracles.epilogue_bound("bias", exact, bound, dtype="float32", bias=bias), expected, rtol=1e-15, atol=0)


def test_residual_bound_by_hand():
    exact = np.array([[[3.0, -1.0, 0.0]]])  # (N=1, C=1, L=3)
    residual = np.array([[[-4.0, 1.0, 0.0]]])
    bound = np.array([[[2e-3, 1e-3, 0.0]]])
    u, eta = 2.0**-11, 2.0**-25  # float16
    np.testing.assert_array_equal(oracles.apply_epilogue("residual", exact, residual=residual), [[[-1.0, 0.0, 0.0]]])
    # The cancelled sum is not an exact zero where the input has an error: it keeps that error and eta.
    expected = [[[2e-3 + u * (1.0 + 2e-3) + eta, 1e-3 + u * 1e-3 + eta, 0.0]]]
    np.testing.assert_allclose(oracles.epilogue_bound("residual", exact, bound, dtype="float16", residual=residual), expected, rtol=1e-15, atol=0)


def test_sigmoid_bound_by_hand():
    exact = np.array([0.0, np.log(3.0), -np.log(3.0)])
    bound = np.array([4e-6, 0.0, 8e-6])
    np.testing.assert_allclose(oracles.apply_epilogue("sigmoid", exact), [0.5, 0.75, 0.25], rtol=1e-15)
    assert SIGMOID_ABSOLUTE == 8
    expected = [1e-6 + 8 * U32, 8 * U32, 2e-6 + 8 * U32]
    np.testing.assert_allclose(oracles.epilogue_bound("sigmoid", exact, bound, dtype="float32"), expected, rtol=1e-15, atol=0)


def test_sigmoid_tanh_form_needs_the_absolute_allowance():
    """``0.5 + 0.5*tanh(0.5*y)`` in float32 returns 0 for sigmoid(-20) = 2.06e-9: all of it lost, yet within u."""
    y = np.array([-20.0])
    result = sigmoid_ways(y.astype(np.float32))["0.5+0.5*tanh(0.5*y)"]
    expected = oracles.apply_epilogue("sigmoid", y)
    assert result[0] == 0 and expected[0] == pytest.approx(2.0611536e-9)
    error = abs(result[0] - expected[0])
    assert error > 1e6 * SIGMOID_ABSOLUTE * U32 * expected[0]  # no relative allowance would do
    assert error < U32 <= oracles.epilogue_bound("sigmoid", y, np.zeros(1), dtype="float32")[0]


def fixed_case():
    """A float32 case with outputs of both signs (|y| >= 0.375), two channels with distinct biases, a residual."""
    x = np.array([[[1.0, -0.5, 2.0], [0.25, 1.5, -1.0]]])  # (N=1, C_in=2, L=3)
    w = np.array([[[0.5, -1.0], [2.0, 0.75]], [[-0.25, 1.0], [1.0, -2.0]]])  # (C_in=2, C_out=2, k=2)
    exact = oracles.conv_transpose(x, w)  # [[0.4375, -1.375, 3.25, -3], [2.25, 0.75, -0.375, 3.5]]
    bound = oracles.error_bound(x, w, dtype="float32")
    operands = {"bias": np.array([0.5, -0.25]).reshape(2, 1), "residual": np.array([[[0.5, -1.0, 0.25, 2.0], [-0.125, 1.0, -3.0, 0.75]]])}
    assert (exact < -1e-3).any() and (exact > 1e-3).any()
    return exact, bound, exact.astype(np.float32), operands


BUGS = {
    "sigmoid with exp(+y)": ("sigmoid", lambda y, ops: 1 / (1 + np.exp(y))),
    "leaky relu": ("relu", lambda y, ops: np.where(y < 0, np.float32(0.01) * y, y)),
    "residual added twice": ("residual", lambda y, ops: y + ops["residual"] + ops["residual"]),
    "residual missing": ("residual", lambda y, ops: y),
    "bias on the wrong channel": ("bias", lambda y, ops: y + np.roll(ops["bias"], 1, axis=0)),
}


@given(case=float_cases, scale=scales)
def test_scale_folded_into_the_weights_is_within_its_bound(case, scale):
    """A compiler folds ``y * s`` into the convolution: weights ``w * s`` (each rounded to float32 once)
    along the output-channel axis (axis 1 of the transposed convolution's weight), bias ``b * s``."""
    x, w, b = case.arrays(np.float32)
    x = x * np.float32(scale)
    kwargs = case.oracle_kwargs()
    factors = draw_operands(case, oracles.conv_transpose(x, w, **kwargs), np.float32)["scale"]
    per_out = factors.reshape(-1)
    groups, cg = case.groups, case.in_per_group
    folded_w = (w.reshape(groups, cg, case.out_per_group, *case.kernel_size)
                * per_out.reshape(groups, 1, case.out_per_group, *(1,) * case.ndim)).reshape(w.shape).astype(np.float32)
    folded_b = None if b is None else (b * per_out).astype(np.float32)
    exact = oracles.conv_transpose(x, w, b, **kwargs)
    bound = oracles.error_bound(x, w, b, dtype="float32", **kwargs)
    expected = oracles.apply_epilogue("scale", exact, scale=factors)
    limit = oracles.epilogue_bound("scale", exact, bound, dtype="float32", scale=factors)
    assert_within(conv_transpose_in(case, x, folded_w, folded_b, np.float32), expected, limit, case, "scale folded into w and b")


def test_scale_folded_along_the_input_channels_exceeds_the_bound():
    """The transposed convolution's weight is (C_in, C_out/groups, *k): a fold that scales axis 0 (as for a
    forward convolution) is wrong even where C_in == C_out lets the shapes line up."""
    exact, bound, _, operands = fixed_case()
    x = np.array([[[1.0, -0.5, 2.0], [0.25, 1.5, -1.0]]])
    w = np.array([[[0.5, -1.0], [2.0, 0.75]], [[-0.25, 1.0], [1.0, -2.0]]])
    factors = np.array([2.0, -3.0]).reshape(2, 1)
    expected = oracles.apply_epilogue("scale", exact, scale=factors)
    limit = oracles.epilogue_bound("scale", exact, bound, dtype="float32", scale=factors)
    right = oracles.conv_transpose(x, w * factors.reshape(1, 2, 1))
    wrong = oracles.conv_transpose(x, w * factors.reshape(2, 1, 1))
    assert (np.abs(right - expected) <= limit).all()
    assert (np.abs(wrong - expected) > limit).any()


@pytest.mark.parametrize("bug", BUGS)
def test_narrow_epilogue_bugs_exceed_the_bound(bug):
    """Each bug exceeds the bound somewhere on a fixed case, where every correct formulation is within it."""
    exact, bound, computed, operands = fixed_case()
    name, buggy = BUGS[bug]
    given_operands = needs(name, {key: value.astype(np.float32) for key, value in operands.items()})
    expected = oracles.apply_epilogue(name, exact, **given_operands)
    limit = oracles.epilogue_bound(name, exact, bound, dtype="float32", **given_operands)
    for way, result in epilogue_ways(name, computed, given_operands).items():
        assert_within(result, expected, limit, "fixed case", f"{name} as {way}")
    error = np.abs(buggy(computed, given_operands).astype(np.float64) - expected)
    assert (error > limit).any(), f"{bug}: largest error {error.max():.3g} within the bound"


@pytest.mark.parametrize("function", [oracles.apply_epilogue, lambda name, y, **ops: oracles.epilogue_bound(name, y, y, dtype="float32", **ops)],
                         ids=["apply_epilogue", "epilogue_bound"])
def test_unknown_epilogue_or_missing_operand_is_a_value_error(function):
    y = np.zeros((2, 3))
    with pytest.raises(ValueError, match="'gelu'"):
        function("gelu", y)
    with pytest.raises(ValueError, match="bias"):
        function("bias", y)
    with pytest.raises(ValueError, match="residual"):
        function("residual", y)
    with pytest.raises(ValueError, match="residual"):
        function("residual", y, residual=np.zeros((3,)))  # not y's shape
    with pytest.raises(ValueError, match=r"\(C, 1, \.\.\)"):
        function("bias", np.zeros((3, 3)), bias=np.zeros(3))  # (C,) not reshaped: would broadcast along L
    with pytest.raises(ValueError, match="takes no bias"):
        function("relu", y, bias=np.zeros((2, 1)))
