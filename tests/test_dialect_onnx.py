"""The ONNX dialect for onnx.reference and onnxruntime: formulas, the reference 'SAME' rows, then the runtimes.

Expected values come from the ONNX spec's formulas, from the reference rows of docs/semantics.md,
'SAME conventions' (copied as data) or from running the runtimes; never from the dialect's own code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import oracles
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.onnx import DIALECT, ONNXRUNTIME, OnnxDialect
from oracles.geometry import Geometry

FAST = settings(max_examples=60, deadline=None)
RUNTIMES = ("reference", "onnxruntime")

# docs/semantics.md, 'SAME conventions', reference rows: (i, k, s), ONNX ref SAME_UPPER, ref SAME_LOWER, onnxruntime UPPER / LOWER.
SECTION_3 = [
    ((3, 3, 1), (1, 1), (1, 1), (1, 1), (1, 1)),
    ((3, 2, 1), (0, 1), (1, 0), (0, 1), (1, 0)),
    ((3, 3, 2), (0, 1), (1, 0), (0, 1), (1, 0)),
    ((3, 4, 1), (1, 2), (2, 1), (1, 2), (2, 1)),
    ((3, 1, 2), (-1, 0), (0, -1), (0, 0), (0, 0)),  # onnxruntime: "length 5 not 6"
    ((3, 1, 3), (-1, -1), (-1, -1), (0, 0), (0, 0)),
]


def crops(geometry: Geometry):
    return tuple(zip(geometry.crop_before, geometry.crop_after))


def full_length(i, k, s, d):
    return (i - 1) * s + d * (k - 1) + 1


# ---- docs/semantics.md, 'SAME conventions' -----------------------------------------------------------

@pytest.mark.parametrize("row", SECTION_3, ids=lambda row: str(row[0]))
def test_section_3_same_conventions(row):
    (i, k, s), ref_upper, ref_lower, ort_upper, ort_lower = row
    ref = DIALECT.same_conventions(i, k, s)
    ort = ONNXRUNTIME.same_conventions(i, k, s)
    assert set(ref) == set(ort) == {"SAME_UPPER", "SAME_LOWER"}
    assert crops(ref["SAME_UPPER"]) == (ref_upper,) and crops(ref["SAME_LOWER"]) == (ref_lower,)
    assert crops(ort["SAME_UPPER"]) == (ort_upper,) and crops(ort["SAME_LOWER"]) == (ort_lower,)
    assert ref["SAME_UPPER"].output_size == (i * s,)


def test_onnxruntime_same_is_length_5_not_6_for_3_1_2():
    assert ONNXRUNTIME.output_size(3, 1, strides=2, auto_pad="SAME_UPPER") == (5,)
    assert DIALECT.output_size(3, 1, strides=2, auto_pad="SAME_UPPER") == (6,)


# ---- docs/semantics.md, 'ONNX' (the spec's formulas) -------------------------------------------------

@st.composite
def dims(draw):
    i, k = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    op = draw(st.integers(0, s - 1))
    return i, k, s, d, op


@FAST
@given(dims(), st.sampled_from(RUNTIMES))
def test_same_rows_where_total_padding_is_not_negative(dim, runtime):
    i, k, s, d, op = dim
    T = d * (k - 1) + 1 - s + op  # T = K - s + op
    if T < 0:
        event("T < 0: runtimes differ")
        return
    upper = DIALECT.to_canonical(i, k, strides=s, dilations=d, output_padding=op, auto_pad="SAME_UPPER",
                                 runtime=runtime)
    lower = DIALECT.to_canonical(i, k, strides=s, dilations=d, output_padding=op, auto_pad="SAME_LOWER",
                                 runtime=runtime)
    assert crops(upper) == ((T // 2, -(-T // 2) - op),)  # (floor(T/2), ceil(T/2) - op)
    assert crops(lower) == ((-(-T // 2), T // 2 - op),)  # (ceil(T/2), floor(T/2) - op)
    assert upper.output_size == lower.output_size == (i * s,)


@FAST
@given(dims(), st.integers(-2, 4), st.integers(-2, 4), st.sampled_from(RUNTIMES))
def test_pads_row(dim, before, after, runtime):
    i, k, s, d, op = dim
    if full_length(i, k, s, d) + op - before - after < 1:
        return
    g = DIALECT.to_canonical(i, k, strides=s, dilations=d, output_padding=op, pads=[before, after], runtime=runtime)
    assert crops(g) == ((before, after - op),)
    # ONNX spec: output = stride*(i-1) + output_padding + ((k-1)*d + 1) - pads_begin - pads_end
    assert g.output_size == (s * (i - 1) + op + ((k - 1) * d + 1) - before - after,)


@FAST
@given(dims(), st.data(), st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
def test_output_shape_row_on_onnxruntime(dim, data, auto_pad):
    i, k, s, d, op = dim
    L = full_length(i, k, s, d)
    o = data.draw(st.integers(1, L + op))  # T = L + op - o >= 0
    T = L + op - o
    g = ONNXRUNTIME.to_canonical(i, k, strides=s, dilations=d, output_padding=op, output_shape=[o],
                                 auto_pad=auto_pad)
    expected = (T // 2, T - T // 2 - op) if auto_pad == "SAME_UPPER" else (T - T // 2, T // 2 - op)
    assert crops(g) == (expected,) and g.output_size == (o,)


@FAST
@given(dims(), st.data(), st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))
def test_output_shape_row_on_the_reference_with_same(dim, data, auto_pad):
    i, k, s, d, op = dim
    o = data.draw(st.integers(1, full_length(i, k, s, d) + op + 3))  # the reference keeps T < 0
    T = full_length(i, k, s, d) + op - o
    g = DIALECT.to_canonical(i, k, strides=s, dilations=d, output_padding=op, output_shape=[o], auto_pad=auto_pad)
    expected = (T // 2, T - T // 2 - op) if auto_pad == "SAME_UPPER" else (T - T // 2, T // 2 - op)
    assert crops(g) == (expected,)


# ---- where the runtimes leave the spec: Rejected rules and quirks -------------------------------------

def test_output_padding_below_dilation_but_not_below_stride():
    """torch accepts s=1, d=2, op=1; both ONNX runtimes reject it (onnxruntime#14208)."""
    for runtime in RUNTIMES:
        with pytest.raises(Rejected):
            DIALECT.to_canonical(3, 3, strides=1, dilations=2, output_padding=1, runtime=runtime)


@pytest.mark.parametrize("native, message", [
    (dict(output_padding=-1), "non-negative"),
    (dict(strides=2, output_padding=2), "less than max\\(stride, dilation\\)"),
    (dict(strides=2, dilations=3, output_padding=2), "may be too large for stride"),
    (dict(pads=[3, 3]), "<= 0"),
    (dict(output_shape=[0]), "must be positive"),
    (dict(output_shape=[-2]), "must be positive"),  # -1 is not rejected: see test_runtimes_differ
    (dict(strides=2, output_shape=[10]), "inconsistent"),  # L = 7: o + T' - K must stay below i*s
    (dict(auto_pad="SAME_UPPER", pads=[0, 0]), "both 'auto_pad'"),
    (dict(auto_pad="VALID", pads=[1, 1]), "both 'auto_pad'"),
])
def test_onnxruntime_rejects(native, message):
    with pytest.raises(Rejected, match=message):
        ONNXRUNTIME.to_canonical(3, 3, **native)


@pytest.mark.parametrize("native", [
    dict(output_padding=-1), dict(strides=2, output_padding=2), dict(output_shape=[4]),  # NOTSET: o < L
    dict(strides=2, output_shape=[9]), dict(auto_pad="VALID", output_shape=[6], strides=2),
    dict(pads=[1, 1], output_shape=[5]),
])
def test_reference_rejects(native):
    with pytest.raises(Rejected):
        DIALECT.to_canonical(3, 3, **native)


@pytest.mark.parametrize("native, reference, onnxruntime", [
    # NOTSET with output_shape: the reference keeps pads 0; onnxruntime splits T = L + op - o.
    (dict(strides=2, output_shape=[8]), (0, -1), (0, -1)),
    (dict(strides=2, output_shape=[6]), "rejected", (1, 0)),
    # explicit pads win in the reference; onnxruntime ignores them when output_shape is given
    (dict(strides=2, pads=[2, 0], output_shape=[6]), (2, -1), (1, 0)),
    (dict(strides=2, auto_pad="SAME_UPPER", pads=[2, 0]), (2, 0), "rejected"),
    # onnxruntime clamps a negative T at 0 with output_shape too; the reference keeps it
    (dict(strides=2, auto_pad="SAME_UPPER", output_shape=[8]), (-1, 0), (0, -1)),
    (dict(strides=2, auto_pad="SAME_LOWER", output_shape=[10]), (-1, -2), "rejected"),
    # output_shape -1: a length to the reference (it fails); "not given" to onnxruntime, so pads/SAME apply
    (dict(pads=[1, 1], output_shape=[-1]), "rejected", (1, 1)),
    (dict(strides=2, auto_pad="SAME_LOWER", output_shape=[-1]), "rejected", (1, 0)),
])
def test_runtimes_differ(native, reference, onnxruntime):
    for dialect, expected in ((DIALECT, reference), (ONNXRUNTIME, onnxruntime)):
        if expected == "rejected":
            with pytest.raises(Rejected):
                dialect.to_canonical(3, 3, **native)
        else:
            assert crops(dialect.to_canonical(3, 3, **native)) == (expected,)


def test_reference_checks_only_the_product_of_block_counts():
    with pytest.raises(Rejected, match="spatial dim 0"):
        DIALECT.to_canonical((2, 3), (1, 1), output_shape=[3, 2])


def test_pads_spellings():
    expected = ((1, 2), (0, 1))
    for pads in ([1, 0, 2, 1], [(1, 2), (0, 1)]):
        assert crops(DIALECT.to_canonical((3, 3), (3, 3), pads=pads)) == expected
    assert crops(DIALECT.to_canonical((3, 3), (3, 3), pads=[1, 0])) == ((1, 1), (0, 0))
    assert crops(DIALECT.to_canonical((3, 3), (3, 3), pads=1)) == ((1, 1), (1, 1))
    with pytest.raises(ValueError):
        DIALECT.to_canonical((3, 3), (3, 3), pads=[1, 2, 3])


def test_options_and_runtime_default():
    assert DIALECT.name == ONNXRUNTIME.name == "onnx"
    assert DIALECT.defaults()["runtime"] == "reference" and ONNXRUNTIME.defaults()["runtime"] == "onnxruntime"
    assert {o.name for o in DIALECT.options} == {"strides", "pads", "auto_pad", "output_padding", "output_shape",
                                                 "dilations", "group", "runtime"}
    with pytest.raises(ValueError):
        OnnxDialect("tensorrt")


# ---- the group attribute and groups= ----------------------------------------------------------------

@pytest.mark.parametrize("runtime", RUNTIMES)
def test_group_attribute_agrees_with_groups(runtime):
    """Either spelling alone, or both equal, give the plain geometry: grouping changes no crop."""
    plain = DIALECT.to_canonical(3, 2, strides=2, runtime=runtime)
    for spelling in (dict(group=2), dict(groups=2), dict(groups=2, group=2)):
        assert DIALECT.to_canonical(3, 2, strides=2, runtime=runtime, **spelling) == plain, spelling


def test_group_attribute_that_disagrees_with_groups_is_rejected():
    with pytest.raises(Rejected, match=r"group=3 disagrees with groups=2"):
        DIALECT.to_canonical(3, 2, groups=2, group=3)


@pytest.mark.parametrize("group", [0, -1])
def test_group_below_1_is_rejected_in_onnxruntime_words(group):
    with pytest.raises(Rejected, match=rf"group count is <= 0 group: {group}"):
        DIALECT.to_canonical(3, 2, group=group)


# ---- from_canonical ---------------------------------------------------------------------------------

@st.composite
def geometries(draw, expressible: bool):
    ndim = draw(st.integers(1, 3))
    fields = []
    for _ in range(ndim):
        i, k = draw(st.integers(1, 5)), draw(st.integers(1, 4))
        s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        L = full_length(i, k, s, d)
        cb = draw(st.integers(0, L - 1) if expressible else st.integers(-3, L - 1))
        ca = draw(st.integers(-(s - 1) if expressible else -5, L - 1 - cb))  # o = L - cb - ca >= 1
        fields.append((i, k, s, d, cb, ca))
    return Geometry(*(tuple(f[n] for f in fields) for n in range(6)))


@FAST
@given(geometries(expressible=True), st.sampled_from(RUNTIMES))
def test_round_trip(geometry, runtime):
    native = DIALECT.from_canonical(geometry)
    assert all(p >= 0 for p in native["pads"])
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, runtime=runtime, **native) == geometry


@FAST
@given(geometries(expressible=False), st.sampled_from(RUNTIMES))
def test_round_trip_with_negative_pads(geometry, runtime):
    native = DIALECT.from_canonical(geometry, allow_negative_pads=True)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, runtime=runtime, **native) == geometry


@FAST
@given(geometries(expressible=False))
def test_not_expressible_exactly_where_pads_would_be_negative(geometry):
    cannot = any(cb < 0 or -ca >= s for cb, ca, s in zip(geometry.crop_before, geometry.crop_after, geometry.stride))
    if cannot:
        with pytest.raises(NotExpressible):
            DIALECT.from_canonical(geometry)
    else:
        DIALECT.from_canonical(geometry)


# ---- experiments: the runtimes themselves -----------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_modules():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx.reference import ReferenceEvaluator
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return onnx, ort, ReferenceEvaluator, (state.Fail, state.InvalidArgument, state.RuntimeException)


def build_model(onnx, attributes, bias: bool):
    helper, float32 = onnx.helper, onnx.TensorProto.FLOAT
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("ConvTranspose", inputs, ["y"], **attributes)
    graph = helper.make_graph([node], "convt", [helper.make_tensor_value_info(n, float32, None) for n in inputs],
                              [helper.make_tensor_value_info("y", float32, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def run_model(modules, runtime, attributes, feeds):
    onnx, ort, ReferenceEvaluator, _ = modules
    model = build_model(onnx, attributes, "b" in feeds)
    if runtime == "reference":
        return ReferenceEvaluator(model).run(None, feeds)[0]
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the expected failures would otherwise print ERROR lines
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@st.composite
def onnx_configs(draw, max_ndim=2, grouped=True):
    """ConvTranspose attributes, valid or not; small integers in float32 make every sum exact."""
    ndim = draw(st.integers(1, max_ndim))
    per = lambda lo, hi: [draw(st.integers(lo, hi)) for _ in range(ndim)]  # noqa: E731
    i, k, s, d = per(1, 4), per(1, 3), per(1, 3), per(1, 2)
    attributes = dict(strides=s, dilations=d)
    if draw(st.integers(0, 3)):
        attributes["output_padding"] = [draw(st.integers(-1 if draw(st.integers(0, 9)) == 0 else 0, max(a, b)))
                                        for a, b in zip(s, d)]
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if auto_pad != "NOTSET":
        attributes["auto_pad"] = auto_pad
    if draw(st.integers(0, 2)) == 0 or (auto_pad == "NOTSET" and draw(st.booleans())):
        attributes["pads"] = per(-1, 2) + per(-1, 2)
    if draw(st.integers(0, 2)) == 0:  # -1 now and then: "not given" to onnxruntime, a length to the reference
        attributes["output_shape"] = [-1 if draw(st.integers(0, 3)) == 0 else
                                      draw(st.integers(max(1, full_length(*a) - 2), full_length(*a) + a[2]))
                                      for a in zip(i, k, s, d)]
    groups = draw(st.integers(1, 2)) if grouped else 1
    cg, mg = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if grouped else (1, draw(st.integers(1, 2)))
    if groups > 1:
        attributes["group"] = groups
    return dict(i=i, k=k, attributes=attributes, groups=groups, cg=cg, mg=mg, bias=grouped and draw(st.booleans()))


def check_against_dialect(modules, runtime, config, seed):
    rng = np.random.default_rng(seed)
    g, cg, mg = config["groups"], config["cg"], config["mg"]
    x = rng.integers(-3, 4, (1, g * cg, *config["i"])).astype(np.float32)
    w = rng.integers(-3, 4, (g * cg, mg, *config["k"])).astype(np.float32)
    feeds = dict(x=x, w=w)
    if config["bias"]:
        feeds["b"] = rng.integers(-3, 4, g * mg).astype(np.float32)
    attributes = config["attributes"]
    try:
        # The node's own attributes, group included, and the operands' group count: they must agree.
        geometry = DIALECT.to_canonical(config["i"], config["k"], runtime=runtime, groups=g, **attributes)
    except Rejected:
        event("rejected")
        try:
            got = run_model(modules, runtime, attributes, feeds)
        except modules[3] + (ValueError,):
            return
        # The reference returns an empty array (rather than raising) for an output length of exactly 0.
        assert runtime == "reference" and got.size == 0, f"{runtime} accepted {attributes}: shape {got.shape}"
        return
    event("accepted")
    got = run_model(modules, runtime, attributes, feeds)
    expected = oracles.conv_transpose(x, w, feeds.get("b"), stride=geometry.stride, dilation=geometry.dilation,
                                      padding=geometry.padding(), groups=g)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@FAST
@given(onnx_configs(), st.integers(0, 2**32 - 1))
def test_onnxruntime_agrees_with_dialect_and_oracle(onnx_modules, config, seed):
    check_against_dialect(onnx_modules, "onnxruntime", config, seed)


@FAST
@given(onnx_configs(max_ndim=1, grouped=False), st.integers(0, 2**32 - 1))
def test_reference_agrees_with_dialect_and_oracle(onnx_modules, config, seed):
    """1-D (the product-only block check cannot bite), one group, no bias (its value bugs are elsewhere)."""
    check_against_dialect(onnx_modules, "reference", config, seed)


@pytest.mark.parametrize("group", [0, -1])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_group_below_1_fails_in_both_runtimes(onnx_modules, runtime, group):
    """Why the dialect rejects it: onnxruntime says 'group count is <= 0'; the reference fails in numpy."""
    feeds = dict(x=np.ones((1, 2, 3), np.float32), w=np.ones((2, 1, 2), np.float32))
    with pytest.raises(onnx_modules[3] + (ValueError, ZeroDivisionError)):
        run_model(onnx_modules, runtime, dict(group=group), feeds)


@pytest.mark.parametrize("row", SECTION_3, ids=lambda row: str(row[0]))
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_section_3_by_experiment(onnx_modules, row, runtime):
    (i, k, s), ref_upper, ref_lower, ort_upper, ort_lower = row
    table = dict(reference=(ref_upper, ref_lower), onnxruntime=(ort_upper, ort_lower))[runtime]
    x = np.arange(1, i + 1, dtype=np.float32).reshape(1, 1, i)
    w = np.arange(1, k + 1, dtype=np.float32).reshape(1, 1, k)
    for auto_pad, (cb, ca) in zip(("SAME_UPPER", "SAME_LOWER"), table):
        got = run_model(onnx_modules, runtime, dict(strides=[s], auto_pad=auto_pad), dict(x=x, w=w))
        np.testing.assert_array_equal(got, oracles.conv_transpose(x, w, stride=s, padding=[(cb, ca)]))


def test_reference_reshuffles_on_a_product_only_match(onnx_modules):
    """Blocks (3, 2) vs input (2, 3): the reference returns the input reshaped, where (0,-1),(0,1) is meant."""
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 1, 2, 3)
    w = np.ones((1, 1, 1, 1), np.float32)
    got = run_model(onnx_modules, "reference", dict(output_shape=[3, 2]), dict(x=x, w=w))
    np.testing.assert_array_equal(got, x.reshape(1, 1, 3, 2))
    canonical = oracles.conv_transpose(x, w, padding=[(0, -1), (0, 1)])
    assert not np.array_equal(got, canonical)
