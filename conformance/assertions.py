"""How a test turns a verdict into pass or fail: outcomes that are not findings never fail a test."""

from __future__ import annotations

import functools
import math

import pytest
from hypothesis import target

from .checks import FAILURES, PASS


def assert_verdict(verdict) -> None:
    """Fail with the verdict's one-line message on mismatch, shape or error mismatch, crash or timeout.

    ``known`` (a recorded finding), ``unsupported`` (this build cannot run it) and ``not-applicable``
    (the API cannot express the case) are recorded by the runner and pass.

    The failure is raised as the class of the verdict's signature (:func:`discrepancy`): hypothesis
    tells bugs apart by exception type, so each signature is shrunk and replayed on its own, and a
    second defect in the same test is reported, not hidden behind the first.
    """
    __tracebackhide__ = True
    if verdict.outcome in FAILURES:
        raise discrepancy(verdict.bucket or verdict.outcome)(f"{verdict.outcome}: {verdict.message}", pytrace=False)


@functools.lru_cache(maxsize=None)
def discrepancy(bucket: str) -> type:
    """The failure class of one signature, ``Discrepancy[mismatch forward start crop > K-1]``: one
    class per signature for the run (cached), a subclass of pytest's own (``_pytest.outcomes.Failed``) so pytest
    reports it as ``pytest.fail`` does."""
    name = f"Discrepancy[{bucket}]"
    return type(name, (pytest.fail.Exception,), {"__module__": __name__, "__qualname__": name})


def check_drawn(check, target, data, cases) -> None:
    """Run ``check(target, case)`` (a runner method) on one case drawn from ``cases(target.space)``, and
    :func:`assert_verdict` its verdict: the body of each hypothesis test with one verdict per draw."""
    __tracebackhide__ = True
    verdict = check(target, data.draw(cases(target.space), label="case"))
    aim(verdict)
    assert_verdict(verdict)


def aim(verdict, label: str = "error/bound") -> None:
    """Tell hypothesis how close the check came to failing (``hypothesis.target`` on error/bound): its
    targeting phase then mutates the examples with the largest ratios, climbing towards a failure that
    random draws only graze. Integer cases (bound 0, exact) and checks without a ratio say nothing."""
    ratio = getattr(verdict, "ratio", None)
    if ratio is not None and math.isfinite(ratio) and verdict.outcome == PASS:
        target(float(ratio), label=label)  # one label per verdict of an example: hypothesis takes each once
