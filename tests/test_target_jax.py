"""Self-tests of the jax adapter (conformance.targets.jax), in-process, against the NumPy oracle.

Every jitted call compiles once per shape (tens of ms on CPU), so cases are small and example counts
modest; they scale with the hypothesis profile (dev/ci: the numbers below, nightly: ten times more).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("jax")

import oracles  # noqa: E402
from oracles.gradients import weight_gradient  # noqa: E402
from conformance.cases import Case  # noqa: E402
from conformance.known import PREDICATES, KnownDiscrepancies  # noqa: E402
from conformance.native.jax import native_cases  # noqa: E402
from conformance.strategies import cases  # noqa: E402
from conformance.targets.base import FrameworkError, Lane, NotApplicable  # noqa: E402
from conformance.targets.jax import TARGET  # noqa: E402
from in_process import InProcess  # noqa: E402
from oracles.bounds import gamma, unit_roundoff  # noqa: E402
from oracles.dialects import Rejected  # noqa: E402
from oracles.dialects.jax import DIALECT, EmptyOutput  # noqa: E402

IN_PROCESS = InProcess(TARGET)
RUNTIME = IN_PROCESS.runtime
forward, forward_native, gradients, repro = IN_PROCESS.forward, IN_PROCESS.call, IN_PROCESS.gradients, IN_PROCESS.repro
F64, F32 = Lane("cpu", "float64"), Lane("cpu", "float32")
JAX_KNOWN = [entry for entry in KnownDiscrepancies.load().entries if entry.framework == "jax" and entry.predicate]


def known_bug(case) -> bool:
    """Whether a known jax discrepancy covers the case's geometry (any check or dtype): XLA:CPU aborts
    this process on some (the suite runs them in a worker) and returns wrong values on others, which
    the suite records as known; these in-process adapter tests leave them out."""
    return any(PREDICATES[entry.predicate](case, {}) for entry in JAX_KNOWN)


# Groups > 1 leave only two of the five variants applicable: draw group-free cases half the time.
CASES = st.one_of(cases(max_groups=1), cases()).filter(lambda case: not known_bug(case))
VARIANTS = tuple(variant.name for variant in TARGET.variants)
GRADIENT_VARIANTS = tuple(variant.name for variant in TARGET.variants if variant.checks_gradients)










def examples(count: int):
    return settings(max_examples=max(1, count * settings.default.max_examples // 100), deadline=None)


@pytest.fixture(autouse=True, scope="module")
def x64():
    """Other test modules may switch jax's x64 off again; the adapter needs it on."""
    import jax

    jax.config.update("jax_enable_x64", True)


def operands(case, dtype=np.float64):
    """``case``'s arrays rounded to ``dtype`` (the values the framework receives), as float64."""
    return tuple(None if a is None else np.asarray(a).astype(dtype).astype(np.float64) for a in case.arrays())


def assert_within(actual, expected, bound, exact, context):
    __tracebackhide__ = True
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, f"out.shape={actual.shape}, but should be {expected.shape} [{context}]"
    error = np.abs(actual - expected)
    if exact:
        assert np.array_equal(actual, expected), f"integer case not exact: max error {error.max():.3g} [{context}]"
    else:
        worst = np.unravel_index(np.argmax(error - bound), error.shape) if error.size else ()
        assert np.all(error <= bound), (f"error {error[worst]:.3g} > bound {bound[worst]:.3g} at {worst} [{context}]")


def check_forward(case: Case, variant: str, lane: Lane, dtype, bound_dtype: str, factor: float = 1.0):
    x, w, b = operands(case, dtype)
    try:
        actual = forward(variant, case, x, w, b, lane)
    except NotApplicable:
        assert case.groups > 1 and variant not in ("conv_general_dilated", "vjp")
        return
    expected = oracles.conv_transpose(x, w, b, **case.oracle_kwargs())
    bound = factor * oracles.error_bound(x, w, b, **case.oracle_kwargs(), dtype=bound_dtype)
    assert_within(actual, expected, bound, case.values == "integer", f"jax {variant} {lane} {case}")


# Forward values.

@examples(20)
@given(CASES)
def test_variants_match_oracle(case):
    for variant in VARIANTS:
        check_forward(case, variant, F64, np.float64, "float64", factor=2.0)
        check_forward(case, variant, F32, np.float32, "float32")


@examples(6)
@given(CASES, st.sampled_from(["float16", "bfloat16"]), st.sampled_from(["conv_transpose", "conv_general_dilated"]))
def test_half_precision_on_cpu_within_bound(case, dtype, variant):
    """jax's CPU backend computes float16 and bfloat16 too; the bound for that dtype holds."""
    import jax.numpy as jnp

    check_forward(case, variant, Lane("cpu", dtype), {"float16": np.float16, "bfloat16": jnp.bfloat16}[dtype], dtype)


def test_seed_golden_1d():
    """Seed 001: [2, 3] with kernel [1, 2, 3], stride 2 -> [2, 4, 9, 6, 9], in every variant."""
    case = Case(batch=None, groups=1, in_per_group=1, out_per_group=1, input_size=(2,), kernel_size=(3,),
                bias=False, stride=(2,), dilation=(1,), padding=((0, 0),), output_padding=(0,))
    for variant in VARIANTS:
        out = forward(variant, case, np.array([[2.0, 3.0]]), np.array([[[1.0, 2.0, 3.0]]]), None, F64)
        assert out.tolist() == [[2, 4, 9, 6, 9]], variant


def test_native_parameters_per_variant():
    case = Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3, 4), kernel_size=(3, 2),
                bias=False, stride=(2, 1), dilation=(1, 1), padding=((0, 1), (0, 1)), output_padding=(0, 0))
    assert TARGET.variant("conv_transpose").native(case)["padding"] == "SAME"
    kernel = TARGET.variant("conv_transpose_kernel").native(case)
    assert kernel["padding"] == ((0, 1), (0, 1)) and kernel["use_consistent_padding"] and kernel["transpose_kernel"]
    assert TARGET.variant("channels_first").native(case)["dimension_numbers"] == ("NCHW", "OIHW", "NCHW")
    assert TARGET.variant("vjp").native(case)["primal_size"] == (6, 4)
    grouped = Case(**{**case.__dict__, "groups": 2})
    for variant in ("conv_transpose", "conv_transpose_kernel", "channels_first"):
        with pytest.raises(NotApplicable, match="no groups"):
            TARGET.variant(variant).native(grouped)
    assert TARGET.variant("conv_general_dilated").native(grouped)["api"] == "conv_general_dilated"


def test_description():
    environment = RUNTIME.environment()
    assert environment["x64"] is True and environment["version"] and environment["jaxlib"]
    assert {"backend", "devices", "default_matmul_precision"} <= set(environment)
    assert RUNTIME.devices()[0] == "cpu"
    assert RUNTIME.dtypes("cpu") == ("float16", "bfloat16", "float32", "float64")
    assert RUNTIME.precisions("gpu:0", "float32") == ("highest", "tf32")


# Gradients.

@examples(12)
@given(CASES, st.sampled_from(GRADIENT_VARIANTS))
def test_gradients_match_oracle(case, variant):
    """``d x = conv(upstream, w)`` with the same stride, dilation, groups and padding ``(cb, ca)``
    (docs/semantics.md, 'Equivalent formulations', 2); ``d w`` by the oracle's ``weight_gradient`` (its adjointness is tested in test_oracle_properties)."""
    x, w, b = operands(case)
    geometry = case.geometry
    batched = case.batch is not None
    out_shape = ((case.batch,) if batched else ()) + (case.out_channels, *geometry.output_size)
    rng = np.random.default_rng(case.seed + 1)
    upstream = rng.integers(-4, 5, out_shape).astype(float) if case.values == "integer" else rng.standard_normal(out_shape)
    try:
        d_x, d_w = gradients(variant, case, x, w, b, upstream, F64)
    except NotApplicable:
        assert case.groups > 1 and variant == "conv_transpose"
        return
    conv = dict(stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=case.groups)
    x4, u4 = (x, upstream) if batched else (x[None], upstream[None])
    expected_x = oracles.conv(upstream, w, **conv)
    expected_w = weight_gradient(x4, u4, case.kernel_size, **case.oracle_kwargs())
    u = unit_roundoff("float64")
    bound_x = 2 * gamma(w.shape[1] * int(np.prod(case.kernel_size)), u) * oracles.conv(np.abs(upstream), np.abs(w), **conv)
    bound_w = 2 * gamma(x4.shape[0] * int(np.prod(case.input_size)), u) * weight_gradient(np.abs(x4), np.abs(u4), case.kernel_size, **case.oracle_kwargs())
    exact = case.values == "integer"
    assert_within(d_x, expected_x, bound_x, exact, f"jax {variant} d x {case}")
    assert_within(d_w, expected_w, bound_w, exact, f"jax {variant} d w {case}")


def test_gradients_not_applicable_elsewhere():
    case = Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(2,), bias=False,
                stride=(1,), dilation=(1,), padding=((0, 0),), output_padding=(0,))
    x, w, _ = case.arrays()
    with pytest.raises(NotApplicable):
        gradients("vjp", case, x, w, None, np.ones((1, 1, 4)), F64)


# Repro snippets.

@examples(8)
@given(CASES, st.sampled_from(VARIANTS), st.sampled_from([F64, F32]))
def test_repro_snippet_runs_and_agrees(case, variant, lane):
    try:
        snippet = repro(variant, case, lane)
    except NotApplicable:
        return
    dtype = np.float64 if lane.dtype == "float64" else np.float32
    x, w, b = operands(case, dtype)
    scope = {"x": x, "w": w, "bias": b}
    exec(compile(snippet, f"<repro {variant}>", "exec"), scope)
    expected = oracles.conv_transpose(x, w, b, **case.oracle_kwargs())
    bound = 2 * oracles.error_bound(x, w, b, **case.oracle_kwargs(), dtype=lane.dtype)
    assert_within(scope["y"], expected, bound, case.values == "integer", f"repro {variant}:\n{snippet}")


# jax's own parameter space.

@examples(40)
@given(native_cases())
def test_native_configs_follow_the_dialect(native_case):
    """Rejected -> jax raises; EmptyOutput -> jax returns an empty array; else the oracle's values."""
    parameters = native_case.parameters
    x, w, b = native_case.arrays()
    try:
        geometry = DIALECT.to_canonical(native_case.input_size, native_case.kernel_size,
                                        groups=native_case.groups, **parameters)
    except EmptyOutput:
        out = forward_native(native_case.variant, parameters, x, w, b, native_case.groups, F64)
        assert 0 in out.shape[-native_case.ndim:], f"expected an empty output, got {out.shape} [{native_case}]"
        return
    except Rejected as rejection:
        with pytest.raises(FrameworkError):
            forward_native(native_case.variant, parameters, x, w, b, native_case.groups, F64)
            pytest.fail(f"jax did not raise; the dialect says {rejection} [{native_case}]")
        return
    out = forward_native(native_case.variant, parameters, x, w, b, native_case.groups, F64)
    kwargs = dict(stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=native_case.groups)
    expected = oracles.conv_transpose(x, w, b, **kwargs)
    bound = 2 * oracles.error_bound(x, w, b, **kwargs, dtype="float64")
    assert_within(out, expected, bound, native_case.values == "integer", f"native {native_case}")


def test_framework_error_carries_jax_exception():
    with pytest.raises(FrameworkError) as caught:
        forward_native("conv_transpose", {"strides": (2,), "padding": "same"}, np.ones((1, 1, 3)),
                              np.ones((1, 1, 2)), None, 1, F64)
    assert caught.value.kind in ("ValueError", "TypeError", "RuntimeError") and "\n" not in caught.value.message


# In a worker process, as the suite runs it.

def test_adapter_runs_in_a_worker():
    from conformance.worker import WorkerPool

    case = Case(batch=2, groups=2, in_per_group=2, out_per_group=1, input_size=(4, 3), kernel_size=(3, 2), bias=True,
                stride=(2, 1), dilation=(1, 2), padding=((1, 0), (0, -1)), output_padding=(1, 0), seed=3)
    x, w, b = case.arrays()
    pool = WorkerPool(timeout=60)
    try:
        environment = pool.call("jax", "environment")
        assert environment["x64"] is True
        for variant in ("conv_general_dilated", "vjp"):
            out = pool.call("jax", "call", variant, TARGET.variant(variant).native(case), x, w, b, case.groups, F64)
            assert out.dtype == np.float64
            expected = oracles.conv_transpose(x, w, b, **case.oracle_kwargs())
            bound = 2 * oracles.error_bound(x, w, b, **case.oracle_kwargs(), dtype="float64")
            assert_within(out, expected, bound, False, f"worker {variant}")
        with pytest.raises(NotApplicable):  # translated in the test process: no worker call
            TARGET.variant("conv_transpose").native(case)
        with pytest.raises(FrameworkError):
            pool.call("jax", "call", "conv_transpose", {"strides": 2, "padding": "valid"},
                      np.ones((1, 1, 3)), np.ones((1, 1, 2)), None, 1, F64)
    finally:
        pool.close()


SPELLINGS = ("conv_transpose", "conv_transpose_kernel", "channels_first")


@examples(30)
@given(cases(max_groups=1), st.sampled_from(SPELLINGS))
def test_spellings_call_the_primitive_with_conv_general_dilated_s_window(case, spelling):
    """What makes conv_transpose and its spellings spellings: jax traces each to one
    conv_general_dilated whose window strides, pads, lhs/rhs dilations and groups are those of the
    conv_general_dilated variant's for the same case (only the dimension numbers, and for
    transpose_kernel a rev and a transpose of the kernel before it, differ)."""
    import jax

    def conv_params(name):
        variant = TARGET.variant(name)
        native = variant.native(case)
        x = np.zeros((case.batch or 1, case.in_channels, *case.input_size), np.float32)
        w = np.zeros((case.in_channels, case.out_per_group, *case.kernel_size), np.float32)
        lhs, rhs = variant.native_operands(native, x, w, case.groups)
        call, _ = variant.convolution(native, case.groups, F32, case.ndim)
        convs = [e.params for e in jax.make_jaxpr(call)(lhs.astype(np.float32), rhs.astype(np.float32)).eqns
                 if e.primitive.name == "conv_general_dilated"]
        assert len(convs) == 1, convs
        return {key: convs[0][key] for key in ("window_strides", "padding", "lhs_dilation", "rhs_dilation", "feature_group_count")}

    assert conv_params(spelling) == conv_params("conv_general_dilated")


def test_kernel_identities_skip_the_variants_that_only_spell_another_call():
    """jax's conv_transpose, channels_first and conv_transpose_kernel reach conv_general_dilated's conv:
    values run on them, the kernel's identities and eager epilogues do not (every other variant keeps them)."""
    from types import SimpleNamespace

    from conformance.lanes import TargetLane
    from conformance.parametrize import kernel_check, parametrize

    names = [variant.name for variant in TARGET.variants]
    lanes = [(TargetLane("jax", "jax", name, Lane("cpu", "float32")), None) for name in names]
    session = SimpleNamespace(lanes=lambda: lanes, options=SimpleNamespace(modes=None))

    def parametrized(function):
        seen = []
        parametrize(SimpleNamespace(function=function, parametrize=lambda name, params: seen.extend(p.values[0].variant for p in params)), session)
        return seen

    assert parametrized(lambda: None) == names
    assert parametrized(kernel_check(lambda: None)) == [name for name in names if name not in SPELLINGS]
    assert {TARGET.variant(name).spells for name in SPELLINGS} == {"conv_general_dilated"}


def test_spellings_have_a_values_test_of_their_own_and_test_values_the_rest():
    """test_values (and test_large_outputs) run on the variants with a kernel of their own; the
    spellings' values run in test_values_of_spellings, with 30 of the default 100 examples."""
    from conformance import test_values
    from conformance.parametrize import checks_variant

    for variant in TARGET.variants:
        assert checks_variant(test_values.test_values, variant) == (variant.name not in SPELLINGS)
        assert checks_variant(test_values.test_large_outputs, variant) == (variant.name not in SPELLINGS)
        assert checks_variant(test_values.test_values_of_spellings, variant) == (variant.name in SPELLINGS)
    from conformance.profiles import examples

    assert test_values.test_values_of_spellings._hypothesis_internal_use_settings.max_examples == examples(30)
