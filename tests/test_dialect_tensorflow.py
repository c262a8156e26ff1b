"""The TensorFlow dialect's arithmetic: output-size rules, round trips, rejections and CPU support.

Expected values come from TF's documented rules or from docs/semantics.md ('SAME conventions' rows copied
as data); never from the dialect's own code. These tests need only NumPy; tf.nn.conv*_transpose itself
is run in test_dialect_tensorflow_experiments.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.tensorflow import DIALECT, EmptyOutput, cpu_outcome, cpu_support, onednn_valid_prefix, uses_onednn
from oracles.geometry import Geometry
from semantics_data import SAME_TF_JAX_KERAS
from tensorflow_cases import cases, full_length

PURE = settings(max_examples=150, deadline=None)

SAME_TABLE = SAME_TF_JAX_KERAS  # docs/semantics.md, 'SAME conventions'


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
