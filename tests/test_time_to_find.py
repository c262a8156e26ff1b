"""benchmarks/time_to_find.py's ``--reach`` estimate: the suite's tests run with a runner that calls no
framework, and a search stops at the first check whose record lies in a known entry's region."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import time_to_find  # noqa: E402

from conformance.known import Discrepancy  # noqa: E402
from conformance.lanes import TargetLane  # noqa: E402
from conformance.targets import get  # noqa: E402
from conformance.targets.base import Lane  # noqa: E402


class NoFramework:
    """A worker pool that fails the test if anything is called in a worker."""

    def call(self, *args, **kwargs):
        raise AssertionError(f"a worker was called: {args[:2]}")


def search(entry, variant, dtype, test="test_values"):
    lane = Lane("cpu", dtype, "default", "default")
    target = TargetLane("jax", "jax", variant, lane, "0.10.2", get("jax").variant(variant).space(lane))
    checked, found = [], []

    def detects(record):
        checked.append(record)
        hit = time_to_find.reached(entry)(record)
        if hit:
            found.append(record)
        return hit

    return time_to_find.Search(test, target, time_to_find.Lanes([target]), detects), checked, found


def entry(**fields):
    return Discrepancy(**{"id": "synthetic", "framework": "jax", "versions": ">=0.10", "reason": "", "link": "", **fields})


def test_reach_calls_no_framework_and_stops_at_the_first_check_in_the_region():
    # conv_general_dilated's native padding is always a tuple of pairs: every forward check lies in this region
    one, checked, found = search(entry(checks=("forward",), predicate="explicit_padding"), "conv_general_dilated", "float32")
    assert time_to_find.run_search(NoFramework(), one, 0, cap=50, reach=True) == 1  # the first example, counted inclusively
    assert len(found) >= 1 and found[0] is checked[0] and found[0].outcome == "pass"


def test_reach_never_counts_a_lane_or_check_the_entry_leaves_out():
    for excluded in (entry(dtypes=("float16",)), entry(checks=("gradient-input",)), entry(framework="torch")):
        one, checked, found = search(excluded, "conv_general_dilated", "float32")
        assert time_to_find.run_search(NoFramework(), one, 0, cap=30, reach=True) is None
        assert len(checked) >= 30 and not found
