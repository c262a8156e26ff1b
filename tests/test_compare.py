"""``convt compare`` and reports.compare on synthetic run pairs: new, fixed, changed, known, cells, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.records import Record, write_run
from convt.cli import main
from reports.compare import DEFAULT_GROWTH, compare
from reports.discrepancies import discrepancy_id

COMPARISON_KEYS = {
    "baseline", "candidate", "growth", "draws_comparable", "failed", "counts", "new", "fixed", "changed",
    "moved", "new_cells", "fixed_cells", "known_changes", "environment", "warnings",
}
DERANDOMIZED = {"profile": "ci", "max_examples": 100, "derandomize": True, "seed": None}
RANDOMIZED = {"profile": "dev", "max_examples": 100, "derandomize": False, "seed": None}


def run_line(version="2.20.0", hypothesis=DERANDOMIZED, known=()):
    return {
        "date": "2026-01-01T00:00:00+00:00",
        "status": "complete",  # compare gates only on complete runs (test_run_status.py)
        "status_reason": "",
        "python": "3.11.7",
        "frameworks": {"tensorflow": {"framework": "tensorflow", "version": version, "devices": ["cpu"]}},
        "hypothesis": dict(hypothesis),
        "known_discrepancies": [{"id": entry, "matched": matched} for entry, matched in known],
    }


def record(outcome="pass", *, size=4, dtype="float32", check="forward", ratio=None, known=None, message=""):
    """One record; ``size`` picks the drawn case, so equal sizes are the same discrepancy id."""
    if ratio is None and outcome in ("pass", "mismatch"):
        ratio = 0.5 if outcome == "pass" else 8.0e6
    return Record(
        check=check, target="tensorflow.nn", framework="tensorflow", version="2.20.0", device="cpu",
        dtype=dtype, precision="default", outcome=outcome,
        case={"input_size": [size], "kernel_size": [3], "stride": [2], "seed": 0},
        message=message or f"{outcome} at size {size}", ratio=ratio,
        bound=None if ratio is None else 1e-7, max_abs_error=None if ratio is None else ratio * 1e-7,
        known=known, test=f"test_values.py::test_values[tensorflow.nn-cpu-{dtype}]",
    )


@pytest.fixture
def runs(tmp_path):
    """Write a baseline and a candidate run; return a function taking both record lists."""
    def write(base_records, cand_records, *, base_run=None, cand_run=None):
        write_run(tmp_path / "base", base_run or run_line("2.20.0"), base_records)
        write_run(tmp_path / "cand", cand_run or run_line("2.21.0"), cand_records)
        return tmp_path / "base", tmp_path / "cand"
    return write


def run_main(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_new_failure_in_clean_cell_is_new_and_a_new_cell(runs):
    base, cand = runs([record(size=4), record(size=5)], [record(size=4), record("mismatch", size=5)])
    result = compare(base, cand)
    assert [e["id"] for e in result.new] == [discrepancy_id(record(size=5))]
    assert result.new[0]["baseline"] == "pass" and not result.new[0]["cell_failed_in_baseline"]
    assert [(c["check"], c["baseline_failures"], c["candidate_failures"]) for c in result.new_cells] == [("forward", 0, 1)]
    assert result.failed and not result.fixed and not result.changed


def test_unchanged_failure_is_neither_new_nor_changed(runs):
    base, cand = runs([record("mismatch", ratio=1e6)], [record("mismatch", ratio=2e6)])
    result = compare(base, cand)
    assert not result.new and not result.changed and not result.fixed and not result.new_cells
    assert not result.failed


def test_fixed_says_whether_the_candidate_passes_or_did_not_draw_it(runs):
    base, cand = runs([record("mismatch", size=4), record("crash", size=6)], [record("pass", size=4)])
    fixed = {e["id"]: e["now"] for e in compare(base, cand).fixed}
    assert fixed == {discrepancy_id(record(size=4)): "pass", discrepancy_id(record(size=6)): "absent"}
    assert not compare(base, cand).failed


def test_ratio_growth_beyond_the_factor_is_changed(runs):
    base, cand = runs([record("mismatch", ratio=10.0)], [record("mismatch", ratio=10.0 * DEFAULT_GROWTH * 2)])
    result = compare(base, cand)
    assert len(result.changed) == 1 and result.changed[0]["baseline_ratio"] == 10.0
    assert "ratio grew 8x" in result.changed[0]["reason"] and result.failed
    assert not compare(base, cand, growth=10).changed  # within a looser factor


def test_ratio_growth_within_the_factor_and_shrinking_are_not_changed(runs):
    base, cand = runs(
        [record("mismatch", size=4, ratio=10.0), record("mismatch", size=5, ratio=10.0)],
        [record("mismatch", size=4, ratio=10.0 * DEFAULT_GROWTH), record("mismatch", size=5, ratio=1.5)],
    )
    assert not compare(base, cand).changed


def test_kind_change_is_changed(runs):
    base, cand = runs([record("mismatch")], [record("crash", message="worker died")])
    result = compare(base, cand)
    assert result.changed[0]["reason"] == "kind mismatch -> crash"


def test_known_is_accepted_not_new(runs):
    entry = "tf-conv3d-same-input-gradient-shifted"
    base, cand = runs(
        [record(size=4)],
        [record("known", size=4, known=entry)],
        base_run=run_line("2.20.0", known=[(entry, 0)]),
        cand_run=run_line("2.21.0", known=[(entry, 1)]),
    )
    result = compare(base, cand)
    assert not result.new and not result.new_cells and not result.failed
    assert result.known_changes == [{"entry": entry, "baseline_matched": 0, "candidate_matched": 1, "note": "matches now (accepted, not new)"}]


def test_known_in_baseline_failing_in_candidate_is_new(runs):
    """The known entry no longer covers the candidate (its version range ended): someone must decide."""
    entry = "tf-conv3d-same-input-gradient-shifted"
    base, cand = runs(
        [record("known", known=entry)], [record("mismatch")],
        base_run=run_line(known=[(entry, 1)]), cand_run=run_line("2.22.0", known=[(entry, 0)]),
    )
    result = compare(base, cand)
    assert [e["baseline"] for e in result.new] == ["known"]
    assert result.known_changes[0]["candidate_matched"] == 0 and "no longer matches" in result.known_changes[0]["note"]


def test_failure_that_becomes_known_is_fixed_with_now_known(runs):
    base, cand = runs([record("mismatch")], [record("known", known="some-entry")])
    assert [e["now"] for e in compare(base, cand).fixed] == ["known"]


def test_cell_level_new_under_a_randomized_profile(runs):
    """Different draws: ids differ, but a cell going from 0 to >0 failures is new all the same."""
    base, cand = runs(
        [record(size=4), record(size=5)], [record(size=7), record("mismatch", size=9)],
        base_run=run_line(hypothesis=RANDOMIZED), cand_run=run_line("2.21.0", hypothesis=RANDOMIZED),
    )
    result = compare(base, cand)
    assert not result.draws_comparable
    assert len(result.new_cells) == 1 and len(result.new) == 1 and result.failed
    assert any("not comparable" in warning for warning in result.warnings)


def test_randomized_same_cell_other_example_is_moved_not_new(runs):
    base, cand = runs(
        [record("mismatch", size=4)], [record("mismatch", size=9)],
        base_run=run_line(hypothesis=RANDOMIZED), cand_run=run_line("2.21.0", hypothesis=RANDOMIZED),
    )
    result = compare(base, cand)
    assert not result.new and not result.new_cells and not result.fixed and not result.failed
    assert result.moved[0]["baseline_ids"] == [discrepancy_id(record(size=4))]


def test_derandomized_same_cell_other_example_is_new(runs):
    """With the ci profile the draws line up, so a new id in a failing cell is a new failure."""
    base, cand = runs([record("mismatch", size=4)], [record("mismatch", size=4), record("mismatch", size=9)])
    result = compare(base, cand)
    assert [e["cell_failed_in_baseline"] for e in result.new] == [True] and not result.moved and not result.new_cells


def test_a_run_that_replayed_a_shared_example_database_is_not_draw_for_draw_comparable(runs):
    """Its database's examples came first and took their share of the budget (--example-db): a failing
    id the baseline never drew, in a cell failing there too, is moved, not new, as under a randomized profile."""
    shared = {**DERANDOMIZED, "example_db": "redis://cache.example:6379/0", "example_db_readonly": True}
    base, cand = runs([record("mismatch", size=4)], [record("mismatch", size=9)], cand_run=run_line("2.21.0", hypothesis=shared))
    result = compare(base, cand)
    assert not result.draws_comparable and not result.new and result.moved and not result.failed


def test_environment_differences_list_the_version_first(runs):
    base, cand = runs([record()], [record()])
    environment = compare(base, cand).environment
    assert environment[0] == {"key": "frameworks.tensorflow.version", "baseline": "2.20.0", "candidate": "2.21.0"}
    assert all(not diff["key"].startswith(("date", "known_discrepancies")) for diff in environment)


def test_cli_exit_0_and_text(runs, capsys):
    base, cand = runs([record("mismatch", size=4)], [record(size=4)])
    code, out, err = run_main(capsys, "compare", base, cand)
    assert code == 0 and err == ""
    assert "new: none" in out and "fixed (1):" in out and "now pass" in out
    assert "frameworks.tensorflow.version: '2.20.0' -> '2.21.0'" in out
    assert out.rstrip().splitlines()[-1].startswith("OK: nothing new")


def test_cli_exit_1_lists_target_check_kind_ratio_message(runs, capsys):
    base, cand = runs([record(size=4)], [record("mismatch", size=4, ratio=8.3e6, message="1 of 3 elements exceed the error bound")])
    code, out, err = run_main(capsys, "compare", base, cand)
    assert code == 1 and err == ""
    line = next(line for line in out.splitlines() if discrepancy_id(record(size=4)) in line)
    assert "tensorflow.nn" in line and "forward" in line and "mismatch" in line and "ratio 8.3e+06" in line
    assert "1 of 3 elements exceed the error bound" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL: 1 new, 1 new cell(s)")


def test_cli_growth_flag(runs, capsys):
    base, cand = runs([record("mismatch", ratio=10.0)], [record("mismatch", ratio=100.0)])
    assert run_main(capsys, "compare", base, cand)[0] == 1
    assert run_main(capsys, "compare", base, cand, "--growth", "20")[0] == 0


def test_cli_json_keys(runs, capsys):
    base, cand = runs([record("mismatch", size=4)], [record("mismatch", size=5)])
    code, out, _ = run_main(capsys, "compare", base, cand, "--json")
    data = json.loads(out)
    assert code == 1 and set(data) == COMPARISON_KEYS and data["failed"] is True
    assert {"id", "target", "check", "kind", "ratio", "message", "baseline", "cell_failed_in_baseline"} <= set(data["new"][0])
    assert {"id", "now"} <= set(data["fixed"][0]) and data["fixed"][0]["now"] == "absent"
    assert data["counts"]["new"] == 1 and data["growth"] == DEFAULT_GROWTH


def _write(name, text):
    """A setup for the bad-input cases: ``tmp/name/records.jsonl`` holding ``text``."""
    def setup(tmp):
        (tmp / name).mkdir()
        (tmp / name / "records.jsonl").write_text(text)
    return setup


@pytest.mark.parametrize(
    "setup, args, expected",
    [
        (None, ("{base}", "{tmp}/nowhere"), "no such directory"),
        (lambda tmp: (tmp / "file").write_text(""), ("{base}", "{tmp}/file"), "candidate {tmp}/file: not a directory"),
        (lambda tmp: (tmp / "empty").mkdir(), ("{base}", "{tmp}/empty"), "records.jsonl: not found"),
        (_write("bad", '{"run": {"a": 1}}\n{"check": "forward"\n'), ("{base}", "{tmp}/bad"), "records.jsonl:2: not a record"),
        (_write("list", '{"run": {"a": 1}}\n[1, 2]\n'), ("{base}", "{tmp}/list"), "not a record"),
        (_write("norun", ""), ("{tmp}/norun", "{base}"), "does not start with"),
        (None, ("{base}", "{base}", "--growth", "0"), "--growth: must be a finite factor >= 1"),
        (None, ("{base}", "{base}", "--growth", "-2"), "--growth: must be a finite factor >= 1"),
        (None, ("{base}", "{base}", "--growth", "x"), "--growth: expected a number"),
        (None, ("{base}",), "the following arguments are required"),
    ],
    ids=["missing-dir", "a-file", "missing-records", "malformed-line", "not-an-object", "empty", "growth-0", "growth-negative", "growth-text", "one-dir"],
)
def test_cli_bad_input_is_one_line_exit_2(runs, tmp_path, capsys, setup, args, expected):
    base, _ = runs([record()], [record()])
    if setup is not None:
        setup(tmp_path)
    argv = [arg.format(base=base, tmp=tmp_path) for arg in args]
    code, out, err = run_main(capsys, "compare", *argv)
    assert code == 2 and out == ""
    assert err.startswith("convt: error: ") and err.count("\n") == 1 and expected.format(tmp=tmp_path) in err


def test_compare_rejects_a_growth_below_one(runs):
    base, cand = runs([record()], [record()])
    with pytest.raises(ValueError, match="growth factor"):
        compare(base, cand, growth=0.5)


def test_reports_compare_imports_no_framework():
    code = (
        "import sys, reports.compare, convt.compare_command; "
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'keras', 'onnxruntime') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
