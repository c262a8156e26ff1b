"""Keras 3 Conv*DTranspose layers against the Keras dialect and the oracle.

Expected values come from running Keras; the dialect says what should happen and the oracle what the
values are. The ``keras`` fixture runs layers in this process on the TensorFlow backend; the
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

import oracles
from keras_cases import canonical, cases, random_cases
from oracles.dialects.base import Rejected
from oracles.dialects.keras import DIALECT, bias_on_last_axis, cpu_support

EXPERIMENT = settings(max_examples=40, deadline=None)

LAYERS = {1: "Conv1DTranspose", 2: "Conv2DTranspose", 3: "Conv3DTranspose"}


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
