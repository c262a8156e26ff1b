"""``convt same-table``: every dialect's 'SAME' crops side by side (oracles.dialects.same_table)."""

from __future__ import annotations

import argparse

from oracles.dialects.same_table import COLUMNS, REFERENCE, TORCH, same_table

from .arguments import CliError, add_command, add_json_flag, format_table, int_range, print_json

# Every row is computed (--differing filters afterwards), about 4000 a second: beyond this the
# command would run for minutes and print a table nobody reads.
MAX_ROWS = 10_000

DESCRIPTION = f"""\
'SAME' is not one convention. For each 1-D configuration (input i, kernel k, stride s, dilation d)
this prints the crops (before, after) of the full output of length (i-1)*s + d*(k-1) + 1 that each
API's 'SAME'-like mode makes, with the output length where it is not i*s. A cell marked * differs
from {REFERENCE}. The torch column gives the padding/output_padding that reproduce TensorFlow's
crops, or 'not expressible' (torch cannot crop more at the end than at the start).
Ranges are N or A..B; their product, the rows computed, may be at most {MAX_ROWS}."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "same-table",
        help="the 'SAME' padding conventions of all dialects side by side",
        description=DESCRIPTION,
        epilog="Example: convt same-table --input 3 --kernel 1..4 --stride 1..3 --differing",
    )
    parser.add_argument("--input", type=int_range, default=range(3, 4), metavar="I", help="input lengths (default 3)")
    parser.add_argument("--kernel", type=int_range, default=range(1, 5), metavar="K", help="kernel sizes (default 1..4)")
    parser.add_argument("--stride", type=int_range, default=range(1, 4), metavar="S", help="strides (default 1..3)")
    parser.add_argument("--dilation", type=int_range, default=range(1, 2), metavar="D", help="dilations (default 1)")
    parser.add_argument("--differing", action="store_true", help="only rows where some API differs from the reference")
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    _check_rows(args)
    rows = same_table(args.input, args.kernel, args.stride, args.dilation)
    if args.differing:
        rows = [row for row in rows if row.differs]
    if args.json:
        print_json([row.as_dict() for row in rows])
        return 0
    labels = [label for label, _, _ in COLUMNS] + [TORCH]
    table = [[f"({r.input_size},{r.kernel_size},{r.stride},{r.dilation})"] + [_text(r.cells[label], r.input_size * r.stride) for label in labels] for r in rows]
    print(format_table(["(i,k,s,d)"] + labels, table))
    print(f"\n(cb, ca) = crops before/after; negative = zeros appended; [o=N] where the length is not i*s; * = differs from {REFERENCE}")
    return 0


def _check_rows(args: argparse.Namespace) -> None:
    """Refuse a table of more than MAX_ROWS rows before computing any, naming the widest range."""
    # stop - start: len() refuses ranges longer than sys.maxsize.
    sizes = {option: values.stop - values.start for option, values in
             (("--input", args.input), ("--kernel", args.kernel), ("--stride", args.stride), ("--dilation", args.dilation))}
    rows = 1
    for size in sizes.values():
        rows *= size
    if rows > MAX_ROWS:
        widest = max(sizes, key=sizes.get)
        raise CliError(
            f"{rows} rows ({' x '.join(f'{option} {size}' for option, size in sizes.items())}), more than {MAX_ROWS}; "
            f"narrow {widest}"
        )


def _text(cell, expected_length: int) -> str:
    if cell.crops is None:
        text = cell.note
    else:
        text = cell.note or f"({cell.crops[0]},{cell.crops[1]})"
        if cell.output_size != expected_length:
            text += f" [o={cell.output_size}]"
    return text + (" *" if cell.differs else "")
