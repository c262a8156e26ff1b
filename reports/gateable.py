"""Whether a run can be gated on: ``convt compare`` refuses a side it cannot trust rather than
report "nothing new" about checks that never ran.

A run is gateable when it ran to the end (``run["status"] == "complete"``; a run line without a
status is ``unknown``), recorded at least one check, and describes the environment it ran in (an
empty ``run["frameworks"]``, or a worker whose environment is ``{}`` as runs under pytest-xdist
wrote before the controller collected them, leaves nothing to say which versions were compared).
"""

from __future__ import annotations

from .status import COMPLETE, UNKNOWN, run_status


def gate_problem(run: dict, records: list) -> str | None:
    """Why ``run`` (a run line with its records) cannot be gated on, or None."""
    status, reason = run_status(run)
    if status == UNKNOWN:
        return f"the run's status is unknown ({reason}); compare gates only on complete runs: re-run it with the current suite"
    if status != COMPLETE:
        because = f" ({reason})" if reason else ""
        return f"the run is {status}{because}, not complete; compare gates only on complete runs: re-run it to the end"
    shard = run.get("shard")
    if isinstance(shard, dict) and shard:
        # One shard passes or fails only its share of the items: gating on it would pass what the others never ran.
        return (f"the run is shard {shard.get('index')}/{shard.get('count')} of a sharded run (--shard), so it holds only its share "
                "of the checks; merge all the shards (convt merge OUT DIR...) and gate on the merge")
    if not records:
        return "no records, only the run line: the run recorded no check (nothing selected, or every test deselected)"
    frameworks = run.get("frameworks")
    if not isinstance(frameworks, dict) or not frameworks:
        return 'the run line describes no framework environment (run["frameworks"] is empty), so nothing says which versions ran'
    for worker, environment in frameworks.items():
        if not isinstance(environment, dict) or not environment:
            return (
                f"worker {worker!r} has an empty environment {environment!r}: what runs under pytest-xdist wrote before "
                "the controller recorded the workers' environments; re-run it with the current suite"
            )
    return None
