"""A generated transposed-convolution case: the canonical configuration plus how to make its operands.

A case is plain data (hashable, printable as a repro); the arrays are derived from its ``seed`` and
``values`` lane on demand so that hypothesis shrinks the configuration, not megabytes of floats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles.geometry import Geometry

# Integer lane: |values| <= 4 keeps every partial sum far below 2**11 (exact in fp16 and TF32 too)
# for the sizes the strategies draw, so any summation order gives the exact result.
INTEGER_RANGE = 4


@dataclass(frozen=True, kw_only=True)
class Operands:
    """Channel counts, sizes and the recipe for the operand arrays."""

    batch: int | None  # None: unbatched input (C_in, *spatial)
    groups: int
    in_per_group: int
    out_per_group: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    bias: bool
    values: str = "float"  # "float": signed normal floats; "integer": small integers, exact results
    seed: int = 0

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def in_channels(self) -> int:
        return self.groups * self.in_per_group

    @property
    def out_channels(self) -> int:
        return self.groups * self.out_per_group

    def input_shape(self) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return lead + (self.in_channels, *self.input_size)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_per_group, *self.kernel_size)

    def arrays(self, dtype=np.float64):
        """``(x, w, bias)`` in the oracle's layout, drawn from ``seed``; ``bias`` is None without bias.

        Values are made in float64 and then cast, so a lower-precision lane receives the rounded
        values and the oracle is run on exactly those.
        """
        rng = np.random.default_rng(self.seed)
        shapes = [self.input_shape(), self.weight_shape(), (self.out_channels,)]
        if self.values == "integer":
            x, w, b = (rng.integers(-INTEGER_RANGE, INTEGER_RANGE + 1, size=shape).astype(np.float64) for shape in shapes)
        else:
            x, w, b = (rng.standard_normal(shape) for shape in shapes)
        return x.astype(dtype), w.astype(dtype), (b.astype(dtype) if self.bias else None)


@dataclass(frozen=True, kw_only=True)
class Case(Operands):
    """One transposed convolution in canonical terms (per-dim tuples) and its operand recipe."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (crop_before, crop_after + output_padding) per dim
    output_padding: tuple[int, ...]

    @property
    def geometry(self) -> Geometry:
        return Geometry.from_arguments(
            self.input_size,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation=self.dilation,
        )

    def oracle_kwargs(self) -> dict:
        """Keyword arguments of ``oracles.conv_transpose`` for this case."""
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation=self.dilation,
            groups=self.groups,
        )


@dataclass(frozen=True, kw_only=True)
class NativeCase(Operands):
    """A configuration in one dialect's own parameter space, valid or not (the dialect decides)."""

    dialect: str
    variant: str
    native: tuple[tuple[str, object], ...]  # sorted (name, value) pairs: hashable, printable

    @property
    def parameters(self) -> dict:
        return dict(self.native)


def operands(case: Operands, dtype: str):
    """``(x, w, bias)`` of ``case`` for a lane of ``dtype``: the values that lane computes on.

    NumPy has no bfloat16: that lane gets float32 arrays holding values rounded to bfloat16 (round
    to nearest even), which the framework then converts exactly.
    """
    return tuple(None if a is None else lane_values(a, dtype) for a in case.arrays())


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
