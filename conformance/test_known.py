"""Each known discrepancy's example, as a strict xfail: a fixed framework turns its stale entry red.

An example runs on the lane it names (device, dtype, backend); where this run has no such lane (another
--backends selection, a build without oneDNN, no GPU) it is skipped with that reason, never failed.
"""

import dataclasses

import pytest

from .cases import Case, NativeCase
from .checks import FAILURES, KNOWN
from .known import KnownDiscrepancies


def _entries():
    return [entry for entry in KnownDiscrepancies.load().entries if entry.example]


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


@pytest.mark.parametrize("entry", _entries(), ids=lambda entry: entry.id)
def test_known_discrepancy_still_reproduces(convt, entry):
    """The example must still fail the check the entry covers (strict: passing is a failure)."""
    example = dict(entry.example)
    variant, check = example.pop("variant"), example.pop("check", "forward")
    device, dtype, backend = example.pop("device", "cpu"), example.pop("dtype", "float32"), example.pop("backend", None)
    lane = next((
        t for t, skip in convt.lanes()
        if skip is None and t.framework == entry.framework and t.lane.device == device and t.lane.dtype == dtype
        and (backend is None or t.lane.backend == backend)
    ), None)
    if lane is None:
        wanted = " ".join(part for part in (entry.framework, device, backend, dtype) if part)
        pytest.skip(f"the example's lane ({wanted}) is not among this run's lanes")
    target = dataclasses.replace(lane, variant=variant)
    fields = {key: _tuples(value) for key, value in example.items()}
    if check == "native":
        fields["native"] = tuple(sorted((k, _tuples(v)) for k, v in example["native"].items()))
        verdict = convt.runner.native(target, NativeCase(variant=variant, **fields))
    else:
        verdict = getattr(convt.runner, check)(target, Case(**fields))
    verdicts = verdict if isinstance(verdict, list) else [verdict]
    if not any(v.outcome in FAILURES + (KNOWN,) for v in verdicts):
        outcomes = ", ".join(v.outcome for v in verdicts)
        pytest.fail(f"known discrepancy {entry.id} no longer reproduces on {target.id} ({outcomes}): remove or narrow the entry [{entry.link}]")
