"""The ONNX Runtime adapter, in-process: each variant's values against the oracle, its native parameters
against the onnx dialect (``runtime="onnxruntime"``), native cases where ORT and the dialect must agree,
the repro snippets as written, the session cache, and that translation imports no onnxruntime.

Expected values come from ``oracles`` (float64 NumPy). ORT's own behaviour (error messages, which dtypes
run and how, what static input shapes do) is pinned in tests/test_onnxruntime_experiments.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import oracles
from conformance.cases import Case
from conformance.native import onnx as native_strategy
from conformance.strategies import lane_cases
from conformance.targets import onnxruntime as adapter
from conformance.targets.base import FrameworkError, Lane, NotApplicable, Target, Unsupported
from oracles.dialects import get_dialect
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.onnx import ONNXRUNTIME

TARGET = adapter.TARGET
VARIANTS = {variant.name: variant for variant in TARGET.variants}
CPU32, CPU16, CPU64 = Lane("cpu", "float32"), Lane("cpu", "float16"), Lane("cpu", "float64")


@pytest.fixture(scope="module")
def runtime():
    return adapter.OrtRuntime()


def expected(case: Case, x, w, bias) -> np.ndarray:
    """The oracle in float64 on exactly the operands the call received."""
    as64 = [None if a is None else np.asarray(a, dtype=np.float64) for a in (x, w, bias)]
    return oracles.conv_transpose(*as64, **case.oracle_kwargs())


SIGNIFICAND_BITS = {"float32": 24, "float16": 11}


def bound(case: Case, x, w, bias, dtype: str) -> np.ndarray:
    """Zero for integer operands whose every partial sum is an exactly representable integer, else the oracle's bound."""
    as64 = [None if a is None else np.abs(np.asarray(a, dtype=np.float64)) for a in (x, w, bias)]
    result = oracles.error_bound(*as64, **case.oracle_kwargs(), dtype=dtype)
    if case.values == "integer":
        magnitude = oracles.conv_transpose(*as64, **case.oracle_kwargs())
        if np.max(magnitude, initial=0.0) <= 2.0 ** SIGNIFICAND_BITS[dtype]:
            return np.zeros_like(result)
    return result


def assert_matches_oracle(actual, case: Case, x, w, bias, dtype: str, context: str) -> None:
    __tracebackhide__ = True
    want = expected(case, x, w, bias)
    actual = np.asarray(actual)
    assert actual.shape == want.shape, f"out.shape={actual.shape}, but should be {want.shape} [{context}]"
    assert actual.dtype == np.dtype(dtype), context
    error = np.abs(actual.astype(np.float64) - want)
    limit = bound(case, x, w, bias, dtype)
    worst = np.unravel_index(int(np.argmax(error - limit)), error.shape) if error.size else ()
    assert np.all(error <= limit), f"out{list(worst)}={actual[worst]!r}, but should be {want[worst]!r} within {limit[worst]:.3g} [{context}]"


def call(runtime, variant: str, case: Case, lane: Lane = CPU32, native=None):
    x, w, bias = case.arrays(lane.dtype)
    native = VARIANTS[variant].native(case) if native is None else native
    return VARIANTS[variant].call(runtime, native, x, w, bias, case.groups, lane), (x, w, bias)


def case_of(**fields) -> Case:
    base = dict(batch=1, groups=1, in_per_group=1, out_per_group=1, bias=False, values="integer", seed=1)
    ndim = len(fields["input_size"])
    base.update(stride=(1,) * ndim, dilation=(1,) * ndim, padding=((0, 0),) * ndim, output_padding=(0,) * ndim)
    base.update(fields)
    return Case(**base)


# ---- the target ---------------------------------------------------------------------------------------

def test_target_declaration():
    assert isinstance(TARGET, Target)
    assert (TARGET.framework, TARGET.requires, TARGET.extra) == ("onnxruntime", ("onnx", "onnxruntime"), "onnx")
    assert tuple(VARIANTS) == ("pads", "initializers", "signed_pads", "output_shape", "auto_pad")
    assert TARGET.dialects == ("onnx",)
    assert TARGET.installed()
    assert not any(variant.checks_gradients for variant in TARGET.variants)  # inference only: no autodiff


def test_environment(runtime):
    environment = runtime.environment()
    assert environment["framework"] == "onnxruntime" and environment["version"] == ort.__version__
    assert environment["onnx"] == onnx.__version__
    assert "CPUExecutionProvider" in environment["providers"]
    assert environment["devices"][0] == "cpu" and environment["threads"] == 1
    assert runtime.precisions("cpu", "float32") == ("default",) and runtime.backends("cpu", "float32") == ("default",)


def test_float64_and_bfloat16_are_unsupported(runtime):
    case = case_of(input_size=(3,), kernel_size=(2,))
    with pytest.raises(Unsupported, match="NOT_IMPLEMENTED : Could not find an implementation for ConvTranspose"):
        call(runtime, "pads", case, CPU64)
    with pytest.raises(Unsupported, match=r"Type 'tensor\(bfloat16\)' of input parameter \(X\)"):
        call(runtime, "pads", case, Lane("cpu", "bfloat16"))


def test_threads_setting(monkeypatch, runtime):
    assert adapter.threads() == 1
    monkeypatch.setenv("CONVT_ORT_THREADS", "2")
    assert adapter.threads() == 2 and runtime._options().intra_op_num_threads == 2
    assert runtime._options().inter_op_num_threads == 1


def test_sessions_are_cached_with_a_bound(monkeypatch):
    runtime = adapter.OrtRuntime()
    monkeypatch.setattr(adapter, "CACHE_SIZE", 3)
    x, w = np.ones((1, 1, 3), np.float32), np.ones((1, 1, 2), np.float32)
    runtime.run({"strides": (2,)}, x, w, None, 1, CPU32)
    first = next(iter(runtime._sessions.values()))
    runtime.run({"strides": (2,)}, np.ones((2, 1, 5), np.float32), w, None, 1, CPU32)  # other sizes, same session
    assert len(runtime._sessions) == 1 and next(iter(runtime._sessions.values())) is first
    for stride in (1, 3, 4, 5):
        runtime.run({"strides": (stride,)}, x, w, None, 1, CPU32)
    assert len(runtime._sessions) == 3 and first not in runtime._sessions.values()


def test_initializer_sessions_are_keyed_by_the_weights():
    runtime = adapter.OrtRuntime()
    x, w = np.ones((1, 1, 3), np.float32), np.ones((1, 1, 2), np.float32)
    first = runtime.run({"strides": (2,)}, x, w, None, 1, CPU32, initializers=True)
    again = runtime.run({"strides": (2,)}, x, w.copy(), None, 1, CPU32, initializers=True)
    other = runtime.run({"strides": (2,)}, x, 2 * w, None, 1, CPU32, initializers=True)
    assert len(runtime._sessions) == 2
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(other, 2 * first)


# ---- variants: native parameters and values on hand-picked cases ---------------------------------------

GROUPED = case_of(batch=2, groups=2, in_per_group=2, out_per_group=3, input_size=(3, 4), kernel_size=(3, 2), stride=(2, 1),
                  dilation=(1, 2), padding=((1, 1), (1, 1)), output_padding=(1, 0), bias=True, values="float", seed=7)
ASYMMETRIC = case_of(batch=None, groups=1, in_per_group=2, out_per_group=2, input_size=(4,), kernel_size=(3,), stride=(2,),
                     padding=((2, 0),), bias=True, seed=3)  # crops (2, 0): more before than after, unbatched
ZEROS_BEFORE = case_of(input_size=(3, 2), kernel_size=(2, 2), stride=(1, 2), padding=((-1, 0), (0, 2)), output_padding=(0, 1), seed=4)
TF_SAME = case_of(batch=None, groups=3, in_per_group=1, out_per_group=2, input_size=(3,), kernel_size=(4,), stride=(2,),
                  padding=((1, 1),), bias=True, values="float", seed=5)  # o = i*s = 6; K - s = 2 split evenly
DILATED_3D = case_of(batch=1, groups=2, in_per_group=1, out_per_group=1, input_size=(2, 2, 2), kernel_size=(2, 1, 2),
                     stride=(1, 2, 3), dilation=(2, 1, 1), padding=((0, 0), (0, 0), (0, 0)), output_padding=(0, 1, 2), seed=6)

# The native parameters each variant is expected to take (hand-derived from the ONNX formulas in
# oracles/dialects/onnx.py's docstring), or the NotApplicable reason's key phrase. Crops (cb, ca) per dim
# with ca = pad_after - op: GROUPED (1, 0), (1, 1) with K = (3, 3), L = (7, 6), o = (6, 4).
EXPECTED_NATIVE = {
    ("pads", "GROUPED"): dict(strides=(2, 1), dilations=(1, 2), pads=(1, 1, 0, 1), output_padding=(0, 0)),
    ("pads", "ASYMMETRIC"): dict(strides=(2,), dilations=(1,), pads=(2, 0), output_padding=(0,)),
    ("pads", "ZEROS_BEFORE"): "negative pad",
    ("pads", "TF_SAME"): dict(strides=(2,), dilations=(1,), pads=(1, 1), output_padding=(0,)),
    ("pads", "DILATED_3D"): dict(strides=(1, 2, 3), dilations=(2, 1, 1), pads=(0, 0, 0, 0, 0, 0), output_padding=(0, 1, 2)),
    ("initializers", "GROUPED"): dict(strides=(2, 1), dilations=(1, 2), pads=(1, 1, 0, 1), output_padding=(0, 0)),
    ("initializers", "DILATED_3D"): dict(strides=(1, 2, 3), dilations=(2, 1, 1), pads=(0, 0, 0, 0, 0, 0), output_padding=(0, 1, 2)),
    ("initializers", "ZEROS_BEFORE"): "negative pad",
    ("signed_pads", "GROUPED"): dict(strides=(2, 1), dilations=(1, 2), pads=(1, 1, 0, 1), output_padding=(0, 0)),
    ("signed_pads", "ZEROS_BEFORE"): dict(strides=(1, 2), dilations=(1, 1), pads=(-1, 0, 0, 1), output_padding=(0, 0)),
    ("signed_pads", "DILATED_3D"): dict(strides=(1, 2, 3), dilations=(2, 1, 1), pads=(0, 0, 0, 0, -1, -2), output_padding=(0, 0, 0)),
    # GROUPED dim 0: T = L + op - o = 1 + op; NOTSET puts the odd one first: cb = 1 with op = 0.
    ("output_shape", "GROUPED"): dict(strides=(2, 1), dilations=(1, 2), output_padding=(0, 0), output_shape=(6, 4)),
    # crops (2, 0): T = 2 + op splits to 2 before only as ceil(3/2) with op = 1 (stride 2 allows it).
    ("output_shape", "ASYMMETRIC"): dict(strides=(2,), dilations=(1,), output_padding=(1,), output_shape=(7,)),
    ("output_shape", "ZEROS_BEFORE"): "no NOTSET or SAME_UPPER",  # a zero before: ORT's clamped split never gives cb < 0
    ("output_shape", "TF_SAME"): dict(strides=(2,), dilations=(1,), output_padding=(0,), output_shape=(6,)),
    # SAME: T = K - s + op = (1 + op, 2), ca = T - cb - op. SAME_UPPER (tried first) with op = 1 in dim 0:
    # T = 2 splits (1, 1), ca = 0. (SAME_LOWER with op = 0 would give the same crops.)
    ("auto_pad", "GROUPED"): dict(strides=(2, 1), dilations=(1, 2), auto_pad="SAME_UPPER", output_padding=(1, 0)),
    ("auto_pad", "ASYMMETRIC"): "no SAME_UPPER or SAME_LOWER or VALID",  # SAME gives cb <= T/2 < 2, VALID cb = 0
    ("auto_pad", "TF_SAME"): dict(strides=(2,), dilations=(1,), auto_pad="SAME_UPPER", output_padding=(0,)),
    ("auto_pad", "DILATED_3D"): dict(strides=(1, 2, 3), dilations=(2, 1, 1), auto_pad="VALID", output_padding=(0, 1, 2)),
}
CASES = {"GROUPED": GROUPED, "ASYMMETRIC": ASYMMETRIC, "ZEROS_BEFORE": ZEROS_BEFORE, "TF_SAME": TF_SAME, "DILATED_3D": DILATED_3D}


@pytest.mark.parametrize("variant, name", sorted(EXPECTED_NATIVE), ids=[f"{v}-{n}" for v, n in sorted(EXPECTED_NATIVE)])
def test_native_parameters_and_values(runtime, variant, name):
    case, want = CASES[name], EXPECTED_NATIVE[variant, name]
    if isinstance(want, str):
        with pytest.raises(NotApplicable, match=want):
            VARIANTS[variant].native(case)
        return
    native = VARIANTS[variant].native(case)
    assert native == {**want, "runtime": "onnxruntime"}
    assert ONNXRUNTIME.to_canonical(case.input_size, case.kernel_size, **native) == case.geometry
    y, operands = call(runtime, variant, case, native=native)
    assert_matches_oracle(y, case, *operands, "float32", f"{variant} on {name}")


def test_unbatched_results_stay_unbatched(runtime):
    y, operands = call(runtime, "signed_pads", ASYMMETRIC)
    assert y.shape == (2, 7)  # (C_out, o): no batch dim added
    batched = replace(ASYMMETRIC, batch=1)
    y1, _ = call(runtime, "signed_pads", batched)
    np.testing.assert_array_equal(y1[0], y)


def test_the_spaces_draw_in_ort_terms_where_canonical_crops_rarely_fit():
    """auto_pad and output_shape draw ORT's own valid cases; pads keeps to non-negative pads with an
    output_padding below the stride; signed_pads runs every geometry."""
    assert VARIANTS["auto_pad"].space(CPU32) == {"native": ("onnx", "auto_pad")}
    assert VARIANTS["output_shape"].space(CPU32) == {"native": ("onnx", "output_shape")}
    assert VARIANTS["pads"].space(CPU32) == {"crop_before_min": 0, "crop_after_min": "1-s"}
    assert VARIANTS["signed_pads"].space(CPU32) == {}


@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_variant_matches_oracle_in_its_space(runtime, variant, data):
    api = VARIANTS[variant]
    case = data.draw(lane_cases(api.space(CPU32)), label="case")
    try:
        native = api.native(case)
    except NotApplicable:
        if variant == "signed_pads":
            raise
        if variant == "pads":  # exactly where the dialect has no non-negative pads for it
            with pytest.raises(NotExpressible):
                ONNXRUNTIME.from_canonical(case.geometry)
        event("not applicable")
        return
    event("applicable")
    assert ONNXRUNTIME.to_canonical(case.input_size, case.kernel_size, **native) == case.geometry
    for lane in (CPU32, CPU16):
        y, operands = call(runtime, variant, case, lane, native)
        if lane is CPU32:
            assert_matches_oracle(y, case, *operands, "float32", f"{variant}: {case}")
        else:  # float16 in and out: float32 arithmetic, one rounding (above); within float16's bound
            assert_matches_oracle(y, case, *operands, "float16", f"{variant} float16: {case}")


# ---- native cases: the dialect's verdict against ORT's ------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(native_strategy.native_cases())
def test_native_cases_spell_the_dialect_for_onnxruntime(case):
    parameters = case.parameters
    assert case.dialect == "onnx" and parameters["runtime"] == "onnxruntime" and case.variant in VARIANTS
    assert all(isinstance(value, (tuple, str)) for value in parameters.values())  # hashable, as records need
    hash(case)
    try:
        get_dialect("onnx").to_canonical(case.input_size, case.kernel_size, **parameters)  # keywords it accepts
    except Rejected:
        pass


def _full_lengths(case):
    p = case.parameters
    ndim = len(case.input_size)
    s, d = p.get("strides", (1,) * ndim), p.get("dilations", (1,) * ndim)
    return [(i - 1) * s_ + d_ * (k - 1) + 1 for i, k, s_, d_ in zip(case.input_size, case.kernel_size, s, d)]


REACH = {
    "pads with auto_pad": lambda c, p: "pads" in p and p.get("auto_pad", "NOTSET") != "NOTSET",
    "op below dilation, not below stride": lambda c, p: any(s <= op < d for op, s, d in zip(
        p.get("output_padding", ()), p.get("strides", (1,) * 3), p.get("dilations", (1,) * 3))),
    "op at or above max(s, d)": lambda c, p: any(op >= max(s, d) for op, s, d in zip(
        p.get("output_padding", ()), p.get("strides", (1,) * 3), p.get("dilations", (1,) * 3))),
    "negative output_padding": lambda c, p: any(op < 0 for op in p.get("output_padding", ())),
    "output_shape 0 or below": lambda c, p: any(o <= 0 for o in p.get("output_shape", ())),
    "output_shape above L + s - 1": lambda c, p: any(o >= L + s for o, L, s in zip(
        p.get("output_shape", ()), _full_lengths(c), p.get("strides", (1,) * 3))),
    "no output left by pads": lambda c, p: "pads" in p and "output_shape" not in p and p.get("auto_pad", "NOTSET") == "NOTSET"
        and any(L + op - b - e <= 0 for L, op, b, e in zip(_full_lengths(c), p.get("output_padding", (0,) * 3),
                                                         p["pads"][:len(c.input_size)], p["pads"][len(c.input_size):])),
    "negative pads": lambda c, p: any(v < 0 for v in p.get("pads", ())),
    "pads ignored beside output_shape": lambda c, p: "pads" in p and "output_shape" in p,
    "SAME_LOWER with output_shape": lambda c, p: p.get("auto_pad") == "SAME_LOWER" and "output_shape" in p,
    "SAME_UPPER alone": lambda c, p: p.get("auto_pad") == "SAME_UPPER" and "output_shape" not in p and "pads" not in p,
    "VALID": lambda c, p: p.get("auto_pad") == "VALID",
    "grouped 3-D": lambda c, p: c.groups > 1 and len(c.input_size) == 3,
    "unbatched": lambda c, p: c.batch is None,
}


def test_native_cases_reach_every_rule_and_are_invalid_about_a_third_of_the_time():
    dialect, verdicts, reached, variants = get_dialect("onnx"), [], set(), set()

    @settings(max_examples=600, derandomize=True, database=None, deadline=None)
    @given(native_strategy.native_cases())
    def draw(case):
        parameters = case.parameters
        variants.add(case.variant)
        reached.update(name for name, condition in REACH.items() if condition(case, parameters))
        try:
            dialect.to_canonical(case.input_size, case.kernel_size, **parameters)
            verdicts.append(False)
        except Rejected:
            verdicts.append(True)

    draw()
    assert variants == set(VARIANTS)
    assert set(REACH) - reached == set()
    share = sum(verdicts) / len(verdicts)
    assert 0.2 <= share <= 0.5, share


@settings(max_examples=30, deadline=None)
@given(native_strategy.native_cases({"auto_pad": {}, "pads": {}}))
def test_native_cases_keep_to_the_variants_of_the_spaces_given(case):
    assert case.variant in ("auto_pad", "pads")


@settings(max_examples=150, deadline=None)
@given(native_strategy.native_cases())
def test_onnxruntime_raises_exactly_where_the_dialect_rejects(runtime, case):
    parameters = case.parameters
    x, w, bias = case.arrays(np.float32)
    try:
        geometry = get_dialect(case.dialect).to_canonical(case.input_size, case.kernel_size, **parameters)
    except Rejected as rejected:
        event(f"rejected: {case.variant}")
        with pytest.raises(FrameworkError):
            result = VARIANTS[case.variant].call(runtime, parameters, x, w, bias, case.groups, CPU32)
            pytest.fail(f"ORT returned shape {np.shape(result)} where the dialect rejects: {rejected}")
        return
    event(f"accepted: {case.variant}")
    y = VARIANTS[case.variant].call(runtime, parameters, x, w, bias, case.groups, CPU32)
    canonical = Case.from_geometry(case, geometry)
    assert_matches_oracle(y, canonical, x, w, bias, "float32", f"{case.variant}: {parameters}")


# ---- repro snippets ---------------------------------------------------------------------------------

REPRO_CASES = [("pads", GROUPED, CPU32), ("initializers", GROUPED, CPU32), ("initializers", ASYMMETRIC, CPU16),
               ("signed_pads", ZEROS_BEFORE, CPU32), ("output_shape", ASYMMETRIC, CPU32), ("auto_pad", TF_SAME, CPU32),
               ("auto_pad", DILATED_3D, CPU16)]


@pytest.mark.parametrize("variant, case, lane", REPRO_CASES, ids=[f"{v}-{c.ndim}d-{l.dtype}" for v, c, l in REPRO_CASES])
def test_repro_runs_as_written(runtime, variant, case, lane):
    native = VARIANTS[variant].native(case)
    text = VARIANTS[variant].repro(case, native, lane)
    x, w, bias = case.arrays(lane.dtype)
    scope = {"x": x, "w": w, "bias": bias}
    exec(compile(text, f"<repro {variant}>", "exec"), scope)  # noqa: S102  (the snippet is the product under test)
    np.testing.assert_array_equal(scope["y"], VARIANTS[variant].call(runtime, native, x, w, bias, case.groups, lane))
    assert_matches_oracle(scope["y"], case, x, w, bias, lane.dtype, f"repro {variant}")


def test_repro_of_invalid_parameters_raises_like_the_call():
    case = case_of(input_size=(3,), kernel_size=(3,))
    native = dict(strides=(1,), dilations=(2,), output_padding=(1,), runtime="onnxruntime")
    text = VARIANTS["pads"].repro(case, native, CPU32)
    x, w, bias = case.arrays("float32")
    with pytest.raises(Exception, match="may be too large for stride"):
        exec(compile(text, "<repro>", "exec"), {"x": x, "w": w, "bias": bias})  # noqa: S102


# ---- translation imports no framework ----------------------------------------------------------------
