"""Records: every check of a run as one JSON line, the form reports and comparisons are made from.

``records.jsonl`` starts with one ``{"run": {...}}`` line describing the run (date, framework versions,
devices, precision settings, hypothesis profile and seed, known discrepancies, and ``status``), then
one record per line.

``run["status"]`` is ``"complete"`` only for a run that ran every selected test to the end;
``"interrupted"`` (Ctrl-C, SIGTERM) or ``"incomplete"`` (stopped early by ``-x``/``--maxfail``, an
internal error) otherwise, with ``run["status_reason"]`` saying why. Reports show it and ``convt
compare`` refuses to gate on anything but a complete run. A shard's run line says which shard it is
(``run["shard"]``: ``conformance.shard``); a merge's, what it merged (``run["merged"]``: ``reports.merge``). Written once at the end of a run, completely or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

RECORDS_FILE = "records.jsonl"
# Carried in pytest's user_properties, which pytest-xdist sends from workers to the controller.
PROPERTY = "convt_record"
# Per test: its lane and how many of its drawn cases became checks, forwarded the same way.
DRAWS_PROPERTY = "convt_draws"


@dataclass
class Record:
    """One check: what ran where, what it was compared with, and the outcome."""

    check: str  # one of conformance.check_kinds.ALL
    target: str  # "<framework>.<variant>", e.g. "torch.functional"
    framework: str
    version: str
    device: str
    dtype: str
    precision: str
    outcome: str  # see conformance.checks: pass, mismatch, shape-mismatch, error-mismatch, unsupported, crash, timeout, known, not-applicable
    case: dict  # the case's to_data() form: conformance.cases.case_from_data(record.case) gives it back
    native: dict | None = None  # the parameters the framework was called with
    message: str = ""
    max_abs_error: float | None = None
    bound: float | None = None
    ratio: float | None = None
    worst_index: list | None = None
    first_differences: list = field(default_factory=list)
    ratio_map: list | None = None
    repro: str = ""
    detail: str = ""  # the whole text of the error the call raised, where the message quotes only its first line
    implementation: str = ""  # --impl: the implementation's name (``stem.function``); known entries match on it
    known: str | None = None  # the id of the known discrepancy this matched
    test: str = ""  # the pytest node id, filled in by the plugin
    environment: str = ""  # key of the environment that decides support (e.g. "onednn=1")
    # The backend path the lane forces (TensorFlow "onednn"/"eigen", PyTorch "onednn"/"native",
    # "cudnn"/"native" on CUDA; "default" where the target has one path).
    backend: str = "default"
    # The execution mode (conformance.modes): "eager" or "compiled"; records written before modes read as eager.
    mode: str = "eager"
    # A failing compiled check re-run on the same case in other modes: mode -> outcome ("eager": "pass"
    # means only the compiled program is wrong). None where nothing was re-run.
    modes: dict | None = None
    # A failing or known check's signature, "<outcome> <check> <geometric class>" (conformance.buckets):
    # reports group discrepancies by it. Records written before buckets read as "".
    bucket: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), default=_jsonable, allow_nan=True)

    @classmethod
    def from_json(cls, line: str) -> "Record":
        return cls.from_data(json.loads(line))

    @classmethod
    def from_data(cls, data: dict) -> "Record":
        """A record from its decoded JSON object; unknown keys (from a newer writer) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


def _jsonable(value):
    if isinstance(value, (tuple, set)):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@contextlib.contextmanager
def open_atomically(path: Path):
    """A text stream whose contents become ``path`` when the block ends without an exception, and
    vanish otherwise: a temporary file in the same folder, renamed into place. What streams a large
    file (a merge, a summary of a million records) writes through this, so a failure half-way leaves
    the previous file or none, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        # mkstemp makes the file private (0600); a report is an ordinary file, readable as the umask allows.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` completely or not at all (:func:`open_atomically`)."""
    with open_atomically(path) as stream:
        stream.write(text)


def write_run(directory: Path, run: dict, records: list[Record]) -> Path:
    """``records.jsonl`` in ``directory``: the run line, then the records."""
    path = Path(directory) / RECORDS_FILE
    lines = [json.dumps({"run": run}, default=_jsonable)] + [record.to_json() for record in records]
    write_atomically(path, "".join(line + "\n" for line in lines))
    return path


def read_run(path: Path) -> tuple[dict, list[Record]]:
    """``(run, records)`` from a ``records.jsonl`` file; ``ValueError`` naming the line for malformed input.

    A line that is valid JSON but no record (a list, a run line holding a list, nesting deeper than the
    json module recurses) is malformed input too: readers of a copied or hand-edited file get the line,
    not an AttributeError or RecursionError from deep inside.
    """
    source = RecordsFile(path)
    return source.run, list(source)


class MalformedRecords(ValueError):
    """A records file line that is not a record, named ``path:line``: told apart from the ValueErrors
    of code that reads the records (a report that cannot render a value)."""


class RecordsFile:
    """A ``records.jsonl`` file read a line at a time: ``run`` is its run line (``{}`` where it has none)
    and iterating yields its records, afresh each time, so a reader can make several passes over a file
    larger than memory (reports of a merged campaign). ``ValueError`` naming the line for malformed
    input, raised where the line is reached."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.run = {}
        with open(self.path, encoding="utf-8") as stream:
            first = stream.readline()
        if first.strip():
            data = _parse_line(self.path, 1, first)
            if isinstance(data, dict) and set(data) == {"run"}:
                if not isinstance(data["run"], dict):
                    raise MalformedRecords(f"{self.path}:1: the run line must hold a JSON object, not {_json_type(data['run'])}")
                self.run = data["run"]

    def __iter__(self):
        return (record for _, record in self.lines())

    def lines(self):
        """``(text, record)`` for each record line: its text as written (a merge copies it unchanged) and
        the record it holds, checked."""
        with open(self.path, encoding="utf-8") as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                data = _parse_line(self.path, number, line)
                if number == 1 and isinstance(data, dict) and set(data) == {"run"}:
                    continue
                yield line, _record_from_line(self.path, number, data)


def _parse_line(path, number: int, line: str):
    try:
        return json.loads(line)
    except RecursionError:
        raise MalformedRecords(f"{path}:{number}: not a record: nested too deeply to parse") from None
    except ValueError as error:
        raise MalformedRecords(f"{path}:{number}: not a record: {error}") from None


def _record_from_line(path, number: int, data) -> Record:
    """A decoded line as a :class:`Record`; ``ValueError`` naming ``path:number`` where it is not one."""
    if not isinstance(data, dict):
        raise MalformedRecords(
            f"{path}:{number}: not a record: every line must be a JSON object (the run line, then one "
            f"record per line); got {_json_type(data)}"
        )
    try:
        return Record.from_data(data)
    except TypeError as error:  # a missing field, or a key that is not a string
        raise MalformedRecords(f"{path}:{number}: not a record: {error}") from None


def _json_type(value) -> str:
    """``a list``, ``a str``, ``null``: what a JSON value is, for messages."""
    return "null" if value is None else f"a {type(value).__name__}"
