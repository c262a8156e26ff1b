"""Self-tests of the TensorFlow adapter (``conformance.targets.tensorflow``), in process.

Every expected value comes from the NumPy oracle or from a formula stated here, never from TF.
Outcomes that a CPU build cannot run are predicted by the dialects (``cpu_outcome``/``cpu_support``):
the adapter must raise ``Unsupported`` exactly there, and ``FrameworkError`` where the dialect says
TF rejects the arguments. What an ``Unsupported`` says is checked against TensorFlow's own texts (a
table of them, and TF called directly here), never against the reason the adapter builds it from.
Translation (``native``, ``space``, ``repro``) must not load TensorFlow: checked in a fresh process.
One test goes through ``conformance.worker.WorkerPool``.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import oracles
from conformance import backends
from conformance.cases import Case
from conformance.native import keras as keras_native
from conformance.native import tensorflow as tf_native
from conformance.strategies import cases, lane_cases
from conformance.targets.base import FrameworkError, Lane, NotApplicable, Unsupported
from conformance.targets.tensorflow import TARGET, onednn_default  # imports no TensorFlow (test_translation_imports_no_framework)
from oracles.bounds import gamma, unit_roundoff
from oracles.dialects import keras as keras_dialect
from oracles.dialects import tensorflow as tf_dialect
from oracles.dialects.base import NotExpressible, Rejected

FEW = settings(max_examples=25, deadline=None)
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
VARIANTS = ("nn", "nn_channels_first", "keras")
KERAS = TARGET.variant("keras")

# What TensorFlow's CPU kernels say when they lack a feature (tensorflow/core/kernels/conv_grad_input_ops.cc,
# conv_grad_ops_3d.cc, mkl/mkl_conv_grad_input_ops.cc), as TF 2.21 raises them; Keras wraps any of them
# in a first line of its own.
TF_CANNOT_RUN = (
    "Conv2DCustomBackpropInputOp only supports NHWC",
    "Conv3DBackpropInputOpV2 only supports NDHWC on the CPU",
    "Current CPU implementations do not yet support dilation rates larger than 1",  # 2-D (and 1-D)
    "Current CPU implementation does not yet support dilation rates larger than 1",  # 3-D
    "Gradients for grouped convolutions are not supported on CPU",
    "input and filter_sizes must have the same number of channels",  # grouped 3-D, Eigen
    "input and filter must have the same depth",  # grouped 3-D, oneDNN
)
KERAS_WRAPPER = re.compile(r"Exception encountered when calling Conv[123]DTranspose\.call\(\)")


@pytest.fixture(scope="module")
def runtime():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("tensorflow")
    return TARGET.runtime()


@pytest.fixture(scope="module")
def tf(runtime):
    import tensorflow

    return tensorflow


def run(runtime, variant: str, case: Case, x, w, b, lane: Lane):
    """The variant's call on ``case``'s native parameters, as the runner makes it."""
    api = TARGET.variant(variant)
    return api.call(runtime, api.native(case), x, w, b, case.groups, lane)


def tf_first_line(error: BaseException) -> str:
    """The first line of TF's message, without the ``{{function_node ...}}`` device prefix of eager errors."""
    return re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", str(error).strip().splitlines()[0])


def assert_quotes_tf(raised: pytest.ExceptionInfo, keras: bool = False) -> None:
    """The Unsupported message quotes what TF (or Keras) raised, and that is one of their own can't-run texts."""
    quoted = re.search(r"\(TF (\w+): (.*)\)$", str(raised.value))
    assert quoted and quoted[1] == "InvalidArgumentError", raised.value
    assert (KERAS_WRAPPER.match(quoted[2]) if keras else quoted[2].startswith(TF_CANNOT_RUN)), raised.value


def rounded(array, dtype: str):
    """``array`` rounded to ``dtype`` and held in float64 (bfloat16 through ml_dtypes, which TF ships)."""
    if array is None:
        return None
    if dtype == "bfloat16":
        import ml_dtypes

        return np.asarray(array).astype(ml_dtypes.bfloat16).astype(np.float64)
    return np.asarray(array).astype(dtype).astype(np.float64)


def operands(case, dtype: str):
    return tuple(rounded(a, dtype) for a in case.arrays())


def predicted_unsupported(variant: str, native: dict, case, dtype: str, onednn: bool) -> str | None:
    """The dialect's reason this CPU build cannot run the call, or None."""
    if variant == "keras":
        return keras_dialect.cpu_support(case.input_size, case.kernel_size, dtype=dtype, onednn=onednn, **native)
    outcome = tf_dialect.cpu_outcome(case.input_size, case.kernel_size, dtype=dtype, onednn=onednn, groups=case.groups, **native)
    assert outcome.kind != "rejected", outcome  # from_canonical must give arguments TF accepts
    return outcome.reason if outcome.kind == "unsupported" else None


def assert_close(y, expected, bound, what):
    assert y.shape == expected.shape, f"shape {y.shape}, expected {expected.shape} [{what}]"
    excess = np.abs(np.asarray(y, np.float64) - expected) - bound
    assert excess.max(initial=0) <= 0, f"max |error| - bound = {excess.max():.3g} at {np.unravel_index(excess.argmax(), y.shape)} [{what}]"


def forward_bound(case, x, w, b, dtype: str, geometry=None):
    """float64: twice the float64 bound (the oracle rounds too); other dtypes: the dtype's bound,
    summation in ``dtype`` (the loosest: half types may accumulate wider)."""
    kwargs = case.oracle_kwargs() if geometry is None else dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), groups=case.groups)
    scale = 2.0 if dtype == "float64" else 1.0
    return scale * oracles.error_bound(x, w, b, dtype=dtype, **kwargs) + oracles.error_bound(x, w, b, dtype="float64", **kwargs)


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
            assert_quotes_tf(raised, keras=variant == "keras")
            continue
        event(f"{variant}: ran")
        y = api.call(runtime, native, x, w, b, case.groups, lane)
        assert str(y.dtype) == ("float32" if dtype == "bfloat16" else dtype)
        if case.values == "integer" and dtype in ("float32", "float64"):
            np.testing.assert_array_equal(y, expected, err_msg=f"{variant} {case}")
        else:
            assert_close(y, expected, forward_bound(case, x, w, b, dtype), f"{variant} {dtype} {case}")


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
    for variant in ("nn_channels_first", "keras"):
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


# ---- native cases ---------------------------------------------------------------------------------

@FEW
@given(tf_native.native_cases(), st.sampled_from(["float32", "float64"]))
def test_tf_native_cases(runtime, case, dtype):
    """Rejected -> FrameworkError (the predicted class), UNSUPPORTED -> Unsupported, else the oracle."""
    try:
        outcome = tf_dialect.cpu_outcome(case.input_size, case.kernel_size, dtype=dtype, onednn=runtime.onednn, groups=case.groups, **case.parameters)
    except NotExpressible:  # EmptyOutput: outside the model
        event("empty output")
        return
    event(outcome.kind)
    x, w, b = (rounded(a, dtype) for a in case.arrays())
    call = lambda: TARGET.variant(case.variant).call(runtime, case.parameters, x, w, b, case.groups, Lane("cpu", dtype))  # noqa: E731
    if outcome.kind == "rejected":
        with pytest.raises(FrameworkError) as raised:
            call()
        assert outcome.error is None or raised.value.kind == outcome.error, (raised.value, outcome)
        return
    if outcome.kind == "unsupported":
        with pytest.raises(Unsupported) as raised:
            call()
        assert_quotes_tf(raised)
        return
    g = outcome.geometry
    expected = oracles.conv_transpose(x, w, b, stride=g.stride, dilation=g.dilation, padding=g.padding(), groups=case.groups)
    assert_close(call(), expected, forward_bound(case, x, w, b, dtype, g), f"{case}")


@FEW
@given(keras_native.native_cases(), st.sampled_from(["float32", "float64"]))
def test_keras_native_cases(runtime, case, dtype):
    """Rejected -> FrameworkError; UNSUPPORTED -> Unsupported; else the oracle, with the documented
    channels_first bias quirk (``keras_dialect.bias_on_last_axis``) applied to the expectation."""
    native = case.parameters
    try:
        geometry = keras_dialect.DIALECT.to_canonical(case.input_size, case.kernel_size, **native)
    except Rejected:
        event("rejected")
        with pytest.raises(FrameworkError):
            KERAS.call(runtime, native, *case.arrays(), 1, Lane("cpu", dtype))
        return
    except NotExpressible:
        event("empty output")
        return
    x, w, b = (rounded(a, dtype) for a in case.arrays())
    call = lambda: KERAS.call(runtime, native, x, w, b, 1, Lane("cpu", dtype))  # noqa: E731
    if keras_dialect.cpu_support(case.input_size, case.kernel_size, dtype=dtype, onednn=runtime.onednn, **native):
        event("unsupported")
        with pytest.raises(Unsupported) as raised:
            call()
        assert_quotes_tf(raised, keras=True)
        return
    event("ok")
    kwargs = dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding())
    expected = oracles.conv_transpose(x, w, **kwargs)
    if b is not None:
        if keras_dialect.bias_on_last_axis(geometry.output_size, case.out_channels, **native):
            event("bias on the last axis (Keras quirk)")
            expected = expected + b  # broadcasts along the last spatial axis, as Keras does
        else:
            expected = expected + b.reshape((-1,) + (1,) * geometry.ndim)
    bound = forward_bound(case, x, w, b, dtype, geometry)
    assert_close(call(), expected, bound, f"{case}")


def test_lowercase_padding_is_a_framework_error(runtime, tf):
    """Not swallowed: TF's case-sensitive padding attr surfaces as FrameworkError, with TF's own words."""
    native = dict(output_shape=(6,), strides=2, padding="same")
    with pytest.raises(FrameworkError) as raised:
        TARGET.variant("nn").call(runtime, native, np.ones((1, 1, 3)), np.ones((1, 1, 2)), None, 1, Lane("cpu", "float32"))
    with pytest.raises(Exception) as direct:  # the same call, made here in TF's own terms
        tf.nn.conv_transpose(tf.ones((1, 3, 1)), tf.ones((2, 1, 1)), [1, 6, 1], 2, padding="same")
    assert raised.value.kind == type(direct.value).__name__
    assert raised.value.message == tf_first_line(direct.value)


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


# ---- what an Unsupported says: TF's own text ------------------------------------------------------

# Configurations no CPU build runs, whatever TF_ENABLE_ONEDNN_OPTS says (float64 never takes oneDNN):
# variant, its native arguments, canonical x and w shapes, groups, and the text TF refuses them with.
CANNOT_RUN = {
    "1-D dilation": ("nn", dict(output_shape=(7,), strides=1, padding="VALID", dilations=2), (1, 2, 3), (2, 4, 3), 1,
                     "Current CPU implementations do not yet support dilation rates larger than 1"),
    "2-D dilation": ("nn", dict(output_shape=(7, 7), strides=1, padding="VALID", dilations=2), (1, 2, 3, 3), (2, 4, 3, 3), 1,
                     "Current CPU implementations do not yet support dilation rates larger than 1"),
    "3-D dilation": ("nn", dict(output_shape=(7, 7, 7), strides=1, padding="VALID", dilations=2), (1, 2, 3, 3, 3), (2, 4, 3, 3, 3), 1,
                     "Current CPU implementation does not yet support dilation rates larger than 1"),
    "NCHW": ("nn_channels_first", dict(output_shape=(5, 5), strides=1, padding="VALID", data_format="NCHW"), (1, 2, 3, 3), (2, 4, 3, 3), 1,
             "Conv2DCustomBackpropInputOp only supports NHWC"),
    "NCDHW": ("nn_channels_first", dict(output_shape=(5, 5, 5), strides=1, padding="VALID", data_format="NCDHW"), (1, 2, 3, 3, 3),
              (2, 4, 3, 3, 3), 1, "Conv3DBackpropInputOpV2 only supports NDHWC on the CPU"),
    "2-D groups": ("nn", dict(output_shape=(5, 5), strides=1, padding="VALID"), (1, 4, 3, 3), (4, 1, 3, 3), 2,
                   "Gradients for grouped convolutions are not supported on CPU"),
    "3-D groups": ("nn", dict(output_shape=(5, 5, 5), strides=1, padding="VALID"), (1, 4, 3, 3, 3), (4, 1, 3, 3, 3), 2,
                   "input and filter_sizes must have the same number of channels"),
    "Keras dilation": ("keras", dict(strides=1, padding="valid", dilation_rate=2), (1, 2, 3, 3), (2, 4, 3, 3), 1,
                       "Current CPU implementations do not yet support dilation rates larger than 1"),
    "Keras channels_first": ("keras", dict(strides=1, padding="valid", data_format="channels_first"), (1, 2, 3, 3), (2, 4, 3, 3), 1,
                             "Conv2DCustomBackpropInputOp only supports NHWC"),
}


def raised_directly(tf, variant: str, native: dict, x, w, groups: int) -> Exception:
    """What TF (or Keras) raises when called here, without the adapter, with ``native`` on float64 ``x``, ``w``."""
    channels_first = variant == "nn_channels_first" or native.get("data_format") == "channels_first"
    x_native, kernel = (x if channels_first else np.moveaxis(x, 1, -1)), np.moveaxis(w, (0, 1), (-1, -2))
    try:
        if variant == "keras":
            import keras

            layer = getattr(keras.layers, f"Conv{w.ndim - 2}DTranspose")(
                filters=w.shape[1], kernel_size=w.shape[2:], use_bias=False, dtype="float64", **native)
            layer.build(x_native.shape)
            layer.set_weights([kernel])
            layer(x_native)
        else:
            n, channels, spatial = x.shape[0], w.shape[1] * groups, list(native["output_shape"])
            output_shape = [n, channels, *spatial] if channels_first else [n, *spatial, channels]
            tf.nn.conv_transpose(x_native, kernel, output_shape, native["strides"], native["padding"],
                                 data_format=native.get("data_format"), dilations=native.get("dilations", 1))
    except Exception as error:  # noqa: BLE001 (what TF raises is the expectation)
        return error
    pytest.fail(f"TF ran {variant} {native}")


@pytest.mark.parametrize("name", CANNOT_RUN)
def test_unsupported_quotes_tf(runtime, tf, name):
    """The Unsupported names what TF refused with: the table's text, which TF called directly here raises
    too, and the first line of TF's own message (without its ``{{function_node ...}}`` device prefix)."""
    variant, native, x_shape, w_shape, groups, text = CANNOT_RUN[name]
    x, w = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(Unsupported) as raised:
        TARGET.variant(variant).call(runtime, native, x, w, None, groups, Lane("cpu", "float64"))
    direct = raised_directly(tf, variant, native, x, w, groups)
    assert type(direct).__name__ == "InvalidArgumentError" and text in str(direct), direct
    tf_line = tf_first_line(direct)
    assert f"(TF InvalidArgumentError: {tf_line})" in str(raised.value)
    if variant != "keras":  # Keras's first line is its own wrapper ("Exception encountered when calling ...")
        assert text in tf_line


# ---- translation: lanes, spaces, and no framework in the test process ----------------------------

CPU_LANES = [Lane("cpu", "float32", backend="onednn"), Lane("cpu", "bfloat16", backend="onednn"),
             Lane("cpu", "float32", backend="eigen"), Lane("cpu", "float64", backend="eigen")]


def test_lane_support():
    """Only channels-first on an Eigen lane is skipped, for the reason TF gives itself."""
    for api in TARGET.variants:
        for lane in CPU_LANES + [Lane("gpu:0", "float32", "highest", "cudnn")]:
            reason = api.lane_support(lane)
            if api.name == "nn_channels_first" and lane.backend == "eigen":
                assert "Conv2DCustomBackpropInputOp only supports NHWC" in reason
            else:
                assert reason is None, (api, lane)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from(VARIANTS), st.sampled_from(CPU_LANES))
def test_spaces_draw_only_what_the_lane_runs(data, variant, lane):
    """A case drawn from a variant's space on a CPU lane is one the dialect says that lane runs (the
    lane's backend deciding oneDNN), so a run never spends its examples on UNSUPPORTED."""
    api = TARGET.variant(variant)
    assume(api.lane_support(lane) is None)
    case = data.draw(lane_cases(api.space(lane)))
    try:
        native = api.native(case)
    except NotApplicable:
        event("not applicable")
        return
    assert not predicted_unsupported(variant, native, case, lane.dtype, onednn=lane.backend == "onednn"), (variant, lane, case)
