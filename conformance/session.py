"""The run's state, kept in one object registered for the run (``config.stash``), as pytest's own
junitxml plugin keeps its state: options, the worker pool, the lanes, the runner, the known
discrepancies and the records every check emits, written once at the end of the session.

Each check's record travels in the test report's ``user_properties`` (which pytest-xdist forwards to
the controller) and is collected here from the reports. Fail safe: the lanes and every worker's
environment are settled at session start, in the xdist controller too, so a framework or ``--impl``
that cannot load is a usage error, and so is a selection that leaves nothing to test. A run that ends
early (Ctrl-C, SIGTERM, ``-x``) writes reports marked ``interrupted``/``incomplete``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import settings

from reports.write import write_reports

from . import options as convt_options
from .example_db import EXAMPLE_DB, SEEDED
from .modes import compiled_examples
from .records import DRAWS_PROPERTY, PROPERTY, RECORDS_FILE, Record, RecordsFile, write_run


# The share of a lane's drawn cases that should become checks; a lane below it spends its budget on
# cases its API cannot express, and the terminal summary names it.
DRAWS_CHECKED = 0.9


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
        self.draws: dict[str, list[int]] = {}  # lane id -> [checks, cases not applicable], over the tests (from every xdist worker)
        self._pool = self._runner = self._lanes = None
        self.environments: dict[str, dict] = {}
        self.nothing_checked = False
        self.shard: dict | None = None  # --shard: conformance.shard.describe(), set at collection (from an xdist worker's output)
        self.status = ("complete", "")

    # -- workers, lanes, environment ------------------------------------------------------------

    @property
    def pool(self):
        if self._pool is None:
            from .worker import WorkerPool

            self._pool = WorkerPool(timeout=self.options.call_timeout, cache=self.options.compile_cache)
        return self._pool

    @property
    def workers(self) -> list[str]:
        from .backends import workers

        names = [name for framework in self.frameworks for name in workers(framework)]
        if not self.impl:
            return names
        from .targets.impl import worker_name

        return names + [worker_name(self.impl, self.options.impl_arrays, self.options.impl_version, self.options.impl_dialect)]

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
            from .lanes import offered_backends, offered_dtypes

            present = sorted({device for worker in self.workers for device in self.environment(worker).get("devices", [])})
            reasons = "; ".join(sorted({skip for _, skip in self.lanes() if skip})) or f"no lane matches (devices present: {', '.join(present)})"
            offered = offered_backends(self.pool, self.workers)
            dtypes = offered_dtypes(self.pool, self.workers, self.options.devices)
            if self.options.backends and not set(offered) & set(self.options.backends):
                reasons = f"the selected targets run the backends {', '.join(offered)}, none of them in --backends"
            elif self.options.dtypes and dtypes and not set(dtypes) & set(self.options.dtypes):
                reasons = f"the selected targets compute in {', '.join(dtypes)} on the devices present, none of them in --dtypes"
            selection = ", ".join(f"{name} {value}" for name, value in (
                ("--devices", ",".join(self.options.devices)), ("--dtypes", ",".join(self.options.dtypes)),
                ("--backends", ",".join(self.options.backends)), ("--modes", ",".join(self.options.modes))) if value)
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
            names = {worker: self.environment(worker).get("name", "") for worker in self.workers if self.environment(worker).get("framework") == "impl"}
            self._runner = Runner(self.pool, self.emit, self.known, keys, final=_final_example, implementations=names)
        return self._runner

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
                        "backends": list(self.options.backends), "modes": list(self.options.modes), "impl": self.impl,
                        "impl_arrays": self.options.impl_arrays if self.impl else None, "impl_version": self.options.impl_version,
                        "impl_dialect": self.options.impl_dialect if self.impl else None,
                        "shard": "{}/{}".format(*self.options.shard) if self.options.shard else None,
                        "compile_cache": None if self.options.compile_cache is None else str(self.options.compile_cache)},
            "shard": self.shard,
            "skipped_lanes": [{"lane": target.id, "reason": skip} for target, skip in (self._lanes or []) if skip],
            # Per lane, the checks its tests ran and the drawn cases its API could not express: the
            # share of the example budget spent on checks (the strategies draw what each lane runs).
            "draws": {lane: {"checked": checked, "not_applicable": skipped} for lane, (checked, skipped) in sorted(self.draws.items())},
            "hypothesis": {
                "profile": settings.get_current_profile_name(),
                "max_examples": current.max_examples,
                "compiled_max_examples": compiled_examples(current.max_examples),
                # Under --example-db a derandomized profile seeds every item as derandomize would (hypothesis
                # reads no database under derandomize): the draws are those of derandomize, after the database's.
                "derandomize": current.derandomize or self.config.stash.get(SEEDED, False),
                "seed": self.config.getoption("hypothesis_seed", None),
                **(self.config.stash.get(EXAMPLE_DB, None) or {"example_db": None, "example_db_readonly": False}),
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
            elif name == DRAWS_PROPERTY:
                draws = json.loads(value)
                counts = self.draws.setdefault(draws["lane"], [0, 0])
                counts[0] += draws["checked"]
                counts[1] += draws["not_applicable"]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        # pytest-xdist's controller does not collect: a shard's split is told by the workers, each of
        # which collected the whole run and kept the same items.
        shard = getattr(node, "workeroutput", {}).get("convt_shard")
        if shard and self.shard is None:
            self.shard = json.loads(shard)

    def pytest_sessionfinish(self, session, exitstatus):
        if hasattr(session.config, "workerinput"):
            if self.shard is not None:
                session.config.workeroutput["convt_shard"] = json.dumps(self.shard)
            return  # xdist workers forward their reports; the controller writes
        status, reason = _status(session, exitstatus)
        checked = any(record.outcome != "unsupported" for record in self.records)
        if not checked and status == "complete" and session.testscollected and not session.config.option.collectonly:
            # Passing a gate in which nothing was checked would claim coverage that does not exist; so
            # would one in which every check was unsupported (an implementation that raises Unsupported always).
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.nothing_checked = "every check was unsupported" if self.records else "every drawn case was skipped"
        if self.records or status != "complete":
            write_run(self.report_dir, self.run_description(status, reason), self.records)
            records_file = RecordsFile(self.report_dir / RECORDS_FILE)
            write_reports(self.report_dir, records_file.run, records_file)  # what `convt report` renders, byte for byte
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
            terminalreporter.write_line(f"convt: error: no check ran ({self.nothing_checked}): this run tested nothing", red=True)
        if self.options.shard:
            index, count = self.options.shard
            if self.shard is None:
                terminalreporter.write_line(f"shard {index}/{count}: no test item was collected", red=True)
            elif not self.shard["items"]:
                terminalreporter.write_line(f"convt: error: shard {index}/{count} holds no test item: the run has {self.shard['items_total']}; "
                                            f"use at most {self.shard['items_total']} shards", red=True)
            else:
                terminalreporter.write_line(f"shard {index}/{count}: {self.shard['items']} of {self.shard['items_total']} test items "
                                            f"(run {self.shard['collection']}); `convt merge` joins the shards' report dirs")
        status, reason = self.status
        if status != "complete":
            terminalreporter.write_line(f"convt: run {status}: {reason}; the reports say so and `convt compare` refuses them", red=True)
        if self.records or status != "complete":
            terminalreporter.write_line(f"records: {self.report_dir / RECORDS_FILE}")
        low = [(checked / (checked + skipped), lane) for lane, (checked, skipped) in self.draws.items() if checked + skipped]
        if low:
            share, lane = min(low)
            below = sorted(lane for share, lane in low if share < DRAWS_CHECKED)
            terminalreporter.write_line(f"drawn cases checked: {sum(s for s, _ in low) / len(low):.0%} a lane on average, "
                                        f"lowest {share:.0%} ({lane})" + (f"; below {DRAWS_CHECKED:.0%}: {', '.join(below)}" if below else ""))
        for target, skip in self._lanes or []:
            if skip and target.variant == "*":
                terminalreporter.write_line(f"lane not run: {target.framework} {target.lane_id}: {skip}")
        matched = {record.known for record in self.records if record.known}
        for entry in self.known.entries:
            lanes = _covered_lanes(entry, self.records)
            if entry.id not in matched and lanes:
                terminalreporter.write_line(f"known discrepancy {entry.id} matched no check on the lanes it covers that ran: {', '.join(lanes)}")


def _covered_lanes(entry, records) -> list[str]:
    """The ids of the lanes that ran a check the entry covers (``target-device-backend-dtype[-precision][-mode]``)."""
    return sorted({
        "-".join([r.target, r.device, r.backend, r.dtype] + ([] if r.precision == "default" else [r.precision])
                 + ([] if r.mode == "eager" else [r.mode]))
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
