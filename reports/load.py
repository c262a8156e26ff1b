"""Reading a run's report directory: the one place that says what is missing or malformed there."""

from __future__ import annotations

from pathlib import Path

from conformance.records import RECORDS_FILE, MalformedRecords, Record, RecordsFile


def open_records_dir(directory) -> RecordsFile:
    """``directory/records.jsonl`` opened for reading a record at a time (its run line read now).

    ``ValueError`` with one line naming the directory or the file where the directory is missing, the
    file is absent, its run line is malformed or it is not UTF-8; a malformed record raises, naming its
    line, where iteration reaches it (``RecordsText`` turns a decoding error there into the same line).
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
        return RecordsText(path)
    except UnicodeDecodeError:  # a ValueError too, but its text names bytes, not the file
        raise ValueError(f"{path}: not UTF-8 text") from None


class RecordsText(RecordsFile):
    """A :class:`RecordsFile` whose undecodable bytes are reported as the file's, in one line."""

    def lines(self):
        try:
            yield from super().lines()
        except UnicodeDecodeError:
            raise MalformedRecords(f"{self.path}: not UTF-8 text") from None


def read_records_dir(directory) -> tuple[Path, dict, list[Record]]:
    """``(path, run, records)`` of ``directory/records.jsonl``, every record in memory.

    ``ValueError`` with one line naming the directory or the file (and the line) where the directory
    is missing, the file is absent, not UTF-8 or malformed. An empty run line or no records is not
    checked here: ``convt report`` and ``convt compare`` need different things.
    """
    source = open_records_dir(directory)
    return source.path, source.run, list(source)
