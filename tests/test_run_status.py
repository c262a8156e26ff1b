"""The run's status (complete, interrupted, incomplete; unknown in files written before it existed):
summary.json carries it, report.html warns when it is not complete, ``convt report`` still renders
such a run, and ``convt compare`` refuses to gate on anything but a complete run with records and an
environment."""

from __future__ import annotations

import json

import pytest

from conformance.records import RECORDS_FILE, Record, write_run
from convt.cli import main
from reports.html import render_html
from reports.summary import build_summary

FRAMEWORKS = {"tensorflow": {"framework": "tensorflow", "version": "2.21.0", "devices": ["cpu"]}}
COMPLETE = {"date": "2026-01-01", "status": "complete", "status_reason": "", "frameworks": FRAMEWORKS,
            "hypothesis": {"profile": "ci", "max_examples": 10, "derandomize": True, "seed": None}}
INTERRUPTED = {**COMPLETE, "status": "interrupted", "status_reason": "KeyboardInterrupt after 12 of 40 tests"}
INCOMPLETE = {**COMPLETE, "status": "incomplete", "status_reason": "stopped by --maxfail=1"}
OLD = {key: value for key, value in COMPLETE.items() if key not in ("status", "status_reason")}


def record(outcome="pass") -> Record:
    return Record(check="forward", target="tensorflow.nn", framework="tensorflow", version="2.21.0", device="cpu", dtype="float32",
                  precision="default", outcome=outcome, case={"input_size": [4], "seed": 0})


# -- summary.json and report.html ---------------------------------------------------------------------


@pytest.mark.parametrize("run, status, reason", [
    (COMPLETE, "complete", ""),
    (INTERRUPTED, "interrupted", "KeyboardInterrupt after 12 of 40 tests"),
    (INCOMPLETE, "incomplete", "stopped by --maxfail=1"),
    ({**INTERRUPTED, "status_reason": None}, "interrupted", ""),
], ids=["complete", "interrupted", "incomplete", "no-reason"])
def test_summary_carries_the_status(run, status, reason):
    summary = build_summary(run, [record()])
    assert (summary["status"], summary["status_reason"]) == (status, reason)


@pytest.mark.parametrize("run", [OLD, {}, {**COMPLETE, "status": None}, {**COMPLETE, "status": ["complete"]}], ids=["old", "empty", "null", "list"])
def test_a_missing_status_reads_as_unknown_with_a_reason(run):
    summary = build_summary(run, [])
    assert summary["status"] == "unknown" and "no status" in summary["status_reason"]
    assert {"status", "status_reason", "environment", "targets", "draws", "totals", "discrepancies"} == set(summary)


def banner(page: str) -> str:
    start = page.find('id="run-status"')
    return "" if start < 0 else page[start: page.index("</div>", start)]


def test_a_complete_run_has_no_banner():
    assert banner(render_html(COMPLETE, [record()])) == ""


@pytest.mark.parametrize("run, words", [
    (INTERRUPTED, ("interrupted", "KeyboardInterrupt after 12 of 40 tests")),
    (INCOMPLETE, ("incomplete", "stopped by --maxfail=1")),
    (OLD, ("unknown", "no status")),
], ids=["interrupted", "incomplete", "old"])
def test_a_run_that_is_not_complete_has_a_banner_at_the_top(run, words):
    page = render_html(run, [record()])
    text = banner(page)
    assert text and all(word in text for word in words), text
    assert 'role="alert"' in text and page.index('id="run-status"') < page.index('id="environment"')


def test_convt_report_renders_an_interrupted_run(tmp_path, capsys):
    write_run(tmp_path, INTERRUPTED, [record(), record("mismatch")])
    assert main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["totals"]["checks"] == 2
    assert "KeyboardInterrupt after 12 of 40 tests" in banner((tmp_path / "report.html").read_text())


def test_convt_report_renders_a_run_line_without_records(tmp_path):
    write_run(tmp_path, INTERRUPTED, [])
    assert main(["report", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["totals"]["checks"] == 0


# -- convt compare refuses what it cannot gate on -----------------------------------------------------


def write(directory, run, records=None):
    write_run(directory, run, [record()] if records is None else records)
    return directory


@pytest.mark.parametrize("run, records, expected", [
    (INTERRUPTED, None, "the run is interrupted (KeyboardInterrupt after 12 of 40 tests), not complete"),
    (INCOMPLETE, None, "the run is incomplete (stopped by --maxfail=1), not complete"),
    (OLD, None, "the run's status is unknown (the run line has no status"),
    (COMPLETE, [], "no records, only the run line"),
    ({**COMPLETE, "frameworks": {}}, None, 'the run line describes no framework environment (run["frameworks"] is empty)'),
    ({key: value for key, value in COMPLETE.items() if key != "frameworks"}, None, "describes no framework environment"),
    ({**COMPLETE, "frameworks": {"gw0": {}}}, None, "worker 'gw0' has an empty environment {}: what runs under pytest-xdist wrote"),
], ids=["interrupted", "incomplete", "no-status", "no-records", "no-frameworks", "frameworks-missing", "xdist-empty-environment"])
@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_compare_refuses_a_side_it_cannot_gate_on(tmp_path, capsys, side, run, records, expected):
    good = write(tmp_path / "good", COMPLETE)
    bad = write(tmp_path / "bad", run, records)
    argv = ["compare", bad, good] if side == "baseline" else ["compare", good, bad]
    assert main([str(arg) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"convt: error: {side} {bad / RECORDS_FILE}: ") and expected in err, err


@pytest.mark.parametrize("text, expected", [
    ("", 'does not start with a {"run": {...}} line'),
    (json.dumps({"check": "forward"}) + "\n", "not a record"),
    (json.dumps({"run": [1]}) + "\n", ":1: the run line must hold a JSON object, not a list"),
], ids=["empty", "records-only", "run-line-list"])
def test_compare_names_the_side_of_a_missing_or_malformed_run_line(tmp_path, capsys, text, expected):
    good = write(tmp_path / "good", COMPLETE)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / RECORDS_FILE).write_text(text)
    assert main(["compare", str(good), str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"convt: error: candidate {tmp_path / 'bad' / RECORDS_FILE}") and expected in err, err


def test_compare_accepts_two_complete_runs(tmp_path, capsys):
    base, cand = write(tmp_path / "base", COMPLETE), write(tmp_path / "cand", COMPLETE)
    assert main(["compare", str(base), str(cand)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("OK: nothing new, nothing changed beyond 4x; 0 fixed")
