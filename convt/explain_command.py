"""``convt explain``: how one output element of a transposed convolution arises (oracles.explain)."""

from __future__ import annotations

import argparse

from oracles.explain import explain

from .arguments import (
    PADDING_HELP,
    PER_DIM_HELP,
    add_command,
    add_json_flag,
    broadcast_padding,
    format_number,
    format_table,
    index,
    load_array,
    padding,
    per_dim_ints,
    positive_int,
    print_json,
)

DESCRIPTION = """\
Take one output element of a transposed convolution apart, in the canonical form (PyTorch's
weight layout (C_in, C_out/groups, *k), no kernel flip):

    full[n, g*Mg+m, j*s + t*d] += x[n, g*Cg+c, j] * w[g*Cg+c, m, t]
    y = full[crop_before : L - crop_after] + bias,   L = (i-1)*s + d*(k-1) + 1 per dim

Output index o sits at full position o + crop_before; crop = (padding before, padding after -
output_padding). The command prints the value, every product that adds to it, the full position
and the crop. Arrays are .npy files (numpy.save); x is (N, C_in, *spatial) or unbatched
(C_in, *spatial)."""

EPILOG = """\
JSON (--json): {"value", "terms": [{"input_index", "weight_index", "x", "w", "product"}],
"full_position", "crop": [[before, after], ...], "bias" (null without --bias), "zero_extension"}.
Example: convt explain --x x.npy --w w.npy --stride 2 --padding 1 --at 0,0,0,1"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "explain",
        help="show the products that make one output element",
        description=DESCRIPTION, epilog=EPILOG,
    )
    parser.add_argument("--x", required=True, metavar="X.npy", help="input array (N, C_in, *spatial) or (C_in, *spatial)")
    parser.add_argument("--w", required=True, metavar="W.npy", help="weight array (C_in, C_out/groups, *kernel)")
    parser.add_argument("--bias", metavar="B.npy", help="bias array (C_out,)")
    parser.add_argument("--stride", type=per_dim_ints, default=1, metavar="S", help=f"stride: {PER_DIM_HELP} (default 1)")
    parser.add_argument("--padding", type=padding, default=0, metavar="P", help=f"{PADDING_HELP} (default 0)")
    parser.add_argument(
        "--output-padding", type=per_dim_ints, default=0, metavar="OP", help=f"output_padding: {PER_DIM_HELP} (default 0)"
    )
    parser.add_argument("--dilation", type=per_dim_ints, default=1, metavar="D", help=f"dilation: {PER_DIM_HELP} (default 1)")
    parser.add_argument("--groups", type=positive_int, default=1, metavar="G", help="groups (default 1)")
    parser.add_argument(
        "--at", type=index, required=True, metavar="INDEX",
        help="output element: n,c,i,j,... for batched x, c,i,j,... for unbatched x",
    )
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    x = load_array(args.x, "--x")
    w = load_array(args.w, "--w")
    bias = None if args.bias is None else load_array(args.bias, "--bias")
    result = explain(
        x, w, bias,
        stride=args.stride, padding=broadcast_padding(args.padding, w.ndim - 2), output_padding=args.output_padding,
        dilation=args.dilation, groups=args.groups, at=args.at,
    )
    if args.json:
        print_json(result.as_dict())
        return 0
    print(_text(result))
    return 0


def _text(result) -> str:
    at = ", ".join(map(str, result.at))
    crop = ", ".join(f"({before}, {after})" for before, after in result.crop)
    lines = [
        f"y[{at}] = {format_number(result.value)}",
        f"  output shape {tuple(result.output_shape)}; full (uncropped) spatial size {tuple(result.full_size)}",
        f"  crop per spatial dim (before, after): {crop}",
        f"  full position {tuple(result.full_position)} = spatial index + crop before",
    ]
    if result.zero_extension:
        lines.append("  the position lies in the zero-extension region (negative crop or output_padding): only the bias")
    elif not result.terms:
        lines.append("  no input reaches this full position (stride larger than the effective kernel): only the bias")
    if result.terms:
        lines.append(f"  terms (full[.., j*s + t*d] += x[.., j] * w[.., t]), {len(result.terms)} of them:")
        rows = [
            [_index(t.input_index), _index(t.weight_index), format_number(t.x), format_number(t.w), format_number(t.product)]
            for t in result.terms
        ]
        table = format_table(["x index", "w index", "x", "w", "product"], rows)
        lines.extend("    " + line for line in table.splitlines())
    pieces = [format_number(t.product) for t in result.terms]
    if result.bias is not None:
        pieces.append(f"bias {format_number(result.bias)}")
    total = format_number(result.value)
    lines.append(f"  value = {' + '.join(pieces)} = {total}" if len(pieces) > 1 else f"  value = {total}")
    return "\n".join(lines)


def _index(values) -> str:
    return "(" + ", ".join(map(str, values)) + ")"
