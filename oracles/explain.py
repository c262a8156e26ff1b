"""One output element of a transposed convolution, taken apart into the products that make it.

Canonical form, per spatial dim with ``K = d*(k-1) + 1`` and ``L = (i-1)*s + K``::

    full[n, g*Mg + m, q] = sum over c < Cg and (j, t) with j*s + t*d = q of x[n, g*Cg + c, j] * w[g*Cg + c, m, t]
    y[n, oc, o] = full[n, oc, o + crop_before] + bias[oc]

so output index ``o`` sits at full position ``q = o + crop_before``. When ``q < 0`` or ``q >= L``
the element lies in the zero-extension region (negative crop, or ``output_padding``) and equals
the bias alone. Positions that no input reaches (stride > K) also have no terms.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass

import numpy as np

from .geometry import Geometry, validate_operands


@dataclass(frozen=True)
class Term:
    """One product ``x[input_index] * w[weight_index]`` of the sum (full indices into x and w)."""

    input_index: tuple[int, ...]
    weight_index: tuple[int, ...]
    x: float
    w: float
    product: float

    def as_dict(self) -> dict:
        return {
            "input_index": list(self.input_index),
            "weight_index": list(self.weight_index),
            "x": self.x,
            "w": self.w,
            "product": self.product,
        }


@dataclass(frozen=True)
class Explanation:
    """How ``y[at]`` arises: ``value = fsum(term.product for term in terms) + bias``.

    ``full_position`` is ``at``'s spatial part plus ``crop_before`` per dim; ``crop`` holds the
    canonical ``(crop_before, crop_after)`` pairs (``crop_after`` already net of output_padding);
    ``bias`` is None when no bias was given.
    """

    at: tuple[int, ...]
    value: float
    terms: tuple[Term, ...]
    full_position: tuple[int, ...]
    full_size: tuple[int, ...]
    output_shape: tuple[int, ...]
    crop: tuple[tuple[int, int], ...]
    bias: float | None
    zero_extension: bool

    def as_dict(self) -> dict:
        """JSON-ready: keys value, terms, full_position, crop, bias, zero_extension."""
        return {
            "value": self.value,
            "terms": [term.as_dict() for term in self.terms],
            "full_position": list(self.full_position),
            "crop": [list(pair) for pair in self.crop],
            "bias": self.bias,
            "zero_extension": self.zero_extension,
        }


def explain(x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1, at) -> Explanation:
    """Explain ``oracles.conv_transpose(x, w, bias, ...)[at]`` term by term.

    Arguments are the oracle's (``padding``: int, per-dim ints or per-dim ``(before, after)``
    crops; negative = zero-extension). ``at`` is ``(n, c, *spatial)`` for batched ``x`` and
    ``(c, *spatial)`` for unbatched ``x``. Terms are listed by input channel, then by input
    position; the value is their correctly rounded sum (``math.fsum``) plus the bias, so it can
    differ from the oracle's float64 sum in the last bits for non-integer data.

    Raises:
        ValueError: invalid operands or geometry (the oracle's messages), or ``at`` of the wrong
            rank, with a non-integer entry or out of range.
    """
    x_batched, w, bias, batched = validate_operands(x, w, bias, groups, weight_layout="transpose")
    geometry = Geometry.from_arguments(
        x_batched.shape[2:], w.shape[2:], stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    per_group_in, per_group_out = x_batched.shape[1] // groups, w.shape[1]
    output_shape = (x_batched.shape[0], per_group_out * groups, *geometry.output_size)
    if not batched:
        output_shape = output_shape[1:]
    at = _check_index(at, output_shape, batched)
    n, channel, spatial = (at[0], at[1], at[2:]) if batched else (0, at[0], at[1:])
    group, m = divmod(channel, per_group_out)

    full_position = tuple(o + cb for o, cb in zip(spatial, geometry.crop_before))
    zero_extension = any(q < 0 or q >= L for q, L in zip(full_position, geometry.full_size))
    # Per dim, the (j, t) pairs with j*s + t*d == q, ordered by input position j.
    per_dim = [
        sorted(((q - t * d) // s, t) for t in range(k) if (q - t * d) % s == 0 and 0 <= (q - t * d) // s < i)
        for q, i, k, s, d in zip(full_position, geometry.input_size, geometry.kernel_size, geometry.stride, geometry.dilation)
    ]
    terms = []
    for c in range(per_group_in):
        in_channel = group * per_group_in + c
        for pairs in itertools.product(*per_dim):
            js = tuple(j for j, _ in pairs)
            ts = tuple(t for _, t in pairs)
            x_value = float(x_batched[(n, in_channel, *js)])
            w_value = float(w[(in_channel, m, *ts)])
            input_index = (n, in_channel, *js) if batched else (in_channel, *js)
            terms.append(Term(input_index, (in_channel, m, *ts), x_value, w_value, x_value * w_value))
    bias_value = None if bias is None else float(bias[channel])
    value = math.fsum([t.product for t in terms] + [bias_value or 0.0])
    return Explanation(
        at=at,
        value=value,
        terms=tuple(terms),
        full_position=full_position,
        full_size=geometry.full_size,
        output_shape=output_shape,
        crop=geometry.padding(),
        bias=bias_value,
        zero_extension=zero_extension,
    )


def _check_index(at, shape: tuple[int, ...], batched: bool) -> tuple[int, ...]:
    layout = "(n, c, *spatial)" if batched else "(c, *spatial) for unbatched x"
    try:
        entries = tuple(at)
    except TypeError:
        raise ValueError(f"at must be a sequence {layout} of {len(shape)} integers; got at={at!r}") from None
    if len(entries) != len(shape):
        raise ValueError(
            f"at has {len(entries)} entries but the output has {len(shape)} dims {layout}, shape {shape}; got at={entries}"
        )
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in entries):
        raise ValueError(f"at must be integers; got at={entries!r}")
    entries = tuple(int(v) for v in entries)
    for dim, (index, size) in enumerate(zip(entries, shape)):
        if not 0 <= index < size:
            raise ValueError(f"at[{dim}]={index} is out of range for output dim {dim} of size {size} (output shape {shape})")
    return entries
