"""The PyTorch adapter, in-process: forward and gradients against the oracle, applicability against the
torch dialect, invalid native parameters against torch raising, repro snippets, and one worker call.

Expected values come from ``oracles`` (float64 NumPy, no framework), gradients included
(``oracles.gradients``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import event, find, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import oracles
from oracles.gradients import input_gradient, weight_gradient
from conformance.cases import Case
from conformance.native.torch import native_cases
from conformance.strategies import cases
from conformance.targets import torch as adapter
from conformance.targets.base import FrameworkError, Lane, NotApplicable
from conformance.worker import WorkerPool
from in_process import InProcess
from oracles.bounds import gamma, unit_roundoff
from oracles.dialects.base import Rejected
from oracles.dialects.torch import DIALECT

TARGET = adapter.TARGET
IN_PROCESS = InProcess(TARGET)
RUNTIME = IN_PROCESS.runtime
forward, gradients, repro = IN_PROCESS.forward, IN_PROCESS.gradients, IN_PROCESS.repro
VARIANTS = [variant.name for variant in TARGET.variants]
GRADIENT_VARIANTS = [variant.name for variant in TARGET.variants if variant.checks_gradients]
CPU64, CPU32 = Lane("cpu", "float64"), Lane("cpu", "float32")


def assert_within(actual, expected, bound, context: str) -> None:
    """``|actual - expected| <= bound`` elementwise; messages name the worst element and the context."""
    __tracebackhide__ = True
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"out.shape={actual.shape}, but should be {expected.shape} [{context}]"
    error = np.abs(actual.astype(np.float64) - expected)
    if np.all(error <= bound):
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound > 0, error / np.where(bound > 0, bound, 1), np.inf)
    worst = np.unravel_index(int(np.nanargmax(np.where(error > bound, ratio, -1))), error.shape)
    pytest.fail(f"out{list(worst)}={actual[worst]!r}, but should be {expected[worst]!r} within {bound[worst]:.3g} [{context}]")


def oracle_bound(case: Case, x, w, bias, dtype: str) -> np.ndarray:
    """Exact (zero) for integer operands in float32/float64, else the oracle's bound (float64: doubled)."""
    bound = oracles.error_bound(x, w, bias, **case.oracle_kwargs(), dtype=dtype)
    if case.values == "integer":
        return np.zeros_like(bound)
    return 2 * bound if dtype == "float64" else bound


def expected_applicable(variant: str, case: Case) -> bool:
    """torch's own rules, written out per dim (crops ``cb``, ``ca``; ``F.conv_transpose`` takes
    ``padding = cb`` and ``output_padding = cb - ca`` and requires ``padding >= 0`` and
    ``0 <= output_padding < max(stride, dilation)``):

    - functional: those rules in every dim; channels_last: the same, 2-D only;
    - module: also ``output_padding < stride`` (``forward(output_size=...)``'s range check);
    - emulated: a larger ``padding`` is sliced off afterwards, so ``cb >= 0`` suffices before, and after
      the output ``-ca`` appended zeros must fit in ``output_padding``: ``-ca < max(stride, dilation)``.
    """
    geometry = case.geometry
    dims = list(zip(geometry.crop_before, geometry.crop_after, geometry.stride, geometry.dilation))
    if variant == "emulated":
        return all(cb >= 0 and -ca < max(s, d) for cb, ca, s, d in dims)
    direct = all(cb >= 0 and 0 <= cb - ca < max(s, d) for cb, ca, s, d in dims)
    if variant == "channels_last":
        return direct and geometry.ndim == 2
    if variant == "module":
        return direct and all(cb - ca < s for cb, ca, s, d in dims)
    return direct








def oracle_gradients(case: Case, x, w, upstream):
    """``(d x, d w)`` of ``sum(U * conv_transpose(x, W))`` by the oracle (its adjointness to the forward
    transposed convolution is tested in tests/test_oracle_properties.py)."""
    kwargs = case.oracle_kwargs()
    return input_gradient(upstream, w, case.input_size, **kwargs), weight_gradient(x, upstream, case.kernel_size, **kwargs)


def make_upstream(case: Case, dtype=np.float64):
    shape = oracles.conv_transpose(*case.arrays(), **case.oracle_kwargs()).shape
    rng = np.random.default_rng(case.seed ^ 0x5EED)
    values = rng.integers(-4, 5, size=shape).astype(np.float64) if case.values == "integer" else rng.standard_normal(shape)
    return values.astype(dtype)


SMALL = Case(batch=2, groups=2, in_per_group=2, out_per_group=3, input_size=(3, 4), kernel_size=(3, 2), stride=(2, 1),
             dilation=(1, 2), padding=((1, 1), (1, 1)), output_padding=(1, 0), bias=True, seed=7)


def expressible_cases():
    """Canonical cases torch expresses directly: valid functional native cases mapped through the dialect
    (the generic canonical strategy rarely meets ``cb >= ca`` in every dim)."""
    return native_cases(variants=st.just("functional"), invalid=False).map(lambda native_case: native_case.canonical())


# ---- forward --------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.one_of(cases(), expressible_cases()))
def test_forward_matches_oracle_float64_and_float32(case):
    for variant in VARIANTS:
        applicable = expected_applicable(variant, case)
        try:
            TARGET.variant(variant).native(case)
        except NotApplicable:
            assert not applicable, f"{variant} NotApplicable, but the dialect expresses {case.geometry}"
            continue
        assert applicable, f"{variant} ran, but the dialect cannot express {case.geometry}"
        event(f"applicable: {variant}")
        for lane in (CPU64, CPU32):
            x, w, bias = case.arrays(lane.dtype)
            expected = oracles.conv_transpose(x, w, bias, **case.oracle_kwargs())
            actual = forward(variant, case, x, w, bias, lane)
            assert actual.dtype == np.dtype(lane.dtype)
            assert_within(actual, expected, oracle_bound(case, x, w, bias, lane.dtype), f"torch.{variant} {lane.dtype}: {case}")


def test_not_applicable_examples():
    tf_same = Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(2,), stride=(1,),
                   dilation=(1,), padding=((0, 1),), output_padding=(0,), bias=False)  # TF 'SAME': cb < ca
    with pytest.raises(NotApplicable, match="crop_before=0 < crop_after=1"):
        TARGET.variant("functional").native(tf_same)
    assert TARGET.variant("emulated").native(tf_same)["slices"] == ((0, 3),)
    zeros_before = replace(tf_same, padding=((-1, 0),))
    with pytest.raises(NotApplicable, match="slicing cannot"):
        TARGET.variant("emulated").native(zeros_before)
    # s=1, d=2, op=1: legal for F.conv_transpose1d, outside the module's output_size range.
    dilated = replace(tf_same, dilation=(2,), padding=((0, 0),), output_padding=(1,))
    assert TARGET.variant("functional").native(dilated)["output_padding"] == (1,)
    with pytest.raises(NotApplicable, match="stride-1 extra"):
        TARGET.variant("module").native(dilated)
    with pytest.raises(NotApplicable, match="2-D only"):
        TARGET.variant("channels_last").native(tf_same)


def test_emulated_slices_agree_with_oracle_for_tf_same():
    case = Case(batch=None, groups=1, in_per_group=2, out_per_group=2, input_size=(3, 3), kernel_size=(4, 3),
                stride=(1, 2), dilation=(1, 1), padding=((1, 2), (0, 1)), output_padding=(0, 0), bias=True, seed=3)
    x, w, bias = case.arrays()
    actual = forward("emulated", case, x, w, bias, CPU64)
    assert_within(actual, oracles.conv_transpose(x, w, bias, **case.oracle_kwargs()),
                  oracle_bound(case, x, w, bias, "float64"), "torch.emulated TF SAME")


# ---- gradients ------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.one_of(cases(), expressible_cases()))
def test_gradients_match_oracle(case):
    for variant in GRADIENT_VARIANTS:
        if not expected_applicable(variant, case):
            continue
        for lane in (CPU64, CPU32):
            x, w, bias = case.arrays(lane.dtype)
            upstream = make_upstream(case, lane.dtype)
            dx, dw = gradients(variant, case, x, w, bias, upstream, lane)
            expected_dx, expected_dw = oracle_gradients(case, x, w, upstream)
            magnitude_dx, magnitude_dw = oracle_gradients(case, np.abs(x), np.abs(w), np.abs(upstream))
            u = 0.0 if case.values == "integer" else unit_roundoff(lane.dtype)
            # d x sums Mg*prod(k) products per element, d w sums N*prod(i).
            terms_dx = case.out_per_group * int(np.prod(case.kernel_size))
            terms_dw = (case.batch or 1) * int(np.prod(case.input_size))
            context = f"torch.{variant} gradient {lane.dtype}: {case}"
            assert_within(dx, expected_dx, 2 * gamma(terms_dx, u) * magnitude_dx, "d x " + context)
            assert_within(dw, expected_dw, 2 * gamma(terms_dw, u) * magnitude_dw, "d w " + context)


def test_gradients_not_applicable_for_other_variants():
    x, w, bias = SMALL.arrays()
    assert set(GRADIENT_VARIANTS) == {"functional", "module"}
    with pytest.raises(NotApplicable):
        gradients("channels_last", SMALL, x, w, bias, make_upstream(SMALL), CPU64)


# ---- native parameters, valid and invalid --------------------------------------------------------

def dialect_verdict(native_case):
    try:
        return DIALECT.to_canonical(native_case.input_size, native_case.kernel_size, **native_case.parameters)
    except Rejected as error:
        return error


@settings(max_examples=80, deadline=None)
@given(native_cases())
def test_native_cases_rejected_exactly_where_torch_raises(native_case):
    verdict = dialect_verdict(native_case)
    x, w, bias = native_case.arrays()
    call = lambda: TARGET.variant(native_case.variant).call(RUNTIME, native_case.parameters, x, w, bias, native_case.groups, CPU64)
    context = f"torch.{native_case.variant} {native_case.parameters} input={native_case.input_size} kernel={native_case.kernel_size}"
    if isinstance(verdict, Rejected):
        event(f"{native_case.variant}: rejected")
        with pytest.raises(FrameworkError) as raised:
            call()
        # The module's own range check is Python (ValueError); ATen's checks raise RuntimeError.
        expected_kind = "ValueError" if str(verdict).startswith("requested an output size") else "RuntimeError"
        assert raised.value.kind == expected_kind, f"{raised.value}, but the dialect says {verdict} [{context}]"
        return
    event(f"{native_case.variant}: valid")
    geometry = verdict
    expected = oracles.conv_transpose(x, w, bias, padding=geometry.padding(), stride=geometry.stride,
                                      dilation=geometry.dilation, groups=native_case.groups)
    if native_case.values == "integer":
        bound = np.zeros(expected.shape)
    else:
        bound = 2 * oracles.error_bound(x, w, bias, padding=geometry.padding(), stride=geometry.stride,
                                        dilation=geometry.dilation, groups=native_case.groups, dtype="float64")
    assert_within(call(), expected, bound, context)


@pytest.mark.parametrize("variant", ["functional", "module"])
def test_native_strategy_draws_valid_and_invalid(variant):
    strategy = native_cases(variants=st.just(variant))
    quick = settings(database=None, max_examples=200)
    find(strategy, lambda c: isinstance(dialect_verdict(c), Rejected), settings=quick)
    find(strategy, lambda c: not isinstance(dialect_verdict(c), Rejected), settings=quick)


@pytest.mark.parametrize("variant, native, kind", [
    ("functional", {"stride": (2,), "padding": (-1,), "output_padding": (0,), "dilation": (1,)}, "RuntimeError"),
    ("functional", {"stride": (1,), "padding": (0,), "output_padding": (1,), "dilation": (1,)}, "RuntimeError"),
    ("functional", {"stride": (1,), "padding": (3,), "output_padding": (0,), "dilation": (1,)}, "RuntimeError"),
    ("module", {"stride": (2,), "padding": (0,), "dilation": (1,), "output_size": (5,)}, "ValueError"),
    # op = 1 < d = 2 would pass the kernel's check; the module's range allows only stride-1 = 0 extra.
    ("module", {"stride": (1,), "padding": (0,), "dilation": (2,), "output_size": (6,)}, "ValueError"),
])
def test_invalid_native_raises_framework_error(variant, native, kind):
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 2))  # i=3, k=2: L = 2s + d + 1
    with pytest.raises(FrameworkError) as raised:
        TARGET.variant(variant).call(RUNTIME, native, x, w, None, 1, CPU64)
    assert raised.value.kind == kind
    assert "\n" not in raised.value.message


# ---- repro, environment, precision, worker -------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(st.one_of(cases(dims=st.just(2)), expressible_cases()))
def test_repro_snippet_executes_and_agrees(case):
    x, w, bias = case.arrays()
    for variant in VARIANTS:
        try:
            snippet = repro(variant, case, CPU32)
        except NotApplicable:
            continue
        scope = {"x": x, "w": w, "bias": bias}
        exec(compile(snippet, f"<repro torch.{variant}>", "exec"), scope)  # noqa: S102  (the point of the test)
        expected = forward(variant, case, x, w, bias, CPU32)
        np.testing.assert_array_equal(scope["y"].detach().numpy(), expected, err_msg=snippet)


def test_repro_names_torch_api():
    snippet = repro("functional", SMALL, CPU32)
    assert "torch.nn.functional.conv_transpose2d(" in snippet and "stride=(2, 1)" in snippet and "groups=2" in snippet
    assert "torch.nn.ConvTranspose2d(4, 6, (3, 2)" in repro("module", SMALL, CPU32)


def test_environment_devices_dtypes():
    environment = RUNTIME.environment()
    assert environment["framework"] == "torch" and environment["version"] == torch.__version__
    assert environment["devices"][0] == "cpu" and set(environment["tf32"]) >= {"cudnn.allow_tf32", "cuda.matmul.allow_tf32"}
    assert {"float32", "float64"} <= set(RUNTIME.dtypes("cpu"))
    assert RUNTIME.dtypes("cuda:0") == ("float16", "bfloat16", "float32", "float64")
    assert RUNTIME.precisions("cuda:0", "float32") == ("highest", "tf32")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_reduced_precision_on_cpu_where_offered(dtype):
    """Where the CPU offers a narrow dtype, results are in it (bfloat16 as exact float32), exact for integers."""
    if dtype not in RUNTIME.dtypes("cpu"):
        pytest.skip(f"{dtype} not offered on this CPU build")
    case = replace(SMALL, values="integer")
    x, w, bias = case.arrays()
    actual = forward("functional", case, x, w, bias, Lane("cpu", dtype))
    assert actual.dtype == (np.float16 if dtype == "float16" else np.float32)
    np.testing.assert_array_equal(actual, oracles.conv_transpose(x, w, bias, **case.oracle_kwargs()))


def test_set_precision_flags_on_a_cuda_lane():
    """The CUDA precision path only sets flags, so it runs on a CPU build too; restored afterwards."""
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        adapter.set_precision(Lane("cuda:0", "float32", "highest"))
        assert RUNTIME.environment()["tf32"]["cudnn.allow_tf32"] is False
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"
        adapter.set_precision(Lane("cuda:0", "float32", "tf32"))
        assert RUNTIME.environment()["tf32"]["cudnn.allow_tf32"] is True
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_forward_through_worker_process():
    x, w, bias = SMALL.arrays()
    pool = WorkerPool(timeout=60)
    try:
        actual = pool.call("torch", "call", "functional", TARGET.variant("functional").native(SMALL), x, w, bias, SMALL.groups, CPU64)
    finally:
        pool.close()
    assert_within(actual, oracles.conv_transpose(x, w, bias, **SMALL.oracle_kwargs()),
                  oracle_bound(SMALL, x, w, bias, "float64"), "torch.functional in a worker")
