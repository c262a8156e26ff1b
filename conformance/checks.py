"""Comparing a result with the oracle: the verdict of one check, as data.

Tests ask these functions for a :class:`Verdict` and assert on it; the records the plugin writes are
built from the same verdicts. Messages follow one form:
``out.shape=(2, 3), but should be (3, 2) [torch.functional float32 cpu: stride=(2,), padding=((1, 1),)]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PASS, MISMATCH, SHAPE_MISMATCH, ERROR_MISMATCH = "pass", "mismatch", "shape-mismatch", "error-mismatch"
UNSUPPORTED, CRASH, TIMEOUT, KNOWN, NOT_APPLICABLE = "unsupported", "crash", "timeout", "known", "not-applicable"
FAILURES = (MISMATCH, SHAPE_MISMATCH, ERROR_MISMATCH, CRASH, TIMEOUT)

FIRST_DIFFERENCES = 10
MAP_LIMIT = 4096  # ratio maps larger than this are not kept in records (reports draw what they get)


@dataclass
class Verdict:
    """The outcome of one check and the numbers behind it."""

    outcome: str
    message: str = ""
    max_abs_error: float | None = None
    bound: float | None = None  # the bound at the worst element
    ratio: float | None = None  # max |error| / bound (inf where the bound is 0 and the error is not)
    worst_index: list | None = None
    first_differences: list = field(default_factory=list)  # [{index, actual, expected, bound}]
    ratio_map: list | None = None  # error/bound over the output (small outputs, failures only)
    # The failure class the test raises (conformance.buckets.Raised: the failure's signature, or
    # "further signatures" past the first few of a test), set by the runner for failing and known
    # outcomes: one exception class per signature, so hypothesis shrinks each on its own.
    bucket: str = ""
    # A result that is not a real floating array of about the expected size (None, a list, a complex
    # array, 10**9 elements): a contract problem, not geometry, so it is one bucket whatever the case.
    unusable: bool = False
    # The whole text of an error the call raised, where it runs past the first line the message quotes.
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES


def compare(actual, expected: np.ndarray, bound: np.ndarray, context: str) -> Verdict:
    """Values of ``actual`` against the oracle's ``expected`` within the per-element ``bound``.

    Vectorised first; the element walk (worst index, first differences, ratio map) only on failure.
    NaN or infinity in ``actual`` where the oracle is finite is a mismatch.
    """
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        return Verdict(SHAPE_MISMATCH, f"out.shape={actual.shape}, but should be {expected.shape} [{context}]")
    error = np.abs(actual.astype(np.float64) - expected)
    error = np.where(np.isnan(error), np.inf, error)
    exceeded = error > bound
    max_error = float(error.max()) if error.size else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(bound > 0, error / np.where(bound > 0, bound, 1), np.where(error > 0, np.inf, 0.0))
    worst = np.unravel_index(int(np.argmax(ratios)), ratios.shape) if ratios.size else ()
    verdict = Verdict(
        PASS,
        max_abs_error=max_error,
        bound=float(bound[worst]) if ratios.size else 0.0,
        ratio=float(ratios[worst]) if ratios.size else 0.0,
        worst_index=[int(i) for i in worst],
    )
    if not exceeded.any():
        return verdict
    verdict.outcome = MISMATCH
    indices = np.argwhere(exceeded)[:FIRST_DIFFERENCES]
    verdict.first_differences = [
        {"index": [int(i) for i in index], "actual": float(actual[tuple(index)]), "expected": float(expected[tuple(index)]), "bound": float(bound[tuple(index)])}
        for index in indices
    ]
    if ratios.size <= MAP_LIMIT:
        verdict.ratio_map = np.where(np.isfinite(ratios), ratios, -1.0).tolist()  # -1 marks an infinite ratio
    first = verdict.first_differences[0]
    verdict.message = (
        f"{int(exceeded.sum())} of {exceeded.size} elements exceed the error bound; worst at {verdict.worst_index}: "
        f"|error| {max_error:.3g} is {verdict.ratio:.3g}x the bound {verdict.bound:.3g}; "
        f"first at {first['index']}: out={first['actual']!r}, but should be {first['expected']!r} [{context}]"
    )
    return verdict


def compare_exact(actual, expected: np.ndarray, context: str) -> Verdict:
    """Bit-for-bit equality (integer lane, determinism)."""
    return compare(actual, np.asarray(expected, dtype=np.float64), np.zeros(np.shape(expected)), context)


def expect_error(raised: str | None, rejected: str | None, context: str) -> Verdict:
    """The framework raised (``raised`` = its error) exactly where the dialect says it rejects (``rejected`` = the rule)."""
    if raised and rejected:
        return Verdict(PASS)
    if not raised and not rejected:
        return Verdict(PASS)
    if raised:
        return Verdict(ERROR_MISMATCH, f"raised {raised}, but the configuration is valid by the dialect's rules [{context}]")
    return Verdict(ERROR_MISMATCH, f"returned a result, but should raise: {rejected} [{context}]")
