"""The convt command line: exit codes, one-line errors, text and JSON output of solve and explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import oracles
from convt.cli import main

SOLUTION_KEYS = {"kernel", "stride", "padding", "output_padding", "dilation", "lossless"}
EXPLAIN_KEYS = {"value", "terms", "full_position", "crop", "bias", "zero_extension"}
TERM_KEYS = {"input_index", "weight_index", "x", "w", "product"}


@pytest.fixture
def seed000(tmp_path):
    """Seed 000's operands as .npy files: 4x4 ones and the weight 1..16 as 4x4."""
    np.save(tmp_path / "x.npy", np.ones((1, 1, 4, 4)))
    np.save(tmp_path / "w.npy", np.arange(1.0, 17.0).reshape(1, 1, 4, 4))
    np.save(tmp_path / "b.npy", np.array([0.25]))
    return tmp_path


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def explain_args(path, *extra):
    return ("explain", "--x", str(path / "x.npy"), "--w", str(path / "w.npy"), "--stride", "2", "--padding", "1", *extra)


def test_solve_text_seed_004_stride_2_is_lossy_and_points_to_resizing(capsys):
    code, out, err = run_main(capsys, "solve", "--input", "160", "--output", "224", "--stride", "2", "--max-kernel", "16")
    assert code == 0 and err == ""
    assert "No lossless solution" in out and "interpolate" in out and "adaptive pooling" in out
    first_row = out.splitlines()[3].split()
    assert first_row[:5] == ["2", "2", "48", "0", "1"] and "no:" in out.splitlines()[3]


def test_solve_text_seed_004_stride_1(capsys):
    code, out, _ = run_main(capsys, "solve", "--input", "160", "--output", "224")
    assert code == 0
    assert out.splitlines()[3].split()[:6] == ["65", "1", "0", "0", "1", "yes"]
    assert "No lossless" not in out and "showing 20 of" in out


def test_solve_json(capsys):
    code, out, _ = run_main(capsys, "solve", "-i", "4", "-o", "8", "--json", "--dilation", "1..2")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(set(row) == SOLUTION_KEYS for row in rows)
    assert rows[0] == {"kernel": 2, "stride": 2, "padding": 0, "output_padding": 0, "dilation": 1, "lossless": True}
    code, out, _ = run_main(capsys, "solve", "-i", "10", "-o", "5", "--stride", "1", "--kernel", "1", "--json")
    assert code == 0 and json.loads(out) == []


def test_explain_text_seed_000(capsys, seed000):
    code, out, err = run_main(capsys, *explain_args(seed000, "--at", "0,0,0,1"))
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "y[0, 0, 0, 1] = 12"
    assert "(0, 0, 0, 0)  (0, 0, 1, 2)  1  7        7" in out
    assert "(0, 0, 0, 1)  (0, 0, 1, 0)  1  5        5" in out
    assert "full position (1, 2)" in out and "(1, 1), (1, 1)" in out
    assert "value = 7 + 5 = 12" in out
    code, out, _ = run_main(capsys, *explain_args(seed000, "--at", "0,0,0,0"))
    assert code == 0 and out.splitlines()[0] == "y[0, 0, 0, 0] = 6" and "value = 6\n" in out


def test_explain_json_seed_000_with_bias(capsys, seed000):
    code, out, _ = run_main(capsys, *explain_args(seed000, "--at", "0,0,0,1", "--bias", str(seed000 / "b.npy"), "--json"))
    assert code == 0
    data = json.loads(out)
    assert set(data) == EXPLAIN_KEYS and all(set(term) == TERM_KEYS for term in data["terms"])
    assert data["value"] == 12.25 and data["bias"] == 0.25
    assert [(t["weight_index"], t["product"]) for t in data["terms"]] == [([0, 0, 1, 2], 7.0), ([0, 0, 1, 0], 5.0)]
    assert data["full_position"] == [1, 2] and data["crop"] == [[1, 1], [1, 1]] and data["zero_extension"] is False


def test_explain_per_dim_and_pair_syntax(capsys, seed000):
    # Crop 1 before/2 after in rows, 0 before/0 after in columns; stride (2, 1).
    code, out, _ = run_main(
        capsys, "explain", "--x", str(seed000 / "x.npy"), "--w", str(seed000 / "w.npy"),
        "--stride", "2,1", "--padding", "1:2,0:0", "--output-padding", "1,0", "--at", "0,0,0,3", "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["crop"] == [[1, 1], [0, 0]] and data["full_position"] == [1, 3]
    expected = oracles.conv_transpose(
        np.ones((1, 1, 4, 4)), np.arange(1.0, 17.0).reshape(1, 1, 4, 4),
        stride=(2, 1), padding=((1, 2), (0, 0)), output_padding=(1, 0),
    )[0, 0, 0, 3]
    assert data["value"] == expected


@pytest.mark.parametrize("flag", [["--padding=-1:0,0"], ["--padding", "-1:0,0"]])
def test_explain_negative_padding(capsys, seed000, flag):
    code, out, _ = run_main(capsys, *explain_args(seed000, *flag, "--at", "0,0,0,0", "--json"))
    assert code == 0
    data = json.loads(out)
    assert data["zero_extension"] is True and data["crop"] == [[-1, 0], [0, 0]] and data["value"] == 0.0


def test_explain_lone_pair_applies_to_every_dim(capsys, seed000):
    code, out, _ = run_main(capsys, *explain_args(seed000, "--padding", "1:0", "--at", "0,0,0,0", "--json"))
    assert code == 0 and json.loads(out)["crop"] == [[1, 0], [1, 0]]


def test_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert main(["solve", "--help"]) == 0
    assert "lossless" in capsys.readouterr().out
    assert main(["explain", "--help"]) == 0
    assert "1:2,0:0" in capsys.readouterr().out


def _garbage(path: Path) -> str:
    path.write_text("not a numpy file")
    return str(path)


BAD = {
    "zero size": lambda p: ["solve", "--input", "0", "--output", "5"],
    "negative size": lambda p: ["solve", "--input", "-3", "--output", "5"],
    "not a number": lambda p: ["solve", "--input", "abc", "--output", "5"],
    "empty range": lambda p: ["solve", "--input", "4", "--output", "8", "--stride", "3..1"],
    "missing option": lambda p: ["solve", "--input", "4"],
    "no subcommand": lambda p: [],
    "unknown subcommand": lambda p: ["frobnicate"],
    "too many solutions": lambda p: ["solve", "--input", "1", "--output", "224", "--json"],
    "missing file": lambda p: ["explain", "--x", str(p / "nope.npy"), "--w", str(p / "w.npy"), "--at", "0,0,0,0"],
    "unreadable file": lambda p: ["explain", "--x", _garbage(p / "bad.npy"), "--w", str(p / "w.npy"), "--at", "0,0,0,0"],
    "directory": lambda p: ["explain", "--x", str(p), "--w", str(p / "w.npy"), "--at", "0,0,0,0"],
    "malformed at": lambda p: list(explain_args(p, "--at", "0,a")),
    "malformed list": lambda p: list(explain_args(p, "--at", "0,0,0,0")) + ["--dilation", "2,"],
    "malformed pair": lambda p: list(explain_args(p, "--at", "0,0,0,0", "--padding", "1:2:3")),
    "zero groups": lambda p: list(explain_args(p, "--at", "0,0,0,0", "--groups", "0")),
    "impossible configuration": lambda p: list(explain_args(p, "--at", "0,0,0,0", "--padding", "9")),
    "wrong per-dim count": lambda p: list(explain_args(p, "--at", "0,0,0,0", "--dilation", "1,1,1")),
    "out-of-range at": lambda p: list(explain_args(p, "--at", "0,0,0,8")),
    "wrong-rank at": lambda p: list(explain_args(p, "--at", "0,0,0")),
    "channel mismatch": lambda p: ["explain", "--x", str(p / "x.npy"), "--w", str(p / "w2.npy"), "--at", "0,0,0,0"],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_and_exit_2(name, capsys, seed000):
    np.save(seed000 / "w2.npy", np.ones((2, 1, 2, 2)))
    code, out, err = run_main(capsys, *BAD[name](seed000))
    assert code == 2, (name, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convt: error: "), err
    assert "Traceback" not in err


def test_console_script_and_module(tmp_path):
    script = Path(sys.executable).parent / "convt"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    done = subprocess.run(
        [str(script), "solve", "--input", "160", "--output", "224", "--stride", "2", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0] == {"kernel": 96, "stride": 2, "padding": 95, "output_padding": 0, "dilation": 1, "lossless": True}
    bad = subprocess.run([str(script), "explain", "--x", str(tmp_path / "none.npy"), "--w", "w", "--at", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("convt: error: --x: no such file")
    module = subprocess.run([sys.executable, "-m", "convt", "solve", "-i", "4", "-o", "8", "--limit", "1", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and len(json.loads(module.stdout)) == 1
