"""The pytest plugin: options, the environment header, target lanes, and the records of every check.

Loaded through the ``pytest11`` entry point, so ``pytest conformance`` and ``pytest --pyargs
conformance`` both see it. It is inert for test runs that do not select the conformance suite. Tests
assert; this plugin observes: each check's record travels in the test report's ``user_properties``
(which pytest-xdist forwards to the controller) and is written once, at the end of the session.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import settings

from reports.write import write_reports

from . import profiles  # noqa: F401  (registers the hypothesis profiles before hypothesis reads --hypothesis-profile)
from .records import PROPERTY, RECORDS_FILE, Record, read_run, write_run

FRAMEWORKS = ("torch", "tensorflow", "jax")
DTYPES = ("float16", "bfloat16", "float32", "float64")
DISTRIBUTIONS = {"torch": ("torch",), "tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jax",)}
SESSION = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("convt", "transposed-convolution conformance")
    group.addoption("--frameworks", help="comma-separated: torch,tensorflow,jax (default: every one installed; none with --impl)")
    group.addoption("--devices", help="comma-separated: cpu, gpu, or a device such as cuda:0 / gpu:1 (default: all present)")
    group.addoption("--dtypes", help=f"comma-separated from {','.join(DTYPES)} (default: float32,float64, plus float16,bfloat16 on GPUs; name them to run them on the CPU)")
    group.addoption("--max-examples", type=int, help="hypothesis examples per test (default: the profile's)")
    group.addoption("--report-dir", default=None, help="where records and reports are written (default: reports/out under the working directory)")
    group.addoption("--impl", help="test your own implementation: MODULE_OR_FILE.py:FUNCTION (see README)")
    group.addoption("--call-timeout", type=float, default=120.0, help="seconds one framework call may take before it is recorded as a timeout (default 120)")
    group.addoption("--known-discrepancies", help="a known-discrepancy TOML file (default: the suite's own)")


def _split(value):
    return [item.strip() for item in value.split(",") if item.strip()] if value else []


def _installed(framework: str) -> bool:
    return importlib.util.find_spec(framework) is not None


def _version(framework: str) -> str:
    for distribution in DISTRIBUTIONS.get(framework, (framework,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return ""


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
    """Per-run state: options, the worker pool, the known discrepancies, the records collected."""

    def __init__(self, config):
        from .known import KnownDiscrepancies

        self.config = config
        self.impl = config.getoption("impl")
        frameworks = _split(config.getoption("frameworks"))
        if self.impl is not None:
            from .targets.impl import parse_spec

            try:
                parse_spec(self.impl)
            except ValueError as error:
                raise pytest.UsageError(str(error)) from None
        if not frameworks and config.getoption("frameworks") is None:
            frameworks = [] if self.impl else [f for f in FRAMEWORKS if _installed(f)]
        for framework in frameworks:
            if framework not in FRAMEWORKS:
                raise pytest.UsageError(f"--frameworks: unknown framework {framework!r}; choose from {','.join(FRAMEWORKS)}")
            if not _installed(framework):
                raise pytest.UsageError(f"--frameworks: {framework} is not installed (pip install 'convt-conformance[{framework}]')")
        self.frameworks = frameworks
        self.devices = _split(config.getoption("devices"))
        self.dtypes = _split(config.getoption("dtypes"))
        for dtype in self.dtypes:
            if dtype not in DTYPES:
                raise pytest.UsageError(f"--dtypes: unknown dtype {dtype!r}; choose from {','.join(DTYPES)}")
        max_examples = config.getoption("max_examples")
        if max_examples is not None and max_examples < 1:
            raise pytest.UsageError(f"--max-examples must be >= 1; got {max_examples}")
        if config.getoption("call_timeout") <= 0:
            raise pytest.UsageError(f"--call-timeout must be > 0; got {config.getoption('call_timeout')}")
        report_dir = config.getoption("report_dir")
        self.report_dir = Path(report_dir) if report_dir else Path.cwd() / "reports" / "out"
        if self.report_dir.exists() and not self.report_dir.is_dir():
            raise pytest.UsageError(f"--report-dir: {self.report_dir} exists and is not a directory")
        try:
            self.known = KnownDiscrepancies.load(config.getoption("known_discrepancies"))
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
        self.records: list[Record] = []
        self.current_item = None
        self.applicable: dict[str, list] = {}  # node id -> [checks run, cases not applicable, last reason]
        self._pool = self._runner = self._lanes = None
        self.environments: dict[str, dict] = {}

    @property
    def pool(self):
        if self._pool is None:
            from .worker import WorkerPool

            self._pool = WorkerPool(timeout=self.config.getoption("call_timeout"))
        return self._pool

    @property
    def workers(self) -> list[str]:
        return list(self.frameworks) + ([f"impl:{self.impl}"] if self.impl else [])

    def environment(self, worker: str) -> dict:
        if worker not in self.environments:
            self.environments[worker] = self.pool.call(worker, "environment")
        return self.environments[worker]

    @property
    def runner(self):
        if self._runner is None:
            from .runner import Runner

            keys = {worker: self.environment(worker).get("support_key", "") for worker in self.workers}
            self._runner = Runner(self.pool, self.emit, self.known, keys)
        return self._runner

    def lanes(self):
        """``(TargetLane, skip reason or None)`` for every selected framework variant, device, dtype and precision."""
        if self._lanes is None:
            from .runner import TargetLane
            from .targets.base import Lane

            lanes = []
            for worker in self.workers:
                environment = self.environment(worker)
                framework = environment.get("framework", worker)
                version = environment.get("version", "")
                devices = [d for d in self.pool.call(worker, "devices") if self._device_selected(d)]
                for device in devices:
                    for dtype in self.pool.call(worker, "dtypes", device):
                        if self.dtypes and dtype not in self.dtypes:
                            continue
                        if not self.dtypes and device == "cpu" and dtype in ("float16", "bfloat16"):
                            continue  # half precision is a GPU lane by default; --dtypes opts the CPU in
                        for precision in self.pool.call(worker, "precisions", device, dtype):
                            for variant in self.pool.call(worker, "variants"):
                                lanes.append((TargetLane(worker, framework, variant, Lane(device, dtype, precision), version), None))
                if framework in FRAMEWORKS and not any(d != "cpu" for d in self.pool.call(worker, "devices")) and self._device_selected("gpu"):
                    # Say so explicitly: a green run on a machine without a GPU has not tested one.
                    gpu = TargetLane(worker, framework, "*", Lane("gpu", "float32", "tf32"), version)
                    lanes.append((gpu, f"no GPU visible to {framework}: GPU lanes (float16, bfloat16, TF32 on and off) not run"))
            self._lanes = lanes
        return self._lanes

    def gradient_variants(self, worker: str) -> tuple:
        return tuple(self.pool.call(worker, "gradient_variants"))

    def _device_selected(self, device: str) -> bool:
        if not self.devices:
            return True
        kind = "cpu" if device == "cpu" else "gpu"
        return device in self.devices or kind in self.devices or (kind == "gpu" and "cuda" in self.devices)

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

    def run_description(self) -> dict:
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
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "frameworks": {worker: self.environments.get(worker, {}) for worker in self.workers},
            "options": {"frameworks": self.frameworks, "devices": self.devices, "dtypes": self.dtypes, "impl": self.impl},
            "hypothesis": {
                "profile": settings.get_current_profile_name(),
                "max_examples": current.max_examples,
                "derandomize": current.derandomize,
                "seed": self.config.getoption("hypothesis_seed", None),
            },
            "known_discrepancies": [
                {"id": e.id, "framework": e.framework, "versions": e.versions, "reason": e.reason, "link": e.link, "matched": hits.get(e.id, 0)}
                for e in self.known.entries
            ],
        }

    def close(self):
        if self._pool is not None:
            self._pool.close()


def _final_example() -> bool:
    try:
        from hypothesis.control import current_build_context

        return current_build_context().is_final
    except Exception:  # not inside a hypothesis test
        return True


def pytest_configure(config):
    if os.environ.get("HYPOTHESIS_PROFILE") or config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
    max_examples = config.getoption("max_examples")
    if max_examples is not None and max_examples >= 1:
        settings.register_profile("convt-cli", settings(max_examples=max_examples))
        settings.load_profile("convt-cli")
    if _selects_conformance(config) or config.getoption("impl"):
        config.stash[SESSION] = ConvtSession(config)


def pytest_unconfigure(config):
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()


def pytest_report_header(config):
    session = config.stash.get(SESSION, None)
    if session is None:
        return None
    lines = [f"convt: frameworks {', '.join(session.workers) or 'none'}; report dir {session.report_dir}"]
    for worker in session.workers:
        environment = session.environment(worker)
        details = ", ".join(f"{key}={value}" for key, value in environment.items() if key not in ("framework",))
        lines.append(f"convt: {environment.get('framework', worker)}: {details}")
    current = settings.default
    lines.append(
        f"convt: hypothesis profile {settings.get_current_profile_name()}, max_examples={current.max_examples}, "
        f"derandomize={current.derandomize}, seed={config.getoption('hypothesis_seed', None) or ('fixed' if current.derandomize else 'random per test')}"
    )
    lines.append(f"convt: known discrepancies {len(session.known.entries)} ({session.config.getoption('known_discrepancies') or 'built in'})")
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
        ident = target.id if not one_variant else f"{target.framework}-{target.lane.device}-{target.lane.dtype}" + ("" if target.lane.precision == "default" else f"-{target.lane.precision}")
        params.append(pytest.param(target, id=ident, marks=marks))
    if not params:
        params.append(pytest.param(None, id="no-target", marks=pytest.mark.skip(reason="no framework selected or installed")))
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


def pytest_sessionstart(session):
    _collected.clear()


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == PROPERTY:
            record = Record.from_json(value)
            record.test = report.nodeid
            _collected.append(record)


# Records reach the controller through pytest_runtest_logreport, which has no config argument.
_collected: list[Record] = []


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(SESSION, None)
    if state is None or hasattr(session.config, "workerinput"):
        return  # xdist workers forward their reports; the controller writes
    state.records = list(_collected)
    if state.records:
        write_run(state.report_dir, state.run_description(), state.records)
        write_reports(state.report_dir, *read_run(state.report_dir / RECORDS_FILE))  # what `convt report` renders, byte for byte


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(SESSION, None)
    if state is None or hasattr(config, "workerinput"):
        return
    counts: dict[str, int] = {}
    for record in state.records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    terminalreporter.section("convt conformance")
    terminalreporter.write_line("checks: " + (", ".join(f"{outcome} {count}" for outcome, count in sorted(counts.items())) or "none"))
    if state.records:
        terminalreporter.write_line(f"records: {state.report_dir / 'records.jsonl'}")
    matched = {record.known for record in state.records if record.known}
    ran = {record.framework for record in state.records}
    idle = [entry.id for entry in state.known.entries if entry.framework in ran and entry.id not in matched]
    if idle:
        terminalreporter.write_line("known discrepancies that matched no check in this run: " + ", ".join(idle))
