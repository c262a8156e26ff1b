"""``convt report DIR``: re-render report.html and summary.json from DIR/records.jsonl (reports.write)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.records import RECORDS_FILE, MalformedRecords
from reports.load import open_records_dir
from reports.summary import build_summary
from reports.write import write_reports

from .arguments import CliError, add_command, add_json_flag, print_json

DESCRIPTION = f"""\
Re-render a run's reports from its records: DIR/{RECORDS_FILE} (written by the conformance suite in
--report-dir) becomes DIR/report.html (a self-contained page) and DIR/summary.json, each written
completely or not at all. The suite writes both at the end of every run; use this after changing the
report code, or on records copied from another machine. With --json, the summary is printed too."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "report",
        help="re-render report.html and summary.json from a run's records.jsonl",
        description=DESCRIPTION, epilog="Example: convt report reports/out",
    )
    parser.add_argument("directory", metavar="DIR", help=f"the run's report directory (holding {RECORDS_FILE})")
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    records = open_records_dir(directory)  # ValueError: main prints it as one line, exit 2
    path, run_line = records.path, records.run
    if not run_line and next(iter(records), None) is None:
        raise CliError(f"{path}: empty: no run line and no records")
    try:
        written = write_reports(directory, run_line, records)
    except MalformedRecords:  # a malformed record, named by its line, met while the records are read
        raise
    except OSError as error:  # a read-only directory, a full disk, a directory where a report goes
        # filename2 is the report os.replace could not put in place; filename alone is the temporary file.
        where = f" ({error.filename2})" if getattr(error, "filename2", None) else ""
        raise CliError(f"cannot write the reports into {str(directory)!r}: {error.strerror or error}{where}") from None
    except Exception as error:  # noqa: BLE001 - values that parse but cannot be rendered fail anywhere in the
        # template or its helpers (TypeError, KeyError, jinja's UndefinedError, RecursionError for deep nesting)
        raise CliError(f"{path}: cannot render the records: {type(error).__name__}: {_first_line(error)}") from None
    if args.json:
        print_json(build_summary(run_line, records))
    else:
        print("\n".join(str(p) for p in written))
    return 0


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
