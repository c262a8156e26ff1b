"""``--impl-arrays torch|jax`` and gradients of a user's implementation: the function receives the
library's arrays (in the lane's dtype, on the lane's device), its results come back, and its gradients
are checked by its own ``backward`` or by the library's autodiff through it. Each run is small (the ci
profile, a few examples, ``-k`` to the tests that matter); see ``impl_runs.py``."""

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from impl_runs import EXAMPLES, IMPLS, VALUES, run_suite, written

pytest_plugins = ["pytester"]
GRADIENTS = {"gradient-input", "gradient-weight"}
# Whether a library is installed, asked without importing it here (the runs import it in their workers).
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed: --impl-arrays torch cannot run")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed: --impl-arrays jax cannot run")


def logged(pytester, monkeypatch) -> Path:
    """Where the checked fixtures write the dtype of each call they receive."""
    log = pytester.path / "calls.log"
    monkeypatch.setenv("CONVT_TEST_LOG", str(log))
    return log


@needs_torch
def test_torch_arrays_reach_the_function_as_tensors_in_the_lanes_dtype(pytester, monkeypatch):
    """torch_checked.py asserts it gets torch tensors (x, w, bias alike, on the CPU, in a declared dtype)
    and returns one; bfloat16 comes back as float32 holding the same values."""
    log = logged(pytester, monkeypatch)
    spec = f"{IMPLS / 'torch_checked.py'}:conv_transpose"
    result = run_suite(pytester, spec, "--impl-arrays", "torch", "--impl-version", "9.9.1", "-k", VALUES)
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert records and {r["outcome"] for r in records} == {"pass"}
    dtypes = Counter(log.read_text().split())
    assert set(dtypes) == {r["dtype"] for r in records} == {"bfloat16", "float32", "float64"}  # half precision on the CPU: declared
    (worker, environment), = run["frameworks"].items()
    assert worker == f"impl:{spec}?arrays=torch&version=9.9.1"  # the worker builds the same target as the test process
    assert environment["arrays"] == "torch" and environment["torch_version"] and environment["version"] == "9.9.1"
    assert run["options"]["impl_arrays"] == "torch" and {r["version"] for r in records} == {"9.9.1"}
    assert all("import torch" in r["repro"] for r in records if r["repro"])


@needs_torch
def test_torch_autodiff_gradients_are_checked_and_pass(pytester):
    """examples/torch_impl.py declares gradients="autodiff" in every dtype: torch's autograd through it
    is checked against the oracle's gradients on each lane."""
    result = run_suite(pytester, f"{EXAMPLES / 'torch_impl.py'}:conv_transpose", "--impl-arrays", "torch", "-k", "test_gradients")
    assert result.ret == 0, result.stdout.str()[-3000:]
    _, records = written(pytester.path / "out")
    assert {r["check"] for r in records} == GRADIENTS and {r["outcome"] for r in records} == {"pass"}
    assert {r["dtype"] for r in records} == {"float16", "bfloat16", "float32", "float64"}
    for check in GRADIENTS:  # both gradients of every drawn case
        assert sum(r["check"] == check for r in records) == len(records) // 2


def test_a_wrong_backward_fails_the_gradient_it_gets_wrong_and_only_that(pytester):
    """wrong_backward.py returns twice the weight gradient from its backward (numpy arrays)."""
    result = run_suite(pytester, f"{IMPLS / 'wrong_backward.py'}:conv_transpose", "-k", "test_gradients", "--dtypes", "float64", shrink=False)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    _, records = written(pytester.path / "out")
    by_check = {check: {r["outcome"] for r in records if r["check"] == check} for check in GRADIENTS}
    assert by_check == {"gradient-input": {"pass"}, "gradient-weight": {"mismatch"}}, by_check
    result.stdout.fnmatch_lines(["mismatch: *elements exceed the error bound*gradient-weight]"])


def test_a_correct_backward_passes(pytester, monkeypatch):
    """contract_guard.py's backward (the oracle's gradients) with gradients="backward"."""
    monkeypatch.setenv("CONVT_TEST_CAPABILITIES", '{"gradients": "backward"}')
    result = run_suite(pytester, f"{IMPLS / 'contract_guard.py'}:conv_transpose", "-k", "test_gradients")
    assert result.ret == 0, result.stdout.str()[-3000:]
    _, records = written(pytester.path / "out")
    assert {r["check"] for r in records} == GRADIENTS and {r["outcome"] for r in records} == {"pass"}
    assert all(".backward(" in r["repro"] for r in records if r["repro"])


@needs_jax
def test_jax_arrays_reach_the_function_and_autodiff_through_it_is_checked(pytester, monkeypatch):
    """jax_checked.py asserts it gets JAX arrays on the CPU in a declared dtype (float64 too: x64 is turned
    on for it), and computes in jax.numpy, so JAX's vjp through it gives the gradients."""
    log = logged(pytester, monkeypatch)
    spec = f"{IMPLS / 'jax_checked.py'}:conv_transpose"
    result = run_suite(pytester, spec, "--impl-arrays", "jax", "-k", f"({VALUES}) or test_gradients", examples=4)
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert {r["check"] for r in records} == {"forward"} | GRADIENTS and {r["outcome"] for r in records} == {"pass"}
    assert set(log.read_text().split()) == {r["dtype"] for r in records} == {"float32", "float64"}
    (worker, environment), = run["frameworks"].items()
    assert worker == f"impl:{spec}?arrays=jax" and environment["arrays"] == "jax" and environment["jax_version"]
