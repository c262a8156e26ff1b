"""Reading a run's report directory: the one place that says what is missing or malformed there."""

from __future__ import annotations

from pathlib import Path

from conformance.records import RECORDS_FILE, Record, read_run


def read_records_dir(directory) -> tuple[Path, dict, list[Record]]:
    """``(path, run, records)`` of ``directory/records.jsonl``.

    ``ValueError`` with one line naming the directory or the file (and the line, from ``read_run``)
    where the directory is missing, the file is absent, not UTF-8 or malformed. An empty run line or
    no records is not checked here: ``convt report`` and ``convt compare`` need different things.
    """
    directory = Path(directory)
    if not directory.exists():
        raise ValueError(f"{directory}: no such directory (the --report-dir of a conformance run)")
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory (give the --report-dir of a conformance run)")
    path = directory / RECORDS_FILE
    if not path.is_file():
        raise ValueError(f"{path}: not found: no {RECORDS_FILE} in {str(directory)!r}; "
                         f"run `pytest --pyargs conformance --report-dir {directory}` first")
    try:
        run, records = read_run(path)  # ValueError naming the line for malformed JSON, lines or fields
    except UnicodeDecodeError:  # a ValueError too, but its text names bytes, not the file
        raise ValueError(f"{path}: not UTF-8 text") from None
    return path, run, records
