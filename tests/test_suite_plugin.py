"""The conformance suite's own machinery, run as a user would run it (in a subprocess, on --impl targets)."""

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"
EXAMPLE = Path(__file__).parent.parent / "examples" / "reference_impl.py"


def run_suite(pytester, *args):
    return pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "25", *args)


def records(directory):
    """The records of a run, as dicts; the file must start with its run line."""
    lines = (Path(directory) / "records.jsonl").read_text().splitlines()
    run = json.loads(lines[0])["run"]
    assert {"date", "frameworks", "hypothesis", "known_discrepancies"} <= set(run)
    return [json.loads(line) for line in lines[1:]]


def test_a_correct_implementation_passes_and_every_check_is_recorded(pytester):
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out")
    assert result.ret == 0 and result.parseoutcomes()["passed"] >= 6
    written = records(pytester.path / "out")
    assert written and {r["outcome"] for r in written} <= {"pass", "not-applicable"}
    assert {r["check"] for r in written} >= {"forward", "linearity", "batch-split", "determinism"}
    assert {r["dtype"] for r in written} == {"float32", "float64"}
    assert all(r["test"].startswith("conformance/") or "::" in r["test"] for r in written)


def test_a_reproducible_run_gives_each_lane_its_own_cases_and_repeats_them(pytester):
    # Hypothesis seeds a derandomized test (and --hypothesis-seed) per test function: without a seed per
    # item, the float32 and float64 lanes of test_values would draw the very same cases.
    def cases(directory):
        by_lane = {}
        for record in records(pytester.path / directory):
            if record["check"] == "forward":
                by_lane.setdefault(record["dtype"], []).append(json.dumps(record["case"], sort_keys=True))
        return by_lane

    for out in ("first", "again"):
        result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", out, "--hypothesis-profile", "ci",
                           "--max-examples", "10", "-k", "test_values and not large and not spellings")
        assert result.ret == 0
    first = cases("first")
    assert set(first) == {"float32", "float64"} and first["float32"] != first["float64"]
    assert cases("again") == first
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "seeded", "--hypothesis-seed", "7",
                       "--max-examples", "10", "-k", "test_values and not large and not spellings")
    assert result.ret == 0
    seeded = cases("seeded")
    assert seeded["float32"] != seeded["float64"] and seeded != first


def test_max_examples_applies_on_top_of_a_hypothesis_profile(pytester):
    # hypothesis's own plugin loads --hypothesis-profile after the suite's hook: it used to reset the budget.
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", "--hypothesis-profile", "ci",
                       "--max-examples", "3", "-k", "test_values and not large and not spellings")
    assert result.ret == 0
    run = json.loads((pytester.path / "out" / "records.jsonl").read_text().splitlines()[0])["run"]["hypothesis"]
    assert run["max_examples"] == 3 and run["derandomize"] is True
    assert len([r for r in records(pytester.path / "out") if r["check"] == "forward"]) < 40


def test_a_narrow_bug_fails_with_a_shrunk_record_and_a_repro(pytester):
    result = run_suite(pytester, "--impl", f"{IMPLS / 'missing_bias.py'}:conv_transpose", "--report-dir", "out", "-k", "test_values")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*mismatch: * elements exceed the error bound*"])
    failures = [r for r in records(pytester.path / "out") if r["outcome"] == "mismatch"]
    assert failures, "the mismatch was not recorded"
    for record in failures:
        assert record["case"]["bias"] and record["case"]["groups"] * record["case"]["out_per_group"] >= 3
        assert "conv_transpose(" in record["repro"] and record["max_abs_error"] > record["bound"]


def test_convt_repro_prints_a_script_that_shows_the_fault_in_an_isolated_interpreter(pytester, capsys):
    """The whole path a maintainer takes: a run finds the fault, ``convt repro`` prints its script, and the
    script, run alone (``python -I``: no repository on the path), prints the difference."""
    import subprocess
    import sys

    from convt.cli import main

    result = run_suite(pytester, "--impl", f"{IMPLS / 'numpy_missing_bias.py'}:conv_transpose", "--report-dir", "out", "-k", "test_values and not large")
    assert result.ret == 1
    summary = json.loads((pytester.path / "out" / "summary.json").read_text())
    entry = next(d for d in summary["discrepancies"] if d["kind"] == "mismatch")
    assert entry["repro"].startswith("# Standalone repro:")
    capsys.readouterr()
    assert main(["repro", str(pytester.path / "out"), entry["id"][:8]]) == 0
    script = capsys.readouterr().out
    assert script == entry["repro"]
    (pytester.path / "alone").mkdir()
    (pytester.path / "alone" / "repro.py").write_text(script)
    done = subprocess.run([sys.executable, "-I", "repro.py"], cwd=pytester.path / "alone", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "DIFFERS" in done.stdout, done.stdout + done.stderr


def test_a_crash_is_recorded_and_the_run_carries_on(pytester):
    result = run_suite(pytester, "--impl", f"{IMPLS / 'aborts.py'}:conv_transpose", "--report-dir", "out", "-k", "test_values and not large")
    assert result.ret == 1
    written = records(pytester.path / "out")
    # The float32 lane's worker died; the float64 lane still ran (in a fresh worker) and was recorded.
    assert {r["dtype"] for r in written if r["outcome"] == "crash"} == {"float32", "float64"}
    assert any(r["outcome"] == "pass" for r in written), "no check passed before or after the crash"


def test_a_hang_is_recorded_as_a_timeout(pytester):
    result = run_suite(pytester, "--impl", f"{IMPLS / 'hangs.py'}:conv_transpose", "--report-dir", "out", "--call-timeout", "2", "-k", "test_values and float64 and not large", "--max-examples", "10")
    assert result.ret == 1
    assert any(r["outcome"] == "timeout" for r in records(pytester.path / "out"))


def test_xdist_workers_end_in_one_set_of_records(pytester):
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", "-n", "2", "-k", "test_values or determinism")
    assert result.ret == 0
    written = records(pytester.path / "out")
    assert {r["check"] for r in written} == {"forward", "determinism"}
    assert len({r["test"] for r in written}) >= 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["--frameworks", "caffe"], "--frameworks: unknown framework 'caffe'; choose from jax,onnxruntime,tensorflow,torch"),
        (["--dtypes", "int8"], "--dtypes: unknown dtype 'int8'"),
        (["--max-examples", "0"], "--max-examples must be >= 1; got 0"),
        (["--impl", "no_colon"], "--impl must be MODULE_OR_FILE.py:FUNCTION"),
        (["--call-timeout", "0"], "--call-timeout must be a finite number of seconds > 0; got 0.0"),
        # A dtype no selected target computes in: say which they do, not a reason about GPUs.
        (["--impl", f"{EXAMPLE}:conv_transpose", "--dtypes", "bfloat16"],
         "nothing to test with --dtypes bfloat16: the selected targets compute in float32, float64 on the devices present, none of them in --dtypes"),
    ],
)
def test_bad_options_are_usage_errors(pytester, args, message):
    result = run_suite(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_other_tests_with_a_target_fixture_are_left_alone(pytester):
    """Only the suite's own tests are parametrized over targets, even when both run in one session."""
    pytester.makepyfile(test_mine="""
        import pytest

        @pytest.fixture
        def target():
            return "mine"

        def test_uses_its_own_target(target):
            assert target == "mine"
    """)
    result = pytester.runpytest_subprocess("test_mine.py", "--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "5",
                                           "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", "-k", "uses_its_own or test_values")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*passed*"])
    assert "test_uses_its_own_target[" not in result.stdout.str()
