"""The Keras 3 dialect's arithmetic: output sizes per backend, round trips, rejections and CPU support.

Expected values come from Keras's documented output-size rules or from docs/semantics.md ('SAME
conventions' rows copied as data); never from the dialect's own code. These tests need only NumPy;
the layers themselves run in test_dialect_keras_experiments.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from keras_cases import canonical, cases, effective
from oracles.dialects import tensorflow as tf_dialect
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.keras import DIALECT, cpu_support
from oracles.geometry import Geometry
from semantics_data import SAME_TF_JAX_KERAS

PURE = settings(max_examples=150, deadline=None)

SAME_TABLE = SAME_TF_JAX_KERAS  # docs/semantics.md, 'SAME conventions'


# ---- pure arithmetic ------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, crops", SAME_TABLE)
def test_same_reproduces_semantics_table(sizes, crops):
    i, k, s = sizes
    assert DIALECT.same_conventions(i, k, s)["same"].padding() == (crops,)
    assert DIALECT.to_canonical(i, k, strides=s, padding="same").padding() == (crops,)


@PURE
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 4), st.data())
def test_documented_output_sizes(i, k, s, data):
    """valid: o = (i-1)*s + K + op, op = None -> max(K, s) - K; same: o = i*s, or (i-1)*s + K%2 + op."""
    d = data.draw(st.integers(1, 3)) if s == 1 else 1
    K = effective(k, d)
    op = data.draw(st.one_of(st.none(), st.integers(0, s - 1)))
    L = (i - 1) * s + K
    valid = DIALECT.to_canonical(i, k, strides=s, dilation_rate=d, padding="valid", output_padding=op)
    assert valid.output_size == (L + (max(K, s) - K if op is None else op),)
    assert valid.padding() == ((0, -(max(K, s) - K if op is None else op)),)
    o = i * s if op is None else (i - 1) * s + K % 2 + op
    if o < 1:
        return
    same = DIALECT.to_canonical(i, k, strides=s, dilation_rate=d, padding="same", output_padding=op, backend="jax")
    cb = max(0, L - o) // 2  # TF 'SAME' crops for this o
    assert same.padding() == ((cb, L - cb - o),)


@PURE
@given(cases())
def test_tensorflow_backend_is_tf_same_or_valid(case):
    """The TF backend calls tf.nn.conv_transpose with Keras's o: both dialects must agree."""
    try:
        geometry = canonical(case)
    except Rejected:
        event("rejected on TF")
        return
    arguments = DIALECT.tensorflow_arguments(case["input_size"], case["kernel_size"], **case["native"])
    assert tf_dialect.DIALECT.to_canonical(case["input_size"], case["kernel_size"], **arguments) == geometry


@PURE
@given(cases(), st.sampled_from(["jax", "torch", "numpy"]))
def test_backends_agree_except_even_kernel_same(case, backend):
    geometry = canonical(case, backend)
    try:
        assert canonical(case) == geometry
    except Rejected:
        native = case["native"]
        assert native["padding"].lower() == "same"
        assert any(effective(k, d) % 2 == 0 and op == 0 for k, d, op in
                   zip(case["kernel_size"], native["dilation_rate"], native["output_padding"] or ()))


@PURE
@given(cases(), st.sampled_from(["tensorflow", "jax"]))
def test_round_trip(case, backend):
    try:
        geometry = canonical(case, backend)
    except Rejected:
        return
    native = DIALECT.from_canonical(geometry, backend=backend)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, **native) == geometry


def test_even_kernel_same_with_zero_output_padding():
    """K = 4, s = 2, i = 3, op = 0: TF backend raises; jax/torch/numpy give o = (i-1)*s = 4."""
    with pytest.raises(Rejected, match="even effective kernel"):
        DIALECT.to_canonical(3, 4, strides=2, padding="same", output_padding=0)
    geometry = DIALECT.to_canonical(3, 4, strides=2, padding="same", output_padding=0, backend="jax")
    assert geometry.output_size == (4,) and geometry.padding() == ((2, 2),)
    with pytest.raises(NotExpressible):
        DIALECT.from_canonical(geometry, backend="tensorflow")
    assert DIALECT.from_canonical(geometry, backend="jax")["output_padding"] == (0,)


def test_empty_same_output_is_outside_the_model():
    with pytest.raises(tf_dialect.EmptyOutput):
        DIALECT.to_canonical(1, 2, strides=2, padding="same", output_padding=0, backend="jax")


REJECTED = [
    dict(strides=2, output_padding=2),  # op must be < stride
    dict(strides=1, dilation_rate=2, output_padding=1),  # ... even where dilation would allow it (torch does)
    dict(strides=2, output_padding=-1),
    dict(strides=2, dilation_rate=2),
    dict(strides=0),
    dict(dilation_rate=0),
    dict(padding="causal"),
    dict(padding=[1, 1]),
    dict(data_format="NWC"),
]


@pytest.mark.parametrize("native", REJECTED)
def test_rejected(native):
    with pytest.raises(Rejected):
        DIALECT.to_canonical(3, 3, **native)


def test_strides_and_dilation_in_different_dims_rejected():
    with pytest.raises(Rejected, match="dilation_rate > 1"):
        DIALECT.to_canonical((3, 3), (3, 3), strides=(2, 1), dilation_rate=(1, 2))


@pytest.mark.parametrize("geometry, backend", [
    (Geometry((3,), (3,), (1,), (1,), (-1,), (0,)), "jax"),  # zeros before the output
    (Geometry((3,), (3,), (1,), (1,), (0,), (1,)), "jax"),  # o = 4 is not in (2, 3]
    (Geometry((3,), (3,), (2,), (2,), (0,), (0,)), "jax"),  # stride and dilation together
    (Geometry((3,), (4,), (2,), (1,), (2,), (2,)), "tensorflow"),  # even K, op = 0
])
def test_not_expressible(geometry, backend):
    with pytest.raises(NotExpressible):
        DIALECT.from_canonical(geometry, backend=backend)


def test_weight_layout_by_formula():
    kernel = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # (kh, kw, filters, in)
    w = DIALECT.weight_to_canonical(kernel)
    assert w.shape == (5, 4, 2, 3) and w[3, 2, 1, 0] == kernel[1, 0, 2, 3]
    np.testing.assert_array_equal(DIALECT.weight_from_canonical(w), kernel)


def test_cpu_support_only_on_tensorflow():
    dilated = dict(dilation_rate=2, padding="same")
    assert cpu_support((3, 3), (3, 3), dtype="float32", onednn=True, **dilated) is None
    assert cpu_support((3, 3), (3, 3), dtype="float64", **dilated).startswith("Current CPU implementations")
    assert cpu_support((3, 3), (3, 3), dtype="float64", backend="jax", **dilated) is None
    assert "NHWC" in cpu_support((3, 3), (3, 3), dtype="float32", onednn=False, data_format="channels_first")

