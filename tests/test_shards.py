"""``--shard I/N`` (``conformance.shard``): every N-th test item, deterministically; the union of the
shards, merged by ``convt merge``, checks exactly what one run checks under the ``ci`` profile; a
shard is marked as one in its run line, and misuse is a one-line usage error.

The runs are the suite as a user runs it (a subprocess each): ``--impl`` on the reference
implementation and torch's eager lanes, a few examples a test, so five runs cost about a minute.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conformance import shard
from conformance.records import RECORDS_FILE, read_run
from convt.cli import main
from reports.discrepancies import discrepancy_id

from impl_runs import EXAMPLES, usage_error

pytest_plugins = ["pytester"]
REFERENCE = f"{EXAMPLES / 'reference_impl.py'}:conv_transpose"


def test_the_split_takes_every_nth_item_and_the_shards_cover_each_item_once():
    items = [f"item{number}" for number in range(11)]
    parts = [shard.split(items, index, 4)[0] for index in range(1, 5)]
    assert parts[1] == ["item1", "item5", "item9"]
    assert sorted(sum(parts, [])) == sorted(items) and sum(map(len, parts)) == len(items)
    assert shard.split(items, 2, 4)[1] == [item for item in items if item not in parts[1]]
    assert shard.collection_digest(items) != shard.collection_digest(items[::-1])  # the order is part of the run


@pytest.mark.parametrize("value, message", [
    ("0/4", "--shard 0/4: the shard must be 1 to N"),
    ("5/4", "--shard 5/4: the shard must be 1 to N"),
    ("1/0", "--shard 1/0: the shard must be 1 to N"),
    ("2", "--shard: expected I/N"),
    ("a/b", "--shard: expected I/N"),
    ("", "--shard: expected I/N"),
])
def test_a_bad_shard_is_a_one_line_usage_error(pytester, value, message):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--impl", REFERENCE, "--shard", value)
    usage_error(result, message)


def test_a_shard_beyond_the_items_is_an_error_not_an_empty_green_run(pytester):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--impl", REFERENCE,
                                           "-k", "test_values and not large and not spellings", "--shard", "3/3")
    usage_error(result, "--shard 3/3: the run has 2 test items, so shard 3 holds none; use at most 2 shards")


def _run(pytester, out, *args):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--hypothesis-profile", "ci", "--max-examples", "5",
                                           "--impl", REFERENCE, "--frameworks", "torch", "--modes", "eager", "--report-dir", out, *args)
    assert result.ret == 0, result.stdout.str()[-3000:]
    return result


def _checks(directory):
    run, records = read_run(directory / RECORDS_FILE)
    return run, Counter((record.test, discrepancy_id(record), record.outcome) for record in records)


def test_four_shards_merged_check_exactly_what_one_ci_run_checks(pytester, capsys):
    _run(pytester, "whole")
    for index in range(1, 5):
        result = _run(pytester, f"shard-{index}", "--shard", f"{index}/4")
        result.stdout.fnmatch_lines([f"convt: shard {index}/4: test items {index}, {index + 4}, {index + 8}, ... in collection order",
                                     f"shard {index}/4: * of * test items (run *)*"])
    assert main(["merge", str(pytester.path / "merged"), *(str(pytester.path / f"shard-{index}") for index in range(1, 5))]) == 0
    capsys.readouterr()
    whole_run, whole = _checks(pytester.path / "whole")
    merged_run, merged = _checks(pytester.path / "merged")
    assert merged == whole and sum(whole.values()) > 150
    totals = [json.loads((pytester.path / name / "summary.json").read_text())["totals"] for name in ("whole", "merged")]
    assert totals[0] == totals[1]
    assert merged_run["draws"] == whole_run["draws"]
    shards = [read_run(pytester.path / f"shard-{index}" / RECORDS_FILE)[0]["shard"] for index in range(1, 5)]
    assert len({s["collection"] for s in shards}) == 1 and sum(s["items"] for s in shards) == shards[0]["items_total"]
    page = (pytester.path / "shard-2" / "report.html").read_text()
    assert 'id="shard"' in page and f"shard 2/4: {shards[1]['items']} of {shards[1]['items_total']} test items" in page
    assert merged_run["merged"]["shards"][0]["held"] == [1, 2, 3, 4] and whole_run["shard"] is None
    assert main(["compare", str(pytester.path / "whole"), str(pytester.path / "merged")]) == 0
