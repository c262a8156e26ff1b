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


@dataclass(frozen=True)
class Case:
    """One transposed convolution in canonical terms (per-dim tuples) and its operand recipe."""

    batch: int | None  # None: unbatched input (C_in, *spatial)
    groups: int
    in_per_group: int
    out_per_group: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (crop_before, crop_after + output_padding) per dim
    output_padding: tuple[int, ...]
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
