"""Conformance-suite throughput: checked examples per second per framework, and where the time goes.

Runs the value check (``Runner.forward``) on hypothesis-drawn cases for each framework's variants on
its CPU float32 lanes (one per backend), each lane's cases drawn from what it can run, as the suite
draws them; "checked of drawn" is the share of draws that became checks. Times three parts in one run:

- framework: inside the worker call (framework work plus the round trip to the worker process);
- oracle: the float64 oracle and its error bound;
- suite: everything else (drawing arrays, comparison, records).

    python benchmarks/suite_speed.py [--examples 60] [--frameworks torch,tensorflow,jax]
"""

import argparse
import sys
import time

from hypothesis import given, settings

from conformance import targets
from conformance.lanes import TargetLane
from conformance.runner import Runner
from conformance.backends import workers
from conformance.strategies import lane_cases
from conformance.targets.base import Lane
from conformance.worker import WorkerPool


def draw_cases(count, space=None):
    """``count`` cases as the suite draws them for a lane with ``space`` (``Target.space``)."""
    drawn = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(case=lane_cases(space))
    def collect(case):
        drawn.append(case)

    collect()
    return drawn[:count]


class Timed:
    """Wraps a callable and adds up the seconds spent in it."""

    def __init__(self, function):
        self.function, self.seconds = function, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--frameworks", default=",".join(name for name, target in targets.targets().items() if target.installed()))
    args = parser.parse_args(argv)
    pool = WorkerPool(timeout=300)
    print(f"{args.examples} cases drawn per lane from what it can run (its space), CPU float32 lanes, one run")
    print(f"{'target':32s} {'backend':8s} {'examples/s':>10s} {'framework':>10s} {'oracle':>8s} {'suite':>8s}")
    try:
        for framework in filter(None, args.frameworks.split(",")):
            for worker in workers(framework):
                start = time.perf_counter()
                pool.call(worker, "environment")  # the first call loads the framework
                print(f"{worker}: worker start and import {time.perf_counter() - start:.1f} s")
                for backend in pool.call(worker, "backends", "cpu", "float32"):
                    for variant in targets.get(worker).variants:
                        lane = Lane("cpu", "float32", "default", backend)
                        if variant.lane_support(lane):
                            continue
                        space = variant.space(lane)
                        drawn = draw_cases(args.examples, space)
                        runner = Runner(pool, emit=lambda record, verdict: None)
                        runner.pool = _TimedPool(pool)
                        runner._expected = Timed(runner._expected)
                        target = TargetLane(worker, framework, variant.name, lane, space=space)
                        runner.forward(target, drawn[0])  # warm-up: first-call compilation, caches
                        runner.pool.seconds, runner._expected.seconds = 0.0, 0.0
                        start = time.perf_counter()
                        checked = sum(runner.forward(target, case).outcome != "not-applicable" for case in drawn)
                        total = time.perf_counter() - start
                        framework_s, oracle_s = runner.pool.seconds, runner._expected.seconds
                        suite_s = total - framework_s - oracle_s
                        print(
                            f"{target.name:32s} {backend:8s} {checked / total:10.1f} {framework_s / total:10.0%} {oracle_s / total:8.0%} {suite_s / total:8.0%}"
                            f"   ({checked} checked of {len(drawn)}, {total:.2f} s)"
                        )
    finally:
        pool.close()
    return 0


class _TimedPool:
    """The worker pool with the seconds spent in its calls added up."""

    def __init__(self, pool):
        self.call = Timed(pool.call)

    @property
    def seconds(self):
        return self.call.seconds

    @seconds.setter
    def seconds(self, value):
        self.call.seconds = value


if __name__ == "__main__":
    sys.exit(main())
