"""``convt solve``: which transposed convolutions map length I to length O (oracles.solve)."""

from __future__ import annotations

import argparse

from oracles.solve import (
    MAX_COMBINATIONS,
    MAX_MAGNITUDE,
    MAX_SOLUTIONS,
    combinations,
    count_solutions,
    default_bounds,
    explain_no_lossless,
    reached_count,
    solve,
)

from .arguments import CliError, add_command, add_json_flag, format_table, int_range, positive_int, print_json

DEFAULT_TEXT_ROWS = 20

DESCRIPTION = """\
List every PyTorch ConvTranspose configuration (kernel k, stride s, padding p, output_padding op,
dilation d) within the bounds that maps input length I to output length O:

    O = (I-1)*s - 2*p + d*(k-1) + op + 1,   p >= 0,   op < s or op < d (torch's rule)

Natural choices come first: lossless before lossy, op = 0, small p, k == s (then k a multiple of
s), small k, d = 1. A solution is lossless when every input element reaches at least one output
element; lossy ones crop away whole inputs. When none is lossless the command says so: for an
arbitrary resize, interpolation or adaptive pooling is the tool, not a transposed convolution.

Defaults: strides 1..ceil(O/I)+1, kernels 1..max(16, O), dilation 1. --stride, --kernel and
--dilation take N or an inclusive range A..B. Per spatial dim: run once per dim.

Any kernel range is searched without stepping through it, and only the rows shown are built.
Refused (exit 2): more than {combinations} (stride, dilation, output_padding) combinations to search
(output_padding takes every value below max(stride, dilation), so that is the sum of max(s, d)),
and more than {solutions} rows to list.""".format(combinations=MAX_COMBINATIONS, solutions=MAX_SOLUTIONS)

EPILOG = """\
JSON (--json): a list of objects with keys kernel, stride, padding, output_padding, dilation,
lossless, natural order; every solution unless --limit is given.
Example: convt solve --input 160 --output 224 --stride 2"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "solve",
        help="find kernel/stride/padding that map an input length to an output length",
        description=DESCRIPTION, epilog=EPILOG,
    )
    parser.add_argument("--input", "-i", type=positive_int, required=True, metavar="I", help="input length (one spatial dim)")
    parser.add_argument("--output", "-o", type=positive_int, required=True, metavar="O", help="wanted output length")
    parser.add_argument("--stride", type=int_range, metavar="S", help="stride N or range A..B (default 1..ceil(O/I)+1)")
    parser.add_argument("--kernel", type=int_range, metavar="K", help="kernel size N or range A..B (default 1..--max-kernel)")
    parser.add_argument("--dilation", type=int_range, metavar="D", help="dilation N or range A..B (default 1)")
    parser.add_argument("--max-kernel", type=positive_int, metavar="N", help="largest kernel searched (default max(16, O))")
    parser.add_argument(
        "--limit", type=int, metavar="N",
        help=f"show the first N solutions (text default {DEFAULT_TEXT_ROWS}, JSON default all; 0 = all)",
    )
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    bounds = dict(stride=args.stride, kernel=args.kernel, dilation=args.dilation, max_kernel=args.max_kernel)
    if args.limit is not None and args.limit < 0:
        raise ValueError(f"--limit must be >= 0; got {args.limit}")
    if args.limit is None:
        limit = None if args.json else DEFAULT_TEXT_ROWS
    else:
        limit = args.limit or None  # 0 means all
    _check_search(args)
    total = count_solutions(args.input, args.output, **bounds)
    if limit is None and total > MAX_SOLUTIONS:
        raise ValueError(
            f"{total} solutions map {args.input} -> {args.output} within these bounds; pass --limit N "
            f"(at most {MAX_SOLUTIONS} without it) or narrow --stride, --kernel, --dilation or --max-kernel"
        )
    if limit is not None and min(limit, total) > MAX_SOLUTIONS:
        raise CliError(f"--limit {limit}: {min(limit, total)} of {total} solutions to list, more than {MAX_SOLUTIONS}; pass --limit {MAX_SOLUTIONS} or less")
    solutions = solve(args.input, args.output, **bounds, limit=limit)
    if args.json:
        print_json([solution.as_dict() for solution in solutions])
        return 0
    print(_header(args, total))
    if solutions:
        print()
        print(_table(solutions, args.input, args.output))
        if len(solutions) < total:
            more = "--limit 0 shows all" if total <= MAX_SOLUTIONS else f"--limit N shows up to {MAX_SOLUTIONS}"
            print(f"... showing {len(solutions)} of {total}; {more}")
    # The lossless verdict is about the whole set, not only the rows shown: lossless rows sort first.
    message = explain_no_lossless(args.input, args.output, solutions, **bounds)
    if message:
        print()
        print(message)
    return 0


def _check_search(args: argparse.Namespace) -> None:
    """Refuse, naming the options, a search over more (stride, dilation, output_padding) combinations
    than the solver goes through (the kernel range costs nothing: it is never stepped through), or
    sizes beyond the solver's exact arithmetic."""
    searched = combinations(args.input, args.output, stride=args.stride, dilation=args.dilation)
    if searched > MAX_COMBINATIONS:
        strides, _, dilations = _bounds(args)
        default = " (the default, 1..ceil(O/I)+1)" if args.stride is None else ""
        raise CliError(
            f"--stride {_span(strides)}{default} with --dilation {_span(dilations)} makes at least {searched} (stride, "
            f"dilation, output_padding) combinations to search, more than {MAX_COMBINATIONS} (output_padding takes every "
            f"value below max(stride, dilation)); narrow --stride or --dilation"
        )
    strides, kernels, dilations = _bounds(args)
    terms = {"--input": (args.input - 1) * strides[-1], "--kernel": dilations[-1] * (kernels[-1] - 1)}
    largest = sum(terms.values()) + max(strides[-1], dilations[-1]) + args.output
    if largest >= MAX_MAGNITUDE:
        raise CliError(
            f"(I-1)*s + d*(k-1) + op + 1 reaches {largest} with --input {args.input}, --stride {_span(strides)}, "
            f"--kernel {_span(kernels)} and --dilation {_span(dilations)}, beyond 2**62 where solve's integer arithmetic "
            f"stays exact; narrow {max(terms, key=terms.get)}"
        )


def _bounds(args: argparse.Namespace) -> tuple[range, range, range]:
    """The strides, kernels and dilations searched, as ranges."""
    defaults = default_bounds(args.input, args.output)
    strides = args.stride or defaults["strides"]
    kernels = args.kernel or range(1, (args.max_kernel or defaults["kernels"][-1]) + 1)
    return strides, kernels, args.dilation or defaults["dilations"]


def _header(args: argparse.Namespace, total: int) -> str:
    strides, kernels, dilations = _bounds(args)
    return (
        f"{args.input} -> {args.output}: {total} solution{'s' if total != 1 else ''} of "
        f"O = (I-1)*s - 2*p + d*(k-1) + op + 1 with stride {_span(strides)}, kernel {_span(kernels)}, "
        f"dilation {_span(dilations)}"
    )


def _span(values: range) -> str:
    return str(values[0]) if values[0] == values[-1] else f"{values[0]}..{values[-1]}"


def _table(solutions, input_size: int, output_size: int) -> str:
    headers = ["kernel", "stride", "padding", "output_padding", "dilation", "lossless", "crop (before, after)"]
    rows = [
        [s.kernel, s.stride, s.padding, s.output_padding, s.dilation, _verdict(s, input_size, output_size), f"({s.crop[0]}, {s.crop[1]})"]
        for s in solutions
    ]
    return format_table(headers, rows)


def _verdict(solution, input_size: int, output_size: int) -> str:
    """``yes``, or ``no: drops N`` with N the inputs that reach no output."""
    if solution.lossless:
        return "yes"
    reached = reached_count(
        input_size, output_size,
        kernel=solution.kernel, stride=solution.stride, padding=solution.padding, dilation=solution.dilation,
    )
    return f"no: drops {input_size - reached}"
