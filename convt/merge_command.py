"""``convt merge OUT DIR...``: one run's records and reports from many (reports.merge)."""

from __future__ import annotations

import argparse

from conformance.records import RECORDS_FILE
from reports.merge import merge

from .arguments import CliError, add_command, add_json_flag, print_json

DESCRIPTION = f"""\
Merge the records of many runs into one report directory: the shards of a run (pytest --shard I/N)
and the jobs of a CI matrix (one framework, one runner each). OUT gets {RECORDS_FILE}, report.html
and summary.json, which `convt report` and `convt compare` read like any run's. The inputs are read
a line at a time, so memory does not grow with their size.

Refused, naming what is wrong: a missing or repeated shard of a sharded run, and runs whose
environments differ (a framework's version, devices or precision settings, Python, hypothesis
settings, options, known discrepancies). The merged run is complete only when every input is."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "merge",
        help="merge the report directories of shards or matrix jobs into one",
        description=DESCRIPTION,
        epilog="Example: convt merge reports/all shard-1 shard-2 shard-3 shard-4 && convt compare baseline reports/all",
    )
    parser.add_argument("out", metavar="OUT", help="the merged report directory to write (not one of the inputs)")
    parser.add_argument("directories", metavar="DIR", nargs="+", help=f"a run's report directory (holding {RECORDS_FILE})")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="merge runs whose environments differ; the run line lists the differences")
    parser.add_argument("--allow-missing", action="store_true",
                        help="write the merge although shards are missing; it is marked incomplete, so compare refuses it")
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        merged = merge(args.out, args.directories, allow_mixed=args.allow_mixed, allow_missing=args.allow_missing)
    except OSError as error:  # an output that cannot be written: one line naming it
        raise CliError(f"cannot write the merge into {str(args.out)!r}: {error.strerror or error}") from None
    summary = {"directory": str(merged.directory), "records": merged.records, "status": merged.run["status"],
               "status_reason": merged.run["status_reason"], "inputs": len(merged.run["merged"]["inputs"]),
               "shards": merged.run["merged"]["shards"], "mixed": merged.run["merged"]["mixed"],
               "written": [str(path) for path in merged.paths]}
    if args.json:
        print_json(summary)
        return 0
    print(f"merged {summary['inputs']} runs, {merged.records} records: {merged.directory} ({merged.run['status']})")
    for shard in summary["shards"]:
        print(f"  run {shard['collection']}: shards {', '.join(str(index) for index in shard['held'])} of {shard['count']}"
              + (f"; missing {', '.join(str(index) for index in shard['missing'])}" if shard["missing"] else ""))
    for difference in summary["mixed"]:
        print(f"  mixed: {difference}")
    if merged.run["status"] != "complete":
        print(f"  not complete: {merged.run['status_reason']}")
    for path in merged.paths:
        print(path)
    return 0
