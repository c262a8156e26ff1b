"""Writing a run's reports: ``summary.json`` and ``report.html`` beside its ``records.jsonl``.

Called by the pytest plugin at the end of every run that recorded checks, by ``convt report`` to
re-render them from ``records.jsonl``, and by ``convt merge``. The records are read in passes (a
:class:`~conformance.records.RecordsFile` re-reads its file for each), never all held: a tally first,
then the summary streamed a discrepancy at a time, then the page with only the sections it shows.
Each document is written completely or not at all (``conformance.records.open_atomically``), and the
summary is put in place only once the page has rendered: a failure while rendering changes no file.
"""

from __future__ import annotations

from pathlib import Path

from conformance.records import open_atomically, write_atomically

from .html import render_html
from .summary import write_summary
from .tally import Tally, reiterable

SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"


def write_reports(directory, run: dict, records) -> list[Path]:
    """Write ``summary.json`` and ``report.html`` into ``directory``; the paths written. ``records``:
    a list, or anything that yields the records afresh each time it is iterated (a records file)."""
    directory = Path(directory)
    records = reiterable(records)
    tally = Tally.of(records)
    summary, page = directory / SUMMARY_FILE, directory / HTML_FILE
    with open_atomically(summary) as stream:
        write_summary(stream, run, tally, records)
        html = render_html(run, records, tally)  # inside: a page that cannot be rendered discards the summary too
    write_atomically(page, html)
    return [summary, page]
