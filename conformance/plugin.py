"""The pytest plugin: options, the environment header, target lanes, and the records of every check.

Loaded through the ``pytest11`` entry point, so ``pytest conformance`` and ``pytest --pyargs
conformance`` both see it. It is inert for test runs that do not select the conformance suite. Tests
assert; this plugin observes: each check's record travels in the test report's ``user_properties``
(which pytest-xdist forwards to the controller) and is written once, at the end of the session, by
the one :class:`ConvtSession` object registered for the run (as pytest's junitxml keeps its state).

Fail safe: options are checked before anything runs (``conformance.options``); the lanes and every
worker's environment are settled at session start, in the xdist controller too, so a framework or
``--impl`` that cannot load is a usage error, and so is a selection that leaves nothing to test. A
run that ends early (Ctrl-C, SIGTERM, ``-x``) writes reports marked ``interrupted``/``incomplete``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import settings

from reports.write import write_reports

from . import options as convt_options
from . import profiles  # noqa: F401  (registers the hypothesis profiles before hypothesis reads --hypothesis-profile)
from .records import PROPERTY, RECORDS_FILE, Record, read_run, write_run

SESSION = pytest.StashKey()


def pytest_addoption(parser):
    convt_options.add_options(parser)


def _in_suite(module) -> bool:
    """Whether a test module is one of the conformance suite's own."""
    package = Path(__file__).parent.resolve()
    return package in Path(module.__file__).resolve().parents


def _selects_conformance(config) -> bool:
    """Whether the command line points at the conformance suite (a path inside it, or --pyargs conformance)."""
    package = Path(__file__).parent.resolve()
    for arg in config.args:
        target = arg.split("::")[0]
        if config.getoption("pyargs", False) and target.split(".")[0] == "conformance":
            return True
        path = Path(target).resolve()
        if path == package or package in path.parents:
            return True
    return False


class ConvtSession:
    """Per-run state: options, the worker pool, the lanes, the known discrepancies, the records collected."""

    def __init__(self, config):
        from .known import KnownDiscrepancies

        self.config = config
        self.options = convt_options.parse(config)
        self.impl = self.options.impl
        self.frameworks = list(self.options.frameworks)
        self.report_dir = self.options.report_dir
        try:
            self.known = KnownDiscrepancies.load(self.options.known_discrepancies)
        except ValueError as error:
            raise pytest.UsageError(f"--known-discrepancies: {error}") from None
        self.records: list[Record] = []
        self.current_item = None
        self.applicable: dict[str, list] = {}  # node id -> [checks run, cases not applicable, last reason]
        self._pool = self._runner = self._lanes = None
        self.environments: dict[str, dict] = {}
        self.nothing_checked = False
        self.status = ("complete", "")

    # -- workers, lanes, environment ------------------------------------------------------------

    @property
    def pool(self):
        if self._pool is None:
            from .worker import WorkerPool

            self._pool = WorkerPool(timeout=self.options.call_timeout)
        return self._pool

    @property
    def workers(self) -> list[str]:
        from .backends import workers

        names = [name for framework in self.frameworks for name in workers(framework)]
        return names + ([f"impl:{self.impl}"] if self.impl else [])

    def environment(self, worker: str) -> dict:
        if worker not in self.environments:
            self.environments[worker] = self.pool.call(worker, "environment")
        return self.environments[worker]

    def prepare(self) -> None:
        """Load every worker and settle the lanes now: a target that cannot load, or a selection with
        nothing to run, is a usage error before any test, not a collection error or a green run."""
        from .worker import AdapterError, Crash, Timeout

        self.pool.start(self.workers)  # framework imports overlap
        for worker in self.workers:
            what = "--impl" if worker.startswith("impl:") else f"--frameworks: {worker.partition('@')[0]}"
            try:
                self.environment(worker)
            except (AdapterError, Crash, Timeout) as error:
                message = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
                message = message.removeprefix(f"cannot load target {worker}: ")
                if message.startswith("ValueError: --impl"):  # load_function's own one-line verdict
                    raise pytest.UsageError(message.removeprefix("ValueError: ")) from None
                raise pytest.UsageError(f"{what} cannot be loaded: {message}") from None
        runnable = [target for target, skip in self.lanes() if skip is None]
        if not runnable:
            from .lanes import offered_backends

            present = sorted({device for worker in self.workers for device in self.environment(worker).get("devices", [])})
            reasons = "; ".join(sorted({skip for _, skip in self.lanes() if skip})) or f"no lane matches (devices present: {', '.join(present)})"
            offered = offered_backends(self.pool, self.workers)
            if self.options.backends and not set(offered) & set(self.options.backends):
                reasons = f"the selected targets run the backends {', '.join(offered)}, none of them in --backends"
            selection = ", ".join(f"{name} {value}" for name, value in (
                ("--devices", ",".join(self.options.devices)), ("--dtypes", ",".join(self.options.dtypes)),
                ("--backends", ",".join(self.options.backends))) if value)
            raise pytest.UsageError(f"nothing to test{' with ' + selection if selection else ''}: {reasons}")

    def lanes(self):
        """``(TargetLane, skip reason or None)`` for every selected framework variant, device, dtype, precision and backend."""
        if self._lanes is None:
            from . import lanes

            self._lanes = lanes.build(self.pool, self.workers, {w: self.environment(w) for w in self.workers}, self.options)
        return self._lanes

    @property
    def runner(self):
        if self._runner is None:
            from .runner import Runner

            keys = {worker: self.environment(worker).get("support_key", "") for worker in self.workers}
            self._runner = Runner(self.pool, self.emit, self.known, keys)
        return self._runner

    def gradient_variants(self, worker: str) -> tuple:
        return tuple(self.pool.call(worker, "gradient_variants"))

    # -- records --------------------------------------------------------------------------------

    def emit(self, record: Record, verdict) -> None:
        """Attach a check's record to the running test; failures only from hypothesis's final replay
        (shrinking runs many failing examples on the way to the minimal one)."""
        from .checks import NOT_APPLICABLE

        if self.current_item is None:
            return
        counts = self.applicable.setdefault(self.current_item.nodeid, [0, 0, ""])
        if verdict.outcome == NOT_APPLICABLE:  # the API cannot express the case: no check took place
            counts[1], counts[2] = counts[1] + 1, verdict.message
            return
        counts[0] += 1
        if verdict.failed and not _final_example():
            return
        self.current_item.user_properties.append((PROPERTY, record.to_json()))

    def run_description(self, status: str, reason: str) -> dict:
        """What a report needs to say about this run besides its records."""
        import datetime
        import platform
        import sys

        current = settings.default
        hits = {}
        for record in self.records:
            if record.known:
                hits[record.known] = hits.get(record.known, 0) + 1
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "status": status,
            "status_reason": reason,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "frameworks": {worker: self.environments.get(worker, {}) for worker in self.workers},
            "options": {"frameworks": self.frameworks, "devices": list(self.options.devices), "dtypes": list(self.options.dtypes),
                        "backends": list(self.options.backends), "impl": self.impl},
            "skipped_lanes": [{"lane": target.id, "reason": skip} for target, skip in (self._lanes or []) if skip],
            "hypothesis": {
                "profile": settings.get_current_profile_name(),
                "max_examples": current.max_examples,
                "derandomize": current.derandomize,
                "seed": self.config.getoption("hypothesis_seed", None),
            },
            "known_discrepancies": [
                {"id": e.id, "framework": e.framework, "versions": e.versions, "backends": list(e.backends), "reason": e.reason,
                 "link": e.link, "matched": hits.get(e.id, 0),
                 # The lanes that ran and that the entry covers: "matched nothing" means something only there.
                 "lanes_covered": _covered_lanes(e, self.records)}
                for e in self.known.entries
            ],
        }

    def close(self):
        if self._pool is not None:
            self._pool.close()

    # -- hooks (this object is registered as a plugin for the run) -----------------------------

    def pytest_sessionstart(self, session):
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker: its lanes are settled at collection, as the controller's were
        self.prepare()
        if session.config.pluginmanager.hasplugin("dsession"):
            self.close()  # the xdist controller only needed the environments; its workers run the tests

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == PROPERTY:
                record = Record.from_json(value)
                record.test = report.nodeid
                self.records.append(record)

    def pytest_sessionfinish(self, session, exitstatus):
        if hasattr(session.config, "workerinput"):
            return  # xdist workers forward their reports; the controller writes
        status, reason = _status(session, exitstatus)
        if not self.records and status == "complete" and session.testscollected and not session.config.option.collectonly:
            # Passing a gate in which nothing was checked would claim coverage that does not exist.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.nothing_checked = True
        if self.records or status != "complete":
            write_run(self.report_dir, self.run_description(status, reason), self.records)
            write_reports(self.report_dir, *read_run(self.report_dir / RECORDS_FILE))  # what `convt report` renders, byte for byte
        self.status = (status, reason)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if hasattr(config, "workerinput"):
            return
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
        terminalreporter.section("convt conformance")
        terminalreporter.write_line("checks: " + (", ".join(f"{outcome} {count}" for outcome, count in sorted(counts.items())) or "none"))
        if self.nothing_checked:
            terminalreporter.write_line("convt: error: no check ran (every drawn case was skipped): this run tested nothing", red=True)
        status, reason = self.status
        if status != "complete":
            terminalreporter.write_line(f"convt: run {status}: {reason}; the reports say so and `convt compare` refuses them", red=True)
        if self.records or status != "complete":
            terminalreporter.write_line(f"records: {self.report_dir / RECORDS_FILE}")
        for target, skip in self._lanes or []:
            if skip and target.variant == "*":
                terminalreporter.write_line(f"lane not run: {target.framework} {target.lane_id}: {skip}")
        matched = {record.known for record in self.records if record.known}
        for entry in self.known.entries:
            lanes = _covered_lanes(entry, self.records)
            if entry.id not in matched and lanes:
                terminalreporter.write_line(f"known discrepancy {entry.id} matched no check on the lanes it covers that ran: {', '.join(lanes)}")


def _covered_lanes(entry, records) -> list[str]:
    """The ids of the lanes that ran a check the entry covers (``target-device-backend-dtype[-precision]``)."""
    return sorted({
        "-".join([r.target, r.device, r.backend, r.dtype] + ([] if r.precision == "default" else [r.precision]))
        for r in records if entry.covers(r)
    })


def _status(session, exitstatus) -> tuple[str, str]:
    """``("complete", "")``, or why the run's records are not the whole run."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted", "the run was interrupted (Ctrl-C or SIGTERM) before every test ran"
    if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        return "incomplete", "pytest stopped on an internal error"
    if session.shouldstop or session.shouldfail:
        return "incomplete", f"the run stopped early: {session.shouldstop or session.shouldfail}"
    return "complete", ""


def _final_example() -> bool:
    try:
        from hypothesis.control import current_build_context

        return current_build_context().is_final
    except Exception:  # not inside a hypothesis test
        return True


def _terminate_as_interrupt(signum, frame):
    # SIGTERM (a CI runner cancelling the job) ends the run like Ctrl-C: reports marked interrupted,
    # workers stopped. Without this, Python dies at once and the workers outlive it.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not (_selects_conformance(config) or config.getoption("impl")):
        return
    convt_options.check_profile(config)  # before hypothesis's own plugin loads it and fails with an INTERNALERROR
    if os.environ.get("HYPOTHESIS_PROFILE") or config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
    max_examples = config.getoption("max_examples")
    if max_examples is not None and max_examples >= 1:
        settings.register_profile("convt-cli", settings(max_examples=max_examples))
        settings.load_profile("convt-cli")
    session = ConvtSession(config)
    config.stash[SESSION] = session
    config.pluginmanager.register(session, "convt-session")
    if not hasattr(config, "workerinput") and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        try:
            signal.signal(signal.SIGTERM, _terminate_as_interrupt)
        except ValueError:  # not the main thread (an embedding runner): leave signals alone
            pass


def pytest_unconfigure(config):
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()
        config.pluginmanager.unregister(session)


def pytest_report_header(config):
    session = config.stash.get(SESSION, None)
    if session is None:
        return None
    lines = [f"convt: workers {', '.join(session.workers) or 'none'}; report dir {session.report_dir}"]
    for worker in session.workers:
        environment = session.environment(worker)
        details = ", ".join(f"{key}={value}" for key, value in environment.items() if key not in ("framework",))
        lines.append(f"convt: {worker}: {details}")
    current = settings.default
    lines.append(
        f"convt: hypothesis profile {settings.get_current_profile_name()}, max_examples={current.max_examples}, "
        f"derandomize={current.derandomize}, seed={config.getoption('hypothesis_seed', None) or ('fixed' if current.derandomize else 'random per test')}"
    )
    lines.append(f"convt: known discrepancies {len(session.known.entries)} ({session.options.known_discrepancies or 'built in'})")
    return lines


def pytest_generate_tests(metafunc):
    session = metafunc.config.stash.get(SESSION, None)
    if session is None or "target" not in metafunc.fixturenames or not _in_suite(metafunc.module):
        return  # other tests may have a fixture of that name: only the suite's own are parametrized
    wanted = getattr(metafunc.function, "convt_frameworks", None)
    gradients = getattr(metafunc.function, "convt_gradients", False)
    one_variant = getattr(metafunc.function, "convt_one_variant", False)
    params, seen = [], set()
    for target, skip in session.lanes():
        if wanted is not None and target.framework not in wanted:
            continue
        if gradients and skip is None and target.variant not in session.gradient_variants(target.worker):
            continue
        if one_variant:  # the test picks its own variants: one parameter per lane
            key = (target.worker, target.lane)
            if key in seen:
                continue
            seen.add(key)
        marks = [pytest.mark.skip(reason=skip)] if skip else []
        ident = target.id if not one_variant else f"{target.framework}-{target.lane_id}"
        if ident in seen:
            continue
        seen.add(ident)
        params.append(pytest.param(target, id=ident, marks=marks))
    if not params:
        params.append(pytest.param(None, id="no-target", marks=pytest.mark.skip(reason="no selected framework has a lane for this test")))
    metafunc.parametrize("target", params)


def gradient_check(function):
    """Parametrize a test only over the variants whose gradients their target checks."""
    function.convt_gradients = True
    return function


def frameworks(*names, one_variant=False):
    """Restrict a test to targets of these frameworks; with ``one_variant`` it is parametrized once
    per lane and chooses variants itself."""

    def mark(function):
        function.convt_frameworks = names
        function.convt_one_variant = one_variant
        return function

    return mark


@pytest.fixture(scope="session")
def convt(request):
    """The run's :class:`ConvtSession` (worker pool, runner, known discrepancies)."""
    session = request.config.stash.get(SESSION, None)
    if session is None:
        pytest.skip("the conformance suite is not selected")
    return session


@pytest.fixture(scope="session")
def runner(convt):
    return convt.runner


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    session = item.config.stash.get(SESSION, None)
    if session is not None:
        session.current_item = item
        if session._runner is not None:
            session._runner.start_test()  # a crash remembered in the last test must not stop this one's examples
    try:
        result = yield
    finally:
        if session is not None:
            session.current_item = None
    if session is not None:
        ran, skipped, reason = session.applicable.get(item.nodeid, [0, 0, ""])
        if ran == 0 and skipped > 0:
            # Passing a test in which no check ran would claim coverage that does not exist.
            pytest.skip(f"no drawn case applies ({skipped} tried): {reason}")
    return result
