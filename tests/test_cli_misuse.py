"""``convt`` used carelessly: malformed files, absurd values. Every case ends as one line on stderr,
``convt: error: ...``, exit status 2, nothing on stdout and no traceback."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import numpy as np
import pytest

from conformance.records import RECORDS_FILE, read_run
from convt.cli import main

RUN = {"date": "2026-01-01", "status": "complete", "status_reason": "",
       "frameworks": {"tensorflow": {"framework": "tensorflow", "version": "2.21.0", "devices": ["cpu"]}}}
RECORD = {"check": "forward", "target": "tensorflow.nn", "framework": "tensorflow", "version": "2.21.0", "device": "cpu",
          "dtype": "float32", "precision": "default", "outcome": "pass", "case": {"input_size": [3], "seed": 0}}
RUN_LINE = json.dumps({"run": RUN})
RECORD_LINE = json.dumps(RECORD)
DEEP = "[" * 100_000  # deeper than the json module's recursion allows


def records_dir(path, *lines):
    """``path`` holding a records.jsonl of ``lines``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / RECORDS_FILE).write_text("".join(line + "\n" for line in lines))
    return path


def one_line_error(capsys, *argv) -> str:
    """Run convt; assert it failed the uniform way; return the message."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("convt: error: ") and "Traceback" not in err, err
    return err


# -- records.jsonl that the json module or the record reader cannot take ------------------------------


@pytest.mark.parametrize("lines, where", [
    ((RUN_LINE, DEEP), ":2:"),
    ((DEEP,), ":1:"),
    ((RUN_LINE, RECORD_LINE, '{"check": ' * 50_000), ":3:"),
], ids=["deep-record", "deep-run-line", "deep-object"])
def test_read_run_names_the_line_of_a_too_deeply_nested_value(tmp_path, lines, where):
    path = records_dir(tmp_path, *lines) / RECORDS_FILE
    with pytest.raises(ValueError, match=f"{RECORDS_FILE}{where} not a record: nested too deeply"):
        read_run(path)


@pytest.mark.parametrize("run", [[1, 2], "x", 5, None])
def test_read_run_rejects_a_run_line_that_is_not_an_object(tmp_path, run):
    path = records_dir(tmp_path, json.dumps({"run": run}), RECORD_LINE) / RECORDS_FILE
    with pytest.raises(ValueError, match=f"{RECORDS_FILE}:1: the run line must hold a JSON object, not "):
        read_run(path)


def test_read_run_rejects_a_line_that_is_not_an_object(tmp_path):
    path = records_dir(tmp_path, RUN_LINE, "[1, 2]") / RECORDS_FILE
    with pytest.raises(ValueError, match=f"{RECORDS_FILE}:2: not a record: every line must be a JSON object"):
        read_run(path)


@pytest.mark.parametrize("command", ["report", "compare", "merge"])
@pytest.mark.parametrize("lines, expected", [
    ((RUN_LINE, DEEP), f"{RECORDS_FILE}:2: not a record: nested too deeply"),
    ((DEEP,), f"{RECORDS_FILE}:1: not a record: nested too deeply"),
    ((json.dumps({"run": [1, 2]}), RECORD_LINE), f"{RECORDS_FILE}:1: the run line must hold a JSON object, not a list"),
    ((json.dumps({"run": "x"}), RECORD_LINE), f"{RECORDS_FILE}:1: the run line must hold a JSON object, not a str"),
], ids=["deep-record", "deep-run-line", "run-line-list", "run-line-string"])
def test_report_and_compare_name_the_file_and_line(tmp_path, capsys, command, lines, expected):
    bad = records_dir(tmp_path / "bad", *lines)
    good = records_dir(tmp_path / "good", RUN_LINE, RECORD_LINE)
    argv = {"report": [command, bad], "compare": [command, good, bad], "merge": [command, tmp_path / "merged", good, bad]}[command]
    err = one_line_error(capsys, *argv)
    assert str(bad / RECORDS_FILE) in err and expected in err, err


# -- records that parse but hold values the reports or compare cannot use ------------------------------


def with_record(**fields) -> str:
    return json.dumps({**RECORD, **fields})


def with_run(**fields) -> str:
    return json.dumps({"run": {**RUN, **fields}})


@pytest.mark.parametrize("lines, expected", [
    ((with_run(options=[1]), RECORD_LINE), "cannot render the records"),
    ((with_run(frameworks={"tensorflow": "2.21.0"}), RECORD_LINE), "cannot render the records"),
], ids=["options-list", "framework-environment-string"])
def test_report_names_the_file_it_cannot_render(tmp_path, capsys, lines, expected):
    directory = records_dir(tmp_path, *lines)
    err = one_line_error(capsys, "report", directory)
    assert f"{directory / RECORDS_FILE}: {expected}" in err, err
    assert not (directory / "report.html").exists() and not (directory / "summary.json").exists()


def test_report_names_the_file_of_a_value_too_deep_to_render(tmp_path, capsys):
    # Deep enough to overflow the stack while rendering, shallow enough for json to parse here.
    depth = sys.getrecursionlimit() - len(inspect.stack()) - 60
    case = json.loads("[" * depth + "]" * depth)
    directory = records_dir(tmp_path, RUN_LINE, with_record(outcome="mismatch", case={"input_size": [3], "seed": 0, "deep": case}))
    err = one_line_error(capsys, "report", directory)
    assert f"{directory / RECORDS_FILE}: cannot render the records: RecursionError" in err, err


@pytest.mark.parametrize("lines, expected", [
    ((RUN_LINE, with_record(outcome="mismatch", ratio="abc")), ":2: ratio must be a number or null; got 'abc'"),
    ((RUN_LINE, RECORD_LINE, with_record(outcome="mismatch", ratio=10**400)), ":3: ratio must be a number or null; got 1000000"),
    ((RUN_LINE, with_record(bound=[1.0])), ":2: bound must be a number or null; got [1.0]"),
    ((RUN_LINE, with_record(outcome="known", known=["entry"])), ":2: known must be a string or null; got ['entry']"),
    ((with_run(hypothesis=[1]), RECORD_LINE), ":1: run line: hypothesis must be an object; got [1]"),
    ((with_run(known_discrepancies="entry"), RECORD_LINE), ":1: run line: known_discrepancies must be a list of objects with string ids"),
    ((with_run(known_discrepancies=[{"id": ["x"]}]), RECORD_LINE), ":1: run line: known_discrepancies must be a list of objects with string ids"),
    ((with_run(frameworks={"gw0": {"framework": ["tensorflow"]}}), RECORD_LINE), ":1: run line: frameworks.gw0.framework must be a string"),
], ids=["ratio-string", "ratio-huge-int", "bound-list", "known-list", "hypothesis-list", "known-string", "known-id-list", "framework-name-list"])
@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_compare_names_side_file_and_line_of_a_value_it_cannot_use(tmp_path, capsys, side, lines, expected):
    bad = records_dir(tmp_path / "bad", *lines)
    good = records_dir(tmp_path / "good", RUN_LINE, RECORD_LINE)
    err = one_line_error(capsys, "compare", *((bad, good) if side == "baseline" else (good, bad)))
    assert err.startswith(f"convt: error: {side} {bad / RECORDS_FILE}{expected}"), err


def test_an_unforeseen_failure_is_still_one_line(monkeypatch, capsys):
    """The last resort: a bug in convt itself is reported as one line, not a traceback."""
    from convt import solve_command

    def broken(args):
        raise RuntimeError("something convt did not foresee")

    monkeypatch.setattr(solve_command, "run", broken)
    err = one_line_error(capsys, "solve", "-i", "4", "-o", "8")
    assert "internal error: RuntimeError: something convt did not foresee" in err and "report" in err


def test_report_says_which_report_it_cannot_write(tmp_path, capsys):
    directory = records_dir(tmp_path, RUN_LINE, RECORD_LINE)
    (directory / "report.html").mkdir()  # in the way of the page
    err = one_line_error(capsys, "report", directory)
    assert f"cannot write the reports into {str(directory)!r}: Is a directory ({directory / 'report.html'})" in err, err
    assert ".report.html." not in err  # not the temporary file's name
    assert sorted(p.name for p in directory.iterdir()) == [RECORDS_FILE, "report.html", "summary.json"]


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`convt same-table ... | head -1`: the closed pipe ends convt quietly, with a shell's SIGPIPE status."""
    command = [sys.executable, "-m", "convt", "same-table", "--kernel", "1..100", "--stride", "1..100"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert b"(i,k,s,d)" in process.stdout.readline()
        process.stdout.close()  # like head: read one line and go
        err = process.stderr.read().decode()
        code = process.wait(timeout=60)
    assert err == "" and code == 141, (code, err)


def _strict(text: str):
    """json.loads that refuses NaN and Infinity, as jq and most JSON parsers outside Python do."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_json_with_infinite_ratios_as_strings(tmp_path, capsys):
    """A ratio where the bound is 0 is infinite: --json writes "inf", as summary.json does, not Infinity."""
    failing = with_record(outcome="mismatch", ratio=float("inf"), bound=0.0, max_abs_error=1.0)
    base, cand = records_dir(tmp_path / "base", RUN_LINE, RECORD_LINE), records_dir(tmp_path / "cand", RUN_LINE, failing)
    assert main(["compare", str(base), str(cand), "--json"]) == 1
    (entry,) = _strict(capsys.readouterr().out)["new"]
    assert entry["ratio"] == "inf" and entry["bound"] == 0.0


def test_explain_json_of_non_finite_operands_is_strict_json(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.full((1, 1, 3), np.inf))
    np.save(tmp_path / "w.npy", np.ones((1, 1, 2)))
    assert main(["explain", "--x", str(tmp_path / "x.npy"), "--w", str(tmp_path / "w.npy"), "--at", "0,0,1", "--json"]) == 0
    data = _strict(capsys.readouterr().out)
    assert data["value"] == "inf" and data["terms"][0]["x"] == "inf"
