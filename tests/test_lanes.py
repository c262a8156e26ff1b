"""The backend is part of a lane everywhere a lane appears: discrepancy ids, summary.json, the report
matrix, compare's cells and text. Records written before the field existed read as backend "default"."""

from __future__ import annotations

import dataclasses
import json
import re

from conformance.records import RECORDS_FILE, Record, read_run, write_run
from convt.cli import main
from reports.compare import CELL_KEYS, compare
from reports.discrepancies import discrepancy_id
from reports.html import render_html
from reports.summary import build_summary

RUN = {"date": "2026-01-01", "status": "complete", "status_reason": "", "hypothesis": {"profile": "ci", "max_examples": 10, "derandomize": True},
       "frameworks": {"tensorflow": {"framework": "tensorflow", "version": "2.21.0", "devices": ["cpu"]}}}


def record(outcome="pass", backend="default", **fields) -> Record:
    defaults = dict(check="forward", target="tensorflow.nn", framework="tensorflow", version="2.21.0", device="cpu", dtype="float32",
                    precision="default", outcome=outcome, case={"input_size": [4], "kernel_size": [3], "stride": [2], "seed": 0},
                    ratio=8.0e6 if outcome == "mismatch" else None, backend=backend)
    return Record(**{**defaults, **fields})


def without_backend(rec: Record) -> str:
    """The record as a line written before records had a backend."""
    data = dataclasses.asdict(rec)
    del data["backend"]
    return json.dumps(data)


def test_a_record_without_backend_reads_as_default(tmp_path):
    (tmp_path / RECORDS_FILE).write_text(json.dumps({"run": RUN}) + "\n" + without_backend(record()) + "\n")
    _, (read,) = read_run(tmp_path / RECORDS_FILE)
    assert read.backend == "default"


def test_lanes_differing_only_by_backend_have_different_ids():
    assert discrepancy_id(record(backend="onednn")) != discrepancy_id(record(backend="eigen"))
    assert discrepancy_id(record(backend="onednn")) != discrepancy_id(record())


def test_default_backend_ids_are_the_ids_of_before():
    """Ids recorded before the backend existed (docs, tickets, old summaries) stay valid for the default path."""
    assert discrepancy_id(record()) == "73b682eb4f97"


def test_summary_targets_and_discrepancies_carry_the_backend():
    records = [record(backend="onednn"), record(backend="eigen"), record("mismatch", backend="eigen"), record()]
    summary = build_summary(RUN, records)
    assert [(t["name"], t["backend"]) for t in summary["targets"]] == [
        ("tensorflow.nn", "default"), ("tensorflow.nn", "eigen"), ("tensorflow.nn", "onednn")]
    assert all(set(t) == {"name", "framework", "version", "device", "dtype", "precision", "backend", "mode"} for t in summary["targets"])
    (entry,) = summary["discrepancies"]
    assert entry["backend"] == "eigen" and list(entry)[:8] == ["id", "target", "framework", "version", "device", "dtype", "precision", "backend"]


def test_the_matrix_has_a_backend_column_and_a_row_per_backend():
    page = render_html(RUN, [record(backend="onednn"), record(backend="eigen"), record("mismatch", backend="eigen")])
    matrix = page[page.index('<table id="matrix">'): page.index("</table>", page.index('<table id="matrix">'))]
    headers = re.findall(r"<th [^>]*>([^<]+)</th>", matrix)
    assert headers[:6] == ["target", "version", "device", "dtype", "precision", "backend"]  # the page's JS reads cells 0 and 3
    rows = re.findall(r"<tr data-pass[^>]*>\s*<td>([^<]*)</td>(?:<td>([^<]*)</td>){5}", matrix)
    assert [row[1] for row in rows] == ["eigen", "onednn"]
    assert "× backend" in page
    index = page[page.index('<table id="discrepancy-index">'):]
    assert "cpu float32 default eigen" in index[: index.index("</table>")]


def test_compare_cells_are_per_backend(tmp_path, capsys):
    assert CELL_KEYS == ("target", "device", "dtype", "precision", "backend", "mode", "check")
    write_run(tmp_path / "base", RUN, [record("mismatch", backend="eigen"), record(backend="onednn")])
    write_run(tmp_path / "cand", RUN, [record("mismatch", backend="eigen"), record("mismatch", backend="onednn")])
    result = compare(tmp_path / "base", tmp_path / "cand")
    assert [(e["backend"], e["cell_failed_in_baseline"]) for e in result.new] == [("onednn", False)]
    assert [cell["backend"] for cell in result.new_cells] == ["onednn"]
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "cand")]) == 1
    out = capsys.readouterr().out
    new_line = next(line for line in out.splitlines() if line.startswith(f"  {discrepancy_id(record(backend='onednn'))}"))
    assert "cpu float32 default backend=onednn" in new_line
    assert "tensorflow.nn  forward  cpu float32 default backend=onednn: 0 of 1 -> 1 of 1 failing" in out
