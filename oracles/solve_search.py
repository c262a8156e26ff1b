"""The search behind ``oracles.solve``: count and list, in natural order, every ``(k, s, p, op, d)`` with
``O = (I-1)*s - 2*p + d*(k-1) + op + 1`` without stepping through the kernels one by one.

Fix the stride ``s``, dilation ``d``, output_padding ``op`` and the parity of ``k``: then the solutions
are ``k = k0 + 2n`` and ``p = p0 + d*n`` for ``n = 0 .. N-1`` (``2p`` grows by ``2d`` when ``k`` grows by
2). Call that a *sequence*; ``N`` and ``p0`` follow from ``p >= 0`` and the kernel range by arithmetic,
so a kernel range of 10**9 costs what a range of 10 does.

Along a sequence, *lossless* switches at most once, from no to yes. Input ``j``'s taps sit at
``j*s - p + t*d``, ``t < k``; it reaches an output iff ``-d*(k-1) <= j*s - p <= O-1`` and, when
``d > O`` (taps further apart than the output is long), the one tap that can land there does:
``(j*s - p) mod d < O``. Over all inputs the first condition is ``p <= d*(k-1)`` (input 0; input
``I-1``'s end follows from the formula for ``O``), which once true stays true as ``p`` grows by ``d``
and ``d*(k-1)`` by ``2d``; the residue condition does not change at all, since ``p`` moves by
multiples of ``d``. So a sequence is two *runs*, lossy then lossless, and within a run ``p`` strictly
grows.

The natural order sorts by (lossless first, ``op == 0`` first) -- the run's *group* -- then by ``p``,
then by the rest. The first ``limit`` solutions therefore lie at or below a threshold ``(group, p)``
found by binary search over the runs' counts, and only those are built and sorted. The work is
``O(sequences * 64 + limit)``; the sequences number ``2 * sum(max(s, d))`` over the strides and
dilations searched (``op < max(s, d)``), which the caller bounds.
"""

from __future__ import annotations

import math

import numpy as np

# Groups in natural order: (lossless, op == 0), (lossless, op > 0), (lossy, op == 0), (lossy, op > 0).
GROUPS = 4


def combinations_lower_bound(strides, dilations) -> int:
    """A cheap lower bound on ``sum(max(s, d))`` over ``strides x dilations`` (ranges are not iterated)."""
    return max(_sum(strides) * _length(dilations), _sum(dilations) * _length(strides))


def combinations(strides, dilations) -> int:
    """``sum(max(s, d))``: the (stride, dilation, output_padding) combinations searched. Call only when
    :func:`combinations_lower_bound` is small: it builds the ``len(strides) x len(dilations)`` table."""
    s, d = np.asarray(strides, dtype=np.int64), np.asarray(dilations, dtype=np.int64)
    return int(np.maximum.outer(s, d).sum())


class Search:
    """Every solution for ``I -> O`` with strides, dilations (sorted ints) and kernel runs ``[(lo, hi)]``."""

    def __init__(self, input_size: int, output_size: int, strides, dilations, kernel_runs):
        self.input_size, self.output_size = input_size, output_size
        s, d, op = _streams(strides, dilations)
        c = (input_size - 1) * s + op + 1 - output_size  # 2p = d*(k-1) + c
        parts = [_sequences(s, d, op, c, lo, hi, parity) for lo, hi in kernel_runs for parity in (0, 1)]
        s, d, op, k0, p0, count = (np.concatenate(column) for column in zip(*parts))
        # n >= first_lossless: p0 + d*n <= d*(k0 + 2n - 1), i.e. input 0 reached (ceil by floor of the negation).
        first = np.clip(-((d * (k0 - 1) - p0) // d), 0, count)
        far = d > output_size
        if far.any():
            first[far] = np.where(_residues_fit(input_size, output_size, s[far], d[far], p0[far] % d[far]), first[far], count[far])
        group_first = (op != 0).astype(np.int64)
        # Runs: the lossless tail [first, count) and the lossy head [0, first), each with its group.
        self.group = np.concatenate([group_first, group_first + 2])
        self.low = np.concatenate([first, np.zeros_like(first)])
        self.high = np.concatenate([count, first])
        keep = self.high > self.low
        self.group, self.low, self.high = self.group[keep], self.low[keep], self.high[keep]
        self.s, self.d, self.op = (np.concatenate([x, x])[keep] for x in (s, d, op))
        self.k0, self.p0 = (np.concatenate([x, x])[keep] for x in (k0, p0))
        self.size = self.high - self.low
        self.total = _exact_sum(self.size)

    def first(self, limit: int | None) -> tuple:
        """Sorted columns ``(k, s, p, op, d, lossless)`` of the first ``limit`` solutions (all for None)."""
        if limit is None or limit >= self.total:
            return self._sorted(np.arange(len(self.size)), self.low, self.size, None)
        if limit <= 0:
            return self._sorted(np.arange(0), self.low[:0], self.size[:0], 0)
        before = 0
        for group in range(GROUPS):
            in_group = self.group == group
            here = _exact_sum(self.size[in_group])
            if before + here >= limit:
                break
            before += here
        need = limit - before
        runs = np.nonzero(in_group)[0]
        p_low = self.p0[runs] + self.d[runs] * self.low[runs]
        threshold = self._threshold(runs, p_low, need)
        # Everything in earlier groups, this group's elements below the threshold, and those at it (one per run at most).
        below = np.clip((threshold - 1 - p_low) // self.d[runs] + 1, 0, self.size[runs])
        offset = threshold - p_low
        at = (offset >= 0) & (offset % self.d[runs] == 0) & (offset // self.d[runs] < self.size[runs])
        earlier = np.nonzero(self.group < group)[0]
        index = np.concatenate([earlier, runs, runs[at]])
        start = np.concatenate([self.low[earlier], self.low[runs], self.low[runs[at]] + offset[at] // self.d[runs[at]]])
        length = np.concatenate([self.size[earlier], below, np.ones(int(at.sum()), dtype=np.int64)])
        return self._sorted(index, start, length, limit)

    def _threshold(self, runs, p_low, need: int) -> int:
        """The smallest ``P`` with at least ``need`` solutions at ``p <= P`` among ``runs``."""
        d, size = self.d[runs], self.size[runs]
        low, high = int(p_low.min()), int((p_low + d * (size - 1)).max())
        while low < high:
            middle = (low + high) // 2
            # Each run counts at most `need`: the sum stays far from overflowing however long the runs.
            counted = np.minimum(np.clip((middle - p_low) // d + 1, 0, size), need).sum()
            low, high = (low, middle) if counted >= need else (middle + 1, high)
        return low

    def _sorted(self, index, start, length, limit) -> tuple:
        """Build runs ``index`` from ``n = start`` for ``length`` elements each; sort; keep ``limit``."""
        length = np.asarray(length, dtype=np.int64)
        which = np.repeat(index, length)
        n = np.repeat(np.asarray(start, dtype=np.int64), length) + _within(length)
        s, d, op = self.s[which], self.d[which], self.op[which]
        k, p = self.k0[which] + 2 * n, self.p0[which] + d * n
        lossless = self.group[which] < 2
        kernel_class = np.where(k == s, 0, np.where(k % s == 0, 1, 2))
        # np.lexsort sorts by the last key first: the natural order of oracles.solve.solve.
        order = np.lexsort((op, s, d, d != 1, k, kernel_class, p, op != 0, ~lossless))[:limit]
        return tuple(column[order] for column in (k, s, p, op, d, lossless))


def _streams(strides, dilations):
    """Every ``(s, d, op)`` with ``op < max(s, d)`` (torch's rule), as int64 columns."""
    s = np.repeat(np.asarray(strides, dtype=np.int64), len(dilations))
    d = np.tile(np.asarray(dilations, dtype=np.int64), len(strides))
    ops = np.maximum(s, d)
    return np.repeat(s, ops), np.repeat(d, ops), _within(ops)


def _sequences(s, d, op, c, low: int, high: int, parity: int):
    """Per stream, the sequence of kernels ``k ≡ parity (mod 2)`` in ``[low, high]``: ``(s, d, op, k0, p0, N)``."""
    # 2p = d*(k-1) + c must be even: with k-1 ≡ parity+1 (mod 2) that fixes the parity of c.
    even = (d % 2 * ((parity + 1) % 2) + c) % 2 == 0
    smallest = 1 + np.maximum(0, -(c // d))  # p >= 0: d*(k-1) >= -c
    k0 = np.maximum(low, smallest)
    k0 = k0 + (parity - k0) % 2
    count = np.where(even & (k0 <= high), (high - k0) // 2 + 1, 0)
    keep = count > 0
    k0, d_kept, c_kept = k0[keep], d[keep], c[keep]
    return s[keep], d_kept, op[keep], k0, (d_kept * (k0 - 1) + c_kept) // 2, count[keep]


def _residues_fit(input_size: int, output_size: int, s, d, q):
    """Per ``(s, d, q)`` with ``d > O``: is ``(j*s - q) mod d < O`` for every input ``j``? One table of
    allowed ``q`` per ``(s, d)`` pair; the pairs' ``d`` sum to at most the combinations searched."""
    fits = np.zeros(len(s), dtype=bool)
    # One integer per pair (np.unique over an axis sorts far slower); the searched d stay small.
    codes, inverse = np.unique(s * (int(d.max()) + 1) + d, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    ends = np.cumsum(np.bincount(inverse, minlength=len(codes)))
    for code, end, start in zip(codes.tolist(), ends.tolist(), [0, *ends[:-1].tolist()]):
        stride, dilation = divmod(code, int(d.max()) + 1)
        mine = order[start:end]
        fits[mine] = _allowed_shifts(input_size, output_size, stride, dilation)[q[mine]]
    return fits


def _allowed_shifts(input_size: int, output_size: int, stride: int, dilation: int) -> np.ndarray:
    """``allowed[q]``: do the residues ``j*s mod d`` (``j < I``) all lie in ``[q, q + O - 1]`` mod ``d``?

    They do iff the ``d - O`` positions after that window fall in one gap between consecutive
    residues ``r < r'``: ``q`` from ``r + 1 - O`` to ``r' - d``. The gaps are disjoint, so the
    allowed ``q`` number at most ``d``. The residues repeat with period ``d / gcd(s, d)``.
    """
    period = dilation // math.gcd(stride, dilation)
    residues = np.unique(np.arange(min(input_size, period), dtype=np.int64) * stride % dilation)
    following = np.append(residues[1:], residues[0] + dilation)
    wide = following - residues - 1 >= dilation - output_size
    first, last = residues[wide] + 1 - output_size, following[wide] - dilation
    allowed = np.zeros(dilation, dtype=bool)
    allowed[(np.repeat(first, last - first + 1) + _within(last - first + 1)) % dilation] = True
    return allowed


def _within(lengths) -> np.ndarray:
    """``0 .. length-1`` for each length, concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _exact_sum(values) -> int:
    """The sum as a Python int: run lengths can be near 2**62 each, their sum beyond int64."""
    if not len(values) or int(values.max()) < 2**62 // len(values):
        return int(values.sum())
    return sum(values.tolist())


def _sum(values) -> int:
    if isinstance(values, range):
        return (values[0] + values[-1]) * _length(values) // 2
    return sum(values)


def _length(values) -> int:
    """``len``, also of a step-1 range longer than ``sys.maxsize`` (which ``len`` refuses)."""
    return values.stop - values.start if isinstance(values, range) and values.step == 1 else len(values)
