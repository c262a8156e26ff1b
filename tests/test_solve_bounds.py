"""``convt solve`` and ``convt same-table`` do bounded work: huge ranges are answered without stepping
through them, or refused in one line naming the option and the limit, never by growing without end.

Each command runs in a subprocess capped at 1 GiB of address space and 60 s, so a regression fails
the test instead of taking the machine's memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

from oracles.dialects.same_table import same_table
from oracles.solve import MAX_COMBINATIONS, MAX_SOLUTIONS, solve

MEMORY = 1 << 30
BILLION = "1..1000000000"


def _cap():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def convt(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convt", *argv], capture_output=True, text=True, timeout=60, preexec_fn=_cap)


def refused(*argv) -> str:
    done = convt(*argv)
    assert done.returncode == 2 and done.stdout == "", (done.returncode, done.stdout, done.stderr[-2000:])
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("convt: error: ") and "Traceback" not in done.stderr, done.stderr
    return done.stderr


# -- solve: any kernel range, only the rows shown built -----------------------------------------------


def test_a_billion_kernels_are_answered_and_the_first_rows_are_those_of_a_small_range():
    done = convt("solve", "-i", "4", "-o", "8", "--kernel", BILLION)
    assert done.returncode == 0, done.stderr[-2000:]
    small = convt("solve", "-i", "4", "-o", "8", "--kernel", "1..100")
    assert done.stdout.splitlines()[1:23] == small.stdout.splitlines()[1:23]
    assert done.stdout.startswith("4 -> 8: 2999999998 solutions") and "showing 20 of 2999999998" in done.stdout


def test_a_billion_kernels_are_counted_exactly():
    """Past the smallest kernels every two more kernels add one solution per (stride, output_padding, parity)."""
    def count(top):  # the header's count, from a capped subprocess like every huge range here
        done = convt("solve", "-i", "4", "-o", "8", "--kernel", f"1..{top}", "--limit", "1")
        assert done.returncode == 0, done.stderr[-2000:]
        return int(done.stdout.split()[3])

    assert count(10**9) - count(10**9 - 2) == count(1000) - count(998) > 0
    assert count(10**9) - count(1000) == (10**9 - 1000) // 2 * (count(1000) - count(998))


def test_max_kernel_of_a_billion_is_answered():
    done = convt("solve", "-i", "4", "-o", "8", "--max-kernel", "1000000000", "--limit", "3", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == [s.as_dict() for s in solve(4, 8, limit=3)]


def test_a_huge_input_is_answered_with_the_inputs_dropped_counted():
    done = convt("solve", "-i", "1000000000000", "-o", "8")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no: drops 999999999992" in done.stdout and "drops 999999999992 of 1000000000000 inputs" in done.stdout


@pytest.mark.parametrize("argv, option", [
    (("-i", "4", "-o", "1000000000000"), "--stride 1..250000000001 (the default, 1..ceil(O/I)+1) with --dilation 1 makes at least"),
    (("-i", "4", "-o", "8", "--stride", BILLION), f"--stride {BILLION} with --dilation 1 makes at least"),
    (("-i", "4", "-o", "8", "--dilation", BILLION), f"--stride 1..3 (the default, 1..ceil(O/I)+1) with --dilation {BILLION} makes at least"),
    (("-i", "4", "-o", "8", "--dilation", "1000000000"), "with --dilation 1000000000 makes at least 3000000000"),
], ids=["huge-output", "stride-range", "dilation-range", "huge-dilation"])
def test_too_many_combinations_are_refused_naming_the_option_and_the_limit(argv, option):
    err = refused("solve", *argv)
    assert option in err and f"combinations to search, more than {MAX_COMBINATIONS}" in err, err


@pytest.mark.parametrize("argv, expected", [
    (("--kernel", BILLION, "--json"), f"2999999998 solutions map 4 -> 8 within these bounds; pass --limit N (at most {MAX_SOLUTIONS} without it)"),
    (("--kernel", BILLION, "--limit", "0"), "2999999998 solutions map 4 -> 8"),
    (("--kernel", BILLION, "--limit", "1000000"), f"--limit 1000000: 1000000 of 2999999998 solutions to list, more than {MAX_SOLUTIONS}"),
], ids=["json", "limit-0", "limit-huge"])
def test_listing_too_many_rows_is_refused_naming_limit(argv, expected):
    assert expected in refused("solve", "-i", "4", "-o", "8", *argv)


@pytest.mark.parametrize("argv, option", [
    (("-i", "99999999999999999999999", "-o", "8"), "--input"),
    (("-i", "4", "-o", "8", "--kernel", "1..100000000000000000000"), "--kernel"),
], ids=["huge-input", "kernel-beyond-int64"])
def test_sizes_beyond_exact_arithmetic_are_refused_naming_the_option(argv, option):
    err = refused("solve", *argv)
    assert "beyond 2**62 where solve's integer arithmetic stays exact" in err and err.rstrip().endswith(f"narrow {option}"), err


def test_the_text_hint_does_not_promise_all_rows_beyond_the_limit():
    done = convt("solve", "-i", "1", "-o", "224", "--limit", "2")
    assert done.returncode == 0 and f"... showing 2 of 968296; --limit N shows up to {MAX_SOLUTIONS}" in done.stdout


# -- same-table: the rows are the output, so their number is bounded ----------------------------------


@pytest.mark.parametrize("argv, rows", [
    (("--kernel", BILLION), "3000000000 rows (--input 1 x --kernel 1000000000 x --stride 3 x --dilation 1)"),
    (("--input", "1..100", "--kernel", "1..100", "--stride", "1..100", "--differing"), "1000000 rows (--input 100 x --kernel 100 x --stride 100 x --dilation 1)"),
], ids=["kernel-billion", "cube"])
def test_same_table_refuses_more_rows_than_its_limit(argv, rows):
    err = refused("same-table", *argv)
    assert rows in err and "more than 10000" in err, err


def test_same_table_answers_up_to_its_limit():
    done = convt("same-table", "--kernel", "1..100", "--stride", "1..100", "--json")
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 10000


def test_same_table_answers_huge_sizes():
    done = convt("same-table", "--input", "1000000000000", "--kernel", "1000000000000", "--stride", "1000000000000", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["input_size"] == 10**12
    assert same_table([10**12], [3], [2])[0].cells  # the oracle needs no bound of its own for one row


def test_reached_count_of_huge_sizes_is_immediate():
    """By taps: with d > O each input meets the output through at most one tap (k small here)."""
    code = (
        "from oracles.solve import reached_count\n"
        "I, O, k, s, p, d = 10**20, 5, 3, 7, 10**19, 10**13\n"
        "print(reached_count(I, O, kernel=k, stride=s, padding=p, dilation=d))\n"
        "print(sum(len([j for j in range(-((t * d - p) // s), (p - t * d + O - 1) // s + 1) if 0 <= j < I]) for t in range(k)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, preexec_fn=_cap)
    assert done.returncode == 0, done.stderr[-2000:]
    got, by_taps = done.stdout.split()
    assert got == by_taps == "3"
