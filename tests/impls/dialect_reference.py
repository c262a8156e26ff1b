"""Functions with each framework's own signature, computed by the oracle after the oracle's dialect maps
their parameters to canonical form (raising where the dialect says the framework rejects them): a
run of ``--impl-dialect D`` on ``D`` must find nothing, or the suite's plumbing of that dialect
(parameters, layouts, output_shape) is wrong."""

import numpy as np

import oracles
from oracles.dialects import EmptyOutput, get_dialect


def _run(dialect_name, x, w, bias, groups, to_canonical_kwargs, layout):
    dialect = get_dialect(dialect_name)
    if dialect_name == "tensorflow":
        x, w = dialect.input_to_canonical(x, **layout), dialect.weight_to_canonical(w, **layout)
    elif dialect_name == "jax":
        x, w = dialect.input_to_canonical(x, **layout), dialect.weight_to_canonical(w, groups=groups, **layout)
    batched = x.ndim == w.ndim
    spatial = x.shape[2:] if batched else x.shape[1:]
    try:
        geometry = dialect.to_canonical(tuple(spatial), tuple(w.shape[2:]), groups=groups, **to_canonical_kwargs)
    except EmptyOutput as error:
        raise ValueError(f"empty output: {error}") from None
    y = oracles.conv_transpose(np.asarray(x, np.float64), np.asarray(w, np.float64), None if bias is None else np.asarray(bias, np.float64),
                               stride=geometry.stride, padding=geometry.padding(), dilation=geometry.dilation, groups=groups)
    y = y.astype(x.dtype)
    if dialect_name == "tensorflow":
        y = dialect.output_from_canonical(y, **layout)
    elif dialect_name == "jax":
        y = dialect.output_from_canonical(y, **layout)
    return y


def torch(x, w, bias, *, groups, **native):
    return _run("torch", x, w, bias, groups, native, native)


def onnx(x, w, bias, *, groups, **native):
    return _run("onnx", x, w, bias, groups, {**native, "runtime": "onnxruntime"}, native)


def tensorflow(x, w, bias, *, groups, **native):
    layout = dict(native)
    if native.get("output_shape") is not None:  # the full [N, *o, C] (or [N, C, *o]) shape: the dialect takes the spatial part
        shape = list(native["output_shape"])
        channels_last = get_dialect("tensorflow").channels_last(**native)
        layout["output_shape"] = shape[1:-1] if channels_last else shape[2:]
    return _run("tensorflow", x, w, bias, groups, layout, layout)


def jax(x, w, bias, *, groups, **native):
    return _run("jax", x, w, bias, groups, native, native)
