"""Failure signatures on hand-made cases: each geometric class worked out by hand from
``L = (i-1)*s + K``, ``K = d*(k-1) + 1`` and the crops, and the failure class a test raises for each."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracles
from conformance import buckets, checks, results
from conformance.assertions import assert_verdict, discrepancy
from conformance.cases import Case, NativeCase
from conformance.known import Discrepancy, KnownDiscrepancies
from conformance.lanes import TargetLane
from conformance.runner import Runner
from conformance.targets.base import Lane


def case(**changes) -> Case:
    """i=3, k=3, s=1, d=1, no crop: K=3, L=5, o=5, one channel."""
    fields = dict(batch=None, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(3,), bias=False,
                  stride=(1,), dilation=(1,), padding=((0, 0),), output_padding=(0,))
    return Case(**{**fields, **changes})


def native(dialect, variant, input_size=(3,), kernel_size=(3,), **parameters) -> NativeCase:
    return NativeCase(batch=None, groups=1, in_per_group=1, out_per_group=1, input_size=input_size, kernel_size=kernel_size,
                      bias=False, dialect=dialect, variant=variant, native=tuple(sorted(parameters.items())))


@pytest.mark.parametrize("changes, expected", [
    ({}, "plain"),
    ({"padding": ((2, 2),)}, "plain"),  # crops of exactly K-1 = 2 keep the zero-insertion padding at 0
    ({"padding": ((3, 0),)}, "start crop > K-1"),  # o = 5-3 = 2
    ({"padding": ((0, 3),)}, "end crop > K-1"),
    ({"input_size": (5,), "padding": ((3, 3),)}, "start crop > K-1"),  # L = 7, o = 1: both ends, the start first
    ({"padding": ((-2, 5),)}, "crop reaches the full length (bias-only output)"),  # outputs at -2, -1 of 0..4
    ({"padding": ((5, -2),)}, "crop reaches the full length (bias-only output)"),  # outputs at 5, 6 of 0..4
    ({"padding": ((0, 1),), "output_padding": (1,)}, "output_padding >= stride"),  # s=1, op=1; crop after 1-1 = 0
    ({"stride": (2,), "padding": ((0, 0),), "output_padding": (1,)}, "extension (negative crop)"),  # op < s folds to crop after -1
    ({"padding": ((-1, 0),)}, "extension (negative crop)"),
    ({"kernel_size": (1,), "stride": (2,)}, "gaps (stride > effective kernel)"),  # K = 1 < s = 2
    ({"kernel_size": (2,), "stride": (2,)}, "plain"),  # K = s: every position reached once
    ({"kernel_size": (2,), "dilation": (2,), "stride": (4,)}, "gaps (stride > effective kernel)"),  # K = 3 < 4: dilation counted in K
    ({"kernel_size": (2,), "dilation": (2,), "stride": (3,)}, "dilation > 1"),  # K = 3 = s: no gap
    ({"groups": 2}, "groups > 1"),
    ({"groups": 2, "dilation": (2,)}, "groups > 1"),
    ({"groups": 2, "padding": ((3, 0),)}, "start crop > K-1"),
    ({"input_size": (1,)}, "input length 1"),
    ({"in_per_group": 16}, "channels >= 16"),
    ({"out_per_group": 15}, "plain"),
    ({"input_size": (31,)}, "output longer than 32"),  # o = 30 + 3 = 33
    ({"input_size": (30,)}, "plain"),  # o = 32
    ({"input_size": (3, 3), "kernel_size": (3, 3), "stride": (1, 1), "dilation": (1, 1), "padding": ((0, 0), (3, 0)),
      "output_padding": (0, 0)}, "start crop > K-1"),  # the second dim decides
    ({"padding": ((3, 3),)}, "empty output"),  # o = 5 - 6 = -1: not a valid case at all
])
def test_the_geometric_class_of_a_canonical_case(changes, expected):
    assert buckets.geometric_class(case(**changes)) == expected


@pytest.mark.parametrize("case_, expected", [
    (native("torch", "functional", stride=(1,), dilation=(2,), output_padding=(1,)), "output_padding >= stride"),  # torch allows op < max(s, d)
    (native("torch", "functional", stride=(2,), output_padding=1), "extension (negative crop)"),  # an int parameter, folded
    (native("torch", "functional", kernel_size=(1,), padding=(1,)), "start crop > K-1"),  # K = 1, L = 3, p = 1 crops both ends: o = 1
    (native("torch", "functional", padding="same"), "rejected configuration"),
    (native("torch", "functional", padding=(4,)), "rejected configuration"),  # o = 5 - 8 < 0: torch raises
    # jax conv_general_dilated with explicit (a, b) padding: o = i + a + b - K + 1 = 3 + 0 - 3 - 3 + 1 = -2 >= 1-K
    (native("jax", "conv_general_dilated", api="conv_general_dilated", padding=((0, -3),)), "empty output"),
    (native("jax", "conv_transpose", api="conv_transpose", strides=(1,), padding="VALID"), "plain"),
])
def test_the_geometric_class_of_a_native_case(case_, expected):
    assert buckets.geometric_class(case_) == expected


def test_a_signature_is_outcome_check_and_class_and_reads_back():
    signature = buckets.signature("mismatch", "forward", case(padding=((3, 0),)))
    assert signature == ("mismatch", "forward", "start crop > K-1")
    assert str(signature) == "mismatch forward start crop > K-1"
    assert tuple(str(signature).split(" ", 2)) == signature


def test_an_unusable_result_is_one_bucket_whatever_the_geometry():
    """None, a complex array or 10**9 elements is the function's contract, not its arithmetic."""
    cases = [case(padding=((3, 0),)), case(), case(padding=((0, 0),), output_padding=(4,))]
    assert {buckets.signature("shape-mismatch", "forward", c, unusable=True) for c in cases} == {("shape-mismatch", "forward", "unusable result")}


@pytest.mark.parametrize("out, unusable", [
    (None, True), ([1.0, 2.0], True), (np.zeros(3, complex), True), (np.zeros(3, np.int32), True),
    (results.Withheld("ndarray", "limit 10 elements", (10**9,), "float64"), True),
    (results.Withheld("Weird", "cannot be sent back from the worker: TypeError: no"), True),
    (np.zeros(4), False),  # an array of the wrong shape: its geometry is what went wrong
    (np.zeros(3, np.int32).reshape(3, 1), False),  # the shape is judged first
])
def test_the_judge_marks_what_is_not_a_floating_array_as_unusable(out, unusable):
    verdict = results.judge(out, (3,), "ctx")
    assert verdict is not None and verdict.unusable is unusable


def test_the_order_names_each_class_once_and_ends_in_plain():
    assert len(set(buckets.CLASSES)) == len(buckets.CLASSES) and buckets.CLASSES[-1] == "plain"


# -- the failure a test raises ---------------------------------------------------------------------


def failing(bucket, outcome="mismatch", message="1 of 5 elements exceed the error bound"):
    return checks.Verdict(outcome, message, bucket=bucket)


def test_each_signature_fails_with_a_class_of_its_own():
    first, second = "mismatch forward start crop > K-1", "shape-mismatch forward groups > 1"
    with pytest.raises(pytest.fail.Exception) as raised:
        assert_verdict(failing(first))
    assert type(raised.value) is discrepancy(first) and type(raised.value).__name__ == "Discrepancy[mismatch forward start crop > K-1]"
    assert raised.value.msg == "mismatch: 1 of 5 elements exceed the error bound" and raised.value.pytrace is False
    assert discrepancy(first) is discrepancy(first) and discrepancy(first) is not discrepancy(second)
    assert not issubclass(discrepancy(second), discrepancy(first))


@pytest.mark.parametrize("outcome", [checks.PASS, checks.KNOWN, checks.UNSUPPORTED, checks.NOT_APPLICABLE])
def test_outcomes_that_are_not_findings_still_pass(outcome):
    assert_verdict(failing("mismatch forward plain", outcome=outcome))


def test_hypothesis_reports_two_signatures_as_two_bugs():
    """The mechanism the suite relies on: one test, one raise site, two failure classes, two bugs."""

    @settings(max_examples=200, database=None, report_multiple_bugs=True, derandomize=True)
    @given(st.integers(0, 100))
    def two_defects(n):
        if n >= 50:
            assert_verdict(failing("mismatch forward start crop > K-1"))
        if n % 2:
            assert_verdict(failing("shape-mismatch forward groups > 1", outcome="shape-mismatch"))

    with pytest.raises(BaseExceptionGroup) as raised:
        two_defects()
    assert {type(error).__name__ for error in raised.value.exceptions} == {
        "Discrepancy[mismatch forward start crop > K-1]", "Discrepancy[shape-mismatch forward groups > 1]"}


# -- the runner sets it ------------------------------------------------------------------------------

TARGET = TargetLane("impl:fake.py:function", "impl", "function", Lane("cpu", "float64"), version="1.0")


def run_forward(answer, known=None, **changes):
    emitted = []

    class Pool:
        def call(self, worker, method, variant, parameters, x, w, bias, *rest, **_):
            return answer(oracles.conv_transpose(x, w, bias, **parameters))

    verdict = Runner(Pool(), lambda record, verdict: emitted.append(record), known).forward(TARGET, case(**changes))
    return verdict, emitted[0]


def test_the_runner_buckets_failures_and_only_failures():
    verdict, record = run_forward(lambda out: out + 1, padding=((3, 0),))
    assert verdict.outcome == record.outcome == "mismatch"
    assert verdict.bucket == record.bucket == "mismatch forward start crop > K-1"
    verdict, record = run_forward(lambda out: out[..., :-1], groups=2, in_per_group=1, out_per_group=1)
    assert verdict.bucket == record.bucket == "shape-mismatch forward groups > 1"
    verdict, record = run_forward(lambda out: out)
    assert verdict.outcome == "pass" and verdict.bucket == record.bucket == ""


def test_a_known_discrepancy_keeps_the_bucket_of_what_failed():
    known = KnownDiscrepancies([Discrepancy(id="impl-off", framework="impl", versions=">=1", reason="r", link="https://example.org",
                                            checks=("forward",))])
    verdict, record = run_forward(lambda out: np.zeros_like(out), known, padding=((0, 3),))
    assert record.outcome == "known" and record.known == "impl-off"
    assert verdict.bucket == record.bucket == "mismatch forward end crop > K-1"


def test_a_test_shrinks_its_first_signatures_apart_and_the_rest_together():
    raised = buckets.Raised(limit=2)
    assert [raised(s) for s in ("a", "b", "c", "a", "d", "c", "b")] == ["a", "b", buckets.FURTHER, "a", buckets.FURTHER, buckets.FURTHER, "b"]


def test_the_runner_raises_further_signatures_together_but_records_each_and_starts_again_per_test():
    class Pool:
        def call(self, worker, method, variant, parameters, x, w, bias, *rest, **_):
            return oracles.conv_transpose(x, w, bias, **parameters)[..., :-1]  # the wrong shape in every class

    emitted = []
    runner = Runner(Pool(), lambda record, verdict: emitted.append(record))
    classes = [{"padding": ((3, 0),)}, {"padding": ((0, 3),)}, {"groups": 2}, {"input_size": (1,)}]
    verdicts = [runner.forward(TARGET, case(**changes)) for changes in classes]
    signatures = ["shape-mismatch forward start crop > K-1", "shape-mismatch forward end crop > K-1",
                  "shape-mismatch forward groups > 1", "shape-mismatch forward input length 1"]
    assert [record.bucket for record in emitted] == signatures
    assert [verdict.bucket for verdict in verdicts] == signatures[:buckets.SHRUNK_APART] + [buckets.FURTHER] * (4 - buckets.SHRUNK_APART)
    runner.start_test()
    assert runner.forward(TARGET, case(**classes[-1])).bucket == signatures[-1]
