"""ONNX Runtime's own behaviour, pinned as facts of onnxruntime 1.32.0: which dtypes its CPU provider
runs and how (float16 through Casts), its error messages, how it reads ``output_shape`` entries of -1
(against onnx.reference too), and what static input shapes do to those and to negative pads; each
checked against the onnx dialect (``runtime="onnxruntime"``) where the dialect models it.

The expected facts were taken from onnxruntime 1.32.0 itself and are written out here, not read from the
adapter (tests/test_target_onnxruntime.py tests the adapter).
"""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import oracles
from conformance.targets import onnxruntime as adapter
from conformance.targets.base import FrameworkError, Lane
from oracles.dialects.base import Rejected
from oracles.dialects.onnx import ONNXRUNTIME

CPU32, CPU16 = Lane("cpu", "float32"), Lane("cpu", "float16")
PINNED = ort.__version__ == "1.32.0"  # the version constraints/cpu.txt pins; facts below were read from it


@pytest.fixture(scope="module")
def runtime():
    return adapter.OrtRuntime()


# ---- dtypes ---------------------------------------------------------------------------------------------

def direct_session_runs(dtype: str) -> bool:
    """Independently of the adapter: does a plain float ConvTranspose model of ``dtype`` run on the CPU provider?"""
    element = {"float16": onnx.TensorProto.FLOAT16, "float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE}[dtype]
    helper = onnx.helper
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, element, None) for n in "xw"],
                              [helper.make_tensor_value_info("y", element, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        session.run(None, {"x": np.ones((1, 1, 2), dtype), "w": np.ones((1, 1, 2), dtype)})
    except Exception:  # noqa: BLE001  (any ORT failure: the dtype does not run)
        return False
    return True


def test_cpu_dtypes_are_the_ones_that_run(runtime):
    dtypes = runtime.dtypes("cpu")
    assert set(dtypes) == {dtype for dtype in ("float16", "float32", "float64") if direct_session_runs(dtype)}
    if PINNED:
        assert dtypes == ("float32", "float16")  # no float64 kernel on ORT 1.32's CPU provider


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
def test_cpu_float16_is_float32_arithmetic_between_casts(runtime):
    """ORT 1.32's CPU provider has no float16 ConvTranspose: it inserts Casts around the float32 kernel.
    64 terms, 2048 + 63 * 1: float16 accumulation stays at 2048 (2049 is not a float16); float32
    accumulation gives 2111, rounded once to the float16 2112."""
    assert runtime.environment()["float16_via_casts"] is True
    x = np.ones((1, 64, 1), np.float16)
    x[0, 0, 0] = 2048
    y = runtime.run({}, x, np.ones((64, 1, 1), np.float16), None, 1, CPU16)
    assert y.dtype == np.float16 and y.tolist() == [[[2112.0]]]


# ---- ORT's own verdicts (messages copied from onnxruntime 1.32.0) ---------------------------------------

ORT_ERRORS = [
    # op < max(s, d) but op >= s: torch accepts it; ORT's shape check does not (onnxruntime#14208).
    (dict(strides=(1,), dilations=(2,), output_padding=(1,)), "InvalidArgument",
     "Computed output shape is inconsistent with input spatial dimensions. output_padding (1) may be too large for stride (1)"),
    (dict(strides=(2,), output_padding=(2,)), "InvalidArgument",
     "output_padding[0] (2) must be less than max(stride, dilation) (2) for spatial dimension 0."),
    (dict(output_padding=(-1,)), "InvalidArgument", "Output padding must be non-negative. Got: -1"),
    (dict(auto_pad="SAME_UPPER", pads=(0, 0)), "Fail",
     "auto_pad == AutoPadType::NOTSET was false. A Conv/ConvTranspose node has both 'auto_pad' and 'pads' attributes"),
    (dict(output_shape=(0,)), "InvalidArgument", "Explicit output size must be positive. Got: 0"),
    (dict(strides=(2,), output_shape=(10,)), "InvalidArgument",
     "Explicit output_shape is inconsistent with input spatial dimensions and convolution parameters."),
    (dict(pads=(3, 3)), "InvalidArgument", "Computed output dimension is <= 0 for dim 0."),
]


@pytest.mark.skipif(not PINNED, reason="messages of ORT 1.32.0")
@pytest.mark.parametrize("native, kind, message", ORT_ERRORS, ids=[str(n) for n, _, _ in ORT_ERRORS])
def test_ort_errors(runtime, native, kind, message):
    x, w = np.ones((1, 1, 3), np.float32), np.ones((1, 1, 3), np.float32)
    with pytest.raises(FrameworkError) as raised:
        runtime.run({**native, "runtime": "onnxruntime"}, x, w, None, 1, CPU32)
    assert raised.value.kind == kind and message in raised.value.message
    with pytest.raises(Rejected):  # and the dialect says so
        ONNXRUNTIME.to_canonical(3, 3, **native)


W_SHAPES = {  # how W's shape reaches the session: ONNX shape inference checks the node once it knows it
    "symbolic": dict(x=["N", "C", "I0"], w=["C", "M", "K0"]),
    "static X only": dict(x=[1, 1, 2], w=["C", "M", "K0"]),
    "static": dict(x=[1, 1, 2], w=[1, 1, 3]),
    "static W only": dict(x=["N", "C", "I0"], w=[1, 1, 3]),
    "kernel_shape": dict(x=["N", "C", "I0"], w=["C", "M", "K0"], kernel_shape=[3]),
    "W initializer": dict(x=["N", "C", "I0"], w=None),
}


def session_outcome(label: str, attributes: dict, x, w):
    """Y from a one-node model whose W reaches the session as ``W_SHAPES[label]`` says, or the error as text."""
    spec = W_SHAPES[label]
    helper, element = onnx.helper, onnx.TensorProto.FLOAT
    extra = {"kernel_shape": spec["kernel_shape"]} if "kernel_shape" in spec else {}
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], **attributes, **extra)
    inputs = [helper.make_tensor_value_info("X", element, spec["x"])]
    if spec["w"] is not None:
        inputs.append(helper.make_tensor_value_info("W", element, spec["w"]))
    initializers = [] if spec["w"] is not None else [onnx.numpy_helper.from_array(w, "W")]
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("Y", element, None)], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    feeds = {"X": x, **({"W": w} if spec["w"] is not None else {})}
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
@pytest.mark.parametrize("label", list(W_SHAPES))
def test_negative_pads_run_only_while_w_shape_is_unknown(label):
    """Why the adapter's inputs have symbolic dims: once W's shape is known, ONNX shape inference (run when
    the session is created) rejects negative pads; without it the kernel appends zeros, as the dialect says."""
    x, w = np.arange(1, 3, dtype=np.float32).reshape(1, 1, 2), np.ones((1, 1, 3), np.float32)
    outcome = session_outcome(label, dict(pads=[-1, 0]), x, w)
    if label in ("symbolic", "static X only"):
        geometry = ONNXRUNTIME.to_canonical(2, 3, pads=(-1, 0))
        assert outcome.tolist() == [[[0.0, 1.0, 3.0, 3.0, 2.0]]]
        np.testing.assert_array_equal(oracles.conv_transpose(x, w, padding=geometry.padding()), outcome)
    else:
        assert "Fail" in outcome and "Attribute pads must not contain negative values" in outcome


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
@pytest.mark.parametrize("label", list(W_SHAPES))
def test_output_shape_minus_one_runs_only_while_w_shape_is_unknown(label):
    """The same for an output_shape of -1: the kernel reads it as "not given" (pads [1, 0] apply), shape
    inference, once it knows W's shape, rejects it when the session is created."""
    x, w = np.arange(1, 3, dtype=np.float32).reshape(1, 1, 2), np.ones((1, 1, 3), np.float32)
    outcome = session_outcome(label, dict(output_shape=[-1], pads=[1, 0]), x, w)
    if label in ("symbolic", "static X only"):
        geometry = ONNXRUNTIME.to_canonical(2, 3, output_shape=(-1,), pads=(1, 0))
        assert outcome.tolist() == [[[3.0, 3.0, 2.0]]]
        np.testing.assert_array_equal(oracles.conv_transpose(x, w, padding=geometry.padding()), outcome)
    else:
        assert "Fail" in outcome and "Attribute output_shape must not contain negative values" in outcome


# output_shape -1: ORT reads it as "not given" in that dim (pads/auto_pad apply there), and so does the dialect.
MINUS_ONE = [
    (dict(output_shape=(-1,)), [[[1.0, 4.0, 10.0, 12.0, 9.0]]]),  # as if no output_shape: L = 5
    (dict(output_shape=(-1,), pads=(1, 1)), [[[4.0, 10.0, 12.0]]]),  # pads apply (they are ignored with output_shape 5)
    (dict(output_shape=(5,), pads=(1, 1)), [[[1.0, 4.0, 10.0, 12.0, 9.0]]]),
    (dict(output_shape=(-1,), strides=(2,), auto_pad="SAME_UPPER"), [[[1.0, 2.0, 5.0, 4.0, 9.0, 6.0]]]),
]


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
@pytest.mark.parametrize("native, values", MINUS_ONE, ids=[str(n) for n, _ in MINUS_ONE])
def test_output_shape_minus_one_is_read_as_not_given(runtime, native, values):
    x = w = np.arange(1, 4, dtype=np.float32).reshape(1, 1, 3)
    assert runtime.run(native, x, w, None, 1, CPU32).tolist() == values


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
def test_output_shape_below_minus_one_is_rejected(runtime):
    x = w = np.arange(1, 4, dtype=np.float32).reshape(1, 1, 3)
    with pytest.raises(FrameworkError, match="Explicit output size must be positive. Got: -2"):
        runtime.run({"output_shape": (-2,)}, x, w, None, 1, CPU32)


def test_dialect_models_output_shape_minus_one():
    """The dialect reads -1 as ORT 1.32 does: on its geometry the oracle gives each MINUS_ONE row's values.
    (test_output_shape_minus_one_by_experiment below runs the rule's rows.)"""
    geometry = ONNXRUNTIME.to_canonical(3, 3, output_shape=(-1,), pads=(1, 1))
    assert (geometry.crop_before, geometry.crop_after) == ((1,), (1,))
    x = w = np.arange(1, 4, dtype=np.float64).reshape(1, 1, 3)
    for native, values in MINUS_ONE:
        geometry = ONNXRUNTIME.to_canonical(3, 3, **native)
        got = oracles.conv_transpose(x, w, stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding())
        assert got.tolist() == values, native


# The rule for output_shape -1, row by row: crops derived by hand (the -1 dims as if there were no
# output_shape, docs/semantics.md 'ONNX'; the other dims from their o), or "rejected".
MINUS_ONE_CROPS = [
    ((3,), (3,), dict(output_shape=[-1], pads=[1, 1]), ((1, 1),)),  # pads apply (ignored beside o = 5)
    ((3,), (3,), dict(output_shape=[-1], pads=[-1, 0]), ((-1, 0),)),
    ((3,), (3,), dict(output_shape=[-1], strides=[2], auto_pad="SAME_UPPER"), ((0, 1),)),  # T = K - s = 1
    ((3,), (3,), dict(output_shape=[-1], strides=[2], auto_pad="SAME_LOWER"), ((1, 0),)),
    ((3,), (1,), dict(output_shape=[-1], strides=[2], auto_pad="SAME_UPPER"), ((0, 0),)),  # T = -1 clamped: o = 5
    ((3,), (3,), dict(output_shape=[-1], strides=[2], auto_pad="VALID"), ((0, 0),)),
    ((3,), (3,), dict(output_shape=[-1], strides=[2], output_padding=[1], pads=[1, 0]), ((1, -1),)),
    ((3, 4), (2, 3), dict(output_shape=[-1, 5], pads=[1, 1, 1, 1]), ((1, 1), (1, 0))),  # dim 1: T = 6 - 5, odd one first
    ((3, 4), (2, 3), dict(output_shape=[7, -1], strides=[2, 2], auto_pad="SAME_LOWER"), ((0, -1), (1, 0))),  # L = (6, 9)
    ((3, 4), (2, 3), dict(output_shape=[-1, -1], pads=[1, 2, 0, 1]), ((1, 0), (2, 1))),  # all -1: no output_shape
    ((3,), (3,), dict(output_shape=[-1], pads=[3, 3]), "rejected"),  # o = 5 - 6
    ((3,), (3,), dict(output_shape=[-1], dilations=[2], output_padding=[1]), "rejected"),  # op >= s (onnxruntime#14208)
    ((3,), (3,), dict(output_shape=[-1], strides=[2], auto_pad="SAME_UPPER", pads=[0, 0]), "rejected"),
    ((3,), (3,), dict(output_shape=[-2]), "rejected"),
    ((3, 4), (2, 3), dict(output_shape=[-1, 0]), "rejected"),
    ((3, 4), (2, 3), dict(output_shape=[-1, 9]), "rejected"),  # dim 1: o > L + s - 1 = 6
]


@pytest.mark.skipif(not PINNED, reason="ORT 1.32.0 facts")
@pytest.mark.parametrize("i, k, native, expected", MINUS_ONE_CROPS, ids=[f"i{i}-k{k}-{n}" for i, k, n, _ in MINUS_ONE_CROPS])
def test_output_shape_minus_one_by_experiment(i, k, native, expected):
    """onnxruntime gives the row's crops, or raises where the dialect rejects; onnx.reference takes -1 as a
    length and fails on every row, as the dialect's runtime="reference" says."""
    from onnx.reference import ReferenceEvaluator

    helper, element = onnx.helper, onnx.TensorProto.FLOAT
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], **native)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, element, None) for n in "xw"],
                              [helper.make_tensor_value_info("y", element, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    feeds = {"x": np.arange(1, np.prod(i) + 1, dtype=np.float32).reshape(1, 1, *i),
             "w": np.arange(1, np.prod(k) + 1, dtype=np.float32).reshape(1, 1, *k)}
    with pytest.raises(ValueError):
        ReferenceEvaluator(model).run(None, feeds)
    with pytest.raises(Rejected):
        ONNXRUNTIME.to_canonical(i, k, runtime="reference", **native)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        got = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    except Exception as error:  # noqa: BLE001  (ORT's verdict; the dialect must agree)
        assert expected == "rejected", error
        with pytest.raises(Rejected):
            ONNXRUNTIME.to_canonical(i, k, **native)
        return
    assert expected != "rejected", got.shape
    geometry = ONNXRUNTIME.to_canonical(i, k, **native)
    assert tuple(zip(geometry.crop_before, geometry.crop_after)) == expected
    want = oracles.conv_transpose(feeds["x"], feeds["w"], stride=native.get("strides", 1), dilation=native.get("dilations", 1),
                                  padding=expected)
    np.testing.assert_array_equal(got, want)
