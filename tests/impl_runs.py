"""The suite run on an implementation (``--impl``) as a user runs it, in a subprocess, kept small: for
``test_impl_contract.py`` and ``test_impl_arrays.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

IMPLS = Path(__file__).parent / "impls"
EXAMPLES = Path(__file__).parent.parent / "examples"
# test_values on its own (no long outputs, no spellings): the cheapest test that checks every lane.
VALUES = "test_values and not large and not spellings"

# A run meant to fail stops at its first failure: the ci profile without shrinking (which would spend
# tens of seconds on each failure's distinct signatures), registered by a plugin the run loads.
NO_SHRINK = """
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers ci)

settings.register_profile("ci-no-shrink", parent=settings.get_profile("ci"), phases=[Phase.explicit, Phase.reuse, Phase.generate])
"""


def run_suite(pytester, impl, *args, examples=5, shrink=True):
    """The suite on ``impl`` (None: no --impl), derandomized (the ci profile), ``examples`` per test, reports in ``out``."""
    profile = ["--hypothesis-profile", "ci"]
    if not shrink:
        pytester.path.joinpath("convt_no_shrink.py").write_text(NO_SHRINK)
        profile = ["-p", "convt_no_shrink", "--hypothesis-profile", "ci-no-shrink"]
    return pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", *profile, "--max-examples", str(examples),
                                         *(("--impl", impl) if impl else ()), "--report-dir", "out", *args)


def written(directory) -> tuple[dict, list[dict]]:
    """A run's run line and records."""
    lines = (Path(directory) / "records.jsonl").read_text().splitlines()
    return json.loads(lines[0])["run"], [json.loads(line) for line in lines[1:]]


def usage_error(result, message):
    """Exit code 4, ``message`` in a one-line error, no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:] + result.stderr.str()[-2000:]
    result.stderr.fnmatch_lines([f"*{message}*"])
    error = result.stderr.str()
    assert "Traceback" not in error and "INTERNALERROR" not in error, error
    assert len(error.strip().splitlines()) == 1, error
