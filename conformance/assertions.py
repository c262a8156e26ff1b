"""How a test turns a verdict into pass or fail: outcomes that are not findings never fail a test."""

from __future__ import annotations

import pytest

from .checks import FAILURES


def assert_verdict(verdict) -> None:
    """Fail with the verdict's one-line message on mismatch, shape or error mismatch, crash or timeout.

    ``known`` (a recorded finding), ``unsupported`` (this build cannot run it) and ``not-applicable``
    (the API cannot express the case) are recorded by the runner and pass.
    """
    __tracebackhide__ = True
    if verdict.outcome in FAILURES:
        pytest.fail(f"{verdict.outcome}: {verdict.message}", pytrace=False)


def check_drawn(check, target, data, cases) -> None:
    """Run ``check(target, case)`` (a runner method) on one case drawn from ``cases(target.space)``, and
    :func:`assert_verdict` its verdict: the body of each hypothesis test with one verdict per draw."""
    __tracebackhide__ = True
    assert_verdict(check(target, data.draw(cases(target.space), label="case")))
