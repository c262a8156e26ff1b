"""A run's status, read from its run line: ``complete``, ``interrupted``, ``incomplete``, or ``unknown``.

The suite writes ``run["status"]`` and ``run["status_reason"]`` (see ``conformance.records``). A
run line without a status comes from a suite that did not record one, so nothing says the run went
to the end: it reads as ``unknown``, which every reader treats as not complete.
"""

from __future__ import annotations

COMPLETE = "complete"
UNKNOWN = "unknown"
UNKNOWN_REASON = "the run line has no status: records.jsonl was written before runs recorded one, so the run may have stopped early"


def run_status(run) -> tuple[str, str]:
    """``(status, reason)`` of a run line; the reason is ``""`` where the line gives none."""
    run = run if isinstance(run, dict) else {}
    status = run.get("status")
    if not isinstance(status, str) or not status:
        return UNKNOWN, UNKNOWN_REASON
    reason = run.get("status_reason")
    return status, reason if isinstance(reason, str) else "" if reason is None else str(reason)


def is_complete(run) -> bool:
    return run_status(run)[0] == COMPLETE
