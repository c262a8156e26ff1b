"""Canonical geometry of a transposed convolution, and the validation of its arguments.

Per spatial dimension, with input length ``i``, kernel length ``k``, stride ``s`` and dilation ``d``::

    K = d*(k-1) + 1                 effective kernel
    L = (i-1)*s + K                 full output length
    o = L - crop_before - crop_after

A negative crop means that many zeros are appended on that side. ``output_padding`` folds into the
end crop: ``crop_after = pad_after - output_padding``.

Every error is a ``ValueError`` whose message names the parameter and the numbers involved.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


def is_int(value) -> bool:
    # bool is an int subclass; True as a stride is almost always a bug in the caller.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def per_dim(value, ndim: int, name: str) -> tuple[int, ...]:
    """An int, or a sequence of one int per spatial dimension, as a tuple of ``ndim`` ints."""
    if is_int(value):
        return (int(value),) * ndim
    values = _entries(value, ndim, name, "an int or one int per spatial dim")
    if not all(is_int(v) for v in values):
        raise ValueError(f"{name} must be integers; got {name}={values!r}")
    return tuple(int(v) for v in values)


def _entries(value, ndim: int, name: str, expected: str) -> tuple:
    """``value`` as a tuple of ``ndim`` entries; ``ValueError`` saying ``expected`` for a non-sequence."""
    try:
        entries = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be {expected}; got {value!r}") from None
    if len(entries) != ndim:
        raise ValueError(f"{name} has {len(entries)} entries but there are {ndim} spatial dims; got {name}={entries!r}")
    return entries


def padding_pairs(padding, ndim: int, name: str = "padding") -> tuple[tuple[int, int], ...]:
    """``padding`` as one ``(before, after)`` pair per spatial dimension.

    Accepts an int (same at both ends of every dim), one int per dim (same at both ends), or one
    ``(before, after)`` pair per dim.
    """
    if is_int(padding):
        return ((int(padding), int(padding)),) * ndim
    entries = _entries(padding, ndim, name, "an int, one int per dim, or one (before, after) pair per dim")
    pairs = []
    for entry in entries:
        if is_int(entry):
            pairs.append((int(entry), int(entry)))
            continue
        try:
            pair = tuple(entry)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(is_int(v) for v in pair):
            raise ValueError(f"{name} entries must be ints or (before, after) pairs of ints; got {name}={entries!r}")
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def spatial_rank(*values) -> int:
    """The number of spatial dims implied by the first non-int argument (1 when all are ints)."""
    for value in values:
        if not is_int(value):
            try:
                return len(value)
            except TypeError:
                raise ValueError(f"sizes must be an int or one int per spatial dim; got {value!r}") from None
    return 1


def spatial_args(input_size, kernel_size, **named) -> tuple[tuple[int, ...], ...]:
    """``(input_size, kernel_size, *named.values())``, each as one int per spatial dim (:func:`per_dim`).

    The number of dims is :func:`spatial_rank`'s; an error names the argument (``named``'s keys).
    """
    ndim = spatial_rank(input_size, kernel_size)
    named = dict(input_size=input_size, kernel_size=kernel_size, **named)
    return tuple(per_dim(value, ndim, name) for name, value in named.items())


def positive(values: tuple[int, ...], name: str) -> tuple[int, ...]:
    """``values`` unchanged; ``ValueError`` naming ``name`` where a spatial dim is not positive."""
    if any(v <= 0 for v in values):
        raise ValueError(f"{name} must be positive in every spatial dim; got {name}={values}")
    return values


@dataclass(frozen=True)
class Geometry:
    """Per-dimension lengths of one transposed convolution in canonical form (all tuples, one entry per dim)."""

    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    crop_before: tuple[int, ...]
    crop_after: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        """``K = d*(k-1) + 1`` per dim."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def full_size(self) -> tuple[int, ...]:
        """``L = (i-1)*s + K`` per dim: the output before any crop."""
        return tuple((i - 1) * s + K for i, s, K in zip(self.input_size, self.stride, self.effective_kernel))

    @property
    def output_size(self) -> tuple[int, ...]:
        """``o = L - crop_before - crop_after`` per dim."""
        return tuple(L - cb - ca for L, cb, ca in zip(self.full_size, self.crop_before, self.crop_after))

    @classmethod
    def from_arguments(cls, input_size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1) -> "Geometry":
        """Validate oracle-style arguments and fold ``output_padding`` into the end crop.

        Raises ``ValueError`` for non-positive sizes, strides or dilations, a negative
        ``output_padding``, or an output length <= 0.
        """
        input_size, kernel_size, stride, dilation, output_padding = spatial_args(
            input_size, kernel_size, stride=stride, dilation=dilation, output_padding=output_padding
        )
        pairs = padding_pairs(padding, len(input_size))
        positive(kernel_size, "kernel_size")
        positive(input_size, "input_size")
        positive(stride, "stride")
        positive(dilation, "dilation")
        if any(op < 0 for op in output_padding):
            raise ValueError(f"output_padding must be >= 0 in every spatial dim; got output_padding={output_padding}")
        geometry = cls(
            input_size=input_size,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            crop_before=tuple(before for before, _ in pairs),
            crop_after=tuple(after - op for (_, after), op in zip(pairs, output_padding)),
        )
        geometry.require_nonempty_output()
        return geometry

    def require_nonempty_output(self) -> None:
        for dim, (i, s, K, cb, ca, o) in enumerate(
            zip(self.input_size, self.stride, self.effective_kernel, self.crop_before, self.crop_after, self.output_size)
        ):
            if o <= 0:
                raise ValueError(
                    f"output length is {o} in spatial dim {dim}: (i-1)*s + K - cb - ca = "
                    f"({i}-1)*{s} + {K} - {cb} - ({ca}) = {o}, with K = d*(k-1)+1 = {K}; "
                    f"it must be >= 1"
                )

    def padding(self) -> tuple[tuple[int, int], ...]:
        """The canonical ``(crop_before, crop_after)`` pairs, as the oracle's ``padding`` argument."""
        return tuple(zip(self.crop_before, self.crop_after))


def validate_operands(x, w, bias, groups: int, *, weight_layout: str):
    """Check ranks, channel counts and groups; return ``(x, w, bias, batched)`` as float64 arrays.

    ``weight_layout`` is ``"transpose"`` for ``(C_in, C_out/groups, *k)`` or ``"forward"`` for
    ``(C_out, C_in/groups, *k)``. An unbatched ``x`` of shape ``(C, *spatial)`` is returned with a
    batch dim of 1 added and ``batched=False``.
    """
    x = _as_float64(x, "x")
    w = _as_float64(w, "w")
    if w.ndim < 3:
        expected = "(C_in, C_out/groups, *kernel)" if weight_layout == "transpose" else "(C_out, C_in/groups, *kernel)"
        raise ValueError(f"w must have shape {expected} with at least one spatial dim; got w.shape={w.shape}")
    ndim = w.ndim - 2
    if x.ndim == ndim + 1:
        x, batched = x[np.newaxis], False
    elif x.ndim == ndim + 2:
        batched = True
    else:
        raise ValueError(
            f"x must have shape (N, C, *spatial) or (C, *spatial) with {ndim} spatial dims to match w.shape={w.shape}; "
            f"got x.shape={x.shape}"
        )
    if not is_int(groups) or groups <= 0:
        raise ValueError(f"groups must be a positive integer; got groups={groups!r}")
    channels = x.shape[1]
    if weight_layout == "transpose":
        if w.shape[0] != channels:
            raise ValueError(f"x has {channels} input channels but w.shape[0] is {w.shape[0]} (w.shape={w.shape})")
        if channels % groups:
            raise ValueError(f"input channels C_in={channels} are not divisible by groups={groups}")
        out_channels = w.shape[1] * groups
    else:
        if channels % groups:
            raise ValueError(f"input channels C_in={channels} are not divisible by groups={groups}")
        if w.shape[1] * groups != channels:
            raise ValueError(
                f"x has {channels} input channels but w.shape[1]*groups is {w.shape[1]}*{groups} = {w.shape[1] * groups} "
                f"(w.shape={w.shape})"
            )
        if w.shape[0] % groups:
            raise ValueError(f"output channels C_out={w.shape[0]} are not divisible by groups={groups}")
        out_channels = w.shape[0]
    if 0 in w.shape[2:]:
        raise ValueError(f"kernel size must be positive in every spatial dim; got w.shape={w.shape}")
    if 0 in x.shape[2:]:
        raise ValueError(f"input length must be positive in every spatial dim; got x.shape={x.shape}")
    if w.shape[1] == 0 or channels == 0:
        raise ValueError(f"channel counts must be positive; got x.shape={x.shape}, w.shape={w.shape}")
    if bias is not None:
        bias = _as_float64(bias, "bias")
        if bias.shape != (out_channels,):
            raise ValueError(f"bias must have shape (C_out,) = ({out_channels},); got bias.shape={bias.shape}")
    return x, w, bias, batched


def _as_float64(array, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        raise ValueError(f"{name} must hold real numbers; got dtype {array.dtype}")
    return array.astype(np.float64, copy=False)
