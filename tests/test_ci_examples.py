"""The CI examples (``examples/ci/``): every command they run exists and accepts its options, the tox
envs and constraints they name exist, and the gate merges exactly the shards the matrix produces.

Each command is read out of the YAML as the CI service would run it (a matrix's values and the
variables substituted, ``&&``/``||``/``;`` and line continuations split) and checked without running
it: ``convt`` by its own parser, ``pytest`` (and ``tox run -e ENV -- ARGS``, which runs the env's
pytest command with ARGS) by pytest's, with this suite's plugin loaded, plus the suite's own checks of
``--shard``, ``--hypothesis-profile``, ``--frameworks`` and ``--devices``.
"""

from __future__ import annotations

import configparser
import importlib
import itertools
import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="pyyaml is not installed (pip install -e '.[dev]')")

ROOT = Path(__file__).parent.parent
CI = ROOT / "examples" / "ci"
# Shell words a CI script may use besides the tools checked one by one below.
PLAIN = {"true", "mkdir", "ls", "cp", "echo"}
VARIABLES = {"CONVT_EXAMPLE_DB": "redis://ci:secret@redis.example:6379/0"}


# ---- reading the files ----------------------------------------------------------------------------


def github_jobs():
    """``(job, matrix, commands)`` of the GitHub Actions workflow: ``run`` steps and ``uses`` actions."""
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    for name, job in workflow["jobs"].items():
        matrix = {key: value for key, value in ((job.get("strategy") or {}).get("matrix") or {}).items() if isinstance(value, list)}
        runs = [step["run"] for step in job["steps"] if "run" in step]
        uses = [step["uses"] for step in job["steps"] if "uses" in step]
        yield name, matrix, runs, uses


def gitlab_jobs():
    """``(job, matrix, commands)`` of the GitLab CI file."""
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    for name, job in pipeline.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        matrices = ((job.get("parallel") or {}).get("matrix")) or [{}]
        assert len(matrices) == 1, name
        matrix = {key: value if isinstance(value, list) else [value] for key, value in matrices[0].items()}
        yield name, matrix, [*job.get("before_script", []), *job["script"]], []


def combinations(matrix: dict):
    keys = list(matrix)
    for values in itertools.product(*(matrix[key] for key in keys)):
        yield dict(zip(keys, map(str, values)))


def substitute(text: str, values: dict) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda match: values[match[1]], text)
    for name, value in {**VARIABLES, **values}.items():
        text = re.sub(rf"\$(\{{{name}\}}|{name}\b)", value, text)
    assert "${{" not in text, f"an expression left unexpanded: {text}"
    return text


def commands(script: str) -> list[list[str]]:
    """The simple commands of a script: lines joined at ``\\``, split at ``&&``, ``||`` and ``;``."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        current = []
        for word in words + [";"]:
            if word in ("&&", "||", ";"):
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
    return found


def every_command(jobs):
    for job, matrix, scripts, _ in jobs:
        for values in combinations(matrix):
            for script in scripts:
                for command in commands(substitute(script, values)):
                    yield job, values, command


# ---- checking one command ---------------------------------------------------------------------------


def tox_envs() -> set[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return {section.removeprefix("testenv:") for section in parser.sections() if section.startswith("testenv:")}


def tox_suite() -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return shlex.split(parser["pinned"]["suite"])


def check_pytest(args: list[str]) -> None:
    """pytest's own parsing of ``args`` with the installed plugins (the suite's among them), and the
    suite's checks of the values it can check without starting anything."""
    from _pytest.config import _prepareconfig
    from hypothesis import settings

    from conformance import shard, targets
    importlib.import_module("conformance.profiles")  # registers the suite's profiles
    from conformance.options import DEVICE

    config = _prepareconfig(list(args))
    try:
        shard.parse(config.getoption("shard"))
        if config.getoption("hypothesis_profile"):
            settings.get_profile(config.getoption("hypothesis_profile"))
        for framework in filter(None, (config.getoption("frameworks") or "").split(",")):
            assert framework in targets.frameworks(), framework
        for device in filter(None, (config.getoption("devices") or "").split(",")):
            assert DEVICE.match(device), device
        assert config.getoption("pyargs") and "conformance" in config.args, "not the conformance suite"
    finally:
        config._ensure_unconfigure()


def check_pip(args: list[str]) -> None:
    assert args[:1] == ["install"], args
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    words = iter(args[1:])
    for word in words:
        if word in ("-c", "--constraint"):
            assert (ROOT / next(words)).is_file()
        elif word in ("-e", "--editable"):
            target = next(words)
            assert target.split("[")[0] == ".", target
            named = set(filter(None, target.partition("[")[2].rstrip("]").split(",")))
            assert named <= extras, f"unknown extras {named - extras}"


def check(command: list[str]) -> None:
    program, args = command[0], command[1:]
    if program == "python" and args[:2] == ["-m", "pip"]:
        check_pip(args[2:])
    elif program == "convt":
        from convt.cli import build_parser

        build_parser().parse_args(args)  # SystemExit (a usage error) fails the test
    elif program == "pytest":
        check_pytest(args)
    elif program == "tox":
        assert args[:2] == ["run", "-e"] and args[3] == "--", args
        assert args[2] in tox_envs(), f"no tox env {args[2]}"
        check_pytest(tox_suite() + args[4:])
    else:
        assert program in PLAIN and shutil.which(program), f"unknown command {program}"


FILES = {"github": github_jobs, "gitlab": gitlab_jobs}


@pytest.mark.parametrize("ci", FILES)
def test_every_command_exists_and_parses_its_options(ci):
    checked = 0
    for job, values, command in every_command(FILES[ci]()):
        try:
            check(command)
        except (AssertionError, SystemExit, pytest.UsageError) as error:
            pytest.fail(f"{ci} job {job} {values}: {shlex.join(command)}: {type(error).__name__}: {error}")
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("ci", FILES)
def test_the_gates_merge_every_shard_the_matrix_writes(ci):
    """Each report directory a shard job writes is an input of its side's merge, and a shard job's
    ``--shard I/N`` counts the matrix's shards."""
    jobs = {job: (matrix, scripts) for job, matrix, scripts, _ in FILES[ci]()}
    for producer, consumer in (("shard", "gate"), ("nightly", "nightly-report")):
        matrix, _ = jobs[producer]
        written = set()
        for job, values, command in every_command([(producer, matrix, jobs[producer][1], [])]):
            if command[0] == "tox":
                shard, count = re.search(r"--shard (\d+)/(\d+)", shlex.join(command)).groups()
                assert int(count) == len(matrix["shard" if ci == "github" else "SHARD"]) and shard in (values.get("shard"), values.get("SHARD"))
                written.add(command[command.index("--report-dir") + 1])
        merged = [word for _, _, command in every_command([(consumer, {}, jobs[consumer][1], [])]) if command[:2] == ["convt", "merge"] for word in command[3:]]
        if ci == "github":  # artifacts named after the matrix, downloaded into shards/<name>
            prefix = "records-" if producer == "shard" else "nightly-"
            written = {f"shards/{prefix}{directory.removeprefix('reports/out/')}" for directory in written}
        globbed = [word for word in merged if "*" in word]
        assert set(merged) - set(globbed) <= written
        assert written <= set(merged) or all(any(Path(directory).match(pattern) for pattern in globbed) for directory in written), \
            f"{ci}: the {consumer} job does not merge {sorted(written - set(merged))}"


def test_the_actions_used_are_pinned_to_a_major_version():
    for job, _, _, uses in github_jobs():
        for action in uses:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", action), f"{job}: {action}"
