"""Framework calls that fail safe, as a user hits them: workers die with the run that started them,
and a crash or a hang costs one call per test, not a shrink through many."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"
ROOT = Path(__file__).parent.parent


def start_suite(directory, impl, *args, preexec_fn=None, **environment):
    """The suite on ``--impl`` in its own process (so that the test can signal it), from ``directory``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **environment}
    command = [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "--impl", impl, "--report-dir", "out", *args]
    return subprocess.Popen(command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by whoever inherited it) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(condition, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_hanging_worker_dies_with_the_run(tmp_path, signum):
    """Killing pytest while a worker hangs in a call must not leave the worker running (reparented to init)."""
    log = tmp_path / "calls.log"
    run = start_suite(tmp_path, f"{IMPLS / 'hangs_always.py'}:conv_transpose", "-k", "test_values and float64 and not large", CONVT_TEST_CALL_LOG=str(log))
    worker = None
    try:
        assert wait_for(lambda: log.exists() and log.read_text().strip(), 120), "the worker never entered the hanging call"
        worker = int(log.read_text().split()[0])
        assert alive(worker)
        run.send_signal(signum)
        run.wait(30)
        assert wait_for(lambda: not alive(worker), 5), f"worker {worker} outlived the run it belonged to ({signal.Signals(signum).name})"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if worker is not None and alive(worker):
            os.kill(worker, signal.SIGKILL)  # the test's own runaway: never leave it behind


# A parent that starts a child which arms its lifeline, prints the child's pid, then waits to be killed.
PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
child.wait()
"""
CHILD = """
import os, time
from conformance.lifeline import die_with_parent
print("armed:", die_with_parent(os.getppid(), use_prctl={use_prctl}), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")
@pytest.mark.parametrize("use_prctl", [True, False], ids=["prctl", "watchdog"])
def test_the_lifeline_ends_a_child_whose_parent_is_killed(use_prctl):
    """Both guards: the kernel's parent-death signal, and the polling thread other systems fall back on."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD.format(use_prctl=use_prctl)], env=env, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        assert parent.stdout.readline().strip() == f"armed: {'prctl' if use_prctl else 'watchdog'}"
        parent.kill()
        parent.wait()
        assert wait_for(lambda: not alive(child), 5), "the child outlived its parent"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_child_whose_parent_is_already_gone_exits_at_once():
    """The parent may die before the child arms its guard: the child sees a different parent and leaves."""
    code = "import os, time; from conformance.lifeline import die_with_parent; die_with_parent(os.getppid() + 10**6); time.sleep(600)"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 70


def records(directory):
    lines = (Path(directory) / "records.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]  # the first line describes the run


# Every test of an --impl run: values, large outputs, linearity, batch split, determinism, on two lanes.
IMPL_TESTS = 10


@pytest.mark.parametrize(
    "impl, outcome, args",
    [
        ("segfaults.py", "crash", []),
        ("exits.py", "crash", []),
        ("hangs_always.py", "timeout", ["--call-timeout", "1"]),
    ],
)
def test_a_crash_or_a_hang_costs_one_call_per_test(pytester, monkeypatch, impl, outcome, args):
    """Each test records its crash (or timeout) once, from one call: hypothesis neither shrinks through
    further crashes nor replays the crash for real, and does not call the result flaky."""
    log = pytester.path / "calls.log"
    monkeypatch.setenv("CONVT_TEST_CALL_LOG", str(log))
    start = time.monotonic()
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--impl", f"{IMPLS / impl}:conv_transpose", "--report-dir", "out", *args)
    elapsed = time.monotonic() - start
    assert result.ret == 1
    assert result.parseoutcomes()["failed"] == IMPL_TESTS
    assert "Flaky" not in result.stdout.str()
    written = records(pytester.path / "out")
    assert sorted(r["outcome"] for r in written) == [outcome] * IMPL_TESTS
    assert len({r["test"] for r in written}) == IMPL_TESTS, "a test has no record, or more than one"
    assert len(log.read_text().split()) == IMPL_TESTS, "the implementation was called more than once in some test"
    assert elapsed < 60, f"the run took {elapsed:.0f} s"


def test_a_crashing_run_gives_the_same_records_when_run_again(pytester):
    """Derandomized (the ci profile), a second run records the same crashes on the same cases."""
    runs = []
    for directory in ("first", "second"):
        result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "-p", "no:randomly", "--hypothesis-profile", "ci",
                                               "--impl", f"{IMPLS / 'segfaults.py'}:conv_transpose", "--report-dir", directory)
        assert result.ret == 1
        runs.append(sorted((r["test"], r["check"], r["outcome"], json.dumps(r["case"], sort_keys=True)) for r in records(pytester.path / directory)))
    assert len(runs[0]) == IMPL_TESTS and runs[0] == runs[1]


def address_space(gigabytes: int):
    """A ``preexec_fn`` capping the run's (and so its workers') address space."""
    import resource

    def cap():
        limit = gigabytes << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="caps the address space with RLIMIT_AS")
@pytest.mark.parametrize(
    "function, gigabytes",
    # The cap lets the 8 GB lazy array exist (``zeros``) but not a second copy of it. Before the worker
    # bounded its results, pickling one hit the cap and this test failed with a MemoryError where,
    # uncapped, the machine ran out of memory.
    [("zeros", 12), ("broadcast", 4)],
)
def test_a_huge_result_is_recorded_without_being_sent_back(tmp_path, function, gigabytes):
    """An implementation returning 10**9 elements: each test records a shape-mismatch naming the shape
    and size it returned, and nothing of that size crosses from the worker."""
    run = start_suite(tmp_path, f"{IMPLS / 'huge.py'}:{function}", "--max-examples", "10", preexec_fn=address_space(gigabytes), OPENBLAS_NUM_THREADS="1")
    try:
        output, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:  # its worker dies with it (see the lifeline tests above)
            run.kill()
            run.wait()
    assert run.returncode == 1, output[-3000:]
    written = records(tmp_path / "out")
    assert len({r["test"] for r in written}) == IMPL_TESTS, "some test has no record"
    for record in written:
        assert record["outcome"] == "shape-mismatch" and record["message"].startswith("out.shape=(1000000000,), but should be ("), record["message"]
        dtype, gb = ("float64", "8.0") if function == "zeros" else (record["dtype"], "8.0" if record["dtype"] == "float64" else "4.0")
        assert f"its 1000000000 {dtype} elements ({gb} GB) stayed in the worker" in record["message"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")
@pytest.mark.parametrize("sigint", [signal.SIG_DFL, signal.SIG_IGN], ids=["sigint-default", "sigint-ignored"])
def test_xdist_workers_and_their_workers_die_with_a_killed_controller(tmp_path, sigint):
    """SIGKILL to the controller of a ``-n 2`` run: its xdist workers follow it, and their framework
    workers follow them; also in a run started with SIGINT ignored (a script's background job), which
    execnet's own SIGINT to an orphaned worker would otherwise not stop."""
    log = tmp_path / "calls.log"
    run = start_suite(tmp_path, f"{IMPLS / 'hangs_always.py'}:conv_transpose", "-n", "2", "-k", "test_values and not large",
                      preexec_fn=lambda: signal.signal(signal.SIGINT, sigint), CONVT_TEST_CALL_LOG=str(log))
    pids = []
    try:
        assert wait_for(lambda: log.exists() and log.read_text().strip(), 120), "no worker entered the hanging call"
        worker = int(log.read_text().split()[0])
        xdist_worker = int(Path(f"/proc/{worker}/stat").read_text().rpartition(")")[2].split()[1])
        pids = [worker, xdist_worker]
        assert xdist_worker != run.pid and all(alive(pid) for pid in pids)
        run.send_signal(signal.SIGKILL)
        run.wait(30)
        assert wait_for(lambda: not any(alive(pid) for pid in pids), 10), f"outlived the controller: {[p for p in pids if alive(p)]}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
