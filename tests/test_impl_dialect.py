"""``--impl-dialect``: a function with a framework's own signature, driven through that framework's
parameter space (valid and invalid) in its layouts.

The plumbing is checked with functions that compute through the oracle's own dialects
(``tests/impls/dialect_reference.py``: no discrepancy may appear, in any dialect), and its teeth with
functions that get one thing wrong (``tests/impls/lenient_dialects.py``): accepting what the framework
rejects, or returning the right numbers in the wrong layout."""

import dataclasses
import json
from pathlib import Path

import pytest

from conformance import checks
from conformance.cases import Case, NativeCase
from conformance.lanes import TargetLane
from conformance.runner import Runner
from conformance.targets import get
from conformance.targets.base import Lane
from conformance.targets.impl import worker_name

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"
REFERENCE = IMPLS / "dialect_reference.py"
LENIENT = IMPLS / "lenient_dialects.py"
LANE = Lane("cpu", "float64")


class InProcessPool:
    """The worker's dispatch (``conformance.worker.Served``) in this process: variant calls on the runtime."""

    def __init__(self):
        self.runtimes = {}

    def call(self, worker, method, variant, *args, max_elements=None, **kwargs):
        target = get(worker)
        runtime = self.runtimes.setdefault(worker, target.runtime())
        return getattr(target.variant(variant), method)(runtime, *args, **kwargs)


def lane_of(spec, dialect, variant):
    return TargetLane(worker_name(spec, dialect=dialect), "impl", variant, LANE)


def run(check, target, case):
    emitted = []
    runner = Runner(InProcessPool(), lambda record, verdict: emitted.append(record))
    verdict = getattr(runner, check)(target, case)
    return verdict, emitted


def canonical(**changes):
    fields = dict(batch=2, groups=2, in_per_group=2, out_per_group=3, input_size=(3, 4), kernel_size=(3, 2), bias=True, seed=5,
                  stride=(2, 1), dilation=(1, 2), padding=((1, 1), (0, 0)), output_padding=(0, 0))
    return Case(**{**fields, **changes})


@pytest.mark.parametrize("dialect, variant", [("torch", "functional"), ("onnx", "pads"), ("tensorflow", "nn"), ("jax", "conv_transpose")])
def test_a_function_of_each_dialect_s_signature_is_called_in_its_layouts(dialect, variant):
    """A grouped, strided, dilated, biased 2-D case through the dialect's own parameters and layouts
    (TensorFlow: channels-last, filter (*k, C_out/g, C_in), the full output_shape; JAX: its dimension
    numbers) and back: the oracle's own numbers, within the bound. TF and JAX take 'SAME'/'VALID' or explicit pads."""
    case = canonical(groups=1) if dialect in ("tensorflow", "jax") else canonical()
    if dialect == "tensorflow":  # tf.nn's explicit padding is 2-D, ungrouped: its translation says which cases it expresses
        case = dataclasses.replace(case, dilation=(1, 1))
    target = lane_of(f"{REFERENCE}:{dialect}", dialect, variant)
    verdict, emitted = run("forward", target, case)
    assert verdict.outcome == checks.PASS, verdict.message
    assert [r.target for r in emitted] == [f"impl.{variant}"] and emitted[0].native  # the dialect's own parameters, recorded


def test_an_unbatched_input_comes_back_unbatched_through_a_layout():
    target = lane_of(f"{REFERENCE}:tensorflow", "tensorflow", "nn")
    verdict, _ = run("forward", target, canonical(groups=1, batch=None, dilation=(1, 1)))
    assert verdict.outcome == checks.PASS, verdict.message


def test_parameters_the_framework_rejects_must_be_rejected():
    """torch raises for negative padding and for output_padding >= max(stride, dilation): a function
    that computes anyway is an error-mismatch; one that raises as torch does passes."""
    recipe = dict(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(2,), bias=False, seed=0)
    for native in ({"stride": (1,), "padding": (-1,), "output_padding": (0,), "dilation": (1,)},
                   {"stride": (2,), "padding": (0,), "output_padding": (2,), "dilation": (1,)}):
        case = NativeCase(**recipe, dialect="torch", variant="functional", native=tuple(sorted(native.items())))
        lenient, _ = run("native", lane_of(f"{LENIENT}:torch_accepts_anything", "torch", "functional"), case)
        assert lenient.outcome == checks.ERROR_MISMATCH and "returned a result, but should raise" in lenient.message
        strict, _ = run("native", lane_of(f"{REFERENCE}:torch", "torch", "functional"), case)
        assert strict.outcome == checks.PASS, strict.message


def test_the_right_numbers_in_the_wrong_layout_fail():
    target = lane_of(f"{LENIENT}:tensorflow_channels_first_result", "tensorflow", "nn")
    verdict, _ = run("forward", target, canonical(groups=1, dilation=(1, 1), out_per_group=5))
    assert verdict.failed, verdict.message


def test_a_dialect_function_declares_only_dtypes_devices_and_tf32(tmp_path):
    impl = tmp_path / "narrow.py"
    impl.write_text("from conformance import Capabilities\n"
                    "def f(x, w, bias, *, groups, **native):\n    raise RuntimeError('never called')\n"
                    "f.capabilities = Capabilities(dilation=False)\n")
    with pytest.raises(ValueError, match="--impl-dialect torch.*declares only dtypes, devices and tf32.*no dilation"):
        get(worker_name(f"{impl}:f", dialect="torch")).runtime()


@pytest.mark.parametrize("dialect", ["torch", "onnx", "tensorflow", "jax"])
def test_the_suite_finds_nothing_in_a_faithful_function_of_each_dialect(pytester, dialect):
    """The whole suite, valid and invalid native cases included, on the dialect's reference function:
    green, with native checks of every spelling the dialect has."""
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "20",
                                           "--impl", f"{REFERENCE}:{dialect}", "--impl-dialect", dialect, "--report-dir", "out",
                                           "-k", "test_values or test_dialect_parameters", "--hypothesis-profile", "ci")
    assert result.ret == 0, result.stdout.str()[-3000:]
    lines = (pytester.path / "out" / "records.jsonl").read_text().splitlines()
    run_line, records = json.loads(lines[0])["run"], [json.loads(line) for line in lines[1:]]
    assert next(iter(run_line["frameworks"].values()))["dialect"] == dialect
    native = {r["target"] for r in records if r["check"] == "native"}
    spellings = {"torch": {"impl.functional"}, "onnx": {"impl.pads", "impl.output_shape", "impl.auto_pad"},
                 "tensorflow": {"impl.nn"}, "jax": {"impl.conv_transpose"}}[dialect]
    assert native == spellings and {r["outcome"] for r in records} <= {"pass"}
    assert any(r["check"] == "forward" for r in records)
