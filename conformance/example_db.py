"""``--example-db URL``: a hypothesis example database shared by every run, shard and machine, so a
failing example one of them found (and shrank) is the first thing every later run tries.

Hypothesis's own databases do the work: ``URL`` is a directory (``DirectoryBasedExampleDatabase``, on
a shared file system or a CI cache) or ``redis://[user:password@]host:port/db`` (``RedisExampleDatabase``),
multiplexed with the run's local ``.hypothesis`` database (``MultiplexedDatabase``: read from both,
written to both). ``--example-db-readonly`` wraps the shared one in ``ReadOnlyDatabase``: a
pull-request run replays what the campaigns found without adding its own examples or deleting theirs.

Two things are the suite's own:

- **Keys per lane.** Hypothesis keys a test's examples by its function, so every lane of a
  parametrized test (float32 and float64, CPU and GPU, torch and TensorFlow variants) shares one key,
  and a lane that replays another lane's failing example and passes it *deletes* it: a float64 lane
  would erase what the float32 lane found. :class:`LaneKeyedDatabase` gives each test item its own
  key, which only that item saves to and deletes from, and reads the other lanes' keys of the same
  test too: every lane still tries every lane's failures first, and a failure stays in the database
  until the lane that found it no longer fails on it.
- **Derandomized profiles.** Hypothesis does not use a database under ``derandomize`` (the ``ci``
  profile). With ``--example-db`` the run instead seeds every test item with the seed ``derandomize``
  gives it here (``conformance.profiles.item_seed``) and turns the database on: the same database
  contents give the same draws, so a red run can be re-run to the same example. They are not the
  draws of the run without a database: with a database, hypothesis also keeps a front of the examples
  that maximise the suite's ``target()`` scores, which draws on the same random stream (and the
  database's examples take their share of the budget), so ``convt compare`` treats two runs'
  draws as comparable only where neither replayed a shared database.

The run line names the database without its credentials (:func:`describe`).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, MultiplexedDatabase, ReadOnlyDatabase

# config.stash keys: whether the run's profile derandomizes (its items are then seeded as derandomize
# seeds them), and the database as the run line names it.
SEEDED = pytest.StashKey()
EXAMPLE_DB = pytest.StashKey()
REDIS_SCHEMES = ("redis", "rediss")
# The suffixes hypothesis appends to a test's key for its other corpora (shrinking, target()).
DERIVED = (b".secondary", b".pareto")
LANE = b"/lane:"
LANES = b"/lanes"


def describe(url: str) -> str:
    """The database as the run line names it: a resolved directory, or a Redis URL without user and password."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in REDIS_SCHEMES:
        host = parsed.hostname or "localhost"
        host = f"[{host}]" if ":" in host else host
        return urllib.parse.urlunsplit((parsed.scheme, f"{host}:{parsed.port or 6379}", parsed.path or "/0", "", ""))
    return str(Path(url).expanduser().resolve())


def open_shared(url: str, readonly: bool) -> ExampleDatabase:
    """The shared database ``url`` names, reachable now; a usage error naming what is wrong otherwise."""
    value = url.strip()
    if not value:
        raise pytest.UsageError("--example-db: empty; give a directory or redis://host:port/db")
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme in REDIS_SCHEMES:
        database = _redis(value, describe(value))
    elif parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise pytest.UsageError(f"--example-db: unsupported scheme {parsed.scheme!r}; give a directory or redis://host:port/db")
    else:
        database = _directory(Path(value).expanduser(), readonly)
    return ReadOnlyDatabase(database) if readonly else database


def _redis(url: str, name: str) -> ExampleDatabase:
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise pytest.UsageError("--example-db redis://...: the redis package is not installed (pip install 'convt-conformance[redis]')") from None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=60)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as error:
        # The message of a refused connection names host and port, never the password.
        raise pytest.UsageError(f"--example-db: cannot reach {name}: {type(error).__name__}: {_first_line(error)}") from None
    return RedisExampleDatabase(client, key_prefix=b"convt-example:")


def _directory(path: Path, readonly: bool) -> ExampleDatabase:
    if path.exists() and not path.is_dir():
        raise pytest.UsageError(f"--example-db: {path} exists and is not a directory")
    if not path.exists():
        if readonly:
            raise pytest.UsageError(f"--example-db: {path} does not exist (a read-only database is read, never created)")
        try:
            path.mkdir(parents=True)
        except OSError as error:
            raise pytest.UsageError(f"--example-db: cannot create {path}: {error.strerror or error}") from None
    return DirectoryBasedExampleDatabase(str(path))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else ""


def local() -> ExampleDatabase:
    """The run's own database: hypothesis's default folder, ``.hypothesis/examples`` where the run starts."""
    from hypothesis.configuration import storage_directory

    try:
        # Only the path: the folder is made when the first example is saved, as hypothesis's own default
        # does (touching storage while plugins load earns a HypothesisSideeffectWarning).
        path = storage_directory("examples", intent_to_write=False)
    except TypeError:  # pragma: no cover - hypothesis before intent_to_write
        path = storage_directory("examples")
    return DirectoryBasedExampleDatabase(str(path))


def database(url: str, readonly: bool) -> ExampleDatabase:
    """What ``--example-db URL [--example-db-readonly]`` gives the run's tests."""
    return LaneKeyedDatabase(MultiplexedDatabase(local(), open_shared(url, readonly)))


def lane_key(test_key: bytes, item: str) -> bytes:
    """The key of one test item's examples: the test's own key, and the item's lane."""
    return test_key + LANE + item.encode()


class LaneKeyedDatabase(ExampleDatabase):
    """Each lane saves and deletes under its own key (:func:`lane_key`) and reads its siblings' too.

    A lane key's test key (the part before ``/lane:``) indexes the lane keys saved under it
    (``<test key>/lanes``), so a lane finds its siblings in any database, the directory and Redis
    alike; keys of the test as hypothesis makes them (runs without ``--example-db``) are read too."""

    def __init__(self, database: ExampleDatabase):
        super().__init__()
        self.database = database

    def __repr__(self) -> str:
        return f"LaneKeyedDatabase({self.database!r})"

    @staticmethod
    def _test_key(key: bytes) -> bytes | None:
        """The test key of a lane's primary key; None for any other key (its secondary and pareto corpora)."""
        if LANE not in key or key.endswith(DERIVED):
            return None
        return key.split(LANE, 1)[0]

    def fetch(self, key: bytes):
        seen = set()
        test = self._test_key(key)
        keys = [key] if test is None else [key, *(k for k in self.database.fetch(test + LANES) if k != key), test]
        for source in keys:
            for value in self.database.fetch(source):
                if value not in seen:
                    seen.add(value)
                    yield value

    def save(self, key: bytes, value: bytes) -> None:
        self.database.save(key, value)
        test = self._test_key(key)
        if test is not None:
            self.database.save(test + LANES, key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.database.delete(key, value)  # this lane's own key only: a sibling's failure stays theirs

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.database.move(src, dest, value)
        test = self._test_key(dest)
        if test is not None:
            self.database.save(test + LANES, dest)
