"""How a case's arrays are made: the one recipe for operands, upstream gradients and second inputs.

Everything that needs a case's values calls this module: the runner (what the framework receives and
what the oracle is run on), the report's repro snippets (which import it rather than restate it) and
the self-tests. A case holds only its ``seed`` and ``values`` lane, so hypothesis shrinks the
configuration, not megabytes of floats, and a record rebuilds its exact arrays from its case.

Values are made in float64 and then rounded to the lane's dtype, so a lower-precision lane receives the
rounded values and the oracle is run on exactly those. NumPy has no bfloat16: that lane gets float32
arrays holding values rounded to bfloat16 (to nearest, ties to even), which every framework converts
exactly.
"""

from __future__ import annotations

import numpy as np

# Integer lane: |values| <= 4 keeps every partial sum far below 2**11 (exact in fp16 and TF32 too)
# for the sizes the strategies draw, so any summation order gives the exact result.
INTEGER_RANGE = 4

# Streams drawn from one case seed: the operands, the upstream gradient, linearity's second input,
# an epilogue's residual, an epilogue's per-channel scale.
UPSTREAM_STREAM, SECOND_INPUT_STREAM, RESIDUAL_STREAM, SCALE_STREAM = 1, 2, 3, 4


def values(rng, shape, kind: str) -> np.ndarray:
    """float64 values of ``kind``: ``"float"`` signed normal floats, ``"integer"`` small integers (exact results)."""
    if kind == "integer":
        return rng.integers(-INTEGER_RANGE, INTEGER_RANGE + 1, size=shape).astype(np.float64)
    return rng.standard_normal(shape)


def arrays(case, dtype=np.float64):
    """``(x, w, bias)`` of ``case`` in the oracle's layout, in NumPy ``dtype``; ``bias`` is None without bias."""
    rng = np.random.default_rng(case.seed)
    x, w, b = (values(rng, shape, case.values) for shape in (case.input_shape(), case.weight_shape(), (case.out_channels,)))
    return x.astype(dtype), w.astype(dtype), (b.astype(dtype) if case.bias else None)


def for_lane(case, dtype: str):
    """``(x, w, bias)`` of ``case`` for a lane of ``dtype``: the values that lane computes on."""
    return tuple(None if a is None else lane_values(a, dtype) for a in arrays(case))


def upstream(case, shape, dtype: str) -> np.ndarray:
    """The upstream gradient a gradient check pulls back: ``shape`` (the output's), in the lane's values."""
    return lane_values(values(np.random.default_rng(case.seed + UPSTREAM_STREAM), shape, case.values), dtype)


def second_input(case, shape, dtype: str) -> np.ndarray:
    """Linearity's second input ``x2``, in the lane's values."""
    return lane_values(values(np.random.default_rng(case.seed + SECOND_INPUT_STREAM), shape, case.values), dtype)


def residual(case, shape, dtype: str) -> np.ndarray:
    """The second tensor a residual epilogue adds to the output (``shape``: the output's), in the lane's values."""
    return lane_values(values(np.random.default_rng(case.seed + RESIDUAL_STREAM), shape, case.values), dtype)


def scale(case, dtype: str) -> np.ndarray:
    """The per-output-channel factors ``(C_out,)`` a scale epilogue multiplies by, in the lane's values."""
    return lane_values(values(np.random.default_rng(case.seed + SCALE_STREAM), (case.out_channels,), case.values), dtype)


def lane_values(array, dtype: str) -> np.ndarray:
    """``array`` rounded to ``dtype``'s values, in the NumPy dtype that carries them (float32 for bfloat16)."""
    if dtype == "bfloat16":
        return round_to_bfloat16(np.asarray(array, dtype=np.float32))
    return np.asarray(array).astype(np.dtype(dtype))


def round_to_bfloat16(array) -> np.ndarray:
    """float32 values rounded to bfloat16's 7 explicit mantissa bits (nearest, ties to even)."""
    bits = np.asarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = bits + 0x7FFF + ((bits >> 16) & 1)
    return ((bits >> 16) << 16).astype(np.uint32).view(np.float32)
