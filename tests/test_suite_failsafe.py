"""The suite as a CI gate: every misuse is a usage error, a run that tests nothing is red, an interrupted
run says so, and what is tested does not depend on the CPU the run lands on. Run as a user runs it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"
EXAMPLE = Path(__file__).parent.parent / "examples" / "reference_impl.py"
SLOW = "slow.py"


def run_suite(pytester, *args):
    return pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "10", *args)


def run_line(directory) -> dict:
    return json.loads((Path(directory) / "records.jsonl").read_text().splitlines()[0])["run"]


def usage_error(result, message):
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str() and "INTERNALERROR" not in result.stderr.str()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--devices", "bogus"], "--devices: unknown device 'bogus'"),
        (["--devices", "gpu"], "nothing to test with --devices gpu: no lane matches (devices present: cpu)"),
        (["--frameworks", ",,,"], "--frameworks: no value in ',,,'"),
        (["--dtypes", ","], "--dtypes: no value in ','"),
        (["--backends", "mkl"], "--backends: unknown backend 'mkl'"),
        (["--call-timeout", "nan"], "--call-timeout must be a finite number of seconds > 0; got nan"),
        (["--call-timeout", "inf"], "--call-timeout must be a finite number of seconds > 0; got inf"),
        (["--hypothesis-profile", "bogus"], "--hypothesis-profile: unknown hypothesis profile 'bogus'"),
        (["--modes", "jit"], "--modes: unknown mode 'jit'; choose from eager,compiled"),
        (["--modes", ","], "--modes: no value in ','"),
        (["--modes", "compiled"], "nothing to test with --modes compiled: function: no compiled lane: a user's function (--impl) has no compiler"),
        (["--compile-cache", ""], "--compile-cache: empty; give a directory, or 'none'"),
        (["--compile-cache", "a-file"], "--compile-cache: a-file exists and is not a directory"),
    ],
)
def test_misused_options_are_usage_errors(pytester, args, message):
    pytester.path.joinpath("a-file").write_text("")
    usage_error(run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", *args), message)
    assert not (pytester.path / "out" / "records.jsonl").exists()


def test_a_backend_the_targets_do_not_run_leaves_nothing_to_test(pytester):
    usage_error(run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--backends", "cudnn"),
                "nothing to test with --backends cudnn: the selected targets run the backends default, none of them in --backends")


@pytest.mark.parametrize(
    "source, spec, message",
    [
        (None, "missing.py:conv_transpose", "--impl: no such file: missing.py"),
        ("def conv_transpose(:\n", "broken.py:conv_transpose", "--impl cannot be loaded: SyntaxError"),
        ("import no_such_module_here\n", "imports.py:conv_transpose", "--impl cannot be loaded: ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("conv_transpose = 3\n", "constant.py:conv_transpose", "has no function 'conv_transpose'"),
        (None, "no_such_package.kernels:conv_transpose", "--impl: cannot import module 'no_such_package.kernels'"),
    ],
)
def test_an_impl_that_cannot_load_is_one_usage_error(pytester, source, spec, message):
    if source is not None:
        pytester.path.joinpath(spec.split(":")[0]).write_text(source)
    result = run_suite(pytester, "--impl", spec, "--report-dir", "out")
    usage_error(result, message)
    assert len(result.stderr.str().strip().splitlines()) <= 2, result.stderr.str()


@pytest.mark.parametrize(
    "toml, message",
    [
        ('discrepancy = "hello"\n', "'discrepancy' must be an array of tables"),
        ('[[discrepancy]]\nid = "x"\nframework = "impl"\nversions = ">=0"\nreason = "r"\nlink = "l"\ntargets = "impl.*"\n',
         "discrepancy 'x': targets must be a list of strings"),
        ('[[discrepancy]]\nid = 3\n', "discrepancy #1: id must be a string"),
        ('[other]\nx = 1\n', "unknown top-level keys other"),
        ('not toml at all [', "cannot read known discrepancies"),
    ],
)
def test_a_malformed_known_discrepancy_file_is_a_usage_error(pytester, toml, message):
    pytester.path.joinpath("known.toml").write_text(toml)
    usage_error(run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--known-discrepancies", "known.toml"), message)


@pytest.mark.parametrize("where", ["a-file/out", "/proc/convt-reports"])
def test_an_unwritable_report_dir_is_found_before_any_test(pytester, where):
    pytester.path.joinpath("a-file").write_text("")
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", where)
    usage_error(result, f"--report-dir: cannot write to {where}")


def test_a_run_in_which_no_check_ran_is_red(pytester):
    """The dialect tests have no lane for an --impl: everything is skipped, and that must not pass a gate."""
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", "-k", "test_dialect_parameters")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no check ran*this run tested nothing*"])


def test_xdist_runs_record_each_workers_environment(pytester):
    result = run_suite(pytester, "--impl", f"{EXAMPLE}:conv_transpose", "--report-dir", "out", "-n", "2", "-k", "test_values")
    assert result.ret == 0
    frameworks = run_line(pytester.path / "out")["frameworks"]
    assert frameworks and all(environment.get("implementation") for environment in frameworks.values()), frameworks


def test_stopping_early_marks_the_reports_incomplete(pytester):
    result = run_suite(pytester, "--impl", f"{IMPLS / 'missing_bias.py'}:conv_transpose", "--report-dir", "out", "-x", "-k", "test_values")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    run = run_line(pytester.path / "out")
    assert run["status"] == "incomplete" and "stopped early" in run["status_reason"]


def _slow_impl(directory: Path) -> Path:
    path = directory / SLOW
    path.write_text(
        "import time, oracles\n"
        "def conv_transpose(x, w, bias, **kw):\n"
        "    time.sleep(0.5)\n"
        "    return oracles.conv_transpose(x, w, bias, **kw).astype(x.dtype)\n"
    )
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_is_marked_interrupted_in_every_file(tmp_path, signum):
    out = tmp_path / "out"
    out.mkdir()
    (out / "records.jsonl").write_text('{"run": {"status": "complete"}}\n')  # a previous complete run's report
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "--impl", f"{_slow_impl(tmp_path)}:conv_transpose",
         "--report-dir", str(out), "-k", "test_values", "--max-examples", "50"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # As from a terminal: a shell script's background job would start it with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(8)  # past start-up, in the middle of the first test
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0, output[-2000:]
    run = run_line(out)
    assert run["status"] == "interrupted", output[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary.get("status") == "interrupted"
    assert "interrupted" in (out / "report.html").read_text().lower()


def test_the_same_lanes_whatever_oneDNN_setting_the_machine_has(pytester):
    """TF_ENABLE_ONEDNN_OPTS in the user's environment (or the CPU's default) does not change what is tested."""
    collected = {}
    for setting in ("0", "1"):
        environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "--co", "-q",
             "--frameworks", "tensorflow,torch", "--report-dir", str(pytester.path / "out")],
            cwd=pytester.path, env=environment, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        collected[setting] = sorted(line for line in result.stdout.splitlines() if "::" in line)
    assert collected["0"] == collected["1"]
    ids = "\n".join(collected["0"])
    for lane in ("tensorflow.nn-cpu-onednn-float32", "tensorflow.nn-cpu-eigen-float32", "tensorflow.nn-cpu-eigen-float64",
                 "torch.functional-cpu-onednn-float32", "torch.functional-cpu-native-float32", "torch.functional-cpu-native-float64"):
        assert lane in ids, f"{lane} not collected"
    assert "tensorflow.nn-cpu-onednn-float64" not in ids  # float64 has no oneDNN kernel: one eigen lane, not two
