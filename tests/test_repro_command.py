"""``convt repro DIR ID``: the standalone repro of one discrepancy, by id or unique prefix; bad input is
one line on stderr and exit status 2 (as ``tests/test_cli_misuse.py`` asks of every command)."""

from __future__ import annotations

import json

import pytest

from conformance.records import RECORDS_FILE, Record, write_run
from convt.cli import main
from reports.discrepancies import discrepancy_id
from test_cli_misuse import one_line_error  # the uniform one-line error every convt command gives

RUN = {"date": "2026-01-01", "status": "complete", "status_reason": ""}


def record(seed: int, outcome: str = "mismatch") -> Record:
    case = {"batch": 1, "groups": 1, "in_per_group": 1, "out_per_group": 1, "input_size": [3], "kernel_size": [2], "bias": False,
            "values": "float", "seed": seed, "stride": [1], "dilation": [1], "padding": [[0, 0]], "output_padding": [0]}
    return Record(check="forward", target="impl.function", framework="impl", version="", device="cpu", dtype="float64",
                  precision="default", outcome=outcome, case=case, repro=f"# Standalone repro: seed {seed}\nprint('seed {seed}')\n")


@pytest.fixture
def run_dir(tmp_path):
    records = [record(seed) for seed in range(40)] + [record(99, "pass")]
    write_run(tmp_path, RUN, records)
    return tmp_path, {discrepancy_id(r): r for r in records if r.outcome != "pass"}


def test_prints_the_repro_by_id_and_by_unique_prefix(run_dir, capsys):
    directory, found = run_dir
    ids = sorted(found)
    key = next(k for k in ids if sum(other.startswith(k[:6]) for other in ids) == 1)
    for given in (key, key[:6], key.upper()):
        assert main(["repro", str(directory), given]) == 0
        assert capsys.readouterr().out == found[key].repro


def test_json_names_the_discrepancy(run_dir, capsys):
    directory, found = run_dir
    key = sorted(found)[0]
    assert main(["repro", str(directory), key, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"id": key, "target": "impl.function", "check": "forward", "kind": "mismatch", "repro": found[key].repro}


def test_an_ambiguous_prefix_lists_the_ids_it_begins(run_dir, capsys):
    directory, found = run_dir
    first = sorted(found)[0][0]
    sharing = [k for k in found if k.startswith(first)]
    assert len(sharing) > 1  # 40 ids over 16 first digits
    err = one_line_error(capsys, "repro", directory, first)
    assert f"'{first}' is ambiguous: it begins {len(sharing)} discrepancy ids" in err


def test_an_unknown_id(run_dir, capsys):
    directory, found = run_dir
    unknown = next(f"{n:012x}" for n in range(1000) if not any(k.startswith(f"{n:012x}") for k in found))
    assert f"no discrepancy '{unknown}'; the run has 40:" in one_line_error(capsys, "repro", directory, unknown)


@pytest.mark.parametrize("bad", ["xyz", "0123456789abc", ""])
def test_an_id_that_is_not_hex(run_dir, capsys, bad):
    assert "ID must be 1 to 12 hex digits" in one_line_error(capsys, "repro", run_dir[0], bad)


def test_a_missing_directory_and_a_directory_without_records(tmp_path, capsys):
    assert "no such directory" in one_line_error(capsys, "repro", tmp_path / "absent", "abc")
    assert f"not found: no {RECORDS_FILE}" in one_line_error(capsys, "repro", tmp_path, "abc")


def test_a_run_without_discrepancies_or_records(tmp_path, capsys):
    write_run(tmp_path / "passing", RUN, [record(1, "pass")])
    assert "no discrepancies" in one_line_error(capsys, "repro", tmp_path / "passing", "abc")
    write_run(tmp_path / "empty", RUN, [])
    assert "no records" in one_line_error(capsys, "repro", tmp_path / "empty", "abc")


def test_a_discrepancy_without_a_recorded_repro(tmp_path, capsys):
    bare = record(3)
    bare.repro = ""
    write_run(tmp_path, RUN, [bare])
    assert "has no repro recorded" in one_line_error(capsys, "repro", tmp_path, discrepancy_id(bare))
