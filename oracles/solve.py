"""Which transposed convolutions map length ``I`` to length ``O``: the inverse of the shape formula.

In PyTorch's terms (padding ``p >= 0`` crops both ends, ``output_padding`` extends the end)::

    O = (I-1)*s - 2*p + d*(k-1) + op + 1,     k, s, d >= 1,  p >= 0,  0 <= op < max(s, d)

(``op < s or op < d`` is torch's rule). In canonical terms the crops are ``cb = p`` and
``ca = p - op`` of the full output of length ``L = (I-1)*s + d*(k-1) + 1``.

A solution is *lossless* when every input element reaches at least one output element: for each
``j`` in ``[0, I)`` some tap ``t`` in ``[0, k)`` has ``0 <= j*s + t*d - p < O``. Cropping the
full output can throw whole inputs away (seed 004: ``160 -> 224`` with ``s=2, k=2, p=48`` never
looks at the first and last 24 inputs). When ``d <= O`` this reduces to ``p <= d*(k-1)``: input
``j``'s taps cover ``[j*s - p, j*s - p + d*(k-1)]`` in steps of ``d``, so it is reached iff
``-d*(k-1) <= j*s - p <= O-1``; the left end binds at ``j = 0`` and the right end at ``j = I-1``
follows from the formula for ``O``. Pure NumPy and the standard library.

The search (``oracles.solve_search``) never steps through kernels one by one: any kernel range costs
the same, and only the solutions asked for are built. What it does iterate are the (stride,
dilation, output_padding) combinations, ``sum(max(s, d))`` of them, bounded by
:data:`MAX_COMBINATIONS`.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from .geometry import is_int
from .solve_search import Search, combinations_lower_bound
from .solve_search import combinations as _combinations

#: The solver refuses to build more Solution objects than this (pass ``limit`` or narrow the bounds).
MAX_SOLUTIONS = 100_000
#: The solver refuses to search more (stride, dilation, output_padding) combinations than this:
#: ``output_padding`` takes every value below ``max(stride, dilation)``, so there are ``sum(max(s, d))``.
MAX_COMBINATIONS = 250_000
#: Its arithmetic is exact in int64: ``(I-1)*s + d*(k-1) + op + 1`` must stay below this.
MAX_MAGNITUDE = 2**62


@dataclass(frozen=True)
class Solution:
    """One PyTorch ``ConvTranspose`` configuration with ``O = (I-1)*s - 2*p + d*(k-1) + op + 1``."""

    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    lossless: bool

    @property
    def crop(self) -> tuple[int, int]:
        """Canonical ``(crop_before, crop_after) = (p, p - op)`` of the full output (negative = zeros appended)."""
        return (self.padding, self.padding - self.output_padding)

    def as_dict(self) -> dict:
        """The six fields as a JSON-ready dict (keys: kernel, stride, padding, output_padding, dilation, lossless)."""
        return asdict(self)


def reached_inputs(input_size: int, output_size: int, *, kernel: int, stride: int, padding: int, dilation: int) -> np.ndarray:
    """Boolean mask over inputs ``j``: does some tap ``t < k`` land at ``0 <= j*s + t*d - p < O``?

    Exact for any dilation: the first tap at or after output 0 is ``t0 = max(0, ceil((p - j*s)/d))``,
    and ``j`` is reached iff ``t0 <= k-1`` and ``j*s - p + t0*d < O``.
    """
    start = np.arange(input_size, dtype=np.int64) * stride - padding
    first_tap = np.maximum(0, -(start // dilation))  # -(a // d) == ceil(-a / d)
    return (first_tap <= kernel - 1) & (start + first_tap * dilation < output_size)


def reached_count(input_size: int, output_size: int, *, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """How many inputs reach an output: ``reached_inputs(...).sum()`` in O(log) time, for any sizes.

    Input ``j`` is reached iff ``-d*(k-1) <= j*s - p <= O-1`` and (only binding when ``d > O``, taps
    further apart than the output) ``(j*s - p) mod d < O``: see ``oracles.solve_search``. The first
    condition is a range of ``j``; over it, with ``O < d``, ``floor(x/d) - floor((x-O)/d)`` is 1
    exactly when ``x mod d < O``, so the count is a difference of two sums of floors.
    """
    first = max(0, -((dilation * (kernel - 1) - padding) // stride))  # ceil((p - d*(k-1)) / s)
    last = min(input_size - 1, (padding + output_size - 1) // stride)
    if last < first:
        return 0
    count = last - first + 1
    if dilation <= output_size:
        return count
    at_first = stride * first - padding
    return _floor_sum(count, dilation, stride, at_first) - _floor_sum(count, dilation, stride, at_first - output_size)


def _floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum(floor((a*i + b) / m) for i in range(n))`` for ``m > 0`` in O(log) steps (the Euclid-like
    reduction of AtCoder's floor_sum), on Python ints of any size."""
    total = 0
    while True:
        quotient, a = divmod(a, m)  # floor division: negative a and b are normalized too
        total += quotient * n * (n - 1) // 2
        quotient, b = divmod(b, m)
        total += quotient * n
        top = a * n + b
        if top < m:
            return total
        n, b, m, a = top // m, top % m, a, m


def is_lossless(input_size: int, output_size: int, *, kernel: int, stride: int, padding: int, dilation: int) -> bool:
    """True when every input reaches an output; ``p <= d*(k-1)`` when ``d <= O`` (see the module docstring)."""
    if dilation <= output_size:
        return padding <= dilation * (kernel - 1)
    return reached_count(input_size, output_size, kernel=kernel, stride=stride, padding=padding, dilation=dilation) == input_size


def default_bounds(input_size: int, output_size: int) -> dict:
    """The search bounds used when an argument is None, as ranges (never built as lists).

    strides ``1 .. ceil(O/I) + 1`` (a transposed conv upsamples by about its stride; one more is
    kept so the neighbours of the ratio show), kernels ``1 .. max(16, O)``, dilation ``1``.
    """
    return {
        "strides": range(1, -(-output_size // input_size) + 2),
        "kernels": range(1, max(16, output_size) + 1),
        "dilations": range(1, 2),
    }


def solve(input_size: int, output_size: int, *, stride=None, kernel=None, dilation=None, max_kernel=None, limit=None) -> list[Solution]:
    """Every ``(k, s, p, op, d)`` within bounds with ``O = (I-1)*s - 2*p + d*(k-1) + op + 1``, natural first.

    Args:
        input_size, output_size: ``I`` and ``O``, positive.
        stride, kernel, dilation: None for the default range (:func:`default_bounds`), an int, or an
            iterable of ints (e.g. ``range(1, 4)``) to search.
        max_kernel: kernels ``1 .. max_kernel`` when ``kernel`` is None (default ``max(16, O)``).
        limit: return only the first ``limit`` solutions of the order below; only those are built,
            so the kernel range may be huge.

    Each ``(k, s, d, op)`` fixes ``2p``, so the search is finite and complete within the bounds.
    Order ("natural choices first"), by these keys in turn:

    1. lossless before lossy;
    2. ``output_padding == 0`` before ``output_padding > 0``;
    3. smaller padding;
    4. ``kernel == stride``, then ``kernel`` a multiple of ``stride``, then the rest;
    5. smaller kernel;
    6. dilation 1 first, then smaller dilation;
    7. smaller stride, then smaller output_padding.

    Raises:
        ValueError: non-positive sizes or bounds, more than :data:`MAX_COMBINATIONS` (stride,
            dilation, output_padding) combinations to search, sizes beyond :data:`MAX_MAGNITUDE`, or
            more than :data:`MAX_SOLUTIONS` solutions to return (all of them while ``limit`` is None).
    """
    if limit is not None and (not is_int(limit) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None; got limit={limit!r}")
    search = _search(input_size, output_size, stride, kernel, dilation, max_kernel)
    if limit is None and search.total > MAX_SOLUTIONS:
        raise ValueError(
            f"{search.total} solutions map {input_size} -> {output_size} within these bounds, more than {MAX_SOLUTIONS}; "
            f"pass a limit or narrow stride, kernel, dilation or max_kernel"
        )
    if limit is not None and min(limit, search.total) > MAX_SOLUTIONS:
        raise ValueError(f"limit={limit} asks for {min(limit, search.total)} of {search.total} solutions, more than {MAX_SOLUTIONS}")
    columns = [column.tolist() for column in search.first(None if limit is None else int(limit))]
    return [Solution(k, s, p, op, d, bool(lossless)) for k, s, p, op, d, lossless in zip(*columns)]


def count_solutions(input_size: int, output_size: int, *, stride=None, kernel=None, dilation=None, max_kernel=None) -> int:
    """How many solutions :func:`solve` would return with no ``limit`` (same arguments and bounds), counted
    without building them."""
    return _search(input_size, output_size, stride, kernel, dilation, max_kernel).total


def combinations(input_size: int, output_size: int, *, stride=None, dilation=None) -> int:
    """How many (stride, dilation, output_padding) combinations the search goes through: ``sum(max(s, d))``.

    Exact up to :data:`MAX_COMBINATIONS`; above it, a lower bound that is above it too (so a caller can
    refuse with a number without the sum being computed over a huge range).
    """
    defaults = default_bounds(_size(input_size, "input_size"), _size(output_size, "output_size"))
    strides, dilations = _values(stride, defaults["strides"], "stride"), _values(dilation, defaults["dilations"], "dilation")
    bound = combinations_lower_bound(strides, dilations)
    return bound if bound > MAX_COMBINATIONS else _combinations(strides, dilations)


def explain_no_lossless(input_size: int, output_size: int, solutions, *, stride=None, kernel=None, dilation=None, max_kernel=None):
    """A message for when no solution is lossless (or none exists), or None when one is lossless.

    It names how many inputs the first solution drops, points to resizing (interpolation or adaptive
    pooling), and, when the kernel was left free, names the smallest lossless kernel at the same
    strides and dilations beyond ``max_kernel``, if one exists below ``4*O + 16``.
    """
    solutions = list(solutions)
    if any(s.lossless for s in solutions):
        return None
    lines = []
    if solutions:
        first = solutions[0]
        dropped = input_size - reached_count(
            input_size, output_size, kernel=first.kernel, stride=first.stride, padding=first.padding, dilation=first.dilation
        )
        lines.append(
            f"No lossless solution for {input_size} -> {output_size} within these bounds: every one crops away inputs "
            f"(the first, kernel {first.kernel} stride {first.stride} padding {first.padding}, "
            f"drops {dropped} of {input_size} inputs)."
        )
    else:
        lines.append(f"No transposed convolution maps {input_size} -> {output_size} within these bounds.")
    lines.append(
        f"A transposed convolution upsamples by its stride; to resize {input_size} -> {output_size}, use interpolation "
        f"(torch.nn.functional.interpolate(x, size=...), torchvision.transforms.Resize, tf.image.resize, "
        f"jax.image.resize) or adaptive pooling (torch.nn.AdaptiveAvgPool2d), followed by a convolution if learned "
        f"filtering is wanted."
    )
    if kernel is None:
        try:
            wider = solve(input_size, output_size, stride=stride, dilation=dilation, max_kernel=4 * output_size + 16, limit=1)
        except ValueError:  # too many candidates to scan: the hint is optional
            wider = []
        if wider and wider[0].lossless:
            best = wider[0]
            lines.append(
                f"Beyond max_kernel: kernel {best.kernel} stride {best.stride} padding {best.padding} "
                f"output_padding {best.output_padding} dilation {best.dilation} is lossless."
            )
    return "\n".join(lines)


def _search(input_size, output_size, stride, kernel, dilation, max_kernel) -> Search:
    """Validate the bounds, refuse what cannot be searched exactly and quickly, and set up the search."""
    input_size, output_size = _size(input_size, "input_size"), _size(output_size, "output_size")
    defaults = default_bounds(input_size, output_size)
    if max_kernel is not None:
        if not is_int(max_kernel) or max_kernel < 1:
            raise ValueError(f"max_kernel must be a positive integer; got max_kernel={max_kernel!r}")
        defaults["kernels"] = range(1, int(max_kernel) + 1)
    strides = _values(stride, defaults["strides"], "stride")
    kernel_runs = _runs(_values(kernel, defaults["kernels"], "kernel"))
    dilations = _values(dilation, defaults["dilations"], "dilation")
    searched = combinations_lower_bound(strides, dilations)
    if searched <= MAX_COMBINATIONS:
        searched = _combinations(strides, dilations) * len(kernel_runs)
    if searched > MAX_COMBINATIONS:
        raise ValueError(
            f"{searched} (stride, dilation, output_padding{', kernel run' if len(kernel_runs) > 1 else ''}) combinations to "
            f"search for {input_size} -> {output_size}, more than {MAX_COMBINATIONS} (output_padding takes every value below "
            f"max(stride, dilation)); narrow stride or dilation"
        )
    largest = (input_size - 1) * strides[-1] + dilations[-1] * (kernel_runs[-1][1] - 1) + max(strides[-1], dilations[-1]) + output_size
    if largest >= MAX_MAGNITUDE:
        raise ValueError(
            f"(I-1)*s + d*(k-1) + op + 1 reaches {largest} for {input_size} -> {output_size} within these bounds, beyond "
            f"2**62 where the solver's integer arithmetic stays exact; narrow input_size, stride, kernel or dilation"
        )
    return _build(input_size, output_size, strides, dilations, tuple(kernel_runs))


@functools.lru_cache(maxsize=1)
def _build(input_size, output_size, strides, dilations, kernel_runs) -> Search:
    """The last search, kept: ``convt solve`` counts, lists and explains the same bounds in turn."""
    return Search(input_size, output_size, strides, dilations, kernel_runs)


def _size(value, name: str) -> int:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {name}={value!r}")
    return int(value)


def _values(value, default, name: str):
    """None -> ``default``; an int -> ``range(v, v + 1)``; a range of step 1 -> itself, never iterated;
    another iterable of positive ints -> its sorted unique tuple. Either way sorted, unique, non-empty."""
    if value is None:
        return default
    if isinstance(value, range) and value.step == 1:
        if value.stop <= value.start:
            raise ValueError(f"{name} must be a positive integer or a non-empty collection of them; got {name}={value!r}")
        if value.start < 1:
            raise ValueError(f"{name} must be positive; got {name}={value!r}")
        return value
    values = (value,) if is_int(value) else tuple(value) if _iterable(value) else None
    if values is None or not values or not all(is_int(v) for v in values):
        raise ValueError(f"{name} must be a positive integer or a non-empty collection of them; got {name}={value!r}")
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must be positive; got {name}={value!r}")
    return tuple(sorted({int(v) for v in values}))


def _runs(kernels) -> list[tuple[int, int]]:
    """Sorted kernels as inclusive runs of consecutive values: a range is one run."""
    if isinstance(kernels, range):
        return [(kernels[0], kernels[-1])]
    runs = []
    for k in kernels:
        if runs and k == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return runs


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return not isinstance(value, (str, bytes))


__all__ = [
    "MAX_COMBINATIONS",
    "MAX_MAGNITUDE",
    "MAX_SOLUTIONS",
    "Solution",
    "combinations",
    "count_solutions",
    "default_bounds",
    "explain_no_lossless",
    "is_lossless",
    "reached_count",
    "reached_inputs",
    "solve",
]
