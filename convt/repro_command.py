"""``convt repro DIR ID``: print the standalone repro of one discrepancy of a run (its record's ``repro``)."""

from __future__ import annotations

import argparse
import re

from conformance.records import RECORDS_FILE
from reports.discrepancies import DISCREPANCY_OUTCOMES, discrepancy_id
from reports.load import read_records_dir

from .arguments import CliError, add_command, add_json_flag, print_json

DESCRIPTION = f"""\
Print the standalone repro of discrepancy ID from a run's records (DIR/{RECORDS_FILE}, written by
pytest --pyargs conformance --report-dir DIR). ID is the 12-hex id report.html and summary.json
show for each discrepancy; a unique prefix of it is enough.

The repro is a Python script that imports only NumPy and the framework (for --impl: NumPy and your
module, imported by the spec the run used): it makes the exact operands the check computed on,
calls the framework as the lane did (backend, layout, compiled mode, epilogue), computes the expected
answer with a direct NumPy transposed convolution, and prints both (shape, max |difference|, the
first differing elements), or what the framework did with parameters it should reject. Save it and
run it with python; paste it into an issue as it is."""

EPILOG = """\
JSON (--json): {"id", "target", "check", "kind", "repro"}.
Example: convt repro reports/out 3fa2c1 > repro.py && python repro.py"""

HEX = re.compile(r"[0-9a-f]{1,12}")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "repro", help="print the standalone repro script of one discrepancy of a run",
                         description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("directory", metavar="DIR", help=f"the run's report directory (holding {RECORDS_FILE})")
    parser.add_argument("id", metavar="ID", help="the discrepancy's id, or a unique prefix of it")
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    wanted = args.id.strip().lower()
    if not HEX.fullmatch(wanted):
        raise CliError(f"ID must be 1 to 12 hex digits (a discrepancy id from report.html or summary.json); got {args.id!r}")
    path, _, records = read_records_dir(args.directory)  # ValueError: main prints it as one line, exit 2
    found = {}
    for record in records:
        if record.outcome in DISCREPANCY_OUTCOMES:
            found.setdefault(discrepancy_id(record), record)
    if not found:
        raise CliError(f"{path}: no discrepancies: every check of this run passed or was skipped" if records else f"{path}: no records")
    matches = sorted(key for key in found if key.startswith(wanted))
    if not matches:
        raise CliError(f"{path}: no discrepancy {wanted!r}; the run has {len(found)}: {_listed(sorted(found))}")
    if len(matches) > 1:
        raise CliError(f"{path}: {wanted!r} is ambiguous: it begins {len(matches)} discrepancy ids ({_listed(matches)}); give more digits")
    key = matches[0]
    record = found[key]
    if not record.repro:
        raise CliError(f"{path}: discrepancy {key} ({record.target} {record.check}) has no repro recorded "
                       "(records written before repros were standalone carry none for native checks)")
    if args.json:
        print_json({"id": key, "target": record.target, "check": record.check, "kind": record.outcome, "repro": record.repro})
    else:
        print(record.repro, end="" if record.repro.endswith("\n") else "\n")
    return 0


def _listed(ids, limit: int = 5) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")
