"""A failing check as one standalone script: NumPy and the framework, nothing of the suite.

The runner calls :func:`script` when a check fails, and the text becomes the record's ``repro``; reports
and ``convt repro`` only read it. A script has four parts, each readable alone:

1. the operands the lane computed on (already rounded to its dtype, held in float64 so every framework
   converts them exactly): array literals where every operand of a stream is small, otherwise the seeded
   generator spelled out as ``conformance.operands`` draws it (same streams, same order, same rounding);
2. the definition it is judged against (``conformance.repro_reference.REFERENCE``: a direct scatter loop,
   its adjoint, and the printing);
3. ``framework(...)``: the variant's own repro text (``Variant.repro``: backend settings, layout, mode,
   epilogue) as a function of the operands, so checks that call more than once (linearity, batch split,
   determinism) call it again;
4. what the check compares, printed: shapes, max |difference|, the first differing elements, or what
   the framework did with a configuration it should reject.

Pure text: runs in the test process, imports no framework.
"""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np

from oracles.dialects import EmptyOutput, NotExpressible, Rejected

from . import check_kinds, operands
from .cases import Case, NativeCase
from .repro_reference import REFERENCE

SMALL = 64  # at most this many elements in each operand of a stream: written as literals

# The tolerance the script lists differing elements beyond, relative to the largest expected magnitude:
# a rounding scale for the dtype, to separate a fault from rounding at a glance. It is not the suite's
# per-element bound (the check's verdict and bound are in the script's header).
RELATIVE_TOLERANCE = {"float64": 1e-12, "float32": 1e-5, "float16": 4e-3, "bfloat16": 3e-2, "tf32": 2e-3}

ROUNDING = {
    "float64": ["def to_lane(a):", '    """The float64 lane computes on the values as drawn."""', "    return np.asarray(a, np.float64)"],
    "bfloat16": [
        "def to_lane(a):",
        '    """Round to bfloat16 (nearest, ties to even: 7 explicit mantissa bits), held in float64."""',
        "    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)",
        "    bits = bits + 0x7FFF + ((bits >> 16) & 1)",
        "    return ((bits >> 16) << 16).astype(np.uint32).view(np.float32).astype(np.float64)",
    ],
}


def script(check: str, target, case, native: dict, message: str = "") -> str:
    """The standalone repro of ``check`` on ``target`` (a ``TargetLane``) for ``case`` called with
    ``native`` (for a native check: the parameters as drawn, with ``"epilogue"`` where one ran); raises
    where the variant cannot write its call (the runner records that instead)."""
    lane, api = target.lane, target.api
    parameters, epilogue = dict(native), check_kinds.epilogue_of(check)
    rule = empty = None
    if isinstance(case, NativeCase):
        epilogue = parameters.pop("epilogue", None)
        try:
            canonical = case.canonical()
        except Rejected as error:
            canonical, rule = None, str(error)
        except EmptyOutput as error:
            canonical, empty = None, str(error)
        except NotExpressible as error:
            raise ValueError(f"not a configuration of this API: {error}") from None
    else:
        canonical = case
    called = canonical if canonical is not None else _stand_in(case)  # the variant's text reads sizes from a Case
    if check == check_kinds.LINEARITY:  # the runner calls linearity's three convolutions without bias
        called = dataclasses.replace(called, bias=False)
    streams = _streams(check, case, canonical, lane.dtype)
    lines = _header(check, target, message) + ["import numpy as np", ""]
    lines += _operand_lines(case, lane.dtype, streams) + [""]
    lines += [REFERENCE.strip(), "", ""]
    if check in check_kinds.GRADIENTS:
        lines += _function("framework_gradients", "x, w, bias, upstream", api.repro_gradients(called, parameters, lane), "dx, dw",
                           f"d x and d w of sum(upstream * y) by {target.name}'s autodiff, as the lane computed them")
    else:
        lines += _function("framework", "x, w, bias, residual=None, scale=None", api.repro(called, parameters, lane, epilogue), "y",
                           f"{target.name} called as the lane called it; y in the canonical layout (N, C_out, *o)")
    if check == check_kinds.BATCH_SPLIT:
        single = dataclasses.replace(case, batch=None)
        lines += _function("framework_sample", "x, w, bias", api.repro(single, parameters, lane), "y", "the same call on one unbatched sample")
    lines += _comparison(check, target, canonical, epilogue, rule, empty)
    return "\n".join(lines) + "\n"


def _stand_in(case: NativeCase) -> Case:
    """A canonical case with ``case``'s operands for a configuration the dialect rejects (or leaves empty):
    the variant's repro reads only sizes and channels from it; the call uses the parameters as drawn."""
    ndim = case.ndim
    return Case(**case.operand_fields(), stride=(1,) * ndim, dilation=(1,) * ndim, padding=((0, 0),) * ndim, output_padding=(0,) * ndim)


def _header(check, target, message) -> list[str]:
    lane = target.lane
    lines = [
        f"# Standalone repro: the {check} check of {target.name} ({target.framework} {target.version}".rstrip() + ")",
        f"# lane: device={lane.device} dtype={lane.dtype} precision={lane.precision} backend={lane.backend} mode={lane.mode}",
        f"# Needs only NumPy and {target.framework}: `python repro.py` prints the framework's answer beside the expected",
        "# one, computed by the direct NumPy definition below.",
    ]
    if message:
        lines.append("# The suite's verdict:")
        lines += [f"#   {line}" for line in textwrap.wrap(message, 110, break_long_words=False, break_on_hyphens=False)]
    return lines


# -- operands ------------------------------------------------------------------------------------------

def _output_shape(case: Case) -> tuple:
    return (() if case.batch is None else (case.batch,)) + (case.out_channels, *case.geometry.output_size)


def _streams(check, case, canonical, dtype) -> list[tuple]:
    """The extra streams the check uses beside the operands: ``(name, stream offset, shape)``."""
    if check in check_kinds.GRADIENTS:
        return [("upstream", operands.UPSTREAM_STREAM, _output_shape(canonical))]
    if check == check_kinds.LINEARITY:
        return [("x2", operands.SECOND_INPUT_STREAM, case.input_shape())]
    if check == check_kinds.epilogue_check("residual"):
        return [("residual", operands.RESIDUAL_STREAM, _output_shape(canonical))]
    if check == check_kinds.epilogue_check("scale"):
        return [("scale", operands.SCALE_STREAM, (case.out_channels,))]
    return []


def _operand_lines(case, dtype: str, streams) -> list[str]:
    """x, w, bias (and each extra stream) as the lane's values, held in float64."""
    lines = [f"# The {dtype} lane's operands (the values the framework computed on), in float64; drawn by",
             f"# np.random.default_rng(seed) with seed {case.seed} ({case.values} values), then rounded to {dtype}."]
    lines += ROUNDING.get(dtype, ["def to_lane(a):", f'    """Round to {dtype}, held in float64."""',
                                  f"    return np.asarray(a).astype(np.{dtype}).astype(np.float64)"])
    lines.append("")
    x, w, bias = operands.for_lane(case, dtype)
    shapes = (case.input_shape(), case.weight_shape(), (case.out_channels,))
    if all(int(np.prod(shape)) <= SMALL for shape in shapes):
        lines += [_literal("x", x), _literal("w", w), _literal("bias", bias) if bias is not None else "bias = None"]
    else:
        lines.append(f"rng = np.random.default_rng({case.seed})")
        lines += [f"x = to_lane({_draw(case.values, shapes[0])})", f"w = to_lane({_draw(case.values, shapes[1])})"]
        lines.append(f"bias = to_lane({_draw(case.values, shapes[2])})" if case.bias
                     else f"{_draw(case.values, shapes[2])}  # the bias is drawn, but this case has none\nbias = None")
    for name, stream, shape in streams:
        made = operands.lane_values(operands.values(np.random.default_rng(case.seed + stream), shape, case.values), dtype)
        if int(np.prod(shape)) <= SMALL:
            lines.append(_literal(name, made))
        else:
            lines.append(f"{name} = to_lane({_draw(case.values, shape, f'np.random.default_rng({case.seed + stream})')})")
    if any(name == "x2" for name, _, _ in streams):
        lines.append("total = to_lane(x + x2)  # x1 + x2, rounded to the lane's dtype as the framework receives it")
    return lines


def _draw(kind: str, shape, rng: str = "rng") -> str:
    if kind == "integer":
        return f"{rng}.integers(-{operands.INTEGER_RANGE}, {operands.INTEGER_RANGE + 1}, size={tuple(shape)!r}).astype(np.float64)"
    return f"{rng}.standard_normal({tuple(shape)!r})"


def _literal(name: str, array) -> str:
    """``name = np.array([...], dtype=np.float64).reshape(shape)``; ``repr`` of float64 round-trips exactly."""
    values = ", ".join(repr(float(v)) for v in np.asarray(array, dtype=np.float64).ravel())
    body = textwrap.fill(values, 108, initial_indent=" " * 4, subsequent_indent=" " * 4, break_long_words=False)
    return f"{name} = np.array([\n{body}\n], dtype=np.float64).reshape({tuple(np.shape(array))!r})"


# -- the framework call --------------------------------------------------------------------------------

def _function(name: str, arguments: str, body: str, result: str, doc: str) -> list[str]:
    """``body`` (text leaving ``result`` in scope) as a function of the operands."""
    return [f"def {name}({arguments}):", f'    """{doc}."""',
            textwrap.indent(body.rstrip("\n"), "    "),
            f"    return {result}", "", ""]


# -- what the check compares ---------------------------------------------------------------------------

def _comparison(check, target, canonical, epilogue, rule, empty) -> list[str]:
    lane = target.lane
    if rule is not None:
        return ["if __name__ == '__main__':",
                f"    show_outcome({target.name + ' on parameters its dialect rejects'!r}, lambda: framework(x, w, bias), {'raise: ' + rule!r})"]
    if empty is not None:
        return ["if __name__ == '__main__':",
                f"    show_outcome({target.name + ' on an empty output'!r}, lambda: framework(x, w, bias), "
                f"{'return an empty output or raise (' + empty + ')'!r}, empty_allowed=True)"]
    ndim = canonical.ndim
    geometry = (f"stride={canonical.stride!r}, dilation={canonical.dilation!r}, crops={canonical.padding!r}, ")
    channel = f".reshape((-1,) + (1,) * {ndim})"
    lines = ["# The expected answer: the direct definition on the same operands."]
    if check in check_kinds.GRADIENTS:
        lines.append(f"expected_dx, expected_dw = conv_transpose_adjoint(upstream, x, w, {geometry}groups={canonical.groups})")
    else:
        conv_bias = "None" if epilogue == "bias" or check == check_kinds.LINEARITY else "bias"
        first = "total" if check == check_kinds.LINEARITY else "x"
        lines.append(f"expected = conv_transpose_reference({first}, w, {conv_bias}, {geometry}"
                     f"output_padding={canonical.output_padding!r}, groups={canonical.groups})")
        lines += {
            None: [],
            "bias": [f"expected = expected + bias{channel}  # the bias epilogue: added after a convolution without it"],
            "relu": ["expected = np.maximum(expected, 0.0)  # relu"],
            "sigmoid": ["expected = 1.0 / (1.0 + np.exp(-expected))  # sigmoid"],
            "residual": ["expected = expected + residual  # the residual epilogue"],
            "scale": [f"expected = expected * scale{channel}  # one factor per output channel"],
        }[epilogue]
    exact = lane.dtype in ("float32", "float64") and lane.precision != "tf32" and canonical.values == "integer"
    relative = RELATIVE_TOLERANCE["tf32" if lane.precision == "tf32" else lane.dtype]
    magnitude = "expected_dx" if check == check_kinds.GRADIENT_INPUT else "expected_dw" if check == check_kinds.GRADIENT_WEIGHT else "expected"
    lines.append("tolerance = 0.0  # integer values: every partial sum is exact" if exact else
                 f"tolerance = {relative!r} * float(np.abs({magnitude}).max(initial=1.0))  # a {lane.dtype} rounding scale, for listing")
    lines.append("")
    lines.append("if __name__ == '__main__':")
    name = target.name
    operand = {"residual": ", residual=residual", "scale": ", scale=scale"}.get(epilogue, "")
    if check == check_kinds.GRADIENT_INPUT:
        lines.append(f"    show({name + ' d x against the adjoint'!r}, lambda: framework_gradients(x, w, bias, upstream)[0], expected_dx, tolerance)")
    elif check == check_kinds.GRADIENT_WEIGHT:
        lines.append(f"    show({name + ' d w against the adjoint'!r}, lambda: framework_gradients(x, w, bias, upstream)[1], expected_dw, tolerance)")
    elif check == check_kinds.LINEARITY:
        lines += ["    parts = as_float64(framework(x, w, None)) + as_float64(framework(x2, w, None))",
                  f"    show({name + ': f(x1 + x2) against f(x1) + f(x2)'!r}, lambda: framework(total, w, None), parts, 2 * tolerance)",
                  f"    show({name + ': f(x1 + x2) against the reference'!r}, lambda: framework(total, w, None), expected, tolerance)"]
    elif check == check_kinds.BATCH_SPLIT:
        lines += ["    samples = np.stack([as_float64(framework_sample(sample, w, bias)) for sample in x])",
                  f"    show({name + ': the batch against each sample called alone'!r}, lambda: framework(x, w, bias), samples, 2 * tolerance)"]
    elif check == check_kinds.DETERMINISM:
        lines += ["    first = as_float64(framework(x, w, bias))",
                  f"    show({name + ': a second identical call against the first (bit for bit)'!r}, lambda: framework(x, w, bias), first)"]
    else:
        what = f"{name} then {epilogue}" if epilogue else name
        lines.append(f"    show({what + ' against the reference'!r}, lambda: framework(x, w, bias{operand}), expected, tolerance)")
    return lines
