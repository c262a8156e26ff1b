"""The Keras 3 dialect: its arithmetic, then Conv*DTranspose layers against the oracle.

Expected values come from Keras's documented output-size rules, from docs/semantics.md ('SAME conventions'
rows copied as data) or from running Keras; never from the dialect's own code. Pure tests need only
NumPy. The ``keras`` fixture runs layers in this process on the TensorFlow backend; the
``other_backends`` fixture runs a batch in subprocesses with ``KERAS_BACKEND=jax``, ``torch`` and ``numpy``.
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
from oracles.dialects import tensorflow as tf_dialect
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.keras import DIALECT, bias_on_last_axis, cpu_support
from oracles.geometry import Geometry
from semantics_data import SAME_TF_JAX_KERAS

PURE = settings(max_examples=150, deadline=None)
EXPERIMENT = settings(max_examples=40, deadline=None)

SAME_TABLE = SAME_TF_JAX_KERAS  # docs/semantics.md, 'SAME conventions'
LAYERS = {1: "Conv1DTranspose", 2: "Conv2DTranspose", 3: "Conv3DTranspose"}


def effective(k, d):
    return d * (k - 1) + 1


# ---- configurations, valid by construction --------------------------------------------------------

def build_case(pick, choose, *, rejectable=False):
    """Layer arguments Keras accepts: ``0 <= op < s``, and dilation > 1 only where every stride is 1.

    With ``rejectable``, one in four cases breaks one of those rules instead. 'same' with an even
    effective kernel and ``op = 0`` stays in: the TF backend rejects it, the others do not.
    """
    ndim = pick(1, 3)
    top = 3 if ndim == 3 else 4
    dilated = pick(0, 2) == 0
    stride = tuple(1 if dilated else pick(1, 3) for _ in range(ndim))
    dilation = tuple(pick(1, 2) if dilated else 1 for _ in range(ndim))
    output_padding = None if pick(0, 1) else tuple(pick(0, s - 1) for s in stride)
    breaks = pick(0, 3) == 0 if rejectable else False
    if breaks and choose(["output_padding", "strides with dilation"]) == "output_padding":
        output_padding = tuple(pick(s, s + 1) for s in stride)
    elif breaks:
        stride, dilation = (2,) + stride[1:], (1,) * (ndim - 1) + (2,)
    input_size = tuple(pick(1, top) for _ in range(ndim))
    kernel_size = tuple(pick(1, 4) for _ in range(ndim))
    padding = choose(["valid", "same", "SAME", "Valid"])
    if padding.lower() == "same" and output_padding is not None:
        # i = 1 with an even K and op = 0 is an empty output: outside the model, so step around it.
        output_padding = tuple(op + 1 if i == 1 and effective(k, d) % 2 == 0 and op == 0 and op + 1 < s else op
                               for op, i, k, d, s in zip(output_padding, input_size, kernel_size, dilation, stride))
        dims = zip(output_padding, input_size, kernel_size, dilation)
        if any(i == 1 and effective(k, d) % 2 == 0 and op == 0 for op, i, k, d in dims):
            output_padding = None
    native = dict(strides=stride, dilation_rate=dilation, output_padding=output_padding, padding=padding,
                  data_format=choose(["channels_last", "channels_first"]))
    return dict(input_size=input_size, kernel_size=kernel_size, native=native, batch=pick(1, 2), in_channels=pick(1, 3),
                filters=pick(1, 3))


@st.composite
def cases(draw, rejectable=False):
    return build_case(lambda lo, hi: draw(st.integers(lo, hi)), lambda seq: draw(st.sampled_from(seq)),
                      rejectable=rejectable)


def random_cases(seed, count):
    rng = np.random.default_rng(seed)
    pick, choose = (lambda lo, hi: int(rng.integers(lo, hi + 1))), (lambda seq: seq[int(rng.integers(len(seq)))])
    return [build_case(pick, choose) for _ in range(count)]


def canonical(case, backend="tensorflow"):
    return DIALECT.to_canonical(case["input_size"], case["kernel_size"], **case["native"], backend=backend)


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


# ---- experiments ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"in-process experiments need KERAS_BACKEND=tensorflow, not {keras.backend.backend()}")
    return keras


def onednn_enabled() -> bool:
    """The TF adapter's answer; imported here, not at the top, because that module imports TensorFlow."""
    from conformance.targets.tensorflow import onednn_enabled as adapter_onednn_enabled

    return adapter_onednn_enabled()


def operands(case, dtype, seed=0):
    """Canonical x, W, bias rounded to ``dtype`` (held as float64), and the native x and kernel."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((case["batch"], case["in_channels"], *case["input_size"])).astype(dtype).astype(np.float64)
    w = rng.standard_normal((case["in_channels"], case["filters"], *case["kernel_size"]))
    w = w.astype(dtype).astype(np.float64)
    bias = rng.standard_normal(case["filters"]).astype(dtype).astype(np.float64)
    native = case["native"]
    x_native, kernel = DIALECT.input_from_canonical(x, **native), DIALECT.weight_from_canonical(w, **native)
    return x, w, bias, x_native.astype(dtype), kernel.astype(dtype)


def assert_matches_oracle(case, geometry, x, w, bias, y_native, dtype, backend="tensorflow"):
    """Within the error bound of the oracle; the bias goes on the last axis where ``bias_on_last_axis`` says so."""
    y = DIALECT.input_to_canonical(np.asarray(y_native, dtype=np.float64), **case["native"])
    kwargs = dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding())
    if bias_on_last_axis(geometry.output_size, case["filters"], **case["native"], backend=backend):
        expected = oracles.conv_transpose(x, w, **kwargs) + bias
        bias = np.full_like(bias, np.abs(bias).max())  # the bound grows with |bias|: use the largest everywhere
    else:
        expected = oracles.conv_transpose(x, w, bias, **kwargs)
    assert y.shape == expected.shape, f"out.shape={y.shape}, but should be {expected.shape} [{case}]"
    bound = sum(oracles.error_bound(x, w, bias, dtype=name, **kwargs) for name in (dtype, "float64"))
    excess = np.abs(y - expected) - bound
    assert excess.max() <= 0, f"max |error| - bound = {excess.max():.3g} [{case}]"


def support_of(case, dtype):
    return cpu_support(case["input_size"], case["kernel_size"], dtype=dtype, onednn=onednn_enabled(), **case["native"])


def run_layer(keras, case, x_native, kernel, bias, dtype):
    layer_class = getattr(keras.layers, LAYERS[len(case["input_size"])])
    layer = layer_class(case["filters"], case["kernel_size"], dtype=dtype, **case["native"])
    layer.build(x_native.shape)
    layer.set_weights([kernel, bias.astype(dtype)])
    return keras.ops.convert_to_numpy(layer(x_native))


@EXPERIMENT
@given(cases(rejectable=True))
def test_layer_matches_oracle_or_raises(keras, case):
    """float64 where this build runs it, else float32 with its error bound; Rejected cases must raise."""
    try:
        geometry = canonical(case)
    except Rejected:
        event("rejected")
        x, w, bias, x_native, kernel = operands(case, "float32")
        with pytest.raises(Exception):
            run_layer(keras, case, x_native, kernel, bias, "float32")
        return
    support = {dtype: support_of(case, dtype) for dtype in ("float64", "float32")}
    dtype = next((d for d, reason in support.items() if reason is None), None)
    event(f"dtype={dtype}")
    if dtype is None:
        x, w, bias, x_native, kernel = operands(case, "float32")
        with pytest.raises(Exception, match=support["float32"]):
            run_layer(keras, case, x_native, kernel, bias, "float32")
        return
    x, w, bias, x_native, kernel = operands(case, dtype)
    assert_matches_oracle(case, geometry, x, w, bias, run_layer(keras, case, x_native, kernel, bias, dtype), dtype)


def test_float64_unsupported_where_predicted(keras):
    case = dict(input_size=(3, 3), kernel_size=(3, 3), batch=1, in_channels=2, filters=2,
                native=dict(strides=1, dilation_rate=2, padding="same", output_padding=None,
                            data_format="channels_last"))
    reason = cpu_support(case["input_size"], case["kernel_size"], dtype="float64", **case["native"])
    x, w, bias, x_native, kernel = operands(case, "float64")
    with pytest.raises(Exception, match=reason):
        run_layer(keras, case, x_native, kernel, bias, "float64")


# ---- the other backends, in subprocesses ----------------------------------------------------------

CHILD = r"""
import json, sys
import numpy as np
import keras
results = []
for case in json.load(sys.stdin):
    try:
        layer = getattr(keras.layers, case["layer"])(case["filters"], case["kernel_size"], **case["native"])
        x = np.asarray(case["x"], np.float32)
        layer.build(x.shape)
        layer.set_weights([np.asarray(case["kernel"], np.float32), np.asarray(case["bias"], np.float32)])
        results.append({"y": keras.ops.convert_to_numpy(layer(x)).astype(np.float64).tolist()})
    except Exception as exc:
        results.append({"error": type(exc).__name__, "message": str(exc)[:300]})
print(json.dumps(results))
"""

# Named: the even-K 'same' quirk (K = 4 and K = 2), and a dilated channels_first layer.
NAMED = [
    dict(input_size=(3,), kernel_size=(4,), native=dict(strides=(2,), padding="same", output_padding=(0,))),
    dict(input_size=(3, 3), kernel_size=(2, 3), native=dict(strides=(2, 1), padding="same", output_padding=(0, 0))),
    dict(input_size=(3, 3), kernel_size=(3, 2),
         native=dict(strides=(1, 1), dilation_rate=(2, 3), padding="same", data_format="channels_first")),
]


@pytest.fixture(scope="module")
def other_backends():
    """{backend: [(case, result)]}: each non-TF backend that imports, run once in a child process."""
    pytest.importorskip("keras")
    defaults = dict(output_padding=None, dilation_rate=1, data_format="channels_last")
    batch = [dict(case, batch=1, in_channels=2, filters=3, native=dict(defaults, **case["native"])) for case in NAMED]
    batch += random_cases(11, 40)
    payload = []
    for case in batch:
        x, w, bias, x_native, kernel = operands(case, "float32")
        payload.append(dict(layer=LAYERS[len(case["input_size"])], filters=case["filters"],
                            kernel_size=list(case["kernel_size"]), native=case["native"], x=x_native.tolist(),
                            kernel=kernel.tolist(), bias=bias.tolist()))
    # jax compiles every new shape (0.6 s or more a case on CPU): it gets the named cases and a few others.
    sizes = {"jax": len(NAMED) + 6, "torch": len(batch), "numpy": len(batch)}
    children = {}
    for backend, module in (("jax", "jax"), ("torch", "torch"), ("numpy", "jax")):
        try:
            __import__(module)
        except ImportError:
            continue
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        children[backend] = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if not children:
        pytest.skip("no other Keras backend is installed")
    results = {}
    for backend, child in children.items():
        out, err = child.communicate(json.dumps(payload[:sizes[backend]]), timeout=300)
        assert child.returncode == 0, err[-2000:]
        results[backend] = list(zip(batch, json.loads(out.strip().splitlines()[-1])))
    return results


@pytest.mark.parametrize("backend", ["jax", "torch", "numpy"])
def test_other_backends_match_oracle(other_backends, backend):
    if backend not in other_backends:
        pytest.skip(f"keras backend {backend} not installed")
    for case, result in other_backends[backend]:
        geometry = canonical(case, backend)
        assert "y" in result, f"predicted {geometry.padding()} but {backend} raised {result} [{case}]"
        x, w, bias, _, _ = operands(case, "float32")
        assert_matches_oracle(case, geometry, x, w, bias, np.array(result["y"]), "float32", backend)


def test_even_kernel_same_by_experiment(keras, other_backends):
    """docs/semantics.md, 'Keras quirks': TF raises, the other backends return length (i-1)*s."""
    case = dict(NAMED[0], batch=1, in_channels=2, filters=3)
    case["native"] = dict(case["native"], dilation_rate=1, data_format="channels_last")
    x, w, bias, x_native, kernel = operands(case, "float32")
    with pytest.raises(Exception) as raised:
        run_layer(keras, case, x_native, kernel, bias, "float32")
    assert type(raised.value).__name__ == ("AbortedError" if onednn_enabled() else "InvalidArgumentError")
    for backend, results in other_backends.items():
        assert np.array(results[0][1]["y"]).shape == (1, 4, 3), backend


def test_tensorflow_backend_adds_bias_on_last_axis(keras, other_backends):
    """Keras 3.15.1, TF backend, channels_first, last output length == filters: bias lands on the last axis."""
    case = dict(input_size=(2,), kernel_size=(2,), batch=1, in_channels=2, filters=3,
                native=dict(strides=1, dilation_rate=1, padding="valid", output_padding=None,
                            data_format="channels_first"))
    assert bias_on_last_axis((3,), 3, **case["native"])
    assert not bias_on_last_axis((3,), 3, **case["native"], backend="jax")
    reason = support_of(case, "float32")
    if reason:
        pytest.skip(f"channels_first does not run on this build: {reason}")
    x, w, bias, x_native, kernel = operands(case, "float32")
    y = run_layer(keras, case, x_native, kernel, bias, "float32")
    conv = oracles.conv_transpose(x, w)
    np.testing.assert_allclose(y, conv + bias, rtol=1e-5, atol=1e-5)  # bias[p] along the last axis
    assert not np.allclose(y, conv + bias[:, None], rtol=1e-5, atol=1e-5)  # not bias[m] per channel


@pytest.mark.xfail(strict=True, reason="jax 0.10.2: XLA CPU aborts the process (algebraic_simplifier.cc: Check failed: "
                   "Window dimensions do not match RHS shape) for this lax.conv_transpose; the dialect's geometry "
                   "is still what Keras asks for")
def test_jax_backend_even_kernel_same_with_small_second_dim():
    pytest.importorskip("keras")
    pytest.importorskip("jax")
    case = dict(input_size=(3, 2), kernel_size=(2, 3), batch=1, in_channels=2, filters=3,
                native=dict(strides=(2, 1), dilation_rate=1, padding="same", output_padding=(0, 0),
                            data_format="channels_last"))
    x, w, bias, x_native, kernel = operands(case, "float32")
    payload = json.dumps([dict(layer="Conv2DTranspose", filters=3, kernel_size=[2, 3], native=case["native"],
                               x=x_native.tolist(), kernel=kernel.tolist(), bias=bias.tolist())])
    child = subprocess.run([sys.executable, "-c", CHILD], input=payload, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, KERAS_BACKEND="jax"))
    assert child.returncode == 0, child.stderr[-500:]
    result = json.loads(child.stdout.strip().splitlines()[-1])[0]
    assert_matches_oracle(case, canonical(case, "jax"), x, w, bias, np.array(result["y"]), "float32", "jax")
