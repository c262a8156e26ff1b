"""Each known discrepancy's example, as a strict xfail: a fixed framework turns its stale entry red.

The entries are the run's own: the suite's file, or the one given with ``--known-discrepancies`` (an
``--impl`` author's findings, whose examples run only when that implementation is under test).

An example runs on the lane it names (device, dtype, backend, mode: eager unless it says); where this run has no such lane (another
--backends selection, a build without oneDNN, no GPU) it is skipped with that reason, never failed.
"""

import dataclasses
import fnmatch

import pytest

from .cases import case_from_data
from .checks import FAILURES, KNOWN
from .known import KnownDiscrepancies


def pytest_generate_tests(metafunc):
    """One item per entry with an example, from the file the run matches records against."""
    if "entry" in metafunc.fixturenames:
        path = metafunc.config.getoption("known_discrepancies", None)
        entries = [entry for entry in KnownDiscrepancies.load(path).entries if entry.example]
        metafunc.parametrize("entry", entries, ids=lambda entry: entry.id)


def test_known_discrepancy_still_reproduces(convt, entry):
    """The example must still fail the check the entry covers (strict: passing is a failure)."""
    example = dict(entry.example)
    variant, check = example.pop("variant"), example.pop("check", "forward")  # a runner method: forward, native, gradients
    device, dtype, backend = example.pop("device", "cpu"), example.pop("dtype", "float32"), example.pop("backend", None)
    mode = example.pop("mode", "eager")
    epilogue = example.pop("epilogue", None)  # check = "epilogue": the runner's epilogue check, with this one
    lane = next((
        t for t, skip in convt.lanes()
        if skip is None and t.framework == entry.framework and t.lane.device == device and t.lane.dtype == dtype
        and (backend is None or t.lane.backend == backend) and t.lane.mode == mode
    ), None)
    if lane is None:
        wanted = " ".join(part for part in (entry.framework, device, backend, dtype, mode) if part)
        pytest.skip(f"the example's lane ({wanted}) is not among this run's lanes")
    name = convt.runner.implementations.get(lane.worker, "")
    if entry.implementation and not fnmatch.fnmatchcase(name, entry.implementation):
        pytest.skip(f"the example is of implementation {entry.implementation!r}; this run's --impl is {name!r}")
    target = dataclasses.replace(lane, variant=variant)
    if check == "native":  # the example spells its parameters as a table: a case holds sorted pairs
        example.update(variant=variant, native=sorted(example["native"].items()))
    case = case_from_data(example)
    verdict = getattr(convt.runner, check)(target, case, *([epilogue] if epilogue else []))
    verdicts = verdict if isinstance(verdict, list) else [verdict]
    if not any(v.outcome in FAILURES + (KNOWN,) for v in verdicts):
        outcomes = ", ".join(v.outcome for v in verdicts)
        pytest.fail(f"known discrepancy {entry.id} no longer reproduces on {target.id} ({outcomes}): remove or narrow the entry [{entry.link}]")
