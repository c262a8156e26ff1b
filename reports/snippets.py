"""Copy-paste Python for a record: its operands and the oracle's answer, beside the framework's repro.

A record's ``repro`` (written by the target adapter) calls the framework's own API with NumPy ``x``,
``w``, ``bias`` in scope. The snippets here make those arrays from the case's recipe (the values the
lane computed on, held in float64 so every framework converts them exactly) and call the oracle:
``oracles.conv_transpose`` with the canonical parameters, or, for a record of a native-parameter
check, the dialect's ``to_canonical`` first. Text only: nothing here runs a framework.
"""

from __future__ import annotations

import inspect

OPERAND_FIELDS = ("batch", "groups", "in_per_group", "out_per_group", "input_size", "kernel_size", "bias", "values", "seed")
CANONICAL_FIELDS = ("stride", "dilation", "padding", "output_padding")


def is_native(case: dict) -> bool:
    """A native-parameter case carries its dialect and parameters instead of canonical fields."""
    return "dialect" in case and "native" in case


def native_parameters(case: dict) -> dict:
    """The dialect's parameters of a native case (stored as sorted ``[name, value]`` pairs)."""
    pairs = case.get("native") or []
    return {name: value for name, value in pairs} if isinstance(pairs, list) else dict(pairs)


def literal(value) -> str:
    """``repr`` with JSON's lists turned back into the tuples the oracle and the cases use."""
    return repr(_tuples(value))


def _tuples(value):
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value


def _takes_groups(dialect) -> bool:
    """Some dialects (jax) need ``groups`` to map their parameters: pass it where the signature names it."""
    return "groups" in inspect.signature(dialect.to_canonical).parameters


def canonical_terms(case: dict) -> dict:
    """The configuration in canonical terms: the case's own fields, or a native case mapped by its dialect.

    For a native case the result has ``dialect`` and either the canonical ``stride``, ``dilation``,
    ``padding`` (crops) and ``output_size``, or ``rejected``/``empty`` with the dialect's reason.
    """
    if not is_native(case):
        return {key: case[key] for key in OPERAND_FIELDS + CANONICAL_FIELDS if key in case}
    from oracles.dialects import NotExpressible, Rejected, get_dialect

    terms = {key: case[key] for key in OPERAND_FIELDS if key in case}
    terms["dialect"] = case["dialect"]
    try:
        dialect = get_dialect(case["dialect"])
        extra = {"groups": case.get("groups", 1)} if _takes_groups(dialect) else {}
        geometry = dialect.to_canonical(_tuples(case["input_size"]), _tuples(case["kernel_size"]), **extra, **_tuples(native_parameters(case)))
    except Rejected as error:
        terms["rejected"] = str(error)
    except NotExpressible as error:
        terms["empty"] = str(error)
    except Exception as error:  # an unknown dialect or malformed record: say so rather than lose the section
        terms["error"] = f"{type(error).__name__}: {error}"
    else:
        terms.update(stride=list(geometry.stride), dilation=list(geometry.dilation),
                     padding=[list(pair) for pair in geometry.padding()], output_size=list(geometry.output_size))
    return terms


def operands_snippet(record) -> str:
    """Python that makes ``case``, ``x``, ``w``, ``bias``: the record's operands in float64."""
    case = record.case
    operand_fields = {key: case[key] for key in OPERAND_FIELDS if key in case}
    if is_native(case):
        rest = {"dialect": case["dialect"], "variant": case.get("variant", ""), "native": case["native"]}
        kind = "NativeCase"
    else:
        rest = {key: case[key] for key in CANONICAL_FIELDS if key in case}
        kind = "Case"
    # Operands on one line, the configuration on the next: short enough to read beside each other.
    arguments = ",\n    ".join(", ".join(f"{key}={literal(value)}" for key, value in part.items()) for part in (operand_fields, rest) if part)
    return "\n".join([
        "import numpy as np",
        "import oracles",
        f"from conformance.cases import {kind}, operands",
        "",
        f"case = {kind}(\n    {arguments},\n)",
        f"# the {record.dtype} lane's operands (the values the framework computed on), held in float64",
        f"x, w, bias = (None if a is None else a.astype(np.float64) for a in operands(case, {record.dtype!r}))",
    ])


def oracle_snippet(record) -> str:
    """Python for the oracle's answer to the record's configuration (after :func:`operands_snippet`)."""
    case = record.case
    groups = case.get("groups", 1)
    if is_native(case):
        name = case["dialect"]
        try:
            from oracles.dialects import get_dialect

            extra = f", groups={groups}" if _takes_groups(get_dialect(name)) else ""
        except ValueError:
            extra = ""
        parameters = ", ".join(f"{key}={literal(value)}" for key, value in native_parameters(case).items())
        lines = [
            f"# native parameters of the {name!r} dialect, mapped to canonical terms by oracles.dialects",
            "from oracles.dialects import get_dialect",
            f"geometry = get_dialect({name!r}).to_canonical({literal(case['input_size'])}, {literal(case['kernel_size'])}{extra}, {parameters})",
            "# (raises oracles.dialects.Rejected where the framework must raise)",
            "expected = oracles.conv_transpose(x, w, bias, stride=geometry.stride, padding=geometry.padding(),",
            f"                                  output_padding=0, dilation=geometry.dilation, groups={groups})",
        ]
        return "\n".join(lines)
    kwargs = ", ".join(f"{key}={literal(case.get(key))}" for key in ("stride", "padding", "output_padding", "dilation"))
    lines = [f"expected = oracles.conv_transpose(x, w, bias, {kwargs}, groups={groups})"]
    if record.check in ("gradient-input", "gradient-weight"):
        lines += _gradient_lines(record, kwargs, groups)
    elif record.check not in ("forward", "native"):
        lines.append(f"# the {record.check} check compares the framework with itself; the oracle's values for reference")
    return "\n".join(lines)


def _gradient_lines(record, kwargs: str, groups: int) -> list[str]:
    """The oracle's gradient of ``sum(upstream * y)``, with the upstream gradient the suite drew."""
    case = record.case
    draw = "integers(-4, 5, size=expected.shape).astype(np.float64)" if case.get("values") == "integer" else "standard_normal(expected.shape)"
    lines = [
        "from conformance.cases import lane_values",
        f"upstream = lane_values(np.random.default_rng({case.get('seed', 0)} + 1).{draw}, {record.dtype!r}).astype(np.float64)",
    ]
    if record.check == "gradient-input":
        lines.append(f"expected_dx = oracles.gradients.input_gradient(upstream, w, {literal(case['input_size'])}, {kwargs}, groups={groups})")
    else:
        lines.append(f"expected_dw = oracles.gradients.weight_gradient(x, upstream, {literal(case['kernel_size'])}, {kwargs}, groups={groups})")
    return lines
