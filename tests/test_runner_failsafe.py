"""The runner against a scripted worker pool: what it does with crashes, hangs and bad results,
call by call (the suite-level runs in test_worker_failsafe.py show the same as a user sees it)."""

import pytest

from conformance import checks
from conformance.cases import Case
from conformance.known import Discrepancy, KnownDiscrepancies
from conformance.runner import Runner, TargetLane
from conformance.targets.base import Lane
from conformance.worker import Crash, Timeout

TARGET = TargetLane("impl:fake", "impl", "function", Lane("cpu", "float64"))


def case(seed: int, **changes) -> Case:
    fields = dict(batch=2, groups=1, in_per_group=1, out_per_group=2, input_size=(3,), kernel_size=(2,), bias=False,
                  stride=(1,), dilation=(1,), padding=((0, 0),), output_padding=(0,), seed=seed)
    return Case(**{**fields, **changes})


class ScriptedPool:
    """Answers the runner's calls: ``forward`` from ``answer(case)`` (a value, or an exception to raise);
    the metadata calls a failing record asks for with empty strings. Counts the forward calls."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def call(self, worker, method, *args, **kwargs):
        if method in ("native", "repro"):
            return ""
        self.calls.append((method, args[1]))
        result = self.answer(args[1])
        if isinstance(result, Exception):
            raise result
        return result


def make_runner(answer):
    emitted = []
    pool = ScriptedPool(answer)
    return Runner(pool, lambda record, verdict: emitted.append(record)), pool, emitted


def correct(c):
    import oracles

    x, w, b = c.arrays()
    return oracles.conv_transpose(x, w, b, **c.oracle_kwargs())


def test_a_crashed_case_is_called_once_and_the_cases_after_it_not_at_all():
    crashing = case(1)
    runner, pool, _ = make_runner(lambda c: Crash("impl worker died during forward (exit code -11)") if c == crashing else correct(c))
    runner.start_test()
    assert runner.forward(TARGET, case(0)).outcome == checks.PASS
    assert runner.forward(TARGET, crashing).outcome == checks.CRASH
    later = runner.forward(TARGET, case(2))  # a shrink step after the crash
    assert later.outcome == checks.NOT_APPLICABLE and later.message.startswith("not run: the worker crashed on an earlier example")
    replay = runner.forward(TARGET, crashing)  # hypothesis's final replay
    assert replay.outcome == checks.CRASH and "exit code -11" in replay.message
    assert runner.forward(TARGET, case(0)).outcome == checks.PASS  # ran to the end before the crash: replayed for real
    assert [c.seed for _, c in pool.calls] == [0, 1, 0]


def test_a_timed_out_case_is_remembered_the_same_way():
    runner, pool, _ = make_runner(lambda c: Timeout("impl.forward did not return within 2 s; worker killed"))
    runner.start_test()
    assert runner.determinism(TARGET, case(1)).outcome == checks.TIMEOUT
    assert "a call timed out on an earlier example" in runner.determinism(TARGET, case(2)).message
    assert runner.determinism(TARGET, case(1)).outcome == checks.TIMEOUT
    assert len(pool.calls) == 1


def test_the_memory_of_a_crash_ends_with_its_test():
    runner, pool, _ = make_runner(lambda c: Crash("died"))
    runner.start_test()
    runner.forward(TARGET, case(1))
    runner.start_test()
    assert runner.forward(TARGET, case(2)).outcome == checks.CRASH
    assert len(pool.calls) == 2


def test_a_crash_mid_check_is_the_whole_case_s_verdict_on_replay():
    """Linearity calls three times; a crash on the second makes the replay stop at the first."""
    answers = iter([correct(case(1)), Crash("died on the second call")])
    runner, pool, _ = make_runner(lambda c: next(answers))
    runner.start_test()
    assert runner.linearity(TARGET, case(1)).outcome == checks.CRASH
    assert "second call" in runner.linearity(TARGET, case(1)).message
    assert len(pool.calls) == 2


def test_a_remembered_verdict_is_a_copy():
    """What becomes of a replayed verdict (the runner relabels some) must not change what is remembered."""
    runner, _, _ = make_runner(lambda c: Crash("died"))
    runner.start_test()
    assert runner.forward(TARGET, case(1)).outcome == checks.CRASH
    replay = runner.forward(TARGET, case(1))
    replay.outcome = checks.KNOWN
    assert runner.forward(TARGET, case(1)).outcome == checks.CRASH


def test_a_known_crash_stops_nothing():
    """A crash that matches a known discrepancy passes its example; the test's other examples still run."""
    known = KnownDiscrepancies([Discrepancy(id="torch-crash", framework="torch", versions=">=2", reason="r", link="https://example.org", checks=("forward",))])
    target = TargetLane("torch", "torch", "functional", Lane("cpu", "float64"), version="2.5.0")
    pool = ScriptedPool(lambda c: Crash("died") if c.seed == 1 else correct(c))
    runner = Runner(pool, lambda record, verdict: None, known)
    runner.start_test()
    assert runner.forward(target, case(1)).outcome == checks.KNOWN
    assert runner.forward(target, case(2)).outcome == checks.PASS
    assert len(pool.calls) == 2


def test_other_errors_are_not_remembered():
    """Only crashes and timeouts stop a test's examples; a bug elsewhere propagates as before, every time."""
    runner, pool, _ = make_runner(lambda c: RuntimeError("not a worker failure"))
    runner.start_test()
    for seed in (1, 2):
        with pytest.raises(RuntimeError):
            runner.forward(TARGET, case(seed))
    assert len(pool.calls) == 2
