"""``--example-db``: a hypothesis example database shared by shards, runs and machines
(``conformance.example_db``), on a real Redis (``redis_server.redis_url``) and on a directory.

The planted fault is ``tests/impls/numpy_missing_bias.py`` (the last bias is lost from 3 output
channels on), logged call by call: shard 1 of 2 finds and shrinks it on the float32 lane, and a fresh
process of shard 2 (the float64 lane, another working directory, so no local ``.hypothesis`` in common)
tries that very example first. Every run is the suite as a user runs it, in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis.database import InMemoryExampleDatabase

from conformance.example_db import LaneKeyedDatabase, describe, lane_key

from impl_runs import EXAMPLES, IMPLS, VALUES

pytest_plugins = ["redis_server"]  # the redis_url fixture: a real redis-server on a free port
FAULT = f"{IMPLS / 'logged_missing_bias.py'}:conv_transpose"
CORRECT = f"{EXAMPLES / 'reference_impl.py'}:conv_transpose"


def suite(cwd, impl, *args, log=None):
    """The suite on ``impl``, ``test_values`` only (one item a dtype lane: float32, float64), the ci profile."""
    cwd.mkdir(parents=True, exist_ok=True)
    env = None
    if log is not None:
        import os

        env = {**os.environ, "CONVT_TEST_CALL_LOG": str(log)}
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "--hypothesis-profile", "ci",
                           "--impl", impl, "-k", VALUES, "--report-dir", "out", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def run_line(cwd) -> dict:
    with open(cwd / "out" / "records.jsonl") as stream:
        return json.loads(stream.readline())["run"]


def calls(log) -> list[str]:
    return log.read_text().splitlines()


# ---- the database's keys: one per lane, siblings read, only one's own deleted ------------------------


def test_a_lane_reads_its_siblings_failures_and_deletes_only_its_own():
    database = LaneKeyedDatabase(InMemoryExampleDatabase())
    float32, float64 = lane_key(b"test", "test_values[float32]"), lane_key(b"test", "test_values[float64]")
    database.save(float32, b"found on float32")
    assert list(database.fetch(float64)) == [b"found on float32"]  # tried first by every lane
    database.delete(float64, b"found on float32")  # float64 passed it: hypothesis deletes it from its own key
    assert list(database.fetch(float32)) == [b"found on float32"]  # still float32's, which found it
    database.delete(float32, b"found on float32")  # the lane that found it no longer fails on it
    assert list(database.fetch(float64)) == []
    database.save(float32 + b".secondary", b"a larger failing example")  # hypothesis's other corpora are the lane's alone
    assert list(database.fetch(float64 + b".secondary")) == []


def test_keys_of_runs_without_the_shared_database_are_read_too():
    inner = InMemoryExampleDatabase()
    inner.save(b"test", b"saved by a plain hypothesis run")
    assert list(LaneKeyedDatabase(inner).fetch(lane_key(b"test", "test_values[float32]"))) == [b"saved by a plain hypothesis run"]


@pytest.mark.parametrize("url, named", [
    ("redis://ci:s3cret@cache.example:6380/2", "redis://cache.example:6380/2"),
    ("redis://:s3cret@cache.example", "redis://cache.example:6379/0"),
    ("rediss://cache.example:6390/1", "rediss://cache.example:6390/1"),
])
def test_the_database_is_named_without_credentials(url, named):
    assert describe(url) == named


# ---- misuse: one line naming what is wrong --------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("--example-db-readonly",), "--example-db-readonly applies to --example-db, which is not given"),
    (("--example-db", "ftp://host/db"), "--example-db: unsupported scheme 'ftp'"),
    (("--example-db", "redis://ci:s3cret@127.0.0.1:1/0"), "--example-db: cannot reach redis://127.0.0.1:1/0: ConnectionError"),
    (("--example-db", "missing-db", "--example-db-readonly"), "does not exist (a read-only database is read, never created)"),
])
def test_misuse_is_a_one_line_usage_error(tmp_path, args, message):
    result = suite(tmp_path, CORRECT, *args)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout[-2000:] + result.stderr[-2000:]
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "s3cret" not in result.stderr + result.stdout


# ---- shards sharing what they find ---------------------------------------------------------------


def _shared(kind, tmp_path, url):
    return url if kind == "redis" else str(tmp_path / "shared-db")


@pytest.mark.parametrize("kind", ["redis", "directory"])
def test_the_example_one_shard_shrank_is_the_first_another_shard_tries(kind, tmp_path, redis_url):
    if kind == "redis":
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    shared = _shared(kind, tmp_path, redis_url)
    first, second, control = tmp_path / "shard-1", tmp_path / "shard-2", tmp_path / "shard-2-alone"
    found = suite(first, FAULT, "--shard", "1/2", "--example-db", shared, log=first / "calls.log")
    assert found.returncode == 1 and "mismatch" in found.stdout, found.stdout[-3000:]
    failure = [record for record in map(json.loads, (first / "out" / "records.jsonl").read_text().splitlines()[1:]) if record["outcome"] == "mismatch"][-1]
    shrunk = calls(first / "calls.log")[-1]  # hypothesis's last call replays the minimal example it shrank to
    call = json.loads(shrunk)
    assert call["x"][-(len(call["w"]) - 2):] == failure["case"]["input_size"] and call["w"][2:] == failure["case"]["kernel_size"] and call["bias"]

    replayed = suite(second, FAULT, "--shard", "2/2", "--example-db", shared, log=second / "calls.log")
    assert calls(second / "calls.log")[0] == shrunk, "shard 2 did not start from shard 1's example"
    assert replayed.returncode == 1  # the fault is on its lane too
    hypothesis = run_line(second)["hypothesis"]
    assert hypothesis["example_db"] == (redis_url if kind == "redis" else str((tmp_path / "shared-db").resolve()))
    assert hypothesis["derandomize"] is True and hypothesis["example_db_readonly"] is False
    assert hypothesis["example_db"] in (second / "out" / "report.html").read_text()

    # Control: the same shard without the database draws something else first (the ci draws alone).
    suite(control, FAULT, "--shard", "2/2", log=control / "calls.log")
    assert calls(control / "calls.log")[0] != shrunk


def _contents(url) -> dict:
    import redis

    client = redis.Redis.from_url(url)
    return {key: sorted(client.smembers(key)) for key in client.keys("convt-example:*")}


def test_a_passing_lane_keeps_the_failure_another_lane_found_and_readonly_changes_nothing(tmp_path, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    found = suite(tmp_path / "found", FAULT, "--shard", "1/2", "--example-db", redis_url, log=tmp_path / "found.log")
    assert found.returncode == 1
    float32 = [key for key in _contents(redis_url) if key.endswith(b"/lane:test_values[impl.function-cpu-float32]")]
    assert len(float32) == 1 and _contents(redis_url)[float32[0]]

    # The float64 lane of a correct implementation replays float32's failure first and passes it.
    passed = suite(tmp_path / "passed", CORRECT, "--shard", "2/2", "--example-db", redis_url)
    assert passed.returncode == 0, passed.stdout[-3000:]
    assert _contents(redis_url)[float32[0]], "a lane that passed another lane's failure deleted it"

    # Read-only, as a pull-request run: the fault found again saves nothing, and a pass deletes nothing.
    before = _contents(redis_url)
    for directory, impl, shard, code in (("ro-fault", FAULT, "2/2", 1), ("ro-pass", CORRECT, "1/2", 0)):
        result = suite(tmp_path / directory, impl, "--shard", shard, "--example-db", redis_url, "--example-db-readonly", log=tmp_path / f"{directory}.log")
        assert result.returncode == code, result.stdout[-3000:]
        assert run_line(tmp_path / directory)["hypothesis"]["example_db_readonly"] is True
    assert _contents(redis_url) == before


def test_under_the_ci_profile_a_run_with_a_database_is_repeatable(tmp_path):
    """Seeded per item as derandomize seeds it, with the database on: the same database contents give
    the same draws. (Not the draws of a run without a database: once a database is on, hypothesis keeps
    a front of the examples that maximise target(), and it draws on the same random stream.)"""
    from reports.discrepancies import discrepancy_id
    from conformance.records import read_run

    ids = []
    for run in ("first", "second"):
        result = suite(tmp_path / run, CORRECT, "--max-examples", "20", "--example-db", str(tmp_path / f"{run}-db"))
        assert result.returncode == 0, result.stdout[-2000:]
        ids.append(sorted(map(discrepancy_id, read_run(tmp_path / run / "out" / "records.jsonl")[1])))
    assert ids[0] == ids[1] and len(ids[0]) >= 40
