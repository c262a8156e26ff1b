"""Time to find: how many generated examples the suite's search needs before it detects a defect.

Two kinds of defect, each searched for over ``--seeds`` hypothesis seeds:

- every recorded finding (``conformance/known_discrepancies.toml``): the suite test that covers the
  finding's check runs on the lane its example names, on real framework calls, and the search stops at
  the first check the entry matches. The entry's fixed example is never run (``test_known.py`` does
  that; this measures the generated cases alone) and no hypothesis database is read.
- planted narrow faults (``benchmarks/planted_faults.py``): the oracle wrong in one region of at most 1%
  of a reference configuration space (its share is printed beside it), run as an ``--impl`` on the
  float32 and float64 lanes through ``test_values`` and ``test_large_outputs``, as a suite run does.

For each defect and seed the count is the examples one test drew on one lane up to and including the
detecting one, the smallest over the tests and lanes a default run gives it; "found" counts the seeds
in which some test found it within that test's default budget (the profile's ``max_examples`` as the
test's ``settings`` scale it: 100 for values, 40 for gradients, 5 on a compiled lane). Searches stop
at ``--cap`` times the budget; a seed that found nothing reads as ``>cap``.

    python benchmarks/time_to_find.py [--seeds 10] [--cap 4] [--only NAME,...] [--skip-findings] [--skip-planted]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planted_faults  # noqa: E402  (beside this script)

from conformance import targets  # noqa: E402
from conformance.checks import FAILURES  # noqa: E402
from conformance.known import KnownDiscrepancies  # noqa: E402
from conformance.lanes import TargetLane  # noqa: E402
from conformance.modes import compiled_examples  # noqa: E402
from conformance.runner import Runner  # noqa: E402
from conformance.targets.base import Lane  # noqa: E402
from conformance.worker import WorkerPool  # noqa: E402

PLANTED_FILE = Path(planted_faults.__file__).resolve()
KNOWN = KnownDiscrepancies.load()  # as a suite run has them: a finding's check is recorded "known"


# -- the suite's tests, as bodies over (runner, lanes, target, data) --------------------------------

def _values(runner, lanes, target, data):
    from conformance.assertions import check_drawn
    from conformance.strategies import lane_cases

    check_drawn(runner.forward, target, data, lane_cases)


def _large(runner, lanes, target, data):
    from conformance.assertions import check_drawn
    from conformance.strategies import large_cases

    check_drawn(runner.forward, target, data, large_cases)


def _gradients(runner, lanes, target, data):
    from conformance.assertions import assert_verdict
    from conformance.strategies import lane_cases

    for verdict in runner.gradients(target, data.draw(lane_cases(target.space), label="case")):
        assert_verdict(verdict)


def _dialect(runner, lanes, target, data):
    from conformance.test_dialects import dialect_check

    dialect_check(lanes, runner, target, data, epilogues=target.lane.mode == "compiled")


def _epilogues(runner, lanes, target, data):
    from conformance.test_epilogues import check_epilogue

    check_epilogue(runner, target, data)


def _budget(module, name):
    """The test's default example budget: its own ``settings`` (hypothesis keeps them on the test)."""
    import importlib

    test = getattr(importlib.import_module(f"conformance.{module}"), name)
    return test._hypothesis_internal_use_settings.max_examples


# test name -> (body, eager budget): the compiled lanes draw compiled_examples() instead.
TESTS = {
    "test_values": (_values, lambda: _budget("test_values", "test_values")),
    "test_large_outputs": (_large, lambda: _budget("test_values", "test_large_outputs")),
    "test_gradients": (_gradients, lambda: _budget("test_gradients", "test_gradients")),
    "test_dialect_parameters": (_dialect, lambda: _budget("test_dialects", "test_dialect_parameters")),
    "test_epilogues": (_epilogues, lambda: _budget("test_epilogues", "test_epilogues")),
}
CHECK_TESTS = {"forward": "test_values", "gradients": "test_gradients", "native": "test_dialect_parameters", "epilogue": "test_epilogues"}


class Lanes:
    """What ``dialect_check`` asks of the session: the lanes of the run (here, one worker's lane)."""

    def __init__(self, targets_):
        self._lanes = [(t, None) for t in targets_]

    def lanes(self):
        return self._lanes


@dataclasses.dataclass
class Search:
    """One test on one lane: ``detects(record)`` says whether a check found the defect."""

    test: str
    target: TargetLane
    lanes: Lanes
    detects: object

    @property
    def budget(self) -> int:
        eager = TESTS[self.test][1]()
        return compiled_examples(eager) if self.target.lane.mode == "compiled" else eager


@dataclasses.dataclass
class Subject:
    name: str
    kind: str  # "finding" or "planted"
    searches: list
    share: float | None = None


class Detected(Exception):
    pass


def run_search(pool, search: Search, seed_value: int, cap: int) -> int | None:
    """Examples drawn until the first detection (inclusive), or None within ``cap`` examples."""
    state = {"count": 0, "found": None}

    def emit(record, verdict):
        if state["found"] is None and search.detects(record):
            state["found"] = state["count"]

    runner = Runner(pool, emit, KNOWN)
    runner.start_test()
    body = TESTS[search.test][0]

    @seed(seed_value)
    @settings(max_examples=cap, database=None, deadline=None, derandomize=False, phases=[Phase.generate],
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test(data):
        state["count"] += 1
        try:
            body(runner, search.lanes, search.target, data)
        except BaseException:
            if state["found"] is not None:
                raise Detected() from None
            raise
        if state["found"] is not None:
            raise Detected()

    try:
        test()
    except Detected:
        pass
    except BaseException as error:  # a failure the subject does not explain: say so, keep measuring
        if state["found"] is None:
            print(f"    (seed {seed_value}: {type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''})")
    return state["found"]


# -- subjects ------------------------------------------------------------------------------------

def _worker(framework, backend):
    from conformance.backends import workers

    names = workers(framework)
    return next((w for w in names if w.endswith(f"@{backend}")), names[0])


def _target(pool, worker, framework, variant_name, lane) -> TargetLane:
    variant = next(v for v in targets.get(worker).variants if v.name == variant_name)
    version = pool.call(worker, "environment").get("version", "")
    return TargetLane(worker, framework, variant_name, lane, version, variant.space(lane))


def finding_subjects(pool, only) -> list[Subject]:
    subjects = []
    for entry in KNOWN.entries:
        if only and entry.id not in only or not entry.example:
            continue
        example = entry.example
        framework, variant = entry.framework, example["variant"]
        mode = example.get("mode", "eager")
        backend = example.get("backend") or ("onednn" if framework in ("torch", "tensorflow") and example.get("dtype", "float32") == "float32"
                                              else "eigen" if framework == "tensorflow" else "native" if framework == "torch" else "default")
        lane = Lane(example.get("device", "cpu"), example.get("dtype", "float32"), "default", backend, mode)
        worker = _worker(framework, backend)
        target = _target(pool, worker, framework, variant, lane)
        test = CHECK_TESTS[example.get("check", "forward")]
        lanes = Lanes([_target(pool, worker, framework, v.name, lane) for v in targets.get(worker).variants if not v.lane_support(lane)])
        subjects.append(Subject(entry.id, "finding", [Search(test, target, lanes, lambda record, entry=entry: record.known == entry.id)]))
    return subjects


def planted_subjects(pool, only) -> list[Subject]:
    subjects = []
    for name, (description, region) in planted_faults.REGIONS.items():
        if only and name not in only:
            continue
        worker = f"impl:{PLANTED_FILE}:{name}"
        searches = []
        for dtype in ("float32", "float64"):
            lane = Lane("cpu", dtype, "default", "default")
            target = TargetLane(worker, "impl", "function", lane, "", {})
            for test in ("test_values", "test_large_outputs"):
                searches.append(Search(test, target, Lanes([target]), lambda record: record.outcome in FAILURES))
        subjects.append(Subject(name, "planted", searches, share=reference_share(region)))
    return subjects


def reference_configs(count: int, rng) -> list:
    """Configurations drawn uniformly from a reference space no strategy of the suite shapes: 1-3 dims;
    per dim i in 1..8 (one dim in ten 9..160), k 1..5, s 1..4, d 1..3, op 0..3, a start crop from -2 to
    the full length - 1 and an output from 1 to 2 past the rest; groups 1..4 with 1..32 channels each
    way per group; a batch of 1..4 or none; bias or not; float32 or float64."""
    configs = []
    for _ in range(count):
        ndim = int(rng.integers(1, 4))
        dims = []
        for _ in range(ndim):
            i = int(rng.integers(1, 9)) if rng.random() < 0.9 else int(rng.integers(9, 161))
            k, s, d, op = (int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(0, 4)))
            full = (i - 1) * s + d * (k - 1) + 1
            cb = int(rng.integers(-2, full))
            o = int(rng.integers(1, full - cb + 3))
            dims.append((i, k, s, d, cb, full - cb - o, op))
        groups = int(rng.integers(1, 5))
        i, k, s, d, cb, ca, op = (tuple(column) for column in zip(*dims))
        configs.append(planted_faults.Config(
            i=i, k=k, s=s, d=d, cb=cb, ca=ca, op=op, groups=groups,
            in_channels=groups * int(rng.integers(1, 33)), out_channels=groups * int(rng.integers(1, 33)),
            batch=None if rng.random() < 0.2 else int(rng.integers(1, 5)), bias=bool(rng.random() < 0.5),
            dtype="float32" if rng.random() < 0.5 else "float64"))
    return configs


_REFERENCE = []


def reference_share(region, count=20000) -> float:
    if not _REFERENCE:
        _REFERENCE.extend(reference_configs(count, np.random.default_rng(0)))
    return sum(bool(region(config)) for config in _REFERENCE) / len(_REFERENCE)


# -- the table -----------------------------------------------------------------------------------

def measure(pool, subject: Subject, seeds: int, cap_factor: int) -> dict:
    counts, within = [], 0
    for seed_value in range(seeds):
        best, hit = None, False
        for search in subject.searches:
            found = run_search(pool, search, seed_value, cap_factor * search.budget)
            if found is not None:
                best = found if best is None else min(best, found)
                hit |= found <= search.budget
        counts.append(best)
        within += hit
    return {"counts": counts, "within": within}


def _quantile(counts, q, cap):
    values = sorted(math.inf if c is None else c for c in counts)
    value = values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]
    return f">{cap}" if value == math.inf else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cap", type=int, default=4, help="stop each search at this many times its test's default budget")
    parser.add_argument("--only", default="", help="comma-separated finding ids or planted fault names")
    parser.add_argument("--skip-findings", action="store_true")
    parser.add_argument("--skip-planted", action="store_true")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    pool = WorkerPool(timeout=300)
    try:
        subjects = ([] if args.skip_planted else planted_subjects(pool, only)) + ([] if args.skip_findings else finding_subjects(pool, only))
        print(f"time to find: {args.seeds} seeds, searches capped at {args.cap}x each test's default budget")
        print(f"{'defect':56s} {'share':>6s} {'budget':>7s} {'median':>7s} {'p90':>6s} {'found':>6s}  where")
        for subject in subjects:
            start = time.perf_counter()
            result = measure(pool, subject, args.seeds, args.cap)
            budget = max(search.budget for search in subject.searches)
            cap = args.cap * budget
            finite = [c for c in result["counts"] if c is not None]
            median = f"{statistics.median(finite):.0f}" if len(finite) * 2 > len(result["counts"]) else f">{cap}"
            share = "" if subject.share is None else f"{subject.share:.2%}"
            where = ", ".join(sorted({f"{s.test}[{s.target.id}]" for s in subject.searches}))
            print(f"{subject.kind[0]} {subject.name:54s} {share:>6s} {budget:7d} {median:>7s} {_quantile(result['counts'], 0.9, cap):>6s} "
                  f"{result['within']:>3d}/{args.seeds}  {where}  ({time.perf_counter() - start:.0f} s; counts {result['counts']})", flush=True)
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
