"""Writing a run's reports: ``summary.json`` and ``report.html`` beside its ``records.jsonl``.

Called by the pytest plugin at the end of every run that recorded checks, and by ``convt report`` to
re-render them from ``records.jsonl``. Both documents are rendered in memory first and then each is
written completely or not at all (``conformance.records.write_atomically``): a failure while rendering
leaves the previous files, or none, never a half-written one.
"""

from __future__ import annotations

from pathlib import Path

from conformance.records import write_atomically

from .html import render_html
from .summary import build_summary, to_json

SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"


def write_reports(directory, run: dict, records) -> list[Path]:
    """Write ``summary.json`` and ``report.html`` into ``directory``; the paths written."""
    directory = Path(directory)
    records = list(records)
    # Render both before writing either, so a rendering failure changes no file.
    documents = {
        SUMMARY_FILE: to_json(build_summary(run, records)),
        HTML_FILE: render_html(run, records),
    }
    paths = []
    for name, text in documents.items():
        path = directory / name
        write_atomically(path, text)
        paths.append(path)
    return paths
