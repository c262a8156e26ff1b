"""Implementations that return something other than the output array, run as a user runs them: every
check of every test is judged and recorded, never lost to a TypeError inside a comparison."""

import fnmatch
import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
IMPL = Path(__file__).parent / "impls" / "bad_returns.py"
IMPL_TESTS = 10  # values, large outputs, linearity, batch split, determinism; float32 and float64


def records(directory):
    lines = (Path(directory) / "records.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]  # the first line describes the run


@pytest.mark.parametrize(
    "function, outcome, message",
    [
        pytest.param("returns_none", "shape-mismatch", "out is None, but should be an array of shape (*) [impl.function *]", id="returns_none"),
        pytest.param("wrong_shape", "shape-mismatch", "out.shape=(*), but should be (*) [impl.function *]", id="wrong_shape"),
        pytest.param("flat", "shape-mismatch", "out.shape=(*,), but should be (*) [impl.function *]", id="flat"),
        pytest.param("as_list", "shape-mismatch", "out is a list, but should be an array of shape (*) [impl.function *]", id="as_list"),
        pytest.param("string", "shape-mismatch", "out is a str, but should be an array of shape (*) [impl.function *]", id="string"),
        pytest.param("unpicklable", "shape-mismatch", "out is a generator (cannot be sent back from the worker: *), but should be an array of shape (*) [impl.function *]", id="unpicklable"),
        pytest.param("objects", "mismatch", "out.dtype=object, but should be floating point [impl.function *]", id="objects"),
        pytest.param("complex_values", "mismatch", "out.dtype=complex*, but should be real [impl.function *]", id="complex_values"),
        pytest.param("integers", "mismatch", "out.dtype=int64, but should be floating point [impl.function *]", id="integers"),
    ],
)
def test_a_bad_return_value_fails_every_test_with_its_records(pytester, function, outcome, message):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "5",
                                           "--impl", f"{IMPL}:{function}", "--report-dir", "out")
    assert result.ret == 1
    assert result.parseoutcomes()["failed"] == IMPL_TESTS, "some test passed or errored instead of failing"
    written = records(pytester.path / "out")
    assert len({r["test"] for r in written}) == IMPL_TESTS, "some test has no record"
    assert {r["outcome"] for r in written} == {outcome}
    for record in written:
        assert fnmatch.fnmatchcase(record["message"], message.replace("[", "[[]")), record["message"]  # '[' is literal here
