"""``convt shape``: a dialect's own parameters -> output size and canonical crops (oracles.dialects)."""

from __future__ import annotations

import argparse

from oracles.dialects import DIALECTS, NotExpressible, Rejected, get_dialect
from oracles.dialects import torch as torch_dialect

from .arguments import CliError, add_command, add_json_flag, padding, per_dim_ints, print_json

DESCRIPTION = """\
Give a framework API's own parameters; get the output size it produces and the same configuration in
canonical terms: per spatial dim, the crops (before, after) of the full output of length
L = (i-1)*s + d*(k-1) + 1 (negative = zeros appended), and PyTorch's padding/output_padding for it.

Per-dim values: 2 or 2,3. Padding: an int, per-dim ints, BEFORE:AFTER pairs (1:2,0:1), or the
dialect's string (SAME, VALID, same, ...). A configuration the framework rejects is an error (exit 2)
naming the framework's rule."""


def _option_table():
    """Every dialect option name -> whether it is a flag everywhere it appears."""
    table = {}
    for dialect in DIALECTS.values():
        for option in dialect.options:
            table[option.name] = table.get(option.name, True) and option.kind == "flag"
    return table


def add_parser(subparsers) -> argparse.ArgumentParser:
    epilog = "Parameters by dialect:\n" + "\n".join(
        f"  {name}: " + ", ".join("--" + option.name.replace("_", "-") for option in dialect.options)
        for name, dialect in DIALECTS.items()
    ) + "\nExample: convt shape --dialect tensorflow --input 3 --kernel 4 --strides 2 --padding SAME --output-shape 6"
    parser = add_command(
        subparsers, "shape",
        help="output size and canonical crops for a dialect's own parameters",
        description=DESCRIPTION, epilog=epilog,
    )
    parser.add_argument("--dialect", required=True, choices=list(DIALECTS), help="whose parameters these are")
    parser.add_argument("--input", required=True, type=per_dim_ints, metavar="I", help="input spatial size, e.g. 4 or 4,5")
    parser.add_argument("--kernel", required=True, type=per_dim_ints, metavar="K", help="kernel spatial size, e.g. 3 or 3,2")
    for name, is_flag in _option_table().items():
        flag = "--" + name.replace("_", "-")
        if is_flag:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=argparse.SUPPRESS)
        else:
            parser.add_argument(flag, dest=name, default=None, metavar="V", help=argparse.SUPPRESS)
    add_json_flag(parser)
    return parser


def native_parameters(dialect, args: argparse.Namespace) -> dict:
    """The dialect's parameters given on the command line, parsed by each option's kind."""
    known = {option.name: option for option in dialect.options}
    given = {name: getattr(args, name) for name in _option_table() if getattr(args, name, None) is not None}
    stray = sorted(set(given) - set(known))
    if stray:
        raise CliError(
            f"dialect {dialect.name} has no parameter {', '.join('--' + s.replace('_', '-') for s in stray)}; "
            f"it has {', '.join('--' + n.replace('_', '-') for n in known)}"
        )
    return {name: _parse(known[name], value) for name, value in given.items()}


def _parse(option, text):
    flag = "--" + option.name.replace("_", "-")
    if option.kind == "flag":
        return bool(text)
    if text in option.choices:
        return text
    if option.kind == "choice":
        raise CliError(f"{flag} must be one of {', '.join(str(c) for c in option.choices if c is not None)}; got {text!r}")
    try:
        if option.kind == "padding":
            return padding(text)
        values = per_dim_ints(text)
    except argparse.ArgumentTypeError as error:
        raise CliError(f"{flag}: {error}") from None
    return (values,) if option.kind == "sizes" and isinstance(values, int) else values


def run(args: argparse.Namespace) -> int:
    dialect = get_dialect(args.dialect)
    native = native_parameters(dialect, args)
    try:
        geometry = dialect.to_canonical(args.input, args.kernel, **native)
    except Rejected as error:
        raise CliError(f"{dialect.name} rejects this configuration: {error}") from None
    except NotExpressible as error:
        raise CliError(f"{dialect.name}: {error}") from None
    try:
        as_torch = {"native": {k: list(v) for k, v in torch_dialect.DIALECT.from_canonical(geometry).items()}}
    except NotExpressible as error:
        as_torch = {"not_expressible": str(error)}
    result = {
        "dialect": dialect.name,
        "native": {name: _jsonable(value) for name, value in native.items()},
        "input_size": list(geometry.input_size),
        "kernel_size": list(geometry.kernel_size),
        "stride": list(geometry.stride),
        "dilation": list(geometry.dilation),
        "full_size": list(geometry.full_size),
        "crop_before": list(geometry.crop_before),
        "crop_after": list(geometry.crop_after),
        "output_size": list(geometry.output_size),
        "torch": as_torch,
    }
    if args.json:
        print_json(result)
        return 0
    native_text = ", ".join(f"{k}={v!r}" for k, v in native.items()) or "defaults"
    print(f"{dialect.name} ({native_text}): input {geometry.input_size} -> output {geometry.output_size}")
    print(f"  kernel {geometry.kernel_size}, stride {geometry.stride}, dilation {geometry.dilation}, effective kernel {geometry.effective_kernel}")
    print(f"  full output L = (i-1)*s + K = {geometry.full_size}")
    print(f"  crops (before, after) = {geometry.padding()}   (negative = zeros appended)")
    print(f"  oracle: oracles.conv_transpose(x, w, stride={geometry.stride}, padding={geometry.padding()}, dilation={geometry.dilation})")
    if "native" in as_torch:
        torch_text = ", ".join(f"{k}={tuple(v)}" for k, v in as_torch["native"].items())
        print(f"  torch:  conv_transpose{geometry.ndim}d(x, w, {torch_text})")
    else:
        print(f"  torch:  {as_torch['not_expressible']}")
    return 0


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
