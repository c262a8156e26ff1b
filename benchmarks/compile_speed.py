"""What the compiled lanes cost, and what the persistent compilation cache saves.

For each framework's first variant, on the CPU float32 lane of its first backend, in each mode (eager
and compiled), with no epilogue and with a sigmoid epilogue (which makes inductor generate code rather
than call the convolution's kernel), this runs the same ``--cases`` drawn cases twice in one worker
process: the first call of a case pays for tracing and compilation, the second only runs. Then it does
all of that again in a new worker process with the same cache directory: the frameworks' persistent
caches (inductor's FX graph cache, JAX's compilation cache; ``--compile-cache``) then serve the
compilations. Printed per lane, milliseconds per case (median):

- ``first``: the first call of a case (compile + run), in the first process (cold cache);
- ``again``: the same case called again (run only);
- ``warm``: the first call of the case in the second process (warm persistent cache);
- ``first/again`` and ``first/warm``: what compiling costs and what the cache saves, as ratios.

    python benchmarks/compile_speed.py [--cases 8] [--frameworks torch,jax,tensorflow] [--cache DIR]

Without ``--cache`` a new temporary directory is used, so the first process really starts cold.
"""

import argparse
import statistics
import sys
import tempfile
import time

from hypothesis import given, settings

from conformance import operands, targets
from conformance.backends import workers
from conformance.runner import _output_shape
from conformance.strategies import lane_cases
from conformance.targets.base import Lane
from conformance.worker import WorkerPool


def draw_cases(count, space):
    drawn = []

    @settings(max_examples=count * 4, derandomize=True, database=None, deadline=None)
    @given(case=lane_cases(space))
    def collect(case):
        drawn.append(case)

    collect()
    return drawn


def lanes(framework, pool, worker):
    """``(variant, lane)`` for the first variant with a compiled mode, in each mode, on the first backend."""
    variant = next(v for v in targets.get(worker).variants if "compiled" in v.modes)
    backend = pool.call(worker, "backends", "cpu", "float32")[0]
    return [(variant, Lane("cpu", "float32", "default", backend, mode)) for mode in ("eager", "compiled")]


def timed_calls(pool, worker, variant, lane, cases, epilogue):
    """Milliseconds of each case's first and second call, in one worker."""
    first, again = [], []
    for case in cases:
        x, w, b = operands.for_lane(case, "float32")
        native = variant.native(case)
        kwargs = {} if epilogue is None else {"epilogue": (epilogue, None)}
        for times in (first, again):
            start = time.perf_counter()
            pool.call(worker, "call", variant.name, native, x, w, b, case.groups, lane, **kwargs)
            times.append(1000 * (time.perf_counter() - start))
    return first, again


def expressible(variant, lane, count):
    cases = []
    for case in draw_cases(count, variant.space(lane)):
        try:
            variant.native(case)
        except Exception:  # noqa: BLE001  (a case the variant cannot express is not timed)
            continue
        if all(n > 0 for n in _output_shape(case)):
            cases.append(case)
        if len(cases) == count:
            break
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--frameworks", default=",".join(
        name for name, target in targets.targets().items() if target.installed() and any("compiled" in v.modes for v in target.variants)))
    parser.add_argument("--cache", help="the compile-cache directory (default: a new temporary one)")
    args = parser.parse_args(argv)
    cache = args.cache or tempfile.mkdtemp(prefix="convt-compile-cache-")
    print(f"{args.cases} cases per lane, each called twice in one process, then again in a second process "
          f"with the same persistent cache ({cache}); milliseconds per case, median")
    print(f"{'lane':44s} {'epilogue':8s} {'first':>8s} {'again':>7s} {'warm':>8s} {'first/again':>11s} {'first/warm':>10s}")
    for framework in filter(None, args.frameworks.split(",")):
        worker = workers(framework)[0]
        results = {}
        for run in ("cold", "warm"):
            pool = WorkerPool(timeout=600, cache=cache)
            try:
                pool.call(worker, "environment")  # load the framework outside the timings
                for variant, lane in lanes(framework, pool, worker):
                    cases = expressible(variant, lane, args.cases)
                    for epilogue in (None, "sigmoid"):
                        results[(run, variant.name, lane, epilogue)] = timed_calls(pool, worker, variant, lane, cases, epilogue)
            finally:
                pool.close()
        for (run, name, lane, epilogue), (first, again) in results.items():
            if run != "cold":
                continue
            warm = results[("warm", name, lane, epilogue)][0]
            label = f"{framework}.{name} {lane.backend} {lane.mode}"
            f, a, w = statistics.median(first), statistics.median(again), statistics.median(warm)
            print(f"{label:44s} {epilogue or '-':8s} {f:8.1f} {a:7.2f} {w:8.1f} {f / a:11.0f} {f / w:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
