"""tf.nn.conv*_transpose itself against the TensorFlow dialect and the oracle.

Expected values come from running TF; the dialect says what should happen and the oracle what the values
are. Tests take the ``tf`` fixture (skips without TensorFlow) and run on this process's build; the
``other_build`` fixture runs a batch of cases in subprocesses with ``TF_ENABLE_ONEDNN_OPTS=0`` and ``=1``.
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
from oracles.dialects.tensorflow import DIALECT, cpu_outcome
from tensorflow_cases import cases, random_cases

EXPERIMENT = settings(max_examples=40, deadline=None)


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
