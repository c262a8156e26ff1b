"""Copy-paste Python for a record: its operands and the oracle's answer, beside the framework's repro.

A record's ``repro`` (written by the target's variant) calls the framework's own API with NumPy ``x``,
``w``, ``bias`` in scope. The snippets here rebuild the record's case (``conformance.cases``) and make
those arrays with the suite's own recipe (``conformance.operands``: the values the lane computed on,
held in float64 so every framework converts them exactly), then call the oracle: with the case's
canonical parameters, or, for a native-parameter check, after its dialect's ``to_canonical``. Text
only: nothing here runs a framework, and nothing here restates how operands are made.
"""

from __future__ import annotations

from conformance import check_kinds
from conformance.cases import Case, NativeCase, case_from_data, tuples


def is_native(case: dict) -> bool:
    """A native-parameter case carries its dialect and parameters instead of canonical fields."""
    return "dialect" in case and "native" in case


def literal(value) -> str:
    """``repr`` with JSON's lists turned back into the tuples the oracle and the cases use."""
    return repr(tuples(value) if not isinstance(value, dict) else {key: tuples(item) for key, item in value.items()})


def canonical_terms(data: dict) -> dict:
    """The configuration in canonical terms: the case's own fields, or a native case mapped by its dialect.

    For a native case the result has ``dialect`` and either the canonical ``stride``, ``dilation``,
    ``padding`` (crops) and ``output_size``, or ``rejected``/``empty`` with the dialect's reason.
    """
    from oracles.dialects import NotExpressible, Rejected

    try:
        case = case_from_data(data)
    except (ValueError, TypeError) as error:  # a malformed record: say so rather than lose the section
        return {"error": f"{type(error).__name__}: {error}"}
    terms = case.operand_fields()
    if isinstance(case, Case):
        return {**terms, **{key: getattr(case, key) for key in ("stride", "dilation", "padding", "output_padding")}}
    terms["dialect"] = case.dialect
    try:
        geometry = case.canonical().geometry
    except Rejected as error:
        terms["rejected"] = str(error)
    except NotExpressible as error:
        terms["empty"] = str(error)
    except Exception as error:  # an unknown dialect or malformed parameters
        terms["error"] = f"{type(error).__name__}: {error}"
    else:
        terms.update(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), output_size=geometry.output_size)
    return terms


def _case(record) -> Case | NativeCase | None:
    try:
        return case_from_data(record.case or {})
    except (ValueError, TypeError):
        return None


def operands_snippet(record) -> str:
    """Python that makes ``case``, ``x``, ``w``, ``bias``: the record's operands in float64."""
    case = _case(record)
    if case is None:
        return f"# the record's case is not readable: {record.case!r}"
    lines = [
        "import numpy as np",
        "import oracles",
        "from conformance import operands",
        f"from conformance.cases import {type(case).__name__}",
        "",
        f"case = {case!r}",
        f"# the {record.dtype} lane's operands (the values the framework computed on), held in float64",
        f"x, w, bias = (None if a is None else a.astype(np.float64) for a in operands.for_lane(case, {record.dtype!r}))",
    ]
    if record.check == check_kinds.epilogue_check("residual") and isinstance(case, Case):
        shape = ((case.batch,) if case.batch is not None else ()) + (case.out_channels, *case.geometry.output_size)
        lines.append(f"residual = operands.residual(case, {shape!r}, {record.dtype!r}).astype(np.float64)  # the tensor the epilogue adds")
    if record.check == check_kinds.epilogue_check("scale") and isinstance(case, Case):
        lines.append(f"scale = operands.scale(case, {record.dtype!r}).astype(np.float64)  # the per-channel factors the epilogue multiplies by")
    return "\n".join(lines)


def oracle_snippet(record) -> str:
    """Python for the oracle's answer to the record's configuration (after :func:`operands_snippet`),
    its parameters written out for the reader."""
    case = _case(record)
    if case is None:
        return ""
    if isinstance(case, NativeCase):
        parameters = ", ".join(f"{name}={value!r}" for name, value in case.native)
        return "\n".join([
            f"# native parameters of the {case.dialect!r} dialect, mapped to canonical terms by oracles.dialects",
            "from oracles.dialects import get_dialect",
            f"geometry = get_dialect({case.dialect!r}).to_canonical({case.input_size!r}, {case.kernel_size!r}, groups={case.groups}, {parameters})",
            "# (raises oracles.dialects.Rejected where the framework must raise)",
            "expected = oracles.conv_transpose(x, w, bias, stride=geometry.stride, padding=geometry.padding(),",
            f"                                  output_padding=0, dilation=geometry.dilation, groups={case.groups})",
        ])
    kwargs = ", ".join(f"{name}={value!r}" for name, value in case.oracle_kwargs().items())
    lines = [f"expected = oracles.conv_transpose(x, w, bias, {kwargs})"]
    epilogue = check_kinds.epilogue_of(record.check)
    if epilogue == "bias":  # the convolution without its bias, then the bias added as an op of its own
        lines = [f"expected = oracles.conv_transpose(x, w, None, {kwargs})",
                 f"expected = oracles.apply_epilogue('bias', expected, bias=bias.reshape((-1,) + (1,) * {case.ndim}))"]
    elif epilogue == "residual":
        lines.append("expected = oracles.apply_epilogue('residual', expected, residual=residual)")
    elif epilogue == "scale":
        lines.append(f"expected = oracles.apply_epilogue('scale', expected, scale=scale.reshape((-1,) + (1,) * {case.ndim}))")
    elif epilogue is not None:
        lines.append(f"expected = oracles.apply_epilogue({epilogue!r}, expected)")
    if record.check in check_kinds.GRADIENTS:
        lines.append(f"upstream = operands.upstream(case, expected.shape, {record.dtype!r}).astype(np.float64)  # the gradient the suite pulled back")
        if record.check == check_kinds.GRADIENT_INPUT:
            lines.append(f"expected_dx = oracles.gradients.input_gradient(upstream, w, {case.input_size!r}, {kwargs})")
        else:
            lines.append(f"expected_dw = oracles.gradients.weight_gradient(x, upstream, {case.kernel_size!r}, {kwargs})")
    elif record.check not in check_kinds.AGAINST_ORACLE:
        lines.append(f"# the {record.check} check compares the framework with itself; the oracle's values for reference")
    return "\n".join(lines)
