"""``convt merge OUT DIR...`` (``reports.merge``) on written record directories: shards of one run and
jobs of a matrix become one run that ``convt report`` and ``convt compare`` read; what cannot be merged
is refused in one line naming it; memory does not grow with the records merged."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from conformance.records import RECORDS_FILE, Record, read_run, write_run
from convt.cli import main
from reports.discrepancies import discrepancy_id
from reports.merge import merge

COLLECTION = "0123456789abcdef"


def environment(framework="torch", version="2.13.0", devices=("cpu",)):
    return {"framework": framework, "version": version, "devices": list(devices)}


def run_line(*, shard=None, count=4, status="complete", workers=None, python="3.11.7", profile="ci", known=("k1",), matched=1, draws=None):
    return {
        "date": "2026-11-30T00:00:00+00:00", "status": status, "status_reason": "" if status == "complete" else "stopped early",
        "python": python, "platform": "Linux-x86_64",
        "frameworks": workers or {"torch@onednn": environment()},
        "options": {"frameworks": sorted({w.partition("@")[0] for w in (workers or {"torch@onednn": None})}), "devices": [], "dtypes": [],
                    "shard": None if shard is None else f"{shard}/{count}"},
        "shard": None if shard is None else {"index": shard, "count": count, "items": 3, "items_total": 3 * count, "collection": COLLECTION},
        "draws": draws or {"torch.functional-cpu-float32": {"checked": 10, "not_applicable": 1}},
        "hypothesis": {"profile": profile, "max_examples": 100, "derandomize": True, "seed": None},
        "known_discrepancies": [{"id": entry, "framework": "torch", "reason": "r", "link": "", "matched": matched, "lanes_covered": [f"lane-{shard}"]}
                                for entry in known],
    }


def record(outcome="pass", size=4, framework="torch", version="2.13.0", **fields):
    return Record(check="forward", target=f"{framework}.functional", framework=framework, version=version, device="cpu", dtype="float32",
                  precision="default", outcome=outcome, case={"input_size": [size], "kernel_size": [3], "stride": [2], "seed": 0},
                  ratio=0.5 if outcome == "pass" else 8e6, bound=1e-7, max_abs_error=1e-7, test=f"t::test_values[{size}]", **fields)


def shards(tmp_path, count=4, **fields):
    """``count`` shard directories, shard i holding records of sizes 10 i .. 10 i + 2 (one a mismatch)."""
    directories = []
    for index in range(1, count + 1):
        directory = tmp_path / f"shard-{index}"
        records = [record("mismatch" if size == 10 * index else "pass", size) for size in range(10 * index, 10 * index + 3)]
        write_run(directory, run_line(shard=index, count=count, **fields), records)
        directories.append(directory)
    return directories


def one_line_error(capsys, *argv) -> str:
    assert main(list(map(str, argv))) == 2
    err = capsys.readouterr().err
    assert err.startswith("convt: error: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_shards_merge_into_one_complete_run_that_report_and_compare_read(tmp_path, capsys):
    directories = shards(tmp_path)
    assert main(["merge", str(tmp_path / "all"), *map(str, directories)]) == 0
    out = capsys.readouterr().out
    assert "merged 4 runs, 12 records" in out and f"run {COLLECTION}: shards 1, 2, 3, 4 of 4" in out
    run, records = read_run(tmp_path / "all" / RECORDS_FILE)
    expected = [r for directory in directories for r in read_run(directory / RECORDS_FILE)[1]]
    assert [discrepancy_id(r) for r in records] == [discrepancy_id(r) for r in expected]
    assert run["status"] == "complete" and run["shard"] is None
    assert run["merged"]["shards"] == [{"collection": COLLECTION, "count": 4, "items_total": 12, "held": [1, 2, 3, 4], "missing": []}]
    assert [entry["shard"] for entry in run["merged"]["inputs"]] == ["1/4", "2/4", "3/4", "4/4"]
    assert run["draws"] == {"torch.functional-cpu-float32": {"checked": 40, "not_applicable": 4}}
    (known,) = run["known_discrepancies"]
    assert known["matched"] == 4 and known["lanes_covered"] == ["lane-1", "lane-2", "lane-3", "lane-4"]
    summary = json.loads((tmp_path / "all" / "summary.json").read_text())
    assert summary["totals"]["checks"] == 12 and summary["totals"]["mismatch"] == 4 and len(summary["discrepancies"]) == 4
    page = (tmp_path / "all" / "report.html").read_text()
    assert 'id="merged"' in page and "shards 1, 2, 3, 4 of 4" in page
    assert main(["report", str(tmp_path / "all")]) == 0
    assert main(["compare", str(tmp_path / "all"), str(tmp_path / "all")]) == 0


def test_a_missing_shard_is_named_and_an_allowed_one_makes_the_merge_incomplete(tmp_path, capsys):
    directories = shards(tmp_path)
    err = one_line_error(capsys, "merge", tmp_path / "out", directories[0], directories[1], directories[3])
    assert f"missing shard 3/4 of run {COLLECTION} (have 1/4, 2/4, 4/4)" in err and not (tmp_path / "out").exists()
    assert main(["merge", "--allow-missing", str(tmp_path / "out"), *map(str, directories[:2])]) == 0
    run, _ = read_run(tmp_path / "out" / RECORDS_FILE)
    assert run["status"] == "incomplete" and "missing shards 3/4, 4/4" in run["status_reason"]
    capsys.readouterr()
    err = one_line_error(capsys, "compare", tmp_path / "out", tmp_path / "out")
    assert "incomplete" in err and "missing shards 3/4, 4/4" in err


def test_a_lone_shard_cannot_be_gated_on(tmp_path, capsys):
    directories = shards(tmp_path)
    err = one_line_error(capsys, "compare", directories[0], directories[0])
    assert "shard 1/4 of a sharded run" in err and "convt merge" in err


@pytest.mark.parametrize("bad, message", [
    (lambda tmp_path, d: [d[0], d[0]], "given twice"),
    (lambda tmp_path, d: [d[0], d[0].parent / "./shard-1", *d[1:]], "given twice"),
    (lambda tmp_path, d: [tmp_path / "out", *d], "the output is one of the inputs"),
    (lambda tmp_path, d: [tmp_path / "nowhere"], "no such directory"),
])
def test_inputs_that_cannot_be_merged_are_refused(tmp_path, capsys, bad, message):
    directories = shards(tmp_path)
    (tmp_path / "out").mkdir()
    write_run(tmp_path / "out", run_line(), [record()])
    err = one_line_error(capsys, "merge", tmp_path / "out", *bad(tmp_path, directories))
    assert message in err


def test_a_shard_run_twice_is_refused(tmp_path, capsys):
    directories = shards(tmp_path)
    again = tmp_path / "shard-2-again"
    write_run(again, run_line(shard=2), [record()])
    err = one_line_error(capsys, "merge", tmp_path / "out", *directories, again)
    assert f"shard 2/4 of run {COLLECTION} given twice" in err


@pytest.mark.parametrize("fields, difference", [
    ({"workers": {"torch@onednn": environment(version="2.12.0")}}, 'torch@onednn: version "2.13.0"'),
    ({"workers": {"torch@onednn": environment(devices=("cpu", "cuda:0"))}}, "torch@onednn: devices"),
    ({"python": "3.12.1"}, 'python "3.11.7"'),
    ({"profile": "nightly"}, "hypothesis"),
    ({"known": ("k1", "k2")}, "known discrepancies differ"),
])
def test_mixed_environments_are_refused_unless_allowed(tmp_path, capsys, fields, difference):
    first = tmp_path / "first"
    write_run(first, run_line(), [record(size=1)])
    second = tmp_path / "second"
    write_run(second, run_line(**fields), [record(size=2, version=fields.get("workers", {}).get("torch@onednn", {}).get("version", "2.13.0"))])
    err = one_line_error(capsys, "merge", tmp_path / "out", first, second)
    assert "environments differ" in err and difference in err and "--allow-mixed" in err
    assert main(["merge", "--allow-mixed", str(tmp_path / "out"), str(first), str(second)]) == 0
    run, records = read_run(tmp_path / "out" / RECORDS_FILE)
    assert len(records) == 2 and any(difference in line for line in run["merged"]["mixed"])
    assert 'id="mixed"' in (tmp_path / "out" / "report.html").read_text()


def test_two_versions_merged_with_allow_mixed_keep_both_environments_and_matrix_rows(tmp_path):
    write_run(tmp_path / "old", run_line(workers={"torch@onednn": environment(version="2.12.0")}), [record(version="2.12.0")])
    write_run(tmp_path / "new", run_line(workers={"torch@onednn": environment()}), [record(version="2.13.0")])
    merged = merge(tmp_path / "out", [tmp_path / "old", tmp_path / "new"], allow_mixed=True)
    assert [environment["version"] for environment in merged.run["frameworks"].values()] == ["2.12.0", "2.13.0"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sorted(target["version"] for target in summary["targets"]) == ["2.12.0", "2.13.0"]


def test_matrix_jobs_of_other_frameworks_merge_without_allow_mixed(tmp_path):
    write_run(tmp_path / "torch", run_line(workers={"torch@onednn": environment()}), [record()])
    write_run(tmp_path / "jax", run_line(workers={"jax": environment("jax", "0.10.2")}), [record(framework="jax", version="0.10.2")])
    merged = merge(tmp_path / "out", [tmp_path / "torch", tmp_path / "jax"])
    assert set(merged.run["frameworks"]) == {"torch@onednn", "jax"} and merged.run["options"]["frameworks"] == ["torch", "jax"]
    assert merged.run["status"] == "complete" and merged.records == 2


def test_an_interrupted_input_makes_the_merge_not_complete(tmp_path):
    directories = shards(tmp_path)
    write_run(directories[2], run_line(shard=3, status="interrupted"), [record(size=30)])
    merged = merge(tmp_path / "out", directories)
    assert merged.run["status"] == "interrupted" and "shard 3/4" in merged.run["status_reason"] and "interrupted" in merged.run["status_reason"]


def test_a_malformed_record_names_its_line_and_writes_nothing(tmp_path, capsys):
    directories = shards(tmp_path)
    with open(directories[1] / RECORDS_FILE, "a") as stream:
        stream.write("[1, 2]\n")
    err = one_line_error(capsys, "merge", tmp_path / "out", *directories)
    assert f"{directories[1] / RECORDS_FILE}:5: not a record" in err
    assert not (tmp_path / "out" / RECORDS_FILE).exists()


def _merge_peak(tmp_path, per_shard: int) -> tuple[int, int]:
    """Python's peak allocation (tracemalloc) merging four shards of ``per_shard`` records of about 4 KB
    (every 10th a mismatch, so every page shows its 200 sections), and the inputs' total size."""
    repro = "x = 1  # a standalone repro's text\n" * 110  # about 4 KB, like a real failing record's repro
    directories = []
    for index in range(1, 5):
        directory = tmp_path / f"{per_shard}" / f"shard-{index}"
        directory.mkdir(parents=True)
        with open(directory / RECORDS_FILE, "w") as stream:
            stream.write(json.dumps({"run": run_line(shard=index)}) + "\n")
            for size in range(per_shard):
                stream.write(record("mismatch" if size % 10 == 0 else "pass", size + 100_000 * index, repro=repro).to_json() + "\n")
        directories.append(directory)
    tracemalloc.start()
    try:
        merged = merge(tmp_path / f"{per_shard}" / "out", directories)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    summary = json.loads((tmp_path / f"{per_shard}" / "out" / "summary.json").read_text())
    assert merged.records == summary["totals"]["checks"] == 4 * per_shard and len(summary["discrepancies"]) == 4 * -(-per_shard // 10)
    return peak, sum((directory / RECORDS_FILE).stat().st_size for directory in directories)


def test_merging_holds_one_record_at_a_time_not_the_inputs(tmp_path):
    """Four times the records (10 MB of input, then 40 MB) cost the merge no more memory: it holds a
    record at a time, the counts, and the sections a page shows (benchmarks/merge_memory.py measures a
    million records)."""
    small_peak, small_total = _merge_peak(tmp_path, 625)
    large_peak, large_total = _merge_peak(tmp_path, 2500)
    assert large_total > 40e6 and large_total > 3.9 * small_total
    assert large_peak < small_peak * 1.25 + 1e6, f"peak {small_peak / 1e6:.1f} MB for {small_total / 1e6:.0f} MB of records, {large_peak / 1e6:.1f} MB for {large_total / 1e6:.0f} MB"


def test_json_says_what_was_merged(tmp_path, capsys):
    directories = shards(tmp_path, count=2)
    assert main(["merge", "--json", str(tmp_path / "out"), *map(str, directories)]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["records"] == 6 and said["status"] == "complete" and said["inputs"] == 2 and said["mixed"] == []
    assert said["shards"] == [{"collection": COLLECTION, "count": 2, "items_total": 6, "held": [1, 2], "missing": []}]
    assert said["written"] == [str(tmp_path / "out" / name) for name in (RECORDS_FILE, "summary.json", "report.html")]


def test_a_merge_of_merges_counts_each_shard_once(tmp_path, capsys):
    """A directory caught twice by a glob (a shard and an earlier merge holding it) would count its
    checks twice: the earlier merge's shards are its own, so the repeat is refused; merges of disjoint
    shards join into the whole run."""
    directories = shards(tmp_path)
    merge(tmp_path / "first-half", directories[:2], allow_missing=True)
    merge(tmp_path / "second-half", directories[2:], allow_missing=True)
    err = one_line_error(capsys, "merge", tmp_path / "out", tmp_path / "first-half", directories[1])
    assert f"shard 2/4 of run {COLLECTION} given twice: {tmp_path / 'first-half'} and {directories[1]}" in err
    whole = merge(tmp_path / "whole", [tmp_path / "first-half", tmp_path / "second-half"])
    assert whole.records == 12 and whole.run["merged"]["shards"][0]["held"] == [1, 2, 3, 4] and not whole.run["merged"]["shards"][0]["missing"]
    assert whole.run["status"] == "complete"  # the halves lacked only each other's shards
    partial = merge(tmp_path / "partial", [tmp_path / "first-half", directories[2]], allow_missing=True)
    assert partial.run["status"] == "incomplete" and "missing shard 4/4" in partial.run["status_reason"]
