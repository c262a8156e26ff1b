"""The shapes ``convt compare`` relies on in a run line and its records, checked up front so that a
hand-edited or foreign ``records.jsonl`` is refused with its line named, not a TypeError later.

Each function returns a problem (one line, without the file) or None. Only what compare reads is
checked: the rest of a line is carried along as it is.
"""

from __future__ import annotations

NUMBER_FIELDS = ("ratio", "bound", "max_abs_error")


def run_line_problem(run: dict) -> str | None:
    hypothesis = run.get("hypothesis")
    if hypothesis is not None and not isinstance(hypothesis, dict):
        return f"hypothesis must be an object; got {_short(hypothesis)}"
    known = run.get("known_discrepancies")
    if known is not None and not (
        isinstance(known, list) and all(isinstance(e, dict) and isinstance(e.get("id", ""), str) for e in known)
    ):
        return f"known_discrepancies must be a list of objects with string ids; got {_short(known)}"
    frameworks = run.get("frameworks")
    for worker, environment in (frameworks.items() if isinstance(frameworks, dict) else ()):
        if isinstance(environment, dict) and not isinstance(environment.get("framework", ""), str):
            return f"frameworks.{worker}.framework must be a string; got {_short(environment['framework'])}"
    return None


def record_problem(record, string_fields) -> str | None:
    if not isinstance(record.case, dict) or not all(isinstance(getattr(record, key), str) for key in string_fields):
        return f"case must be an object and {', '.join(string_fields)} strings"
    for name in NUMBER_FIELDS:
        if not _number_or_none(getattr(record, name)):
            return f"{name} must be a number or null; got {_short(getattr(record, name))}"
    if record.known is not None and not isinstance(record.known, str):
        return f"known must be a string or null; got {_short(record.known)}"
    return None


def _number_or_none(value) -> bool:
    """None or a number compare can order as a float (an integer beyond float's range cannot be)."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
