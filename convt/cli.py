"""The ``convt`` command line: one module per subcommand, registered in :data:`SUBCOMMANDS`.

A subcommand module provides ``add_parser(subparsers) -> argparse.ArgumentParser`` (it adds its
parser, including ``--json`` via ``arguments.add_json_flag``) and ``run(args) -> int``. To add
one, import its module here and append it to ``SUBCOMMANDS``.

Exit status: 0 on success, 2 for any user error, which is reported as one line on stderr
(``convt: error: ...``): argparse's errors, and ``CliError``/``ValueError``/``OSError`` raised by
``run`` (the oracle's ValueErrors name the offending parameter). Any other exception is a bug in
convt; it too is one line (``convt: error: internal error: ...``) and exit status 2. A reader that
closes the pipe early (``convt ... | head``) ends convt silently with status 141, as SIGPIPE would.
"""

from __future__ import annotations

import os
import sys

from . import compare_command, explain_command, merge_command, report_command, repro_command, same_table_command, shape_command, solve_command
from .arguments import PREFIX, CliError, Parser, one_line

# 128 + SIGPIPE: what a shell reports for a writer whose reader closed the pipe early.
SIGPIPE_STATUS = 141

# Order here is the order in `convt --help`; report and compare go here too.
SUBCOMMANDS = [
    shape_command,
    same_table_command,
    solve_command,
    explain_command,
    report_command,
    merge_command,
    compare_command,
    repro_command,
]


def build_parser() -> Parser:
    parser = Parser(
        prog="convt",
        description="Explain, solve and compare transposed convolutions against a float64 NumPy oracle.",
    )
    # Subparsers inherit the Parser class, so their errors are one line too.
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers).set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    """Run ``convt`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) and usage errors (2), returned rather than raised
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (`convt ... | head`): not an error to report. Point stdout at devnull so
        # the interpreter's final flush cannot fail again, and exit as a process killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS
    except (CliError, ValueError, OSError) as error:
        print(f"{PREFIX}{one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - the last resort: even a bug in convt is one line, never a traceback
        print(f"{PREFIX}internal error: {type(error).__name__}: {one_line(error)} (a bug in convt; please report it "
              f"with the command line)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
