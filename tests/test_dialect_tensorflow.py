"""The TensorFlow dialect: its arithmetic, then tf.nn.conv*_transpose itself against the oracle.

Expected values come from TF's documented rules, from docs/semantics.md ('SAME conventions' rows copied as
data) or from running TF; never from the dialect's own code. Pure tests need only NumPy. Experiment tests
take the ``tf`` fixture (skips without TensorFlow) and run on this process's build; the ``other_build``
fixture runs a batch of cases in subprocesses with ``TF_ENABLE_ONEDNN_OPTS=0`` and ``=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import oracles
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.tensorflow import DIALECT, EmptyOutput, cpu_outcome, cpu_support, onednn_valid_prefix, uses_onednn
from oracles.geometry import Geometry
from semantics_data import SAME_TF_JAX_KERAS

PURE = settings(max_examples=150, deadline=None)
EXPERIMENT = settings(max_examples=40, deadline=None)

SAME_TABLE = SAME_TF_JAX_KERAS  # docs/semantics.md, 'SAME conventions'
FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def full_length(i, k, s, d=1):
    return (i - 1) * s + d * (k - 1) + 1


# ---- configurations, valid by construction --------------------------------------------------------

def build_case(pick, choose, *, admissible=True, runnable=False):
    """A native configuration; ``pick(lo, hi)`` draws an int, ``choose(seq)`` an element.

    Admissible output lengths come from TF's documented rules; with ``admissible=False`` half of
    the dims take any length >= 1 instead. ``runnable`` leaves out what no CPU build runs: explicit
    pads with dilation, channels-first or groups (Eigen kernel only), and grouped 3-D.
    """
    ndim = pick(1, 3)
    top = 3 if ndim == 3 else 4
    padding = choose(["SAME", "VALID", "EXPLICIT"] if ndim == 2 else ["SAME", "VALID"])
    sizes, pads, outputs = [], [], []
    for _ in range(ndim):
        i, k, s, d = pick(1, top), pick(1, 3), pick(1, 3), pick(1, 1 if runnable and padding == "EXPLICIT" else 2)
        L = full_length(i, k, s, d)
        pb, pa = 0, 0
        if padding == "EXPLICIT":  # leave room for some o >= 1 with o + pb + pa <= L + s - 1
            pb = pick(0, min(2, L - 1))
            pa = pick(0, min(2, L - pb + s - 2))
        if not admissible and pick(0, 1) == 0:
            o = pick(1, L + s + 1)
        elif padding == "SAME":
            o = pick((i - 1) * s + 1, i * s)
        else:  # L <= o + pb + pa <= L + s - 1, and o >= 1
            o = pick(max(1, L - pb - pa), L - pb - pa + s - 1)
        sizes.append((i, k, s, d))
        pads.append([pb, pa])
        outputs.append(o)
    eigen_only = runnable and padding == "EXPLICIT"
    data_format = FORMATS[ndim][0] if eigen_only else choose(FORMATS[ndim])
    native = dict(
        output_shape=tuple(outputs),
        strides=tuple(s for _, _, s, _ in sizes),
        dilations=tuple(d for *_, d in sizes),
        data_format=data_format,
    )
    if padding == "EXPLICIT":
        native["padding"] = [[0, 0], *pads, [0, 0]] if not data_format.startswith("NC") else [[0, 0], [0, 0], *pads]
    else:
        native["padding"] = padding
    return dict(
        input_size=tuple(i for i, *_ in sizes),
        kernel_size=tuple(k for _, k, *_ in sizes),
        native=native,
        groups=1 if eigen_only or (runnable and ndim == 3) else choose([1, 1, 2]),
        per_group_in=pick(1, 2),
        per_group_out=pick(1, 2),
        batch=pick(1, 2),
        api=choose(["conv_transpose", "convNd_transpose"]),
    )


@st.composite
def cases(draw, admissible=True, runnable=False):
    return build_case(lambda lo, hi: draw(st.integers(lo, hi)), lambda seq: draw(st.sampled_from(seq)),
                      admissible=admissible, runnable=runnable)


def random_cases(seed, count, admissible):
    rng = np.random.default_rng(seed)
    pick, choose = (lambda lo, hi: int(rng.integers(lo, hi + 1))), (lambda seq: seq[int(rng.integers(len(seq)))])
    return [build_case(pick, choose, admissible=admissible) for _ in range(count)]


# ---- pure arithmetic ------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, crops", SAME_TABLE)
def test_same_reproduces_semantics_table(sizes, crops):
    i, k, s = sizes
    assert DIALECT.same_conventions(i, k, s)["SAME"].padding() == (crops,)
    assert DIALECT.to_canonical(i, k, output_shape=i * s, strides=s, padding="SAME").padding() == (crops,)


# TF's documented rules per padding string: (admissible(i, s, L, o), (cb, ca)).
STRING_RULES = {
    "SAME": (lambda i, s, L, o: -(-o // s) == i, lambda L, o: (max(0, L - o) // 2, L - max(0, L - o) // 2 - o)),
    "VALID": (lambda i, s, L, o: L <= o <= L + s - 1, lambda L, o: (0, L - o)),
}


@PURE
@given(st.sampled_from(sorted(STRING_RULES)), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 3), st.data())
def test_string_padding_output_rules(padding, i, k, s, d, data):
    """SAME: ceil(o/s) == i, cb = floor(max(0, L-o)/2); VALID: L <= o <= L+s-1, cb = 0; ca = L - cb - o."""
    L = full_length(i, k, s, d)
    o = data.draw(st.integers(1, max(L, i * s) + s + 2))
    admissible, crops = STRING_RULES[padding]
    native = dict(output_shape=o, strides=s, dilations=d, padding=padding)
    if not admissible(i, s, L, o):
        with pytest.raises(Rejected, match=padding):
            DIALECT.to_canonical(i, k, **native)
        return
    assert DIALECT.to_canonical(i, k, **native).padding() == (crops(L, o),)


@PURE
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(0, 4), st.integers(0, 4),
       st.data())
def test_explicit_output_rule(i, k, s, d, pb, pa, data):
    """The forward conv of o with the pads must give i: L <= o + pb + pa <= L+s-1; cb = pb, ca = L - pb - o."""
    L = full_length(i, k, s, d)
    o = data.draw(st.integers(1, L + s + 2))
    native = dict(output_shape=(o, 1), strides=(s, 1), dilations=(d, 1), padding=[[0, 0], [pb, pa], [0, 0], [0, 0]])
    if not L <= o + pb + pa <= L + s - 1:
        with pytest.raises(Rejected, match="EXPLICIT"):
            DIALECT.to_canonical((i, 1), (k, 1), **native)
        return
    geometry = DIALECT.to_canonical((i, 1), (k, 1), **native)
    assert geometry.padding() == ((pb, L - pb - o), (0, 0))


@PURE
@given(cases())
def test_round_trip_from_native(case):
    geometry = DIALECT.to_canonical(case["input_size"], case["kernel_size"], **case["native"])
    native = DIALECT.from_canonical(geometry)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, **native) == geometry


@st.composite
def explicit_geometries(draw):
    """2-D geometries with cb >= 0 and -(s-1) <= ca, output >= 1: exactly the explicit-padding ones."""
    dims = []
    for _ in range(2):
        i, k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        L = full_length(i, k, s, d)
        cb = draw(st.integers(0, L - 1))
        ca = draw(st.integers(1 - s, L - 1 - cb))
        dims.append((i, k, s, d, cb, ca))
    return Geometry(*(tuple(column) for column in zip(*dims)))


@PURE
@given(explicit_geometries())
def test_round_trip_from_canonical_2d(geometry):
    native = DIALECT.from_canonical(geometry)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, **native) == geometry


def test_from_canonical_prefers_same_then_valid():
    same = Geometry((3,), (3,), (2,), (1,), (0,), (1,))  # SAME for o = 6; also not VALID (ca > 0)
    assert DIALECT.from_canonical(same)["padding"] == "SAME"
    valid = Geometry((3,), (2,), (2,), (1,), (0,), (-1,))  # L = 6, o = 7
    assert DIALECT.from_canonical(valid)["padding"] == "VALID"
    explicit = Geometry((3, 3), (3, 3), (1, 1), (1, 1), (2, 0), (0, 0))
    assert DIALECT.from_canonical(explicit)["padding"] == [[0, 0], [2, 0], [0, 0], [0, 0]]


@pytest.mark.parametrize("geometry, reason", [
    (Geometry((3, 3), (3, 3), (1, 1), (1, 1), (-1, 0), (0, 0)), "crop_before=-1"),
    (Geometry((3, 3), (3, 3), (2, 2), (1, 1), (0, 0), (-2, 0)), "crop_after=-2"),
    (Geometry((3,), (3,), (1,), (1,), (1,), (0,)), "only for 2-D"),  # SAME would be (0, 1) for o = 4
    (Geometry((3, 3, 3), (3, 3, 3), (1, 1, 1), (1, 1, 1), (2, 1, 1), (0, 1, 1)), "only for 2-D"),
])
def test_not_expressible(geometry, reason):
    with pytest.raises(NotExpressible, match=reason):
        DIALECT.from_canonical(geometry)


REJECTED = [  # (input and kernel size, arguments)
    (3, dict(output_shape=6, strides=2, padding="same")),  # case-sensitive
    (3, dict(output_shape=6, strides=2, padding="Same")),
    (3, dict(output_shape=None, strides=2, padding="SAME")),
    (3, dict(output_shape=5, strides=2, padding=[[0, 0], [1, 1], [0, 0]])),  # explicit in 1-D
    (3, dict(output_shape=6, strides=2, padding="SAME", data_format="NHWC")),  # 2-D format in 1-D
    (3, dict(output_shape=6, strides=[2, 2, 2], padding="SAME")),
    (3, dict(output_shape=6, strides=[2, 2, 1], padding="SAME")),  # N+2 form with a batch stride
    (3, dict(output_shape=3, strides=0, padding="SAME")),
    (3, dict(output_shape=6, strides=2, dilations=0, padding="SAME")),
    (3, dict(output_shape=7, strides=2, padding="SAME")),  # ceil(7/2) = 4 != 3
    (3, dict(output_shape=6, strides=2, padding="VALID")),  # L = 7
    ((3, 3), dict(output_shape=(5, 5), strides=2, padding=[[1, 1], [1, 1]])),  # spatial pairs only
    ((3, 3), dict(output_shape=(5, 5), strides=2, padding=[[1, 0], [1, 1], [1, 1], [0, 0]])),  # batch padding
    ((3, 3), dict(output_shape=(9, 9), strides=2, padding=[[0, 0], [-1, -1], [-1, -1], [0, 0]])),  # negative
    ((3, 3), dict(output_shape=(5, 5), strides=2, padding=[0, 0, 1, 1, 1, 1, 0, 0])),  # flat list
]


@pytest.mark.parametrize("size, native", REJECTED)
def test_rejected(size, native):
    with pytest.raises(Rejected):
        DIALECT.to_canonical(size, size, **native)


def test_empty_output_is_outside_the_model():
    with pytest.raises(EmptyOutput):
        DIALECT.to_canonical((2, 2), (2, 2), output_shape=(0, 3), padding=[[0, 0], [2, 1], [0, 0], [0, 0]])


def test_window_and_shape_spellings():
    g = DIALECT.to_canonical((3, 3), (3, 3), output_shape=(6, 6), strides=2, padding="SAME")
    assert DIALECT.to_canonical((3, 3), (3, 3), output_shape=[1, 6, 6, 4], strides=[1, 2, 2, 1], padding="SAME") == g
    channels_first = dict(output_shape=[1, 4, 6, 6], strides=[2], padding="SAME", data_format="NCHW")
    assert DIALECT.to_canonical((3, 3), (3, 3), **channels_first) == g
    assert DIALECT.native_output_shape((6, 6), 1, 4) == [1, 6, 6, 4]
    assert DIALECT.native_output_shape((6, 6), 1, 4, data_format="NCHW") == [1, 4, 6, 6]


def test_weight_layout_by_formula():
    filters = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # [kh, kw, out, in]
    w = DIALECT.weight_to_canonical(filters)
    assert w.shape == (5, 4, 2, 3)
    assert w[4, 1, 0, 2] == filters[0, 2, 1, 4]
    np.testing.assert_array_equal(DIALECT.weight_from_canonical(w), filters)


# (config, dtype, onednn) -> the start of TF's message, or None; observed on tensorflow-cpu 2.21 (x86).
CPU_SUPPORT = [
    (dict(dilations=2), "float32", True, None),
    (dict(dilations=2), "bfloat16", True, None),
    (dict(dilations=2), "float16", True, "Current CPU implementations do not yet support dilation"),
    (dict(dilations=2), "float64", True, "Current CPU implementations do not yet support dilation"),
    (dict(dilations=2), "float32", False, "Current CPU implementations do not yet support dilation"),
    (dict(data_format="NCHW"), "float32", True, None),
    (dict(data_format="NCHW"), "float64", True, "Conv2DCustomBackpropInputOp only supports NHWC"),
    (dict(data_format="NCHW"), "float32", False, "Conv2DCustomBackpropInputOp only supports NHWC"),
    (dict(groups=2), "float32", True, None),
    (dict(groups=2), "float64", True, "Gradients for grouped convolutions are not supported on CPU"),
    # Explicit pads always run the Eigen kernel: no dilation even with oneDNN on.
    (dict(dilations=2, padding=[[0, 0], [2, 2], [2, 2], [0, 0]]), "float32", True, "Current CPU implementations"),
]


@pytest.mark.parametrize("config, dtype, onednn, reason", CPU_SUPPORT)
def test_cpu_support_table(config, dtype, onednn, reason):
    config = dict(dict(output_shape=(6, 6), strides=2, padding="SAME"), **config)
    got = cpu_support((3, 3), (3, 3), dtype=dtype, onednn=onednn, **config)
    if reason is None:
        assert got is None
    else:
        assert got.startswith(reason)


def test_3d_messages():
    native = dict(output_shape=(4, 4, 4), strides=2)
    onednn, eigen = (cpu_support((2, 2, 2), (2, 2, 2), onednn=flag, groups=2, **native) for flag in (True, False))
    assert onednn == "input and filter must have the same depth"
    assert eigen == "input and filter_sizes must have the same number of channels"
    assert cpu_support((2, 2, 2), (2, 2, 2), dtype="float64", dilations=2, **native) == (
        "Current CPU implementation does not yet support dilation rates larger than 1")  # singular, unlike 2-D


def test_onednn_valid_prefix_quirk():
    """(i, k, s, o) = (1, 2, 2, 1): TF's rule needs o >= K = 2; oneDNN returns full[:1]."""
    native = dict(output_shape=1, strides=2, padding="VALID")
    with pytest.raises(Rejected):
        DIALECT.to_canonical(1, 2, **native)
    quirk = cpu_outcome(1, 2, dtype="float32", onednn=True, **native)
    assert quirk.kind == "ok" and quirk.geometry.padding() == ((0, 1),)
    assert cpu_outcome(1, 2, dtype="float32", onednn=False, **native).kind == "rejected"
    assert cpu_outcome(1, 2, dtype="float64", onednn=True, **native).kind == "rejected"
    assert onednn_valid_prefix(1, 3, output_shape=1, strides=2, padding="VALID") is None  # o = K - s: rejected too
    assert not uses_onednn(dtype="float32", onednn=True, padding=[[0, 0], [0, 0], [0, 0], [0, 0]])


# ---- experiments ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


def onednn_enabled() -> bool:
    """The TF adapter's answer; imported here, not at the top, because that module imports TensorFlow."""
    from conformance.targets.tensorflow import onednn_enabled as adapter_onednn_enabled

    return adapter_onednn_enabled()


def operands(case, dtype, seed=0):
    """Canonical x and W (rounded to ``dtype``, held as float64) and the native ones."""
    rng = np.random.default_rng(seed)
    groups = case["groups"]
    x = rng.standard_normal((case["batch"], groups * case["per_group_in"], *case["input_size"]))
    w = rng.standard_normal((groups * case["per_group_in"], case["per_group_out"], *case["kernel_size"]))
    x, w = x.astype(dtype).astype(np.float64), w.astype(dtype).astype(np.float64)
    native = case["native"]
    x_native, filters = DIALECT.input_from_canonical(x, **native), DIALECT.weight_from_canonical(w, **native)
    return x, w, x_native.astype(dtype), filters.astype(dtype)


def outcome_of(case, dtype, onednn):
    return cpu_outcome(case["input_size"], case["kernel_size"], dtype=dtype, onednn=onednn, groups=case["groups"],
                       **case["native"])


def call_tf(tf, case, x_native, filters):
    native = case["native"]
    ndim = len(case["input_size"])
    out_channels = case["groups"] * case["per_group_out"]
    output_shape = DIALECT.native_output_shape(native["output_shape"], case["batch"], out_channels, **native)
    fn = tf.nn.conv_transpose if case["api"] == "conv_transpose" else getattr(tf.nn, f"conv{ndim}d_transpose")
    return fn(x_native, filters, output_shape, list(native["strides"]), padding=native["padding"],
              data_format=native["data_format"], dilations=list(native["dilations"]))


def assert_matches_oracle(case, geometry, x, w, y_native, dtype):
    y = DIALECT.input_to_canonical(np.asarray(y_native, dtype=np.float64), **case["native"])
    kwargs = dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), groups=case["groups"])
    expected = oracles.conv_transpose(x, w, **kwargs)
    assert y.shape == expected.shape, f"out.shape={y.shape}, but should be {expected.shape} [{case}]"
    bound = oracles.error_bound(x, w, dtype=dtype, **kwargs) + oracles.error_bound(x, w, dtype="float64", **kwargs)
    excess = np.abs(y - expected) - bound
    where = np.unravel_index(excess.argmax(), y.shape)
    assert excess.max() <= 0, f"max |error| - bound = {excess.max():.3g} at {where} [{case}]"


@EXPERIMENT
@given(cases(runnable=True))
def test_tf_matches_oracle(tf, case):
    """float64 where this build runs it, else float32 with the float32 error bound."""
    outcomes = {dtype: outcome_of(case, dtype, onednn_enabled()) for dtype in ("float64", "float32")}
    dtype = next((d for d, outcome in outcomes.items() if outcome.kind == "ok"), None)
    event(f"dtype={dtype}")
    if dtype is None:
        return
    x, w, x_native, filters = operands(case, dtype)
    assert_matches_oracle(case, outcomes[dtype].geometry, x, w, call_tf(tf, case, x_native, filters), dtype)


@EXPERIMENT
@given(cases(admissible=False), st.sampled_from(["float64", "float32"]))
def test_tf_raises_exactly_where_predicted(tf, case, dtype):
    """Rejected and UNSUPPORTED raise (with the predicted class and message); everything else runs."""
    outcome = outcome_of(case, dtype, onednn_enabled())
    event(outcome.kind)
    x, w, x_native, filters = operands(case, dtype)
    if outcome.kind == "ok":
        assert_matches_oracle(case, outcome.geometry, x, w, call_tf(tf, case, x_native, filters), dtype)
        return
    with pytest.raises(Exception) as raised:
        call_tf(tf, case, x_native, filters)
    if outcome.error:
        assert type(raised.value).__name__ == outcome.error, f"{raised.value!r} [{case}]"
    if outcome.kind == "unsupported":
        assert outcome.reason in str(raised.value), f"{raised.value!r} [{case}]"


def test_filter_layout_is_k_out_in_not_the_docstrings(tf):
    """tf.nn.conv_transpose's docstring says [*k, in, out]: with in != out that layout raises.

    The real layout is [*k, out, in]: ``W[c, m, t] = filters[t, m, c]`` (exact on small integers).
    """
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (1, 3, 2)).astype(np.float32)  # NWC, 2 input channels
    with pytest.raises((tf.errors.InvalidArgumentError, tf.errors.AbortedError)):
        tf.nn.conv_transpose(x, np.ones((3, 2, 4), np.float32), [1, 6, 4], 2)  # [k, in, out] with out = 4
    filters = rng.integers(-3, 4, (3, 4, 2)).astype(np.float32)  # [k, out, in]
    y = tf.nn.conv_transpose(x, filters, [1, 6, 4], 2, padding="SAME").numpy()
    w = np.transpose(filters, (2, 1, 0))  # W[c, m, t] = filters[t, m, c]
    expected = oracles.conv_transpose(np.moveaxis(x, -1, 1), w, stride=2, padding=[(0, 1)])
    np.testing.assert_array_equal(np.moveaxis(y, -1, 1), expected)


def test_padding_strings_are_case_sensitive(tf):
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in the list of allowed values"):
        tf.nn.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), [1, 6, 6, 4], 2, "same")


@pytest.mark.parametrize("ndim", [1, 3])
def test_explicit_padding_only_in_2d(tf, ndim):
    x, f = np.ones((1,) + (3,) * ndim + (2,)), np.ones((3,) * ndim + (4, 2))
    pads = [[0, 0]] + [[1, 1]] * ndim + [[0, 0]]
    with pytest.raises(TypeError, match="Expected string for argument 'padding'"):
        tf.nn.conv_transpose(x, f, [1] + [5] * ndim + [4], 2, pads)


# ---- both oneDNN settings, in subprocesses --------------------------------------------------------

CHILD = r"""
import json, sys
import tensorflow as tf
results = []
for case in json.load(sys.stdin):
    dtype = getattr(tf, case.pop("dtype"))
    x, f = (tf.cast(tf.constant(case.pop(key), tf.float64), dtype) for key in ("x", "filters"))
    n, api = case.pop("ndim"), case.pop("api")
    fn = tf.nn.conv_transpose if api == "conv_transpose" else getattr(tf.nn, f"conv{n}d_transpose")
    try:
        results.append({"y": tf.cast(fn(x, f, **case), tf.float64).numpy().tolist()})
    except Exception as exc:
        results.append({"error": type(exc).__name__, "message": str(exc)[:600]})
print(json.dumps(results))
"""

# docs/semantics.md, 'TensorFlow quirks', and experiment: name -> (arguments, dtype, outcome with oneDNN off, with oneDNN on);
# an outcome is "ok", "unsupported" or the exception class. Unnamed arguments: 2-D, i = k = 3, s = 2, 'SAME'.
NAMED = {
    "dilation 2": (dict(dilations=2), "float32", "unsupported", "ok"),
    "dilation 2, float64": (dict(dilations=2), "float64", "unsupported", "unsupported"),
    "NCHW": (dict(data_format="NCHW"), "float32", "unsupported", "ok"),
    "groups 2": (dict(groups=2), "float32", "unsupported", "ok"),
    "groups 2, bfloat16": (dict(groups=2), "bfloat16", "unsupported", "ok"),
    "explicit pads, dilation 2": (dict(dilations=2, padding=[[0, 0], [2, 2], [2, 2], [0, 0]]), "float32",
                                  "unsupported", "unsupported"),
    "inadmissible output_shape": (dict(output_shape=(7, 6)), "float32", "InvalidArgumentError", "AbortedError"),
    "VALID prefix (1, 2, 2, 1)": (dict(input_size=(1, 1), kernel_size=(2, 2), output_shape=(1, 1), padding="VALID"),
                                  "float32", "InvalidArgumentError", "ok"),
}


def named_case(name):
    config, dtype, _, _ = NAMED[name]
    config = dict(config)
    case = dict(input_size=config.pop("input_size", (3, 3)), kernel_size=config.pop("kernel_size", (3, 3)),
                groups=config.pop("groups", 1), per_group_in=2, per_group_out=2, batch=1, api="conv_transpose")
    dilations = config.pop("dilations", 1)
    case["native"] = dict(output_shape=(6, 6), strides=(2, 2), dilations=(dilations,) * 2, padding="SAME",
                          data_format="NHWC")
    case["native"].update(config)
    return case, dtype


def child_payload(case, dtype):
    _, _, x_native, filters = operands(case, "float32" if dtype == "bfloat16" else dtype)
    native = case["native"]
    channels = case["groups"] * case["per_group_out"]
    output_shape = DIALECT.native_output_shape(native["output_shape"], case["batch"], channels, **native)
    return dict(ndim=len(case["input_size"]), api=case["api"], dtype=dtype, x=x_native.tolist(),
                filters=filters.tolist(),
                output_shape=output_shape, strides=list(native["strides"]), dilations=list(native["dilations"]),
                padding=native["padding"], data_format=native["data_format"])


@pytest.fixture(scope="module")
def other_build(tf):
    """{onednn: [(case, dtype, result)]} from child processes with TF_ENABLE_ONEDNN_OPTS=0 and =1."""
    batch = [named_case(name) for name in NAMED]
    batch += [(case, dtype) for case, dtype in zip(random_cases(7, 60, admissible=False), ["float32", "float64"] * 30)]
    payload = json.dumps([child_payload(case, dtype) for case, dtype in batch])
    children = {}
    for onednn in (False, True):
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1" if onednn else "0", TF_CPP_MIN_LOG_LEVEL="3")
        children[onednn] = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    results = {}
    for onednn, child in children.items():
        out, err = child.communicate(payload, timeout=300)
        assert child.returncode == 0, err[-2000:]
        results[onednn] = list(zip(batch, json.loads(out.strip().splitlines()[-1])))
    return results


@pytest.mark.parametrize("onednn", [False, True], ids=["onednn-off", "onednn-on"])
def test_both_onednn_settings(other_build, onednn):
    for (case, dtype), result in other_build[onednn]:
        outcome = outcome_of(case, dtype, onednn)
        where = f"[{dtype}, onednn={onednn}, {case}]"
        if outcome.kind != "ok":
            assert "error" in result, f"predicted {outcome.kind} ({outcome.reason}) but TF ran {where}"
            if outcome.error:
                assert result["error"] == outcome.error, f"{result} {where}"
            if outcome.kind == "unsupported":
                assert outcome.reason in result["message"], f"{result} {where}"
            continue
        assert "y" in result, f"predicted ok but TF raised {result} {where}"
        if dtype != "bfloat16":
            x, w, _, _ = operands(case, dtype)
            assert_matches_oracle(case, outcome.geometry, x, w, np.array(result["y"]), dtype)


def test_named_facts_per_setting(other_build):
    """The section 4 facts, spelled out for both settings."""
    for position, (name, (_, _, *expected)) in enumerate(NAMED.items()):
        observed = []
        for onednn in (False, True):
            result = other_build[onednn][position][1]
            unsupported = "y" not in result and "support" in result["message"]
            observed.append("ok" if "y" in result else "unsupported" if unsupported else result["error"])
        assert observed == expected, f"{name}: {observed}"
