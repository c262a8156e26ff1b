"""oracles.solve: every answer maps I to O, the lossless flag is right, the search is complete, seed 004."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracles
from oracles.solve import (
    MAX_SOLUTIONS,
    Solution,
    count_solutions,
    default_bounds,
    explain_no_lossless,
    reached_count,
    reached_inputs,
    solve,
)


def brute_lossless(I, O, k, s, p, d):
    """Every input j has a tap t with 0 <= j*s + t*d - p < O (canonical formula, no shortcuts)."""
    return all(any(0 <= j * s + t * d - p < O for t in range(k)) for j in range(I))


def brute_solutions(I, O, strides, kernels, dilations):
    """Every (k, s, p, op, d) with torch's rules whose oracle output size is O."""
    found = set()
    for s in strides:
        for d in dilations:
            for k in kernels:
                for op in range(max(s, d)):
                    # O >= 1 bounds p: 2p <= (I-1)*s + d*(k-1) + op.
                    for p in range(((I - 1) * s + d * (k - 1) + op) // 2 + 1):
                        try:
                            size = oracles.output_size(I, k, stride=s, padding=p, output_padding=op, dilation=d)
                        except ValueError:
                            continue
                        if size == (O,):
                            found.add((k, s, p, op, d, brute_lossless(I, O, k, s, p, d)))
    return found


def natural_key(sol: Solution):
    kernel_class = 0 if sol.kernel == sol.stride else 1 if sol.kernel % sol.stride == 0 else 2
    return (not sol.lossless, sol.output_padding != 0, sol.padding, kernel_class, sol.kernel,
            sol.dilation != 1, sol.dilation, sol.stride, sol.output_padding)


def as_tuple(sol: Solution):
    return (sol.kernel, sol.stride, sol.padding, sol.output_padding, sol.dilation, sol.lossless)


@settings(max_examples=60, deadline=None)
@given(
    I=st.integers(1, 7),
    O=st.integers(1, 14),
    max_kernel=st.integers(1, 7),
    max_dilation=st.integers(1, 4),
)
def test_complete_and_correct_within_bounds(I, O, max_kernel, max_dilation):
    dilations = range(1, max_dilation + 1)
    got = solve(I, O, dilation=dilations, max_kernel=max_kernel)
    strides = default_bounds(I, O)["strides"]
    expected = brute_solutions(I, O, strides, range(1, max_kernel + 1), dilations)
    assert {as_tuple(s) for s in got} == expected
    assert len(got) == len(expected) == count_solutions(I, O, dilation=dilations, max_kernel=max_kernel)
    assert [natural_key(s) for s in got] == sorted(natural_key(s) for s in got)


@settings(max_examples=40, deadline=None)
@given(I=st.integers(1, 40), O=st.integers(1, 60), stride=st.integers(1, 5), dilation=st.integers(1, 70))
def test_every_solution_maps_input_to_output(I, O, stride, dilation):
    for sol in solve(I, O, stride=stride, dilation=dilation, max_kernel=20):
        assert oracles.output_size(
            I, sol.kernel, stride=sol.stride, padding=sol.padding, output_padding=sol.output_padding, dilation=sol.dilation
        ) == (O,)
        assert sol.padding >= 0 and 0 <= sol.output_padding < max(sol.stride, sol.dilation)
        assert sol.lossless == brute_lossless(I, O, sol.kernel, sol.stride, sol.padding, sol.dilation)
        reached = reached_inputs(I, O, kernel=sol.kernel, stride=sol.stride, padding=sol.padding, dilation=sol.dilation)
        assert reached.all() == sol.lossless


@settings(max_examples=60, deadline=None)
@given(
    I=st.integers(1, 12), O=st.integers(1, 30), kernels=st.tuples(st.integers(1, 30), st.integers(0, 60)),
    strides=st.tuples(st.integers(1, 5), st.integers(0, 3)), dilations=st.tuples(st.integers(1, 40), st.integers(0, 4)),
    limit=st.integers(0, 120),
)
def test_the_first_solutions_are_the_head_of_all_of_them(I, O, kernels, strides, dilations, limit):
    """The search builds only the first ``limit`` rows (a threshold on the order): they must be the head."""
    bounds = dict(kernel=range(kernels[0], sum(kernels) + 1), stride=range(strides[0], sum(strides) + 1),
                  dilation=range(dilations[0], sum(dilations) + 1))
    every = solve(I, O, **bounds)
    assert solve(I, O, **bounds, limit=limit) == every[:limit]
    assert count_solutions(I, O, **bounds) == len(every)


@settings(max_examples=200, deadline=None)
@given(I=st.integers(1, 50), O=st.integers(1, 40), k=st.integers(1, 30), s=st.integers(1, 9), d=st.integers(1, 120), p=st.integers(0, 400))
def test_reached_count_counts_what_reached_inputs_marks(I, O, k, s, d, p):
    kwargs = dict(kernel=k, stride=s, padding=p, dilation=d)
    assert reached_count(I, O, **kwargs) == int(reached_inputs(I, O, **kwargs).sum())


def test_lossless_flag_matches_the_oracle_output():
    # An input that reaches no output cannot change it: perturb it and compare.
    import numpy as np

    I, O = 9, 13
    for sol in solve(I, O, dilation=range(1, 3), max_kernel=8):
        w = np.arange(1.0, sol.kernel + 1).reshape(1, 1, -1)  # positive taps: a reached input shows
        kwargs = dict(stride=sol.stride, padding=sol.padding, output_padding=sol.output_padding, dilation=sol.dilation)
        silent = []
        for j in range(I):
            x = np.zeros((1, 1, I))
            x[0, 0, j] = 1.0
            silent.append(not np.any(oracles.conv_transpose(x, w, **kwargs)))
        assert sol.lossless == (not any(silent))


# Seed 004: 160 -> 224. Hand arithmetic: O = 159*s - 2p + (k-1) + op + 1.


def test_seed_004_stride_2_solutions_all_crop_and_small_kernels_lose_input():
    sols = solve(160, 224, stride=2, max_kernel=95)
    assert sols and not any(s.lossless for s in sols)
    # k=2, p=48: 318 - 96 + 1 + 1 = 224; the full output has 159*2 + 2 = 320 positions, 96 cropped.
    assert (2, 2, 48, 0, 1, False) in {as_tuple(s) for s in sols}
    assert as_tuple(sols[0]) == (2, 2, 48, 0, 1, False)
    full = (160 - 1) * 2 + 2
    assert full == 320 and full - 224 == 96
    # Input j lands at 2j-48 and 2j-47: j < 24 and j >= 136 reach nothing (48 of 160 dropped).
    reached = reached_inputs(160, 224, kernel=2, stride=2, padding=48, dilation=1)
    assert list(reached.nonzero()[0]) == list(range(24, 136))
    # Every stride-2 answer crops at least 48 at the start: 2p = 94 + k + op >= 96.
    assert all(s.padding >= 48 for s in solve(160, 224, stride=2))


def test_seed_004_stride_2_becomes_lossless_only_at_kernel_96():
    # Not in the seed: with k >= 96 (p = 95) input 0 still reaches output 0 through tap 95.
    lossless = [s for s in solve(160, 224, stride=2) if s.lossless]
    assert lossless and min(s.kernel for s in lossless) == 96
    assert as_tuple(solve(160, 224, stride=2)[0]) == (96, 2, 95, 0, 1, True)


def test_seed_004_stride_1_kernel_65_is_lossless_and_first():
    # 159 + 64 + 1 = 224 with p = 0: no crop at all.
    first = solve(160, 224)[0]
    assert as_tuple(first) == (65, 1, 0, 0, 1, True)
    assert oracles.output_size(160, 65, stride=1) == (224,)


def test_no_lossless_message_points_to_resizing():
    sols = solve(160, 224, stride=2, max_kernel=16)
    message = explain_no_lossless(160, 224, sols, stride=2, max_kernel=16)
    assert "No lossless" in message and "drops 48 of 160" in message
    assert "interpolate" in message and "AdaptiveAvgPool2d" in message
    assert "kernel 96 stride 2 padding 95" in message
    assert explain_no_lossless(160, 224, solve(160, 224)) is None
    empty = solve(10, 5, stride=1, kernel=1)  # 10 - 2p = 5 has no integer p
    assert empty == []
    assert "No transposed convolution maps 10 -> 5" in explain_no_lossless(10, 5, empty, stride=1, kernel=1)


def test_natural_order_examples():
    # 4 -> 8: k == s == 2 without padding beats the stride-1 kernel 5.
    assert as_tuple(solve(4, 8)[0]) == (2, 2, 0, 0, 1, True)
    # The seed 000 configuration (k=4, s=2, p=1) is a solution of 4 -> 8.
    assert (4, 2, 1, 0, 1, True) in {as_tuple(s) for s in solve(4, 8)}


def test_output_padding_follows_torchs_rule():
    # s=1, d=2 allows op=1 (op < dilation).
    sols = {as_tuple(s) for s in solve(3, 6, stride=1, dilation=2, max_kernel=4)}
    assert (2, 1, 0, 1, 2, True) in sols  # 2 + 2 + 1 + 1 = 6


def test_limit_and_size_guard():
    assert count_solutions(1, 224) > MAX_SOLUTIONS
    with pytest.raises(ValueError, match="more than"):
        solve(1, 224)
    assert len(solve(1, 224, limit=3)) == 3
    assert solve(160, 224, limit=1) == solve(160, 224)[:1]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 5), {}, "input_size"),
        ((5, -1), {}, "output_size"),
        ((5, 5), {"stride": 0}, "stride"),
        ((5, 5), {"kernel": []}, "kernel"),
        ((5, 5), {"dilation": True}, "dilation"),
        ((5, 5), {"max_kernel": 0}, "max_kernel"),
        ((5, 5), {"limit": -1}, "limit"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(*args, **kwargs)
