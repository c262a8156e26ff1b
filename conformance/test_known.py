"""Each known discrepancy's example, as a strict xfail: a fixed framework turns its stale entry red."""

import dataclasses

import pytest

from .cases import Case, NativeCase
from .checks import FAILURES, KNOWN
from .known import KnownDiscrepancies


def _entries():
    return [entry for entry in KnownDiscrepancies.load().entries if entry.example]


@pytest.mark.parametrize("entry", _entries(), ids=lambda entry: entry.id)
def test_known_discrepancy_still_reproduces(convt, entry):
    """The example must still fail the check the entry covers (strict: passing is a failure)."""
    example = dict(entry.example)
    lanes = [t for t, skip in convt.lanes() if skip is None and t.framework == entry.framework and t.lane.device == example.pop("device", "cpu")]
    variant, dtype, check = example.pop("variant"), example.pop("dtype", "float32"), example.pop("check", "forward")
    lane = next((t for t in lanes if t.lane.dtype == dtype), None)
    if lane is None:
        pytest.skip(f"{entry.framework} {dtype} is not among this run's lanes")
    target = dataclasses.replace(lane, variant=variant)
    tuples = {key: tuple(tuple(v) if isinstance(v, list) else v for v in value) if isinstance(value, list) else value for key, value in example.items()}
    if check == "native":
        tuples["native"] = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in tuples["native"].items()))
        verdict = convt.runner.native(target, NativeCase(variant=variant, **tuples))
    else:
        verdict = getattr(convt.runner, check)(target, Case(**tuples))
    verdicts = verdict if isinstance(verdict, list) else [verdict]
    if not any(v.outcome in FAILURES + (KNOWN,) for v in verdicts):
        outcomes = ", ".join(v.outcome for v in verdicts)
        pytest.fail(f"known discrepancy {entry.id} no longer reproduces ({outcomes}): remove or narrow the entry [{entry.link}]")
