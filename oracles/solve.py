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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .geometry import is_int

#: The solver refuses to build more Solution objects than this (pass ``limit`` or narrow the bounds).
MAX_SOLUTIONS = 100_000
#: The solver refuses to scan more ``(k, s, d, op)`` candidates than this.
MAX_CANDIDATES = 50_000_000


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


def is_lossless(input_size: int, output_size: int, *, kernel: int, stride: int, padding: int, dilation: int) -> bool:
    """True when every input reaches an output; ``p <= d*(k-1)`` when ``d <= O`` (see the module docstring)."""
    if dilation <= output_size:
        return padding <= dilation * (kernel - 1)
    return bool(reached_inputs(input_size, output_size, kernel=kernel, stride=stride, padding=padding, dilation=dilation).all())


def default_bounds(input_size: int, output_size: int) -> dict:
    """The search bounds used when an argument is None.

    strides ``1 .. ceil(O/I) + 1`` (a transposed conv upsamples by about its stride; one more is
    kept so the neighbours of the ratio show), kernels ``1 .. max(16, O)``, dilation ``1``.
    """
    return {
        "strides": tuple(range(1, -(-output_size // input_size) + 2)),
        "kernels": tuple(range(1, max(16, output_size) + 1)),
        "dilations": (1,),
    }


def solve(input_size: int, output_size: int, *, stride=None, kernel=None, dilation=None, max_kernel=None, limit=None) -> list[Solution]:
    """Every ``(k, s, p, op, d)`` within bounds with ``O = (I-1)*s - 2*p + d*(k-1) + op + 1``, natural first.

    Args:
        input_size, output_size: ``I`` and ``O``, positive.
        stride, kernel, dilation: None for the default range (:func:`default_bounds`), an int, or an
            iterable of ints (e.g. ``range(1, 4)``) to search.
        max_kernel: kernels ``1 .. max_kernel`` when ``kernel`` is None (default ``max(16, O)``).
        limit: return only the first ``limit`` solutions of the order below.

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
        ValueError: non-positive sizes or bounds, more than :data:`MAX_CANDIDATES` candidates to
            scan, or more than :data:`MAX_SOLUTIONS` solutions to return while ``limit`` is None.
    """
    table = _solution_table(input_size, output_size, stride, kernel, dilation, max_kernel)
    count = len(table[0])
    if limit is not None:
        if not is_int(limit) or limit < 0:
            raise ValueError(f"limit must be a non-negative integer or None; got limit={limit!r}")
        count = min(count, int(limit))
    elif count > MAX_SOLUTIONS:
        raise ValueError(
            f"{count} solutions map {input_size} -> {output_size} within these bounds, more than {MAX_SOLUTIONS}; "
            f"pass a limit or narrow stride, kernel, dilation or max_kernel"
        )
    columns = [column[:count].tolist() for column in table]
    return [Solution(k, s, p, op, d, bool(lossless)) for k, s, p, op, d, lossless in zip(*columns)]


def count_solutions(input_size: int, output_size: int, *, stride=None, kernel=None, dilation=None, max_kernel=None) -> int:
    """How many solutions :func:`solve` would return with no ``limit`` (same arguments and bounds)."""
    return len(_solution_table(input_size, output_size, stride, kernel, dilation, max_kernel)[0])


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
        dropped = input_size - int(reached_inputs(
            input_size, output_size, kernel=first.kernel, stride=first.stride, padding=first.padding, dilation=first.dilation
        ).sum())
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


def _solution_table(input_size, output_size, stride, kernel, dilation, max_kernel):
    """Sorted columns ``(k, s, p, op, d, lossless)`` of every solution, as NumPy arrays."""
    if not is_int(input_size) or input_size < 1:
        raise ValueError(f"input_size must be a positive integer; got input_size={input_size!r}")
    if not is_int(output_size) or output_size < 1:
        raise ValueError(f"output_size must be a positive integer; got output_size={output_size!r}")
    defaults = default_bounds(input_size, output_size)
    if max_kernel is not None:
        if not is_int(max_kernel) or max_kernel < 1:
            raise ValueError(f"max_kernel must be a positive integer; got max_kernel={max_kernel!r}")
        defaults["kernels"] = tuple(range(1, int(max_kernel) + 1))
    strides = _bound(stride, defaults["strides"], "stride")
    kernels = np.array(_bound(kernel, defaults["kernels"], "kernel"), dtype=np.int64)
    dilations = _bound(dilation, defaults["dilations"], "dilation")
    candidates = len(kernels) * sum(max(s, d) for s in strides for d in dilations)
    if candidates > MAX_CANDIDATES:
        raise ValueError(
            f"{candidates} (kernel, stride, dilation, output_padding) candidates to scan for {input_size} -> {output_size}, "
            f"more than {MAX_CANDIDATES}; narrow stride, kernel, dilation or max_kernel"
        )
    parts = []
    for s in strides:
        for d in dilations:
            # op < s or op < d (torch's rule); each (k, op) then fixes 2p.
            ops = np.arange(max(s, d), dtype=np.int64)
            twice_p = (input_size - 1) * s + d * (kernels[:, None] - 1) + ops[None, :] + 1 - output_size
            rows, cols = np.nonzero((twice_p >= 0) & (twice_p % 2 == 0))
            k, op, p = kernels[rows], ops[cols], twice_p[rows, cols] // 2
            if d <= output_size:
                lossless = p <= d * (k - 1)
            else:  # taps d apart can straddle the whole output: check every input.
                lossless = np.array([
                    is_lossless(input_size, output_size, kernel=int(ki), stride=s, padding=int(pi), dilation=d)
                    for ki, pi in zip(k, p)
                ], dtype=bool)
            parts.append((k, np.full_like(k, s), p, op, np.full_like(k, d), lossless))
    k, s, p, op, d, lossless = (np.concatenate(column) for column in zip(*parts))
    kernel_class = np.where(k == s, 0, np.where(k % s == 0, 1, 2))
    # np.lexsort sorts by the last key first.
    order = np.lexsort((op, s, d, d != 1, k, kernel_class, p, op != 0, ~lossless))
    return tuple(column[order] for column in (k, s, p, op, d, lossless))


def _bound(value, default: tuple, name: str) -> tuple[int, ...]:
    """None -> ``default``; an int -> ``(value,)``; an iterable of positive ints -> sorted unique tuple."""
    if value is None:
        return default
    values = (value,) if is_int(value) else tuple(value) if _iterable(value) else None
    if values is None or not values or not all(is_int(v) for v in values):
        raise ValueError(f"{name} must be a positive integer or a non-empty collection of them; got {name}={value!r}")
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must be positive; got {name}={value!r}")
    return tuple(sorted({int(v) for v in values}))


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return not isinstance(value, (str, bytes))


__all__ = [
    "MAX_CANDIDATES",
    "MAX_SOLUTIONS",
    "Solution",
    "count_solutions",
    "default_bounds",
    "explain_no_lossless",
    "is_lossless",
    "reached_inputs",
    "solve",
]
