"""Parsing helpers shared by the ``convt`` subcommands.

Every user mistake ends as one line on stderr, ``convt: error: <problem>``, and exit status 2:
argparse's own errors through :class:`Parser.error`, and everything the subcommands raise as
:class:`CliError` or ``ValueError`` through ``convt.cli.main``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys

import numpy as np

PREFIX = "convt: error: "

PER_DIM_HELP = "one int for every spatial dim, or one per dim separated by commas (e.g. 2 or 2,3)"
PADDING_HELP = (
    "crop of the full output, PyTorch's meaning: N crops N at both ends of every dim; N,M gives one "
    "value per dim; BEFORE:AFTER is a pair for every dim, and pairs per dim are comma-separated "
    "(1:2,0:0). Negative = zeros appended (-1:0, or --padding=-1:0)"
)


class CliError(Exception):
    """A user error the CLI reports as one line (bad file, malformed value)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2 (no usage block)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Let values such as "-1:0" or "-1,2" (zero-extension crops) follow an option without "=":
        # argparse (< 3.13) treats any other "-..." word as an option. Harmless if the attribute goes.
        self._negative_number_matcher = re.compile(r"^-\d+([:,]-?\d+)*$|^-\d*\.\d+$")

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(2, f"{PREFIX}{one_line(message)} (see '{self.prog} --help')\n")


def one_line(message) -> str:
    """Collapse a message onto one line: stderr stays one line per problem."""
    return " ".join(str(message).split())


def add_command(subparsers, name: str, *, help: str, description: str,
                epilog: str) -> argparse.ArgumentParser:
    """The ``convt NAME`` subparser. Descriptions and epilogs are laid out by hand (formulas, JSON keys,
    an example command line), so argparse keeps their line breaks instead of refilling them."""
    return subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout instead of text")


def print_json(value) -> None:
    """JSON on stdout: objects and nested lists indented, lists of scalars (indices) on one line.

    Strict JSON, as summary.json is: an infinite or NaN number (a ratio where the bound is 0) is the
    string ``"inf"``, ``"-inf"`` or ``"nan"``, since jq and most parsers outside Python reject the
    ``Infinity``/``NaN`` tokens json.dumps writes by default.
    """
    sys.stdout.write(_dumps(value, 0) + "\n")


def _dumps(value, depth: int) -> str:
    inner, outer = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(key))}: {_dumps(item, depth + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    if isinstance(value, (list, tuple)) and any(isinstance(item, (dict, list, tuple)) for item in value):
        return "[\n" + ",\n".join(inner + _dumps(item, depth + 1) for item in value) + f"\n{outer}]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_dumps(item, depth + 1) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(str(value))
    return json.dumps(value)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def int_range(text: str) -> range:
    """argparse type: ``N`` or an inclusive range ``A..B`` of positive integers."""
    low, sep, high = text.partition("..")
    start = positive_int(low)
    stop = positive_int(high) if sep else start
    if stop < start:
        raise argparse.ArgumentTypeError(f"range {text!r} is empty; write A..B with A <= B")
    return range(start, stop + 1)


def per_dim_ints(text: str):
    """argparse type: ``2`` -> 2 (every dim), ``2,3`` -> (2, 3) (one per spatial dim)."""
    values = tuple(_int(part) for part in _split(text))
    return values[0] if len(values) == 1 and "," not in text else values


def index(text: str) -> tuple[int, ...]:
    """argparse type: a full index ``n,c,i,j`` of non-negative integers."""
    values = tuple(_int(part) for part in _split(text))
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"indices must be >= 0; got {text!r}")
    return values


def padding(text: str):
    """argparse type: ``1`` -> 1, ``1,2`` -> (1, 2), ``1:2,0:0`` -> ((1, 2), (0, 0)); see PADDING_HELP."""
    entries = []
    for part in _split(text):
        pieces = part.split(":")
        if len(pieces) > 2:
            raise argparse.ArgumentTypeError(f"expected N or BEFORE:AFTER per dim; got {part!r} in {text!r}")
        entries.append((_int(pieces[0]), _int(pieces[1])) if len(pieces) == 2 else _int(part))
    if len(entries) == 1 and "," not in text:
        return entries[0] if isinstance(entries[0], int) else (entries[0],)
    return tuple(entries)


def broadcast_padding(value, ndim: int):
    """A lone ``BEFORE:AFTER`` (parsed as one pair) applies to every one of ``ndim`` dims."""
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], tuple):
        return value * ndim
    return value


def load_array(path: str, flag: str) -> np.ndarray:
    """``np.load`` a ``.npy`` file without pickles; any failure becomes one CliError line."""
    try:
        with open(path, "rb") as handle:
            # np.load guesses "pickle" for any unknown file; check the .npy magic for a clearer message.
            if handle.read(6) != b"\x93NUMPY":
                raise CliError(f"{flag}: not a .npy file (no NUMPY header; write it with numpy.save): {path!r}")
        return np.load(path, allow_pickle=False)
    except CliError:
        raise
    except FileNotFoundError:
        raise CliError(f"{flag}: no such file: {path!r}") from None
    except IsADirectoryError:
        raise CliError(f"{flag}: is a directory, not a .npy file: {path!r}") from None
    except Exception as error:  # np.load raises OSError, ValueError, EOFError, ... for unreadable data
        raise CliError(f"{flag}: cannot read {path!r} as a .npy array: {one_line(error) or type(error).__name__}") from None


def format_number(value) -> str:
    """Whole floats without a trailing .0 (``12``), other floats by repr (shortest round-trip)."""
    if value is None:
        return "none"
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Right-aligned plain-text columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    return "\n".join("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)) for row in [headers, *rows])


def _split(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",")]
    if not parts or any(not part for part in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers; got {text!r}")
    return parts


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
