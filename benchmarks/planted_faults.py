"""Implementations with one planted, narrow fault each, for measuring how fast the suite's generated
search finds a defect (``benchmarks/time_to_find.py``).

Each fault is the oracle's answer with the last output element off by one wherever the configuration
falls in one narrow region: one boundary where kernels branch, one channel count, one dtype. Each is a
plausible kernel defect (a remainder loop, a tiling edge, a padding branch, a dtype-specialised path).
``REGIONS`` holds each region as a predicate over :class:`Config`, the call's arguments in canonical
terms, so the benchmark can estimate the share of the configuration space it covers. Every function
here is a valid ``--impl`` target::

    pytest conformance --impl benchmarks/planted_faults.py:channel_remainder_17
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import oracles


@dataclass(frozen=True)
class Config:
    """One call in canonical terms, per spatial dim: input ``i``, kernel ``k``, stride ``s``, dilation
    ``d``, effective kernel ``K = d(k-1)+1``, crops ``cb``/``ca`` (``ca`` without the output padding),
    output padding ``op`` and output length ``o``; channels, groups, batch (None: unbatched), bias, dtype."""

    i: tuple
    k: tuple
    s: tuple
    d: tuple
    cb: tuple
    ca: tuple
    op: tuple
    groups: int
    in_channels: int
    out_channels: int
    batch: int | None
    bias: bool
    dtype: str

    @property
    def ndim(self) -> int:
        return len(self.i)

    @property
    def K(self) -> tuple:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.k, self.d))

    @property
    def o(self) -> tuple:
        return tuple((i - 1) * s + K - cb - ca for i, s, K, cb, ca in zip(self.i, self.s, self.K, self.cb, self.ca))

    @classmethod
    def of_call(cls, x, w, bias, *, stride, padding, output_padding, dilation, groups) -> "Config":
        ndim = w.ndim - 2
        batched = x.ndim == ndim + 2
        return cls(
            i=tuple(x.shape[-ndim:]), k=tuple(w.shape[2:]), s=tuple(stride), d=tuple(dilation),
            cb=tuple(before for before, _ in padding), ca=tuple(after - op for (_, after), op in zip(padding, output_padding)),
            op=tuple(output_padding), groups=groups, in_channels=w.shape[0], out_channels=w.shape[1] * groups,
            batch=x.shape[0] if batched else None, bias=bias is not None, dtype=str(x.dtype),
        )


def _dims(config):
    return zip(config.i, config.k, config.s, config.d, config.K, config.cb, config.ca, config.op, config.o)


# Each region: (description, predicate). Kept narrow: time_to_find.py prints each one's share of its
# reference configuration space, which must stay at or below 1%.
REGIONS = {
    "op_beyond_stride_crop_k": (
        "1-D, output_padding > stride >= 2 and a start crop of at least K (a zero-insertion branch taken wrongly)",
        lambda c: c.ndim == 1 and any(op > s >= 2 and cb >= K for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
    "start_crop_k_dilated": (
        "2-D float32, a start crop of exactly K with dilation >= 2 and stride >= 2 (zero-insertion padding K-1-cb = -1 on a dilated kernel)",
        lambda c: c.ndim == 2 and c.dtype == "float32" and any(cb == K and d >= 2 and s >= 2 for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
    "channel_remainder_17": (
        "ungrouped, input channels = 1 mod 16 above 16 (17, 33, ...: a vector loop's one-channel remainder)",
        lambda c: c.groups == 1 and c.in_channels > 16 and c.in_channels % 16 == 1,
    ),
    "output_channel_tile_32": (
        "2-D ungrouped, output channels a multiple of 32 (a tile of 32 output channels, its last one dropped)",
        lambda c: c.ndim == 2 and c.groups == 1 and c.out_channels % 32 == 0,
    ),
    "output_length_64": (
        "an output length of exactly 64 in the last dim (a tiling edge)",
        lambda c: c.o[-1] == 64,
    ),
    "long_output_1d": (
        "1-D, an output longer than 128 (a second tile of a 128-wide kernel)",
        lambda c: c.ndim == 1 and c.o[0] > 128,
    ),
    "float64_depthwise": (
        "float64 depthwise (groups > 1, one input and one output channel per group): a dtype-specialised path",
        lambda c: c.dtype == "float64" and c.groups > 1 and c.in_channels == c.groups == c.out_channels,
    ),
    "input_one_extension_3d": (
        "3-D, an input of length 1 in every dim and an end extended (negative end crop) in one",
        lambda c: c.ndim == 3 and all(i == 1 for i in c.i) and any(ca < 0 for ca in c.ca),
    ),
    "last_output_only_2d": (
        "2-D float64, a dim cropped to its last full-length element (start crop = full length - 1, one output)",
        lambda c: c.ndim == 2 and c.dtype == "float64" and any(o == 1 and cb == (i - 1) * s + K - 1 for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
    "dilation_output_padding_3d": (
        "3-D, output_padding >= stride made possible by dilation in every dim (op >= s, d > s: PyTorch's op < max(s, d))",
        lambda c: c.ndim == 3 and all(op >= s and d > s for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
    "gap_bias_float32_2d": (
        "2-D float32 with bias and gaps in both dims (stride > effective kernel): the bias skipped between taps",
        lambda c: c.ndim == 2 and c.dtype == "float32" and c.bias and all(s > K for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
    "unbatched_grouped_3d": (
        "3-D unbatched input with groups > 1 and kernel = stride in every dim",
        lambda c: c.ndim == 3 and c.batch is None and c.groups > 1 and all(k == s for i, k, s, d, K, cb, ca, op, o in _dims(c)),
    ),
}


def _planted(name):
    description, region = REGIONS[name]

    def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
        out = oracles.conv_transpose(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
        out = np.array(out, dtype=x.dtype)
        if region(Config.of_call(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)) and out.size:
            out.reshape(-1)[-1] += 1  # the planted fault: one element off by one
        return out

    conv_transpose.__name__ = conv_transpose.__qualname__ = name
    conv_transpose.__doc__ = f"The oracle, with the last output element off by one where: {description}."
    return conv_transpose


for _name in REGIONS:
    globals()[_name] = _planted(_name)
