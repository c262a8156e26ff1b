"""The runner against a scripted worker pool: what it does with crashes, hangs and bad results,
call by call (the suite-level runs in test_worker_failsafe.py show the same as a user sees it)."""

import numpy as np
import pytest

import oracles
from conformance import checks, results
from conformance.cases import Case, NativeCase
from conformance.known import Discrepancy, KnownDiscrepancies
from conformance.lanes import TargetLane
from conformance.runner import Runner
from conformance.targets.base import Lane
from conformance.worker import Crash, Timeout

TARGET = TargetLane("impl:fake.py:function", "impl", "function", Lane("cpu", "float64"))


def case(seed: int, **changes) -> Case:
    fields = dict(batch=2, groups=1, in_per_group=1, out_per_group=2, input_size=(3,), kernel_size=(2,), bias=False,
                  stride=(1,), dilation=(1,), padding=((0, 0),), output_padding=(0,), seed=seed)
    return Case(**{**fields, **changes})


def seed_of(x) -> int | None:
    """Which ``case(seed)`` made the input ``x`` (or one of its samples): calls carry operands, not cases."""
    for seed in range(10):
        full = case(seed).arrays()[0]
        if np.array_equal(full, x) or any(np.array_equal(sample, x) for sample in full):
            return seed
    return None


class ScriptedPool:
    """Answers the runner's worker calls ``(method, variant, native, x, w, bias, ...)`` from
    ``answer(native, x, w, bias, ...)``: a value, or an exception to raise. Keeps the calls (method and
    the seed of the case whose operands they carry) and the result-size limit each named."""

    def __init__(self, answer):
        self.answer, self.calls, self.limits = answer, [], []

    def call(self, worker, method, variant, native, *args, max_elements=None):
        self.calls.append((method, seed_of(args[0])))
        self.limits.append(max_elements)
        result = self.answer(native, *args)
        if isinstance(result, Exception):
            raise result
        return result


def make_runner(answer):
    emitted = []
    pool = ScriptedPool(answer)
    return Runner(pool, lambda record, verdict: emitted.append(record)), pool, emitted


def correct(native, x, w, b, *_):
    """The right answer for ``--impl``'s native parameters, which are the oracle's own."""
    return oracles.conv_transpose(x, w, b, **native)


def test_a_crashed_case_is_called_once_and_the_cases_after_it_not_at_all():
    crashing = case(1)
    runner, pool, _ = make_runner(lambda native, x, *rest: Crash("impl worker died during call (exit code -11)") if seed_of(x) == 1 else correct(native, x, *rest))
    runner.start_test()
    assert runner.forward(TARGET, case(0)).outcome == checks.PASS
    assert runner.forward(TARGET, crashing).outcome == checks.CRASH
    later = runner.forward(TARGET, case(2))  # a shrink step after the crash
    assert later.outcome == checks.NOT_APPLICABLE and later.message.startswith("not run: the worker crashed on an earlier example")
    replay = runner.forward(TARGET, crashing)  # hypothesis's final replay
    assert replay.outcome == checks.CRASH and "exit code -11" in replay.message
    assert runner.forward(TARGET, case(0)).outcome == checks.PASS  # ran to the end before the crash: replayed for real
    assert [seed for _, seed in pool.calls] == [0, 1, 0]


def test_a_timed_out_case_is_remembered_the_same_way():
    runner, pool, _ = make_runner(lambda c, *_: Timeout("impl.forward did not return within 2 s; worker killed"))
    runner.start_test()
    assert runner.determinism(TARGET, case(1)).outcome == checks.TIMEOUT
    assert "a call timed out on an earlier example" in runner.determinism(TARGET, case(2)).message
    assert runner.determinism(TARGET, case(1)).outcome == checks.TIMEOUT
    assert len(pool.calls) == 1


def test_the_memory_of_a_crash_ends_with_its_test():
    runner, pool, _ = make_runner(lambda c, *_: Crash("died"))
    runner.start_test()
    runner.forward(TARGET, case(1))
    runner.start_test()
    assert runner.forward(TARGET, case(2)).outcome == checks.CRASH
    assert len(pool.calls) == 2


def test_a_crash_mid_check_is_the_whole_case_s_verdict_on_replay():
    """Linearity calls three times; a crash on the second makes the replay stop at the first."""
    answers = iter([oracles.conv_transpose(*case(1).arrays(), **case(1).oracle_kwargs()), Crash("died on the second call")])
    runner, pool, _ = make_runner(lambda c, *_: next(answers))
    runner.start_test()
    assert runner.linearity(TARGET, case(1)).outcome == checks.CRASH
    assert "second call" in runner.linearity(TARGET, case(1)).message
    assert len(pool.calls) == 2


def test_a_remembered_verdict_is_a_copy():
    """What becomes of a replayed verdict (the runner relabels some) must not change what is remembered."""
    runner, _, _ = make_runner(lambda c, *_: Crash("died"))
    runner.start_test()
    assert runner.forward(TARGET, case(1)).outcome == checks.CRASH
    replay = runner.forward(TARGET, case(1))
    replay.outcome = checks.KNOWN
    assert runner.forward(TARGET, case(1)).outcome == checks.CRASH


def test_a_known_crash_stops_nothing():
    """A crash that matches a known discrepancy passes its example; the test's other examples still run."""
    known = KnownDiscrepancies([Discrepancy(id="torch-crash", framework="torch", versions=">=2", reason="r", link="https://example.org", checks=("forward",))])
    target = TargetLane("torch", "torch", "functional", Lane("cpu", "float64"), version="2.5.0")
    pool = ScriptedPool(lambda native, x, w, b, *_: Crash("died") if seed_of(x) == 1 else oracles.conv_transpose(x, w, b, **case(2).oracle_kwargs()))
    runner = Runner(pool, lambda record, verdict: None, known)
    runner.start_test()
    assert runner.forward(target, case(1)).outcome == checks.KNOWN
    assert runner.forward(target, case(2)).outcome == checks.PASS
    assert len(pool.calls) == 2


def test_other_errors_are_not_remembered():
    """Only crashes and timeouts stop a test's examples; a bug elsewhere propagates as before, every time."""
    runner, pool, _ = make_runner(lambda c, *_: RuntimeError("not a worker failure"))
    runner.start_test()
    for seed in (1, 2):
        with pytest.raises(RuntimeError):
            runner.forward(TARGET, case(seed))
    assert len(pool.calls) == 2


# -- results judged where the runner receives them ------------------------------------------------

CONTEXT = "[impl.function float64 cpu: stride=(1,), padding=((0, 0),), output_padding=(0,), dilation=(1,), groups=1]"


@pytest.mark.parametrize(
    "returned, outcome, message",
    [
        (None, checks.SHAPE_MISMATCH, f"out is None, but should be an array of shape (2, 2, 4) {CONTEXT}"),
        ([[0.0]], checks.SHAPE_MISMATCH, f"out is a list, but should be an array of shape (2, 2, 4) {CONTEXT}"),
        (np.zeros((2, 2, 5)), checks.SHAPE_MISMATCH, f"out.shape=(2, 2, 5), but should be (2, 2, 4) {CONTEXT}"),
        (np.zeros((2, 2, 4), complex), checks.MISMATCH, f"out.dtype=complex128, but should be real {CONTEXT}"),
        (np.zeros((2, 2, 4), int), checks.MISMATCH, f"out.dtype=int64, but should be floating point {CONTEXT}"),
        (results.Withheld("ndarray", "limit 65536 elements", (10**9,), "float64"), checks.SHAPE_MISMATCH,
         f"out.shape=(1000000000,), but should be (2, 2, 4); its 1000000000 float64 elements (8.0 GB) stayed in the worker (limit 65536 elements) {CONTEXT}"),
    ],
)
@pytest.mark.parametrize("check", ["forward", "linearity", "batch_split", "determinism"])
def test_every_check_judges_a_bad_result_and_records_it(check, returned, outcome, message):
    runner, pool, emitted = make_runner(lambda c, *_: returned)
    verdict = getattr(runner, check)(TARGET, case(1))
    assert (verdict.outcome, verdict.message) == (outcome, message)
    assert [r.outcome for r in emitted] == [outcome]
    assert pool.limits[0] == results.element_limit(2 * 2 * 4), "the worker was not told how large a result may be"


def test_a_correct_result_still_passes_every_check():
    runner, _, emitted = make_runner(correct)
    for check in ("forward", "linearity", "batch_split", "determinism"):
        assert getattr(runner, check)(TARGET, case(1)).outcome == checks.PASS
    assert len(emitted) == 4


def test_each_gradient_is_judged_on_its_own():
    runner, pool, emitted = make_runner(lambda native, x, w, *_: (None, np.zeros(w.shape)))
    dx, dw = runner.gradients(TARGET, case(1))
    assert dx.outcome == checks.SHAPE_MISMATCH and dx.message.startswith("dx is None, but should be an array of shape (2, 1, 3) [")
    assert dw.outcome == checks.MISMATCH  # judged: the right shape, the wrong values
    assert pool.limits == [results.element_limit(2 * 1 * 3 + 1 * 2 * 2)]


def test_gradients_that_are_not_a_pair_fail_both_checks():
    runner, _, emitted = make_runner(lambda c, *_: [np.zeros(3)])
    verdicts = runner.gradients(TARGET, case(1))
    assert [v.message.split(" [")[0] for v in verdicts] == ["out is a list of 1, but should be (dx, dw)"] * 2
    assert [r.check for r in emitted] == ["gradient-input", "gradient-weight"]


NATIVE = dict(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(3,), kernel_size=(2,), bias=False)


def test_a_native_call_is_judged_against_the_dialect_s_output_shape():
    native = NativeCase(dialect="torch", variant="functional", native=(("stride", (2,)),), **NATIVE)  # o = (3-1)*2 + 2 = 6
    runner, pool, _ = make_runner(lambda parameters, *_: np.zeros((1, 1, 5)))
    verdict = runner.native(TARGET, native)
    assert verdict.outcome == checks.SHAPE_MISMATCH and verdict.message.startswith("out.shape=(1, 1, 5), but should be (1, 1, 6) [")
    assert pool.limits == [results.element_limit(6)]


def test_a_native_call_that_should_raise_is_an_error_mismatch_whatever_it_returns():
    native = NativeCase(dialect="torch", variant="functional", native=(("stride", (0,)),), **NATIVE)
    runner, pool, _ = make_runner(lambda parameters, *_: None)
    assert runner.native(TARGET, native).outcome == checks.ERROR_MISMATCH
    assert pool.limits == [None]  # no expected size: the worker's default limit


def test_agreement_judges_each_dialect_s_result():
    native = NativeCase(dialect="tensorflow", variant="nn", native=(("output_shape", (6,)), ("padding", "SAME"), ("strides", (2,))), **NATIVE)
    other = TargetLane("impl:other.py:function", "impl", "other", Lane("cpu", "float64"))
    runner, _, emitted = make_runner(lambda parameters, *_: np.zeros((1, 1, 6)) if parameters["padding"] == "SAME" else None)
    verdict = runner.agreement([TARGET, other], [{"padding": "SAME"}, {"padding": "same"}], native)
    assert verdict.outcome == checks.SHAPE_MISMATCH and verdict.message.startswith("out is None, but should be an array of shape (1, 1, 6) [impl.other ")
    assert [r.target for r in emitted] == ["impl.other"]


def test_a_repro_that_cannot_be_written_keeps_the_record(monkeypatch):
    """The repro is text the variant writes in this process; if that raises, the failure is still recorded, saying so."""
    variant = TARGET.api

    def broken(case, native, lane, epilogue=None):
        raise KeyError("slices")

    monkeypatch.setattr(variant, "repro", broken)
    runner, _, emitted = make_runner(lambda *_: np.zeros((2, 2, 4)))
    assert runner.forward(TARGET, case(1)).outcome == checks.MISMATCH
    assert [r.outcome for r in emitted] == [checks.MISMATCH]
    assert emitted[0].repro == "# no repro: impl.function.repro raised KeyError: 'slices'"


def test_the_whole_error_text_is_kept_only_where_it_explains_a_failure():
    """A framework's rejection of parameters its dialect rejects passes and keeps no text (TF's run to
    pages; every passing native check would carry them); an error on valid parameters keeps all of it."""
    from conformance.targets.base import FrameworkError

    raising = lambda *_: FrameworkError("InvalidArgumentError", "Conv2DCustomBackpropInput: bad", "Conv2DCustomBackpropInput: bad\npage two")
    rejected = NativeCase(dialect="torch", variant="functional", native=(("stride", (0,)),), **NATIVE)
    runner, _, emitted = make_runner(raising)
    assert runner.native(TARGET, rejected).outcome == checks.PASS and emitted[-1].detail == ""
    valid = NativeCase(dialect="torch", variant="functional", native=(("stride", (2,)),), **NATIVE)
    verdict = runner.native(TARGET, valid)
    assert verdict.outcome == checks.ERROR_MISMATCH and emitted[-1].detail.endswith("page two")
    assert "page two" not in verdict.message
    forward, _, emitted = make_runner(raising)
    assert forward.forward(TARGET, case(0)).outcome == checks.ERROR_MISMATCH and emitted[-1].detail.endswith("page two")
