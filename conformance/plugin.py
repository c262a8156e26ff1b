"""The pytest plugin: hooks and fixtures only, wired to the parts that do the work.

Loaded through the ``pytest11`` entry point, so ``pytest conformance`` and ``pytest --pyargs
conformance`` both see it; inert for test runs that do not select the conformance suite. Options are
parsed and checked before anything runs (``conformance.options``); the run's state (worker pool, lanes,
runner, records) is one :class:`~conformance.session.ConvtSession` kept in ``config.stash`` and
registered as a plugin for the run; ``conformance.parametrize`` spreads each test over the lanes.
Tests assert; the session observes and writes.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from hypothesis import settings

from . import options as convt_options
from . import profiles  # noqa: F401  (registers the hypothesis profiles before hypothesis reads --hypothesis-profile)
from .example_db import EXAMPLE_DB, SEEDED
from .modes import MODES, compiled_examples
from .parametrize import parametrize
from .records import DRAWS_PROPERTY
from .session import ConvtSession

SESSION = pytest.StashKey()


def pytest_addoption(parser):
    convt_options.add_options(parser)


def _in_suite(module) -> bool:
    """Whether a test module is one of the conformance suite's own."""
    package = Path(__file__).parent.resolve()
    return package in Path(module.__file__).resolve().parents


def _selects_conformance(config) -> bool:
    """Whether the command line points at the conformance suite (a path inside it, or --pyargs conformance)."""
    package = Path(__file__).parent.resolve()
    for arg in config.args:
        target = arg.split("::")[0]
        if config.getoption("pyargs", False) and target.split(".")[0] == "conformance":
            return True
        path = Path(target).resolve()
        if path == package or package in path.parents:
            return True
    return False


def _terminate_as_interrupt(signum, frame):
    # SIGTERM (a CI runner cancelling the job) ends the run like Ctrl-C: reports marked interrupted,
    # workers stopped. Without this, Python dies at once and the workers outlive it.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not (_selects_conformance(config) or config.getoption("impl")):
        return
    convt_options.check_profile(config)  # before hypothesis's own plugin loads it and fails with an INTERNALERROR
    if os.environ.get("HYPOTHESIS_PROFILE") or config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
    max_examples = config.getoption("max_examples")
    if max_examples is not None and max_examples >= 1:
        _derive_profile(config, f"max-examples-{max_examples}", max_examples=max_examples)
    _example_db(config)
    session = ConvtSession(config)
    config.stash[SESSION] = session
    config.pluginmanager.register(session, "convt-session")
    try:
        if not hasattr(config, "workerinput") and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminate_as_interrupt)
        if hasattr(config, "workerinput") and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            # An xdist worker whose controller died is stopped by execnet sending it SIGINT. A run
            # started with SIGINT ignored (a background job of a script, nohup) passes that on to its
            # workers, which would then run on for another 10 s, with their framework workers.
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (an embedding runner): leave signals alone
        pass


def _derive_profile(config, suffix: str, **changes) -> settings:
    """Load the run's profile with ``changes`` on top, named ``<profile>-<suffix>``; returns the profile
    it was derived from. hypothesis's own plugin loads ``--hypothesis-profile`` after this hook, which
    would reset what was changed (``--hypothesis-profile ci --max-examples 25`` ran 100), so the
    derived profile is handed to it under that option instead."""
    chosen = config.getoption("hypothesis_profile", None)
    base = settings.get_profile(chosen) if chosen else settings.default
    name = f"{chosen or settings.get_current_profile_name()}-{suffix}"
    settings.register_profile(name, settings(base, **changes))
    settings.load_profile(name)
    if chosen:
        config.option.hypothesis_profile = name
    return base


def _example_db(config) -> None:
    """``--example-db``: the run's profile with the shared database on (``conformance.example_db``)."""
    url, readonly = config.getoption("example_db"), config.getoption("example_db_readonly")
    if url is None:
        if readonly:
            raise pytest.UsageError("--example-db-readonly applies to --example-db, which is not given")
        return
    from . import example_db

    base = _derive_profile(config, "example-db", derandomize=False, database=example_db.database(url, readonly))
    config.stash[SEEDED] = base.derandomize
    config.stash[EXAMPLE_DB] = {"example_db": example_db.describe(url), "example_db_readonly": readonly}


def pytest_unconfigure(config):
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()
        config.pluginmanager.unregister(session)


def pytest_report_header(config):
    session = config.stash.get(SESSION, None)
    if session is None:
        return None
    lines = [f"convt: workers {', '.join(session.workers) or 'none'}; report dir {session.report_dir}"]
    for worker in session.workers:
        environment = session.environment(worker)
        details = ", ".join(f"{key}={value}" for key, value in environment.items() if key not in ("framework",))
        lines.append(f"convt: {worker}: {details}")
    current = settings.default
    derandomized = current.derandomize or config.stash.get(SEEDED, False)
    lines.append(
        f"convt: hypothesis profile {settings.get_current_profile_name()}, max_examples={current.max_examples} "
        f"(compiled lanes {compiled_examples(current.max_examples)}), "
        f"derandomize={derandomized}, seed={config.getoption('hypothesis_seed', None) or ('fixed' if derandomized else 'random')} per test"
    )
    shared = config.stash.get(EXAMPLE_DB, None)
    if shared:
        lines.append(f"convt: example database {shared['example_db']}{' (read-only)' if shared['example_db_readonly'] else ''} "
                     "with the local .hypothesis: its examples are tried first")
    cache = session.options.compile_cache
    lines.append(f"convt: modes {','.join(session.options.modes or MODES)}; compile cache {cache if cache else 'off'}")
    lines.append(f"convt: known discrepancies {len(session.known.entries)} ({session.options.known_discrepancies or 'built in'})")
    if session.options.shard:
        index, count = session.options.shard
        lines.append(f"convt: shard {index}/{count}: test items {index}, {index + count}, {index + 2 * count}, ... in collection order")
    return lines


@pytest.hookimpl(trylast=True)  # after -k, -m and every other selection: the shards split what is left
def pytest_collection_modifyitems(session, config, items):
    convt = config.stash.get(SESSION, None)
    if convt is None or convt.options.shard is None:
        return
    from . import shard

    index, count = convt.options.shard
    node_ids = [item.nodeid for item in items]
    selected, deselected = shard.split(items, index, count)
    convt.shard = shard.describe(index, count, len(selected), node_ids)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected
    if not selected and node_ids and not hasattr(config, "workerinput"):
        # An xdist worker cannot stop the run with a usage error (the controller reports an internal
        # error); there the run ends with no tests and the terminal summary says why.
        raise pytest.UsageError(f"--shard {index}/{count}: the run has {len(node_ids)} test items, so shard {index} holds none; use at most {len(node_ids)} shards")


def pytest_generate_tests(metafunc):
    session = metafunc.config.stash.get(SESSION, None)
    if session is None or "target" not in metafunc.fixturenames or not _in_suite(metafunc.module):
        return  # other tests may have a fixture of that name: only the suite's own are parametrized
    parametrize(metafunc, session)


@pytest.fixture(scope="session")
def convt(request):
    """The run's :class:`ConvtSession` (worker pool, runner, known discrepancies)."""
    session = request.config.stash.get(SESSION, None)
    if session is None:
        pytest.skip("the conformance suite is not selected")
    return session


@pytest.fixture(scope="session")
def runner(convt):
    return convt.runner


def _seed_item(item):
    """Give a hypothesis test item of a reproducible run (``derandomize``, or ``--hypothesis-seed``) its
    own seed (:func:`~conformance.profiles.item_seed`) for this call, and under ``--example-db`` its own
    key in the database (:func:`~conformance.example_db.lane_key`); returns what undoes both (the test
    function is shared by all its parametrized items). A randomized run already draws a seed per item."""
    test = getattr(item, "obj", None)
    test_settings = getattr(test, "_hypothesis_internal_use_settings", None)
    if test_settings is None:
        return lambda: None  # not a hypothesis test
    undo = []
    if item.config.stash.get(EXAMPLE_DB, None) is not None and hasattr(test, "hypothesis"):
        # Each lane its own key in the shared database (conformance.example_db.LaneKeyedDatabase).
        from hypothesis.internal.reflection import function_digest

        from .example_db import lane_key

        test._hypothesis_internal_database_key = lane_key(function_digest(test.hypothesis.inner_test), item.name)
        undo.append(lambda: delattr(test, "_hypothesis_internal_database_key"))
    base = item.config.getoption("hypothesis_seed", None)
    derandomized = test_settings.derandomize or item.config.stash.get(SEEDED, False)
    if (derandomized or base is not None) and getattr(test, "_hypothesis_internal_use_seed", None) is None:
        module = getattr(getattr(item, "module", None), "__name__", "")
        test._hypothesis_internal_use_seed = profiles.item_seed(f"{module}::{item.name}", base)
        undo.append(lambda: setattr(test, "_hypothesis_internal_use_seed", None))
    # else a randomized run (a seed of its own per item already), or a test with its own @seed

    def restore():
        for step in undo:
            step()
    return restore


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    session = item.config.stash.get(SESSION, None)
    if session is not None:
        session.current_item = item
        if session._runner is not None:
            session._runner.start_test()  # a crash remembered in the last test must not stop this one's examples
    restore = _seed_item(item)
    try:
        result = yield
    finally:
        restore()
        if session is not None:
            session.current_item = None
    if session is not None:
        ran, skipped, reason = session.applicable.get(item.nodeid, [0, 0, ""])
        target = getattr(getattr(item, "callspec", None), "params", {}).get("target")
        if target is not None and ran + skipped:
            item.user_properties.append((DRAWS_PROPERTY, json.dumps({"lane": target.id, "checked": ran, "not_applicable": skipped})))
        if ran == 0 and skipped > 0:
            # Passing a test in which no check ran would claim coverage that does not exist.
            pytest.skip(f"no drawn case applies ({skipped} tried): {reason}")
    return result
