"""Time to find: how many generated examples the suite's search needs before it detects a defect.

Two kinds of defect, each searched for over ``--seeds`` hypothesis seeds:

- every recorded finding (``conformance/known_discrepancies.toml``): the suite tests run on real
  framework calls, and a search stops at the first check the entry matches. The entry's fixed
  example is never run (``test_known.py`` does that; this measures the generated cases alone) and no
  hypothesis database is read. A failure no entry explains is printed as it happens: the search
  finds what nobody recorded too.
- planted narrow faults (``benchmarks/planted_faults.py``): the oracle wrong in one region of at most 1%
  of a reference configuration space (its share is printed beside it), run as an ``--impl``.

A defect's *searches* are the (test, lane) pairs of a default run (``pytest conformance``: CPU, float32
and float64, every backend and mode) whose checks can detect it: for a finding, every lane and test
its entry covers, the lane its example names first; for a planted fault, the value tests on both
``--impl`` lanes. For each seed the searches run in that order, each with a seed of its own (as each
test item of a run has: ``conformance.profiles.item_seed``) and to its test's default budget (the
profile's ``max_examples`` as the test's ``settings`` scale it: 100 for values, 40 for gradients, 5 on
a compiled lane), and the count is the examples drawn until the first detection, inclusive; "found"
counts the seeds in which the default run's budget detected it at all, and a seed that did not reads
as ``>budget`` (the sum of the searches' budgets).

With ``--reach``, no framework is called: every call "passes" unseen, and a search counts as detecting
a finding at the first check that reaches its entry's region (its lanes, check and predicate), as if
the framework failed wherever the entry says it does. It estimates in minutes, over many seeds, what
the real measurement takes hours for: how the generation spreads a run's budget over each finding's
region (tuning strategies), not whether the framework still fails there. It is an upper bound: a
predicate may be wider than the failure (an entry only has to explain the failures), and a call the
framework would refuse as unsupported counts as reached.

``--profile nightly`` measures a deeper run instead: each test's budget as that hypothesis profile
scales it (``conformance.profiles.examples``: ten times the default's under ``nightly``).

    python benchmarks/time_to_find.py [--seeds 10] [--only NAME,...] [--skip-findings] [--skip-planted] [--reach] [--profile dev]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
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

from conformance import profiles, targets  # noqa: E402, F401  (profiles: the suite's hypothesis settings, its backend)
from conformance import checks  # noqa: E402
from conformance.checks import FAILURES  # noqa: E402
from conformance.known import KnownDiscrepancies  # noqa: E402
from conformance.lanes import TargetLane  # noqa: E402
from conformance.parametrize import checks_variant  # noqa: E402
from conformance.runner import Runner  # noqa: E402
from conformance.targets.base import Lane  # noqa: E402
from conformance.worker import WorkerPool  # noqa: E402

PLANTED_FILE = Path(planted_faults.__file__).resolve()
# The tests whose checks compare values on an --impl lane, each with its own budget in a suite run.
PLANTED_TESTS = ("test_values", "test_large_outputs")
KNOWN = KnownDiscrepancies.load()  # as a suite run has them: a finding's check is recorded "known"


# -- the suite's tests, run as they are -----------------------------------------------------------

# test name -> (module, eager test, its counterpart in test_compiled.py): the body each search runs is the suite test's own
# (hypothesis keeps it as ``test.hypothesis.inner_test``), called inside this script's own ``@given``.
TESTS = {
    "test_values": ("test_values", "test_values", "test_compiled_values"),
    "test_values_of_spellings": ("test_values", "test_values_of_spellings", None),
    "test_large_outputs": ("test_values", "test_large_outputs", None),
    "test_linearity": ("test_identities", "test_linearity", None),
    "test_batch_split": ("test_identities", "test_batch_split", None),
    "test_determinism": ("test_identities", "test_determinism", None),
    "test_gradients": ("test_gradients", "test_gradients", "test_compiled_gradients"),
    "test_dialect_parameters": ("test_dialects", "test_dialect_parameters", "test_compiled_dialect_parameters"),
    "test_epilogues": ("test_epilogues", "test_epilogues", "test_compiled_epilogues"),
}


def suite_test(name: str, mode: str):
    """The suite's hypothesis test for ``name`` on a lane in ``mode``."""
    module, eager, compiled = TESTS[name]
    if mode == "compiled":
        return getattr(importlib.import_module("conformance.test_compiled"), compiled)
    return getattr(importlib.import_module(f"conformance.{module}"), eager)


def body(test):
    """The test's body, called with the arguments it names (``convt``, ``runner``, ``target``, ``data``)."""
    inner = test.hypothesis.inner_test
    names = set(inspect.signature(inner).parameters)
    return lambda **arguments: inner(**{key: value for key, value in arguments.items() if key in names})


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
        """The test's default example budget: its own ``settings`` (hypothesis keeps them on the test)."""
        return suite_test(self.test, self.target.lane.mode)._hypothesis_internal_use_settings.max_examples


@dataclasses.dataclass
class Subject:
    name: str
    kind: str  # "finding" or "planted"
    searches: list
    share: float | None = None


class Detected(Exception):
    pass


class ReachRunner(Runner):
    """A runner that calls no framework: each call passes as it is, so that every check ends in a
    record of its case, native parameters and lane, and ``reached`` says whether the record lies in
    an entry's region (``Discrepancy.matches`` ignores the outcome)."""

    def _call(self, target, case, method, native, *args, expect, elements=None, raising=False, epilogue=None):
        return None, checks.Verdict(checks.PASS, "not called (--reach)")


def reached(entry):
    return lambda record: record.outcome == checks.PASS and entry.matches(record)


def run_search(pool, search: Search, seed_value: int, cap: int, reach: bool = False) -> int | None:
    """Examples drawn until the first detection (inclusive), or None within ``cap`` examples."""
    state = {"count": 0, "found": None}

    def emit(record, verdict):
        if state["found"] is None and search.detects(record):
            state["found"] = state["count"]

    runner = (ReachRunner(pool, emit, None, final=lambda: False) if reach else Runner(pool, emit, KNOWN))
    runner.start_test()
    run_body = body(suite_test(search.test, search.target.lane.mode))

    # Each search its own seed, as each test item of a run has (profiles.item_seed): with one seed for all,
    # the float32 and float64 lanes of a test would draw the same cases and count one search twice.
    @seed(profiles.item_seed(f"{search.test}[{search.target.id}]", seed_value))
    @settings(parent=settings(), max_examples=cap, database=None, derandomize=False, phases=[Phase.generate],
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test(data):
        state["count"] += 1
        try:
            run_body(convt=search.lanes, runner=runner, target=search.target, data=data)
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


# Check kinds -> the eager suite tests that make them; a compiled lane runs the compiled counterpart.
CHECK_KIND_TESTS = {
    "forward": ("test_values", "test_values_of_spellings"), "linearity": ("test_linearity",), "batch-split": ("test_batch_split",), "determinism": ("test_determinism",),
    "native": ("test_dialect_parameters",), "gradient-input": ("test_gradients",), "gradient-weight": ("test_gradients",),
}
DEFAULT_DTYPES = ("float32", "float64")  # a default run's CPU dtypes (half precision is opted in with --dtypes)


class _Probe:
    """What ``Discrepancy.covers`` reads of a record, for asking which lanes an entry covers."""

    def __init__(self, target: TargetLane, check: str):
        self.framework, self.version, self.target, self.check = target.framework, target.version, target.name, check
        self.dtype, self.device, self.backend, self.mode = target.lane.dtype, target.lane.device, target.lane.backend, target.lane.mode


def default_lanes(pool, framework) -> list[TargetLane]:
    """Every lane a default run gives ``framework`` on this machine (``conformance.lanes.build`` with no
    selection: CPU float32/float64, every backend and mode, each kernel path once), without the skipped."""
    from types import SimpleNamespace

    from conformance import lanes
    from conformance.backends import workers

    names = workers(framework)
    options = SimpleNamespace(devices=("cpu",), dtypes=(), backends=(), modes=())
    built = lanes.build(pool, names, {worker: pool.call(worker, "environment") for worker in names}, options)
    return [target for target, skip in built if skip is None]


def finding_subjects(pool, only, reach=False) -> list[Subject]:
    """Each entry's searches: every test and default-run lane it covers, the lane its example names first."""
    subjects = []
    for entry in KNOWN.entries:
        if only and entry.id not in only or not entry.example:
            continue
        example = entry.example
        check = example.get("check", "forward")
        kinds = list(entry.checks) or ["forward", {"gradients": "gradient-input", "epilogue": "epilogue"}.get(check, check)]
        lanes = default_lanes(pool, entry.framework)
        searches = []
        for target in lanes:
            for kind in kinds:
                tests = CHECK_KIND_TESTS.get(kind, ("test_epilogues",) if kind.startswith("epilogue") else ())
                for test in tests:
                    probe_kind = "epilogue-" + example.get("epilogue", "relu") if kind == "epilogue" else kind
                    if not entry.covers(_Probe(target, probe_kind)) or any(s.test == test and s.target == target for s in searches):
                        continue
                    if target.lane.mode == "compiled" and TESTS[test][2] is None:
                        continue  # the test has no compiled counterpart
                    if test == "test_dialect_parameters" and any(s.test == test and s.target.worker == target.worker and s.target.lane == target.lane
                                                                  for s in searches):
                        continue  # one dialect test per lane: it draws every variant's native cases itself
                    if not checks_variant(suite_test(test, target.lane.mode), targets.get(target.worker).variant(target.variant)):
                        continue  # the default run does not run this test on this variant
                    same_lane = Lanes([t for t in lanes if t.worker == target.worker and t.lane == target.lane])
                    detects = reached(entry) if reach else (lambda record, entry=entry: record.known == entry.id)
                    searches.append(Search(test, target, same_lane, detects))
        # The example's own lane first: the one the finding was characterised on.
        def first(search, example=example):
            lane = search.target.lane
            return not (search.target.variant == example["variant"] and lane.dtype == example.get("dtype", "float32")
                        and lane.mode == example.get("mode", "eager") and lane.backend == (example.get("backend") or lane.backend))
        subjects.append(Subject(entry.id, "finding", sorted(searches, key=first)))
    return subjects


def planted_subjects(pool, only) -> list[Subject]:
    subjects = []
    for name, (description, region) in planted_faults.REGIONS.items():
        if only and name not in only:
            continue
        worker = f"impl:{PLANTED_FILE}:{name}"
        searches = []
        for test in PLANTED_TESTS:
            for dtype in DEFAULT_DTYPES:
                target = TargetLane(worker, "impl", "function", Lane("cpu", dtype, "default", "default"), "", {})
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

def measure(pool, subject: Subject, seeds: int, reach: bool = False) -> list:
    """Per seed, the examples of a default run drawn until the first detection, the searches taken in
    order, each to its own budget; None where the run's whole budget found nothing."""
    counts = []
    for seed_value in range(seeds):
        drawn, found = 0, None
        for search in subject.searches:
            hit = run_search(pool, search, seed_value, search.budget, reach)
            if hit is not None:
                found = drawn + hit
                break
            drawn += search.budget
        counts.append(found)
    return counts


def _quantile(counts, q, total):
    values = sorted(math.inf if c is None else c for c in counts)
    value = values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]
    return f">{total}" if value == math.inf else str(value)


def _positive(text: str) -> int:
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=_positive, default=10)
    parser.add_argument("--only", default="", help="comma-separated finding ids or planted fault names")
    parser.add_argument("--skip-findings", action="store_true")
    parser.add_argument("--skip-planted", action="store_true")
    parser.add_argument("--profile", default="dev", choices=("dev", "nightly"),
                        help="the hypothesis profile whose budgets a run spends (nightly: ten times the default)")
    parser.add_argument("--reach", action="store_true", help="call no framework: count the examples until a check reaches a finding's "
                        "region (planted faults, which need no framework, are still measured for real)")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    settings.load_profile(args.profile)  # before the suite's test modules are imported: their budgets scale with it
    names = {entry.id for entry in KNOWN.entries} | set(planted_faults.REGIONS)
    if only - names:
        parser.error(f"--only: no recorded finding or planted fault named {', '.join(sorted(only - names))}")
    pool = WorkerPool(timeout=300)
    try:
        subjects = ([] if args.skip_planted else planted_subjects(pool, only)) + ([] if args.skip_findings else finding_subjects(pool, only, args.reach))
        what = "a default run" if args.profile == "dev" else f"a {args.profile} run"
        print(f"time to find: {args.seeds} seeds; examples {what} draws until it first detects the defect "
              f"(its searches in order, each to its test's budget){'; --reach: until a check reaches its region, no framework called' if args.reach else ''}")
        print(f"{'defect':56s} {'share':>6s} {'budget':>7s} {'median':>7s} {'p90':>7s} {'found':>6s}  searches")
        for subject in subjects:
            start = time.perf_counter()
            counts = measure(pool, subject, args.seeds, args.reach and subject.kind == "finding")
            total = sum(search.budget for search in subject.searches)
            finite = [c for c in counts if c is not None]
            median = f"{statistics.median(sorted(math.inf if c is None else c for c in counts)):.0f}" if len(finite) * 2 > len(counts) else f">{total}"
            share = "" if subject.share is None else f"{subject.share:.2%}"
            first = subject.searches[0] if subject.searches else None
            where = f"{len(subject.searches)}, first {first.test}[{first.target.id}]" if first else "none: no default lane covers it"
            print(f"{subject.kind[0]} {subject.name:54s} {share:>6s} {total:7d} {median:>7s} {_quantile(counts, 0.9, total):>7s} "
                  f"{len(finite):>3d}/{args.seeds}  {where}  ({time.perf_counter() - start:.0f} s; counts {counts})", flush=True)
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
