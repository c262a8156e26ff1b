"""The JAX dialect: its arithmetic, and experiments that run jax.lax against the oracle.

Pure tests need only NumPy. Experiment tests take the ``lax`` fixture, which skips without jax and
turns on float64 so results compare at 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import oracles
from oracles.dialects import NotExpressible, Rejected
from oracles.dialects.jax import (
    DIALECT,
    SPATIAL_LETTERS,
    EmptyOutput,
    forward_padding_crops,
    resolve_dimension_numbers,
    vjp_forward_params,
    vjp_weight_from_canonical,
)
from oracles.geometry import Geometry
from semantics_data import SAME_TF_JAX_KERAS

EXPERIMENT = settings(max_examples=40, deadline=None)
PURE = settings(max_examples=200, deadline=None)
TOLERANCE = 1e-10

SAME_TABLE = SAME_TF_JAX_KERAS  # docs/semantics.md, 'SAME conventions'


@pytest.fixture(scope="module")
def lax():
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax.lax
    jax.config.update("jax_enable_x64", previous)


# Strategies: every draw is valid by construction.

@st.composite
def geometries(draw, max_ndim=3):
    """A canonical geometry with output length >= 1 (crops from -2 up to what leaves one output)."""
    ndim = draw(st.integers(1, max_ndim))
    bound = 3 if ndim == 3 else 4
    sizes = {name: tuple(draw(st.integers(1, bound)) for _ in range(ndim)) for name in ("i", "k", "s", "d")}
    before, after = [], []
    for i, k, s, d in zip(sizes["i"], sizes["k"], sizes["s"], sizes["d"]):
        full = (i - 1) * s + d * (k - 1) + 1
        cb = draw(st.integers(-2, full - 1))
        before.append(cb)
        after.append(draw(st.integers(-2, full - 1 - cb)))
    return Geometry(sizes["i"], sizes["k"], sizes["s"], sizes["d"], tuple(before), tuple(after))


@st.composite
def dimension_numbers(draw, ndim):
    """None, a shorthand, or explicit specs with every letter order shuffled."""
    kind = draw(st.sampled_from(["default", "channels_first", "channels_last", "shuffled"]))
    if kind == "default":
        return None
    if kind != "shuffled":
        return kind
    letters = SPATIAL_LETTERS[:ndim]
    return tuple("".join(draw(st.permutations(pair + letters))) for pair in ("NC", "OI", "NC"))


@st.composite
def transpose_configs(draw):
    """(geometry-free native parameters, input size, kernel size, channels) for lax.conv_transpose."""
    geometry = draw(geometries())
    ndim = geometry.ndim
    kind = draw(st.sampled_from(["SAME", "VALID", "explicit", "consistent", "forward"]))
    strides = (1,) * ndim if kind == "forward" else geometry.stride
    effective = geometry.effective_kernel
    if kind in ("SAME", "VALID"):
        padding = kind
    elif kind == "forward":
        padding = draw(st.sampled_from(["same", "Same", "SAME_LOWER", "same_lower"]))
    elif kind == "consistent":
        padding = tuple(geometry.padding())
    else:
        pairs = [(K - 1 - cb, K - 1 - ca) for K, cb, ca in zip(effective, geometry.crop_before, geometry.crop_after)]
        padding = draw(st.sampled_from([pairs, tuple(pairs), [list(p) for p in pairs]]))
    native = {
        "strides": strides,
        "padding": padding,
        "rhs_dilation": geometry.dilation,
        "transpose_kernel": draw(st.booleans()),
        "use_consistent_padding": kind == "consistent" or (kind in ("SAME", "VALID") and draw(st.booleans())),
        "dimension_numbers": draw(dimension_numbers(ndim)),
    }
    channels = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return native, geometry.input_size, geometry.kernel_size, channels


@st.composite
def general_dilated_configs(draw):
    """Native parameters for lax.conv_general_dilated with groups and several channels per group."""
    geometry = draw(geometries())
    native = DIALECT.from_canonical(geometry, api="conv_general_dilated",
                                    dimension_numbers=draw(dimension_numbers(geometry.ndim)))
    if all(s == 1 for s in geometry.stride) and draw(st.booleans()):
        # conv_general_dilated's strings are forward padding: 'VALID' leaves o = i-K+1, so only where i >= K.
        fits = all(i >= K for i, K in zip(geometry.input_size, geometry.effective_kernel))
        native["padding"] = draw(st.sampled_from(["SAME", "same", "SAME_LOWER"] + ["VALID"] * fits))
    groups = draw(st.integers(1, 3))
    channels = (draw(st.integers(1, 2)), groups * draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return native, geometry.input_size, geometry.kernel_size, channels, groups


# Running jax against the oracle.

def run_jax(lax, native, input_size, kernel_size, channels, groups=1, seed=0):
    """(jax output as canonical (N, C, *o), oracle output, geometry) for these native parameters."""
    rng = np.random.default_rng(seed)
    batch, in_channels, per_group_out = channels
    ndim = len(input_size)
    x = rng.standard_normal((batch, in_channels, *input_size))
    native_shape = DIALECT.weight_from_canonical(
        np.zeros((in_channels, per_group_out, *kernel_size)), groups=groups, **native).shape
    rhs = rng.standard_normal(native_shape)
    name, kwargs = DIALECT.call_arguments(ndim, groups=groups, **native)
    out = getattr(lax, name)(DIALECT.input_from_canonical(x, **native), rhs, **kwargs,
                             precision=lax.Precision.HIGHEST)
    geometry = DIALECT.to_canonical(input_size, kernel_size, groups=groups, **native)
    w = DIALECT.weight_to_canonical(rhs, groups=groups, **native)
    expected = oracles.conv_transpose(x, w, stride=geometry.stride, padding=geometry.padding(),
                                      dilation=geometry.dilation, groups=groups)
    return DIALECT.output_to_canonical(np.asarray(out), **native), expected, geometry


def assert_matches(actual, expected, context):
    __tracebackhide__ = True
    assert actual.shape == expected.shape, f"out.shape={actual.shape}, but should be {expected.shape} [{context}]"
    error = np.max(np.abs(actual - expected), initial=0.0)
    assert error <= TOLERANCE * max(1.0, np.max(np.abs(expected), initial=0.0)), f"max error {error:.3g} [{context}]"


# Pure arithmetic.

@pytest.mark.parametrize("sizes, crops", SAME_TABLE)
def test_same_reproduces_semantics_table(sizes, crops):
    geometry = DIALECT.same_conventions(*sizes)["SAME"]
    assert (geometry.crop_before[0], geometry.crop_after[0]) == crops


@PURE
@given(st.integers(1, 9), st.integers(1, 6), st.integers(1, 5), st.integers(1, 3))
def test_same_output_is_input_times_stride(i, k, s, d):
    assert DIALECT.same_conventions(i, k, s, d)["SAME"].output_size == (i * s,)


@PURE
@given(st.integers(1, 9), st.integers(1, 6), st.integers(1, 5))
def test_valid_crops(i, k, s):
    geometry = DIALECT.to_canonical((i,), (k,), strides=s, padding="VALID")
    assert (geometry.crop_before, geometry.crop_after) == ((0,), (min(k - s, 0),))


@PURE
@given(geometries(), st.sampled_from(["conv_transpose", "conv_general_dilated"]), st.booleans(), st.integers(1, 3))
def test_round_trip(geometry, api, consistent, groups):
    if api == "conv_transpose":
        groups = 1
    consistent = consistent and api == "conv_transpose"
    native = DIALECT.from_canonical(geometry, api=api, groups=groups, use_consistent_padding=consistent)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, groups=groups, **native) == geometry


def test_from_canonical_prefers_same_then_valid():
    same = DIALECT.to_canonical((4, 3), (3, 2), strides=(2, 1), padding="SAME")
    valid = DIALECT.to_canonical((4, 3), (3, 2), strides=(2, 1), padding="VALID")
    assert DIALECT.from_canonical(same)["padding"] == "SAME"
    assert DIALECT.from_canonical(valid)["padding"] == "VALID"
    # K == s == 1: SAME and VALID coincide; SAME wins.
    assert DIALECT.from_canonical(Geometry((3,), (1,), (1,), (1,), (0,), (0,)))["padding"] == "SAME"


def test_groups_need_conv_general_dilated():
    geometry = Geometry((3,), (2,), (2,), (1,), (0,), (0,))
    with pytest.raises(NotExpressible, match="no groups"):
        DIALECT.from_canonical(geometry, groups=2, api="conv_transpose")
    assert DIALECT.from_canonical(geometry, groups=2)["api"] == "conv_general_dilated"
    with pytest.raises(Rejected, match="feature_group_count"):
        DIALECT.to_canonical((3,), (2,), groups=2, strides=2, padding="VALID")


@pytest.mark.parametrize("native", [
    {"strides": 2, "padding": "same"},
    {"strides": 2, "padding": "valid"},
    {"strides": 2, "padding": "SAME_LOWER"},
    {"strides": 1, "padding": "full"},
    {"strides": 2, "padding": "same", "use_consistent_padding": True},
    {"strides": 1, "padding": "same", "use_consistent_padding": True},
    {"strides": 2, "padding": [[1, 1]], "use_consistent_padding": True},
    {"strides": 0, "padding": "VALID"},
    {"strides": 1, "padding": "VALID", "rhs_dilation": 0},
    {"strides": 1, "padding": [(-4, -2)]},
    {"strides": 1, "padding": (1, 1)},
    {"strides": 2, "padding": "SAME", "api": "conv_general_dilated"},
    {"strides": 1, "padding": [(0, 0)], "api": "conv_general_dilated", "transpose_kernel": True},
])
def test_rejected(native):
    with pytest.raises(Rejected):
        DIALECT.to_canonical((3,), (4,), **native)


@pytest.mark.parametrize("native", [{"padding": "valid"}, {"padding": [(-1, -2)]}])
def test_empty_output(native):
    """i=3, k=4: lowercase 'valid' gives o = i-K+1 = 0, explicit (-1, -2) gives o = 0: jax returns empty."""
    with pytest.raises(EmptyOutput):
        DIALECT.to_canonical((3,), (4,), strides=1, **native)


@PURE
@given(st.integers(1, 8), st.integers(1, 6), st.integers(1, 3))
def test_forward_padding_strings(i, k, d):
    K = d * (k - 1) + 1
    same = DIALECT.to_canonical((i,), (k,), padding="SAME", rhs_dilation=d)
    lower = DIALECT.to_canonical((i,), (k,), padding="SAME_LOWER", rhs_dilation=d)
    lowercase = DIALECT.to_canonical((i,), (k,), padding="same", rhs_dilation=d)
    assert lower == same  # SAME_LOWER's forward pads are 'SAME''s transposed crops
    assert (lowercase.crop_before, lowercase.crop_after) == (same.crop_after, same.crop_before)
    assert lowercase.output_size == same.output_size == (i,)
    assert forward_padding_crops("valid", K) == (K - 1, K - 1)
    assert DIALECT.forward_conv_padding(padding="same") and DIALECT.forward_conv_padding(padding="valid")
    assert DIALECT.forward_conv_padding(padding="SAME") is None
    assert DIALECT.forward_conv_padding(padding="same", strides=2) is None  # that one raises instead


def test_weight_layouts_by_formula():
    """W[c, m, t] = rhs[K-1-t, c, m] (HWIO default); transpose_kernel: rhs[t, m, c]; with OIHW it is W itself."""
    w = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)  # (C_in, C_out, kh, kw)
    flipped = w[:, :, ::-1, ::-1]
    assert np.array_equal(DIALECT.weight_from_canonical(w), flipped.transpose(2, 3, 0, 1))
    assert np.array_equal(DIALECT.weight_from_canonical(w, transpose_kernel=True), w.transpose(2, 3, 1, 0))
    nchw = ("NCHW", "OIHW", "NCHW")
    assert np.array_equal(DIALECT.weight_from_canonical(w, dimension_numbers=nchw), flipped.transpose(1, 0, 2, 3))
    assert np.array_equal(DIALECT.weight_from_canonical(w, dimension_numbers=nchw, transpose_kernel=True), w)


def test_grouped_weight_by_formula():
    """conv_general_dilated OIHW: rhs[g*Mg + m, c, t] = W[g*Cg + c, m, k-1-t]."""
    groups, cg, mg = 2, 3, 2
    w = np.random.default_rng(0).standard_normal((groups * cg, mg, 4))
    rhs = DIALECT.weight_from_canonical(w, groups=groups, api="conv_general_dilated")
    assert rhs.shape == (groups * mg, cg, 4)
    for g in range(groups):
        for c in range(cg):
            for m in range(mg):
                assert np.array_equal(rhs[g * mg + m, c], w[g * cg + c, m, ::-1])


@PURE
@given(st.data())
def test_layout_conversions_invert(data):
    ndim = data.draw(st.integers(1, 3))
    groups = data.draw(st.integers(1, 3))
    native = {"dimension_numbers": data.draw(dimension_numbers(ndim)),
              "api": data.draw(st.sampled_from(["conv_transpose", "conv_general_dilated"]))}
    if native["api"] == "conv_transpose":
        native["transpose_kernel"] = data.draw(st.booleans())
        groups = 1
    w = np.arange(groups * 2 * 3 * 2 ** ndim, dtype=float).reshape(groups * 2, 3, *(2,) * ndim)
    x = np.arange(2 * 3 * 5 ** ndim, dtype=float).reshape(2, 3, *(5,) * ndim)
    assert np.array_equal(DIALECT.weight_to_canonical(DIALECT.weight_from_canonical(w, groups=groups, **native),
                                                      groups=groups, **native), w)
    assert np.array_equal(DIALECT.input_to_canonical(DIALECT.input_from_canonical(x, **native), **native), x)
    assert np.array_equal(DIALECT.output_to_canonical(DIALECT.output_from_canonical(x, **native), **native), x)


def test_default_dimension_numbers_are_jax_defaults():
    assert resolve_dimension_numbers(1, None) == ("NHC", "HIO", "NHC")
    assert resolve_dimension_numbers(2, None) == ("NHWC", "HWIO", "NHWC")
    assert resolve_dimension_numbers(3, None) == ("NHWDC", "HWDIO", "NHWDC")
    assert resolve_dimension_numbers(2, None, "conv_general_dilated") == ("NCHW", "OIHW", "NCHW")
    assert DIALECT.channels_last() and not DIALECT.channels_last(api="conv_general_dilated")


@PURE
@given(geometries())
def test_vjp_forward_conv_maps_output_back_to_input(geometry):
    params = vjp_forward_params(geometry)
    size = oracles.conv_output_size(geometry.output_size, geometry.kernel_size, stride=params["window_strides"],
                                    padding=params["padding"], dilation=params["rhs_dilation"])
    assert tuple(size) == geometry.input_size


# Experiments: jax.lax against the oracle.

@EXPERIMENT
@given(transpose_configs())
def test_conv_transpose_matches_oracle(lax, config):
    native, input_size, kernel_size, channels = config
    actual, expected, geometry = run_jax(lax, native, input_size, kernel_size, channels)
    assert_matches(actual, expected, f"lax.conv_transpose {native} i={input_size} k={kernel_size}")


@EXPERIMENT
@given(general_dilated_configs())
def test_conv_general_dilated_matches_oracle(lax, config):
    native, input_size, kernel_size, channels, groups = config
    actual, expected, _ = run_jax(lax, native, input_size, kernel_size, channels, groups)
    assert_matches(actual, expected, f"lax.conv_general_dilated {native} groups={groups} i={input_size} k={kernel_size}")


@pytest.mark.parametrize("sizes, crops", SAME_TABLE)
def test_same_table_by_experiment(lax, sizes, crops):
    i, k, s = sizes
    actual, expected, geometry = run_jax(lax, {"strides": s, "padding": "SAME"}, (i,), (k,), (1, 2, 2))
    assert (geometry.crop_before[0], geometry.crop_after[0]) == crops
    assert_matches(actual, expected, f"SAME (i,k,s)={sizes}")


def test_lowercase_same_is_not_same(lax):
    """k=2, s=1: 'same' crops (1, 0) where 'SAME' crops (0, 1); the outputs differ, each matches its geometry."""
    outputs = {}
    for padding in ("SAME", "same"):
        actual, expected, geometry = run_jax(lax, {"padding": padding}, (5,), (2,), (1, 1, 1))
        assert_matches(actual, expected, f"padding={padding!r}")
        outputs[padding] = actual
    assert not np.allclose(outputs["SAME"], outputs["same"])


@pytest.mark.parametrize("padding", ["valid", "Valid", "same_lower", "SAME_LOWER"])
def test_forward_strings_by_experiment(lax, padding):
    """Stride 1: jax runs a forward conv; 'valid' shrinks to o = i-K+1 = (4, 2), 'SAME_LOWER' crops like 'SAME'."""
    native = {"padding": padding, "strides": (1, 1), "dimension_numbers": "channels_first"}
    assert DIALECT.forward_conv_padding(**native)
    actual, expected, geometry = run_jax(lax, native, (5, 4), (2, 3), (2, 2, 3))
    if padding.upper() == "VALID":
        assert geometry.output_size == (4, 2)
    assert_matches(actual, expected, f"padding={padding!r}")


def test_seed_golden_1d(lax):
    """Seed 001: [2, 3] with kernel [1, 2, 3], stride 2 -> [2, 4, 9, 6, 9]; jax wants the kernel reversed."""
    lhs = np.array([2.0, 3.0]).reshape(1, 2, 1)
    out = lax.conv_transpose(lhs, np.array([3.0, 2.0, 1.0]).reshape(3, 1, 1), (2,), "VALID")
    assert np.array_equal(np.asarray(out).ravel(), [2, 4, 9, 6, 9])
    out = lax.conv_transpose(lhs, np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1), (2,), "VALID", transpose_kernel=True)
    assert np.array_equal(np.asarray(out).ravel(), [2, 4, 9, 6, 9])


@pytest.mark.parametrize("native", [
    {"strides": 2, "padding": "same"},
    {"strides": 2, "padding": "SAME_LOWER"},
    {"strides": 1, "padding": "full"},
    {"strides": 2, "padding": "same", "use_consistent_padding": True},
    {"strides": 2, "padding": [[1, 1]], "use_consistent_padding": True},
    {"strides": 0, "padding": "VALID"},
    {"strides": 1, "padding": [(-4, -2)]},
    {"strides": 1, "padding": (1, 1)},
    {"strides": 2, "padding": "SAME", "api": "conv_general_dilated"},
])
def test_jax_raises_where_rejected(lax, native):
    with pytest.raises(Rejected):
        DIALECT.to_canonical((3,), (4,), **native)
    name, kwargs = DIALECT.call_arguments(1, **native)
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        getattr(lax, name)(np.ones((1, 3, 1)), np.ones((4, 1, 1)), **kwargs)


@pytest.mark.parametrize("padding", ["valid", [(-1, -2)]])
def test_jax_returns_empty_where_empty_output(lax, padding):
    out = lax.conv_transpose(np.ones((1, 3, 1)), np.ones((4, 1, 1)), (1,), padding)
    assert out.shape == (1, 0, 1)


@EXPERIMENT
@given(geometries(), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2))
def test_vjp_of_forward_conv_is_conv_transpose(lax, geometry, groups, per_group_in, per_group_out):
    import jax

    from conformance.cases import Case
    from conformance.known import PREDICATES

    # XLA:CPU aborts this process on some of these convolutions (known discrepancies
    # xla-cpu-conv-operand-swap-abort*); the suite runs them in a worker, an in-process test cannot.
    case = Case(batch=2, groups=groups, in_per_group=per_group_in, out_per_group=per_group_out, input_size=geometry.input_size,
                kernel_size=geometry.kernel_size, bias=False, stride=geometry.stride, dilation=geometry.dilation,
                padding=geometry.padding(), output_padding=(0,) * geometry.ndim)
    assume(not PREDICATES["xla_conv_swap_abort"](case, {}) and not PREDICATES["xla_conv_swap_abort_grouped"](case, {}))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, groups * per_group_in, *geometry.input_size))
    w = rng.standard_normal((groups * per_group_in, per_group_out, *geometry.kernel_size))
    params = vjp_forward_params(geometry, groups=groups)
    rhs = vjp_weight_from_canonical(w)
    z = np.zeros((2, groups * per_group_out, *geometry.output_size))
    _, pullback = jax.vjp(lambda z: lax.conv_general_dilated(z, rhs, **params, precision=lax.Precision.HIGHEST), z)
    expected = oracles.conv_transpose(x, w, stride=geometry.stride, padding=geometry.padding(),
                                      dilation=geometry.dilation, groups=groups)
    assert_matches(np.asarray(pullback(x)[0]), expected, f"vjp {params}")
