"""``summary.json``: a run in one machine-readable object, made from its run line and records.

Schema (every key always present)::

    {
      "status": str,                                     # complete, interrupted, incomplete; unknown if the run line has none
      "status_reason": str,                              # why it is not complete ("" when complete)
      "environment": {
        "date": str, "python": str, "platform": str,
        "frameworks": {worker: {framework, version, devices, ...precision flags}},
        "options": {frameworks, devices, dtypes, impl},
        "hypothesis": {profile, max_examples, derandomize, seed},
        "known_discrepancies": [{id, framework, versions, reason, link, matched}]
      },
      "targets": [{"name", "framework", "version", "device", "dtype", "precision", "backend", "mode"}],
      "draws": [{"lane", "checked", "not_applicable", "checked_share"}],   # per lane: drawn cases that became checks
      "totals": {
        "checks": int,                                   # every record
        "passed": int,                                   # pass
        "failed": int,                                   # mismatch + shape-mismatch + error-mismatch + crash + timeout
        "xfailed": int,                                  # known
        "skipped": int,                                  # unsupported
        "pass": int, "mismatch": int, "shape-mismatch": int, "error-mismatch": int,
        "unsupported": int, "crash": int, "timeout": int, "known": int,   # each raw outcome (0 if absent)
        ...                                              # plus any other outcome a record carries
      },
      "discrepancies": [reports.discrepancies.discrepancies(records) entries:
                        {id, target, framework, version, device, dtype, precision, backend, mode, modes, check, kind, bucket, config: {case, native},
                         max_abs_error, bound, ratio, message, repro, known, test}]
    }

``targets`` lists each distinct lane (target name, device, dtype, precision, backend: the kernel path
the lane forces, ``"default"`` where it forces none or the record predates the field) that has a record, in a
stable sorted order. A number that is not finite (the ratio where the bound is 0 and the error is
not) is written as the string ``"inf"`` (or ``"nan"``): summary.json is strict JSON. The environment is the run line's, with the keys above filled in where an older
or hand-written ``records.jsonl`` lacks them, so consumers need no defaults of their own.
"""

from __future__ import annotations

import json
import math

from .discrepancies import discrepancies, iter_discrepancies
from .status import run_status
from .tally import Tally, reiterable


def build_summary(run: dict, records) -> dict:
    """The ``summary.json`` object (see the module docstring), in memory."""
    records = reiterable(records)
    return _finite({**_head(run, Tally.of(records)), "discrepancies": discrepancies(records)})


def write_summary(stream, run: dict, tally: Tally, records) -> None:
    """``summary.json`` written to ``stream`` a discrepancy at a time: the same text as
    ``to_json(build_summary(run, records))``, without holding the discrepancies (each carries its
    repro) in memory. ``tally`` is :meth:`Tally.of` the same records."""
    head = to_json(_finite({**_head(run, tally), "discrepancies": []}))
    closing = '"discrepancies": []\n}\n'
    assert head.endswith(closing)  # the last key: the list is spliced in where it stands
    stream.write(head[: -len(closing)] + '"discrepancies": [')
    written = 0
    for entry in iter_discrepancies(records):
        text = json.dumps(_finite(entry), indent=2, allow_nan=False, default=str)
        stream.write(("\n" if not written else ",\n") + "\n".join("    " + line for line in text.split("\n")))
        written += 1
    stream.write("\n  ]\n}\n" if written else "]\n}\n")


def _head(run: dict, tally: Tally) -> dict:
    status, reason = run_status(run)
    return {
        "status": status,
        "status_reason": reason,
        "environment": environment(run),
        "targets": tally.targets(),
        "draws": draws(run),
        "totals": tally.totals(),
    }


def environment(run: dict) -> dict:
    """The run line with every documented key present."""
    run = dict(run or {})
    hypothesis = {"profile": None, "max_examples": None, "derandomize": None, "seed": None, **(run.get("hypothesis") or {})}
    filled = {
        "date": run.get("date", ""),
        "python": run.get("python", ""),
        "platform": run.get("platform", ""),
        "frameworks": run.get("frameworks") or {},
        "options": run.get("options") or {},
        "hypothesis": hypothesis,
        "known_discrepancies": run.get("known_discrepancies") or [],
    }
    return {**run, **filled}


def targets(records) -> list[dict]:
    """Each distinct lane with a record, sorted."""
    return Tally.of(records).targets()


def draws(run: dict) -> list[dict]:
    """Per lane, the checks its tests ran and the drawn cases its API could not express (``not_applicable``),
    with the share that became checks; empty for runs recorded before draws were counted."""
    rows = []
    for lane, counts in sorted(((run or {}).get("draws") or {}).items()):
        checked, skipped = counts.get("checked", 0), counts.get("not_applicable", 0)
        rows.append({"lane": lane, "checked": checked, "not_applicable": skipped,
                     "checked_share": round(checked / (checked + skipped), 4) if checked + skipped else None})
    return rows


def totals(records) -> dict:
    """Checks by outcome: the four pytest-like groups, each raw outcome, and ``checks``."""
    return Tally.of(records).totals()


def to_json(summary: dict) -> str:
    """Strict JSON (no NaN/Infinity tokens, which many parsers reject), indented, newline-terminated."""
    return json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n"


def _finite(value):
    """Infinite or NaN numbers (a ratio where the bound is 0) as strings: strict JSON cannot hold them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan"
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
