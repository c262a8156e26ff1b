"""Self-tests of the TensorFlow adapter (``conformance.targets.tensorflow``), in process: forward,
gradients, repro snippets, devices, dtypes, environment and the worker pool.

Every expected value comes from the NumPy oracle or from a formula stated here, never from TF.
Outcomes that a CPU build cannot run are predicted by the dialects (``cpu_outcome``/``cpu_support``):
the adapter must raise ``Unsupported`` exactly there, quoting TF's own text. Native cases, what an
``Unsupported`` says, and translation (lanes, spaces) are in test_target_tensorflow_native.py; that
translation loads no TensorFlow, in tests/test_target_registry.py. One test goes through
``conformance.worker.WorkerPool``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import oracles
from conformance import backends
from conformance.cases import Case
from conformance.native import keras as keras_native
from conformance.native import tensorflow as tf_native
from conformance.strategies import cases
from conformance.targets.base import Lane, NotApplicable, Unsupported
from conformance.targets.tensorflow import TARGET, onednn_default
from oracles.bounds import gamma, unit_roundoff
from oracles.dialects import keras as keras_dialect
from oracles.dialects import tensorflow as tf_dialect
from tensorflow_target import (FEW, VARIANTS, assert_close, assert_quotes_tf, forward_bound, keras_expected, load_runtime, operands,
                               predicted_unsupported, rounded)

# TF's IsDataTypeSupportedByOneDNNOnThisCPU: bfloat16 takes oneDNN only with AVX512F or AVX-NE-CONVERT,
# float16 only with AVX512BW plus AVX512-FP16/AMX-FP16, or AVX-NE-CONVERT (elsewhere TF logs "oneDNN
# supports DT_HALF only on platforms with AVX-512" and uses Eigen). The dialects assume bfloat16 always
# and float16 never take oneDNN; their predictions for those dtypes are checked only where that holds.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        CPU_FLAGS = set(cpuinfo.read().split())
except OSError:
    CPU_FLAGS = set()
DIALECT_MODELS_DTYPE = {
    "bfloat16": bool({"avx512f", "avx_ne_convert"} & CPU_FLAGS),
    "float16": not ({"avx512_fp16", "amx_fp16", "avx_ne_convert"} & CPU_FLAGS),
}


@pytest.fixture(scope="module")
def runtime():
    return load_runtime()


def run(runtime, variant: str, case: Case, x, w, b, lane: Lane):
    """The variant's call on ``case``'s native parameters, as the runner makes it."""
    api = TARGET.variant(variant)
    return api.call(runtime, api.native(case), x, w, b, case.groups, lane)


# ---- forward on canonical cases -------------------------------------------------------------------

@st.composite
def expressible_cases(draw):
    """Canonical cases made from valid native TF or Keras parameters, so that the variants can express
    most of them (``cases()`` draws crops freely, and TF/Keras express only a few crop pairs)."""
    native = draw(st.sampled_from([tf_native, keras_native])).native_cases()
    case = draw(native)
    dialect = tf_dialect.DIALECT if case.dialect == "tensorflow" else keras_dialect.DIALECT
    try:
        geometry = dialect.to_canonical(case.input_size, case.kernel_size, **case.parameters)
    except ValueError:  # Rejected or an empty output
        assume(False)
    return Case(
        batch=case.batch, groups=case.groups, in_per_group=case.in_per_group, out_per_group=case.out_per_group,
        input_size=geometry.input_size, kernel_size=geometry.kernel_size, stride=geometry.stride, dilation=geometry.dilation,
        padding=geometry.padding(), output_padding=(0,) * geometry.ndim, bias=case.bias, values=case.values, seed=case.seed,
    )


CASES = st.one_of(cases(), expressible_cases(), expressible_cases())


@FEW
@given(CASES, st.sampled_from(["float64", "float32", "float32", "bfloat16", "float16"]))
def test_forward_matches_oracle(runtime, case, dtype):
    """Each variant agrees with the oracle within the bound (exactly for integer cases in float32/64),
    or raises Unsupported exactly where the dialect predicts, quoting TF's own refusal."""
    lane = Lane("cpu", dtype)
    x, w, b = operands(case, dtype)
    expected = oracles.conv_transpose(x, w, b, **case.oracle_kwargs())
    for variant in VARIANTS:
        api = TARGET.variant(variant)
        try:
            native = api.native(case)
        except NotApplicable:
            event(f"{variant}: not applicable")
            continue
        if not DIALECT_MODELS_DTYPE.get(dtype, True):
            event(f"{variant}: {dtype} on this CPU is not modelled by the dialect")
            continue
        if predicted_unsupported(variant, native, case, dtype, runtime.onednn):
            event(f"{variant}: unsupported")
            with pytest.raises(Unsupported) as raised:
                api.call(runtime, native, x, w, b, case.groups, lane)
            assert_quotes_tf(raised, keras=variant.startswith("keras"))
            continue
        event(f"{variant}: ran")
        y = api.call(runtime, native, x, w, b, case.groups, lane)
        assert str(y.dtype) == ("float32" if dtype == "bfloat16" else dtype)
        want, bound = (keras_expected(case, x, w, b, dtype, native) if variant.startswith("keras")  # its channels_first bias quirk
                       else (expected, forward_bound(case, x, w, b, dtype)))
        if case.values == "integer" and dtype in ("float32", "float64"):
            np.testing.assert_array_equal(y, want, err_msg=f"{variant} {case}")
        else:
            assert_close(y, want, bound, f"{variant} {dtype} {case}")


# ---- gradients ------------------------------------------------------------------------------------

def weight_gradient(x, upstream, case: Case) -> np.ndarray:
    """``dW`` of ``sum(upstream * conv_transpose(x, W))``: the oracle's (its adjointness to the forward
    transposed convolution is tested in tests/test_oracle_properties.py)."""
    return oracles.gradients.weight_gradient(x, upstream, case.kernel_size, **case.oracle_kwargs())


def conv3d_same_offset(case, native: dict, dtype: str, onednn: bool) -> bool:
    """Where TF's input gradient is wrong (a finding, see :func:`test_tf_conv3d_same_gradient_finding`).

    The input gradient of ``conv3d_transpose`` is ``tf.nn.conv3d(upstream, filters, padding='SAME')``.
    Off oneDNN (float64, float16, or ``TF_ENABLE_ONEDNN_OPTS=0``) that forward conv pads by
    ``((i-1)*s + K - o) / 2`` truncated toward zero, without TF's documented clamp at 0, so where
    ``o >= L + 2`` in some dim it reads the upstream gradient shifted by ``(o - L) // 2``.
    """
    geometry = case.geometry
    return (
        case.ndim == 3 and native["padding"] == "SAME"
        and not tf_dialect.uses_onednn(dtype=dtype, onednn=onednn, padding="SAME")
        and any(o - L >= 2 for L, o in zip(geometry.full_size, geometry.output_size))
    )


@FEW
@given(CASES, st.sampled_from(["float64", "float32"]))
def test_gradients_match_oracle(runtime, case, dtype):
    """``dx = conv(upstream, w, stride, padding=crops, dilation, groups)`` (the adjoint); ``dw`` per
    :func:`weight_gradient`; each within ``2 * gamma_n * magnitude`` (magnitude: the same formula on |.|)."""
    lane, api = Lane("cpu", dtype), TARGET.variant("nn")
    try:
        native = api.native(case)
    except NotApplicable:
        event("not applicable")
        return
    x, w, b = operands(case, dtype)
    shape = oracles.conv_transpose(x, w, **case.oracle_kwargs()).shape
    upstream = rounded(np.random.default_rng(case.seed).standard_normal(shape), dtype)
    if predicted_unsupported("nn", native, case, dtype, runtime.onednn):
        event("unsupported")
        with pytest.raises(Unsupported) as raised:
            api.gradients(runtime, native, x, w, b, case.groups, upstream, lane)
        assert_quotes_tf(raised)
        return
    event(dtype)
    dx, dw = api.gradients(runtime, native, x, w, b, case.groups, upstream, lane)
    g = case.geometry
    conv = dict(stride=g.stride, padding=g.padding(), dilation=g.dilation, groups=case.groups)
    u = unit_roundoff(dtype)
    n_dx = case.out_per_group * int(np.prod(case.kernel_size))
    n_dw = (case.batch or 1) * int(np.prod(case.input_size))
    if conv3d_same_offset(case, native, dtype, runtime.onednn):
        event("dx skipped: known TF conv3d SAME finding")
    else:
        assert_close(dx, oracles.conv(upstream, w, **conv), 2 * gamma(n_dx, u) * oracles.conv(abs(upstream), abs(w), **conv) + 1e-300, f"dx {case}")
    assert_close(dw, weight_gradient(x, upstream, case), 2 * gamma(n_dw, u) * weight_gradient(abs(x), abs(upstream), case) + 1e-300, f"dw {case}")


def test_tf_conv3d_same_gradient_finding(runtime):
    """A TF finding, pinned: the input gradient of a 3-D 'SAME' transposed conv with ``o >= L + 2``.

    ``i = k = 1, s = 3, o = 3`` (``L = 1``): ``y = [x*w, 0, 0]``, so ``dx = upstream[0] * w``; TF's
    float64 gradient gives ``upstream[1] * w``. Root cause: ``tf.nn.conv3d(z, 1x1x1, strides 3,
    'SAME')`` on ``z = [5, 7, 11]`` returns 7, where TF's SAME rule (pad ``max(0, -2) = 0``) and
    ``tf.nn.conv2d`` give 5. When this test fails, TF fixed it: drop :func:`conv3d_same_offset`.
    """
    case = Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(1, 1, 1), kernel_size=(1, 1, 1),
                stride=(3, 1, 1), dilation=(1, 1, 1), padding=((0, -2), (0, 0), (0, 0)), output_padding=(0, 0, 0), bias=False)
    api = TARGET.variant("nn")
    native = api.native(case)
    assert native["padding"] == "SAME"
    x, w = np.full((1, 1, 1, 1, 1), 2.0), np.full((1, 1, 1, 1, 1), 3.0)
    upstream = np.array([5.0, 7.0, 11.0]).reshape(1, 1, 3, 1, 1)
    np.testing.assert_array_equal(api.call(runtime, native, x, w, None, 1, Lane("cpu", "float64")).ravel(), [6, 0, 0])
    dx, dw = api.gradients(runtime, native, x, w, None, 1, upstream, Lane("cpu", "float64"))
    assert dw.ravel().tolist() == [10.0]  # upstream[0] * x: right
    assert dx.ravel().tolist() == [21.0]  # upstream[1] * w; the right value is upstream[0] * w = 15


def test_gradients_only_for_nn():
    """Only ``nn`` says it checks gradients; the others decline without touching TF (no runtime needed)."""
    case = Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(2,), stride=(2,),
                dilation=(1,), padding=((0, 0),), output_padding=(0,), bias=False)
    x, w, _ = case.arrays()
    assert [v.name for v in TARGET.variants if v.checks_gradients] == ["nn"]
    for variant in ("nn_channels_first", "keras", "keras_channels_first"):
        api = TARGET.variant(variant)
        with pytest.raises(NotApplicable):
            api.gradients(None, api.native(case), x, w, None, 1, np.ones((1, 1, 6)), Lane("cpu", "float32"))


# ---- repro snippets -------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(st.one_of(cases(max_groups=1), expressible_cases()), st.sampled_from(VARIANTS), st.sampled_from(["float32", "bfloat16"]))
def test_repro_snippets_run_and_agree(runtime, case, variant, dtype):
    lane, api = Lane("cpu", dtype, backend="onednn" if runtime.onednn else "eigen"), TARGET.variant(variant)
    try:
        native = api.native(case)
    except NotApplicable:
        return
    snippet = api.repro(case, native, lane)
    if not DIALECT_MODELS_DTYPE.get(dtype, True) or predicted_unsupported(variant, native, case, dtype, runtime.onednn):
        return
    x, w, b = operands(case, dtype)
    scope = dict(x=x, w=w, bias=b)
    exec(snippet, scope)  # noqa: S102 (the point of the test)
    np.testing.assert_array_equal(scope["y"], api.call(runtime, native, x, w, b, case.groups, lane), err_msg=snippet)


# ---- devices, dtypes, environment, worker ----------------------------------------------------------

def test_cpu_dtypes_run(runtime):
    case = Case(batch=2, groups=1, in_per_group=2, out_per_group=2, input_size=(3, 2), kernel_size=(2, 2), stride=(2, 1),
                dilation=(1, 1), padding=((0, 0), (0, 0)), output_padding=(0, 0), bias=True, values="integer")
    assert runtime.devices()[0] == "cpu"
    for dtype in runtime.dtypes("cpu"):
        x, w, b = operands(case, dtype)
        y = run(runtime, "nn", case, x, w, b, Lane("cpu", dtype))
        np.testing.assert_array_equal(y, oracles.conv_transpose(x, w, b, **case.oracle_kwargs()), err_msg=dtype)


def test_environment(runtime):
    env = runtime.environment()
    assert env["version"] and env["keras_backend"] == "tensorflow" and "onednn_enabled" in env


def test_through_worker_pool():
    """Both process settings of ``TARGET`` as workers: oneDNN on and off as declared (on where the build
    has it: x86-64 Linux/Windows), the call's result the oracle's, and each worker refusing what its
    kernels lack in TF's own words."""
    from conformance.worker import WorkerPool

    assert backends.workers("tensorflow") == ["tensorflow@onednn", "tensorflow@eigen"]
    case = Case(batch=None, groups=1, in_per_group=2, out_per_group=2, input_size=(4, 3), kernel_size=(3, 2), stride=(2, 2),
                dilation=(1, 1), padding=((0, 1), (0, 0)), output_padding=(0, 0), bias=True, seed=7)
    grouped_3d = Case(batch=1, groups=2, in_per_group=1, out_per_group=1, input_size=(2, 2, 2), kernel_size=(2, 2, 2),
                      stride=(1, 1, 1), dilation=(1, 1, 1), padding=((0, 0),) * 3, output_padding=(0, 0, 0), bias=False)
    x, w, b = case.arrays(np.float32)
    nn, channels_first = TARGET.variant("nn"), TARGET.variant("nn_channels_first")
    pool = WorkerPool(timeout=60)
    try:
        pool.start(["tensorflow@onednn", "tensorflow@eigen"])  # their TF imports overlap
        environments = {backend: pool.call(f"tensorflow@{backend}", "environment") for backend in ("onednn", "eigen")}
        results = {backend: pool.call(f"tensorflow@{backend}", "call", "nn", nn.native(case), x, w, b, 1, Lane("cpu", "float32", backend=backend))
                   for backend in ("onednn", "eigen")}
        assert pool.call("tensorflow@eigen", "backends", "cpu", "float32") == ("eigen",)
        with pytest.raises(Unsupported, match="Conv2DCustomBackpropInputOp only supports NHWC"):
            pool.call("tensorflow@eigen", "call", "nn_channels_first", channels_first.native(case), x, w, b, 1, Lane("cpu", "float32", backend="eigen"))
        x3, w3, _ = grouped_3d.arrays(np.float32)
        with pytest.raises(Unsupported, match="input and filter must have the same depth" if onednn_default() else None):
            pool.call("tensorflow@onednn", "call", "nn", nn.native(grouped_3d), x3, w3, None, 2, Lane("cpu", "float32", backend="onednn"))
    finally:
        pool.close()
    assert environments["eigen"]["TF_ENABLE_ONEDNN_OPTS"] == "0" and not environments["eigen"]["onednn_enabled"]
    assert environments["onednn"]["TF_ENABLE_ONEDNN_OPTS"] == "1" and environments["onednn"]["onednn_enabled"] == onednn_default()
    for environment in environments.values():
        assert environment["intra_op_threads"] == int(os.environ.get("CONVT_TF_THREADS", "1"))
    expected = oracles.conv_transpose(x, w, b, **case.oracle_kwargs())
    for y in results.values():
        assert_close(y, expected, forward_bound(case, x, w, b, "float32"), f"{case}")
