"""The standalone repros (``conformance.standalone``): the NumPy reference they carry agrees with the
oracle, their operands are exactly the lane's, and a failing record's script runs in an isolated
interpreter (``python -I`` from an empty folder: the repository is not importable) with NumPy and the
framework alone, printing a difference for a planted fault and none where the framework is right.

The failing records are made by the runner itself, with a pool that plants a wrong answer (the test
process imports no framework); the script then calls the real framework, which is right, so it prints
no difference. The ``--impl`` record comes from a real faulty function, so its script prints one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracles
from conformance import check_kinds, operands, standalone
from conformance.cases import Case, NativeCase
from conformance.lanes import TargetLane
from conformance.repro_reference import REFERENCE
from conformance.runner import Runner
from conformance.targets.base import Lane
from oracles.gradients import input_gradient, weight_gradient

NOT_SUITE = ("conformance", "oracles", "reports", "convt")
IMPL = Path(__file__).with_name("impls") / "numpy_missing_bias.py"

# Integer values: every framework's float32 answer is exact, so "no difference" means exactly none.
CASE = Case(batch=2, groups=1, in_per_group=2, out_per_group=3, input_size=(3, 4), kernel_size=(2, 3), bias=True, seed=5,
            values="integer", stride=(2, 1), dilation=(1, 2), padding=((1, 1), (1, 1)), output_padding=(1, 0))


def reference():
    scope = {"np": np}
    exec(REFERENCE, scope)  # noqa: S102 - the text under test
    return scope


# -- the reference against the oracle --------------------------------------------------------------


@st.composite
def configurations(draw):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    per_in, per_out = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    batch = draw(st.sampled_from([None, 1, 2]))
    dims = []
    for _ in range(ndim):
        i, k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        full = (i - 1) * s + d * (k - 1) + 1
        before = draw(st.integers(-2, 2))
        after = draw(st.integers(-2, full - before - 1))  # at least one output element
        dims.append((i, k, s, d, (before, after), draw(st.integers(0, 2))))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal(((batch,) if batch else ()) + (groups * per_in, *(i for i, *_ in dims)))
    w = rng.standard_normal((groups * per_in, per_out, *(k for _, k, *_ in dims)))
    bias = rng.standard_normal(groups * per_out) if draw(st.booleans()) else None
    kwargs = dict(stride=tuple(d[2] for d in dims), dilation=tuple(d[3] for d in dims), crops=tuple(d[4] for d in dims),
                  output_padding=tuple(d[5] for d in dims), groups=groups)
    return x, w, bias, kwargs


def oracle_kwargs(kwargs):
    return dict(stride=kwargs["stride"], dilation=kwargs["dilation"], padding=kwargs["crops"], output_padding=kwargs["output_padding"], groups=kwargs["groups"])


@settings(max_examples=150, deadline=None)
@given(configurations())
def test_the_reference_agrees_with_the_oracle(configuration):
    x, w, bias, kwargs = configuration
    ours = reference()["conv_transpose_reference"](x, w, bias, **kwargs)
    np.testing.assert_allclose(ours, oracles.conv_transpose(x, w, bias, **oracle_kwargs(kwargs)), rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(configurations())
def test_the_adjoint_agrees_with_the_oracles_gradients(configuration):
    x, w, bias, kwargs = configuration
    kw = oracle_kwargs(kwargs)
    upstream = np.random.default_rng(1).standard_normal(oracles.conv_transpose(x, w, bias, **kw).shape)
    adjoint = {name: kwargs[name] for name in ("stride", "dilation", "crops", "groups")}
    dx, dw = reference()["conv_transpose_adjoint"](upstream, x, w, **adjoint)
    np.testing.assert_allclose(dx, input_gradient(upstream, w, x.shape[-len(kw["stride"]):], **kw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, weight_gradient(x, upstream, w.shape[2:], **kw), rtol=1e-12, atol=1e-12)


def test_the_reference_imports_nothing_of_the_suite():
    assert not any(f"import {name}" in REFERENCE or f"from {name}" in REFERENCE for name in NOT_SUITE)


# -- the operands ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("values", ["float", "integer"])
@pytest.mark.parametrize("size", [(2,), (9, 8)], ids=["literals", "generator"])
def test_the_operand_lines_make_the_lanes_operands_exactly(dtype, values, size):
    case = Case(batch=2, groups=1, in_per_group=2, out_per_group=3, input_size=size, kernel_size=(2,) * len(size), bias=True, seed=11,
                values=values, stride=(2,) * len(size), dilation=(1,) * len(size), padding=((0, 1),) * len(size), output_padding=(0,) * len(size))
    shape = (2, 3, *case.geometry.output_size)
    scope = {"np": np}
    streams = [("upstream", operands.UPSTREAM_STREAM, shape), ("x2", operands.SECOND_INPUT_STREAM, case.input_shape())]
    exec("\n".join(standalone._operand_lines(case, dtype, streams)), scope)  # noqa: S102
    x, w, bias = operands.for_lane(case, dtype)
    for name, wanted in (("x", x), ("w", w), ("bias", bias), ("upstream", operands.upstream(case, shape, dtype)),
                         ("x2", operands.second_input(case, case.input_shape(), dtype))):
        assert scope[name].dtype == np.float64 and np.array_equal(scope[name], wanted.astype(np.float64)), name
    assert np.array_equal(scope["total"], operands.lane_values(x.astype(np.float64) + scope["x2"], dtype).astype(np.float64))


# -- failing records, their scripts run in isolation -----------------------------------------------


class PlantedPool:
    """Answers every worker call with the oracle's answer for ``case`` plus one: a wrong answer of the
    right shape (gradients: both), or, for native cases the dialect rejects, an answer where the
    framework must raise."""

    def __init__(self, case):
        self.case = case

    def call(self, worker, method, variant, native, x, w, bias, groups, *rest, max_elements=None, epilogue=None):
        if isinstance(self.case, NativeCase):  # a configuration the framework must reject: any answer is wrong
            return np.zeros((x.shape[0], w.shape[1] * groups, 1))
        case = self.case
        kw = case.oracle_kwargs()
        if method == "gradients":
            upstream = rest[0]
            return input_gradient(upstream, w, case.input_size, **kw) + 1, weight_gradient(x, upstream, case.kernel_size, **kw) + 1
        return oracles.conv_transpose(x, w, bias, **kw) + 1


def failing_record(target, case, check=check_kinds.FORWARD):
    emitted = []
    runner = Runner(PlantedPool(case), lambda record, verdict: emitted.append(record))
    if check in check_kinds.GRADIENTS:
        runner.gradients(target, case)
    elif check == check_kinds.NATIVE:
        runner.native(target, case)
    else:
        runner.forward(target, case)
    [record] = [record for record in emitted if record.check == check]
    assert record.outcome in ("mismatch", "error-mismatch"), record.message
    return record


def run_isolated(text: str, folder: Path) -> str:
    """Run ``text`` as ``repro.py`` in ``folder`` with ``python -I`` (no repository on the path, no
    PYTHON* variables), then list any module of the suite it imported; return its output."""
    (folder / "repro.py").write_text(text)
    probe = ("import runpy, sys; runpy.run_path('repro.py', run_name='__main__'); "
             f"print('SUITE MODULES:', sorted(m for m in sys.modules if m.split('.')[0] in {NOT_SUITE!r}))")
    done = subprocess.run([sys.executable, "-I", "-c", probe], cwd=folder, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- the script:\n{text}"
    assert "SUITE MODULES: []" in done.stdout, done.stdout
    return done.stdout


def assert_standalone(text: str):
    assert text.startswith("# Standalone repro:"), text
    assert not any(f"import {name}" in text or f"from {name}" in text for name in NOT_SUITE), text


def lane(framework, **changes):
    backend = {"torch": "native", "tensorflow": "onednn"}.get(framework, "default")
    return Lane(**{"device": "cpu", "dtype": "float32", "backend": backend, **changes})


# No dilation, no crops: what TensorFlow's CPU kernels and Keras's padding strings can all run.
PLAIN = Case(**{**CASE.__dict__, "padding": ((0, 0), (0, 0)), "output_padding": (0, 0), "dilation": (1, 1)})

FRAMEWORK_CHECKS = [
    ("torch", "functional", CASE, check_kinds.FORWARD),
    ("torch", "functional", CASE, check_kinds.GRADIENT_INPUT),
    ("torch", "module", CASE, check_kinds.GRADIENT_WEIGHT),
    ("torch", "channels_last", CASE, check_kinds.FORWARD),
    ("tensorflow", "nn", PLAIN, check_kinds.GRADIENT_WEIGHT),
    ("tensorflow", "keras", PLAIN, check_kinds.FORWARD),
    ("jax", "conv_transpose", CASE, check_kinds.FORWARD),
    ("jax", "conv_general_dilated", Case(**{**CASE.__dict__, "groups": 2, "in_per_group": 1}), check_kinds.GRADIENT_INPUT),
    ("onnxruntime", "pads", CASE, check_kinds.FORWARD),
]


@pytest.mark.parametrize("framework, variant, case, check", FRAMEWORK_CHECKS, ids=[f"{f}.{v}-{c}" for f, v, _, c in FRAMEWORK_CHECKS])
def test_a_frameworks_repro_runs_alone_and_shows_no_difference_where_it_is_right(tmp_path, framework, variant, case, check):
    pytest.importorskip({"onnxruntime": "onnxruntime", "tensorflow": "tensorflow"}.get(framework, framework))
    target = TargetLane(framework, framework, variant, lane(framework))
    record = failing_record(target, case, check)
    assert_standalone(record.repro)
    out = run_isolated(record.repro, tmp_path)
    assert "NO DIFFERENCE beyond 0" in out and "DIFFERS" not in out, out


def test_a_native_repro_shows_the_framework_raising_where_the_dialect_rejects(tmp_path):
    pytest.importorskip("torch")
    # output_padding 2 >= stride 2 and >= dilation 1: torch must raise.
    case = NativeCase(dialect="torch", variant="functional", batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,),
                      kernel_size=(2,), bias=False, seed=1,
                      native=(("dilation", 1), ("output_padding", 2), ("padding", 0), ("stride", 2)))
    record = failing_record(TargetLane("torch", "torch", "functional", lane("torch")), case, check_kinds.NATIVE)
    assert_standalone(record.repro)
    out = run_isolated(record.repro, tmp_path)
    assert "the framework raised" in out and "should: raise:" in out and "NO DIFFERENCE: it raised" in out, out


def test_an_impl_repro_imports_the_users_module_by_its_spec_and_shows_the_fault(tmp_path):
    spec = f"{IMPL}:conv_transpose"
    target = TargetLane(f"impl:{spec}", "impl", "function", Lane("cpu", "float64"))
    case = Case(**{**CASE.__dict__, "values": "float"})
    emitted = []
    runner = Runner(ImplPool(), lambda record, verdict: emitted.append(record))
    assert runner.forward(target, case).outcome == "mismatch"
    [record] = emitted
    assert_standalone(record.repro)
    assert str(IMPL) in record.repro
    out = run_isolated(record.repro, tmp_path)
    assert "DIFFERS" in out, out
    first = record.first_differences[0]
    assert f"{tuple(first['index'])}: framework {first['actual']!r}, expected {first['expected']!r}" in out, out


class ImplPool:
    """Calls the ``--impl`` function in this process (it is NumPy alone), as its worker would."""

    def call(self, worker, method, variant, native, *args, max_elements=None):
        from conformance import targets

        target = targets.get(worker)
        return getattr(target.variant(variant), method)(target.runtime(), native, *args)


# -- every variant, every check kind, every dialect's native cases: a script that compiles ------------


def test_every_variant_writes_a_script_for_every_check_it_makes(tmp_path):
    """Text only (no framework): each registered variant, in each mode it runs, for each check kind."""
    from conformance import targets

    case = PLAIN
    for framework, target in targets.targets().items():
        for api in target.variants:
            for mode in api.modes:
                where = TargetLane(framework, framework, api.name, lane(framework, mode=mode))
                try:
                    native = api.native(case)
                except Exception:  # noqa: BLE001 - a variant that cannot express the case makes no check of it
                    continue
                kinds = [check_kinds.FORWARD, check_kinds.LINEARITY, check_kinds.BATCH_SPLIT, check_kinds.DETERMINISM]
                kinds += [check_kinds.epilogue_check(name) for name in api.epilogues]
                kinds += list(check_kinds.GRADIENTS) if api.checks_gradients else []
                for check in kinds:
                    text = standalone.script(check, where, case, native, "a message")
                    assert_standalone(text)
                    compile(text, f"<{where.name} {mode} {check}>", "exec")


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_every_native_case_gets_a_script(data):
    """Valid, rejected and empty-output native cases of every dialect, with and without an epilogue."""
    import importlib

    from conformance import targets
    from oracles.dialects import NotExpressible

    framework = data.draw(st.sampled_from(["torch", "tensorflow", "jax", "onnxruntime"]))
    dialect = data.draw(st.sampled_from(targets.get(framework).dialects))
    case = data.draw(importlib.import_module(f"conformance.native.{dialect}").native_cases())
    try:
        case.canonical()
    except NotExpressible as error:
        if type(error).__name__ == "NotExpressible":
            return  # not a configuration of this API: recorded as not applicable, without a check
    except Exception:  # noqa: BLE001 - rejected or empty: the script shows what the framework does
        pass
    where = TargetLane(framework, framework, case.variant, lane(framework))
    parameters = dict(case.parameters)
    if data.draw(st.booleans()) and "relu" in where.api.epilogues:
        parameters["epilogue"] = "relu"
    text = standalone.script(check_kinds.NATIVE, where, case, parameters)
    assert_standalone(text)
    compile(text, "<native>", "exec")
