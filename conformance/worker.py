"""Framework calls in worker processes, so that an abort or a hang costs one worker, not the run.

One long-lived worker per framework (frameworks load once; TensorFlow, JAX and PyTorch never share a
process). The test process sends ``(method, args)`` and receives the adapter's result or its
exception; an array far larger than the caller expects, or a result that cannot be pickled, stays in
the worker and only its description comes back (see :mod:`conformance.results`). A worker that dies
mid-call becomes :class:`Crash`, one that exceeds the call's time limit is killed and becomes
:class:`Timeout`; the next call starts a fresh worker. A worker never outlives the test process (see
:mod:`conformance.lifeline`).
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection

from . import backends, targets
from .results import bounded, unsendable
from .targets.base import FrameworkError, NotApplicable, Unsupported

# A worker says "ready" once its framework is imported; that may take this long (TF: about 8 s on a quiet
# 2-core machine, far more on a loaded one). Kept apart from the calls' limit, so a worker restarted
# after a crash does not give its first, possibly hanging, call minutes more than any other.
STARTUP_LIMIT = 240.0
# Added to the limit of the first call a worker name ever gets (device start-up: CUDA contexts, first
# compilations). Not again for a process restarted after a crash or timeout: its framework has started
# once on this machine, and an implementation that hangs on every call must cost one call timeout a
# test, not the timeout plus the grace.
FIRST_CALL_GRACE = 30.0


class Crash(Exception):
    """The worker process died during a call (abort, segfault, out of memory)."""


class Timeout(Exception):
    """The call exceeded its time limit; the worker was killed."""


class AdapterError(Exception):
    """The adapter itself failed (a bug in the suite, not a framework finding); carries the traceback."""


# What the test process may ask of a worker: the runtime's facts, and a variant's calls.
RUNTIME_METHODS = ("environment", "devices", "dtypes", "precisions", "backends", "mode_support")
VARIANT_METHODS = ("call", "gradients")


class Served:
    """A worker's target: its variants and its runtime (the framework, imported here)."""

    def __init__(self, name: str):
        """``name``: ``torch``, ``tensorflow@eigen``, ``jax``, or ``impl:SPEC`` for a user implementation."""
        self.target = targets.get(name)
        self.runtime = self.target.runtime()

    def handle(self, method: str, args: tuple, kwargs: dict):
        if method in RUNTIME_METHODS:
            return getattr(self.runtime, method)(*args, **kwargs)
        if method in VARIANT_METHODS:
            variant, *rest = args
            return getattr(self.target.variant(variant), method)(self.runtime, *rest, **kwargs)
        raise ValueError(f"a worker answers {', '.join(RUNTIME_METHODS + VARIANT_METHODS)}; not {method!r}")


def _serve(name: str, connection) -> None:
    try:
        served = Served(name)
    except BaseException as error:  # report import failures as a reply to the first call
        served, failure = None, f"{type(error).__name__}: {error}"
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        method, args, kwargs, max_elements = request
        if served is None:
            connection.send(("AdapterError", f"cannot load target {name}: {failure}"))
            continue
        try:
            result = bounded(served.handle(method, args, kwargs), max_elements)
        except (NotApplicable, Unsupported) as error:
            connection.send((type(error).__name__, str(error)))
        except FrameworkError as error:
            connection.send(("FrameworkError", (error.kind, error.message, error.detail)))
        except Exception:
            connection.send(("AdapterError", traceback.format_exc()))
        else:
            try:
                connection.send(("ok", result))
            except (pickle.PicklingError, TypeError, AttributeError) as error:  # pickled in full before a byte is sent
                connection.send(("ok", unsendable(result, error)))


class Worker:
    """One framework's worker process, started on first use and restarted after a crash or timeout."""

    def __init__(self, name: str, timeout: float, cache=None):
        self.name, self.timeout, self.cache = name, timeout, cache
        self.process = self.connection = None
        self.graced = False  # whether the first-call grace was given (once per worker name)
        self.ready = False

    def _start(self):
        # A plain subprocess over a socket pair, not multiprocessing: spawn would re-run the parent's
        # __main__, and framework output on stdout must not mix with the protocol.
        parent, child = socket.socketpair()
        # The backend's own variables override the user's: a lane's backend never depends on the machine.
        # The target's defaults (quiet start-up, x64...) unless the user set them; its backend's variables always.
        defaults = targets.get(self.name).environment
        # The compile cache's variables come from --compile-cache, which wins over the environment.
        environment = {**os.environ, **{k: v for k, v in defaults.items() if k not in os.environ},
                       **targets.get(self.name).cache_environment(self.cache), **backends.environment(self.name)}
        # Our pid goes along so that a worker whose parent died before it could arm its lifeline notices.
        # Called from pytest's main thread: on Linux the lifeline follows the spawning *thread*.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker", self.name, str(child.fileno()), str(os.getpid())],
            pass_fds=[child.fileno()], env=environment, stdin=subprocess.DEVNULL,
        )
        child.close()
        self.connection = Connection(parent.detach())
        self.ready = False

    def call(self, method: str, *args, timeout: float | None = None, max_elements: int | None = None, **kwargs):
        """The adapter's ``method(*args, **kwargs)``. An array in the result with more than ``max_elements``
        elements (default ``results.DEFAULT_MAX_ELEMENTS``) comes back as a ``results.Withheld`` description."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        limit = (timeout or self.timeout) + (0.0 if self.graced else FIRST_CALL_GRACE)
        self.graced = True
        try:
            if not self.ready:
                if not self.connection.poll(STARTUP_LIMIT):
                    self.stop(kill=True)
                    raise Timeout(f"{self.name} worker did not start within {STARTUP_LIMIT:.0f} s; worker killed")
                self.connection.recv()  # ("ready", None)
                self.ready = True
            self.connection.send((method, args, kwargs, max_elements))
            if not self.connection.poll(limit):
                self.stop(kill=True)
                raise Timeout(f"{self.name}.{method} did not return within {limit:.0f} s; worker killed")
            status, payload = self.connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            try:
                code = self.process.wait(2)
            except subprocess.TimeoutExpired:
                code = None
            self.stop(kill=True)
            raise Crash(f"{self.name} worker died during {method} (exit code {code})") from None
        if status == "ok":
            return payload
        if status == "FrameworkError":
            raise FrameworkError(*payload)
        raise {"NotApplicable": NotApplicable, "Unsupported": Unsupported, "AdapterError": AdapterError}[status](payload)

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if not kill and self.process.poll() is None:
            try:
                self.connection.send(None)
                self.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.connection.close()
        self.process = self.connection = None


class WorkerPool:
    """Workers by target name, created lazily."""

    def __init__(self, timeout: float = 120.0, cache=None):
        """``cache``: the directory of the frameworks' persistent compilation caches, or None for none."""
        self.timeout, self.cache = timeout, cache
        self.workers: dict[str, Worker] = {}

    def call(self, name: str, method: str, *args, **kwargs):
        worker = self.workers.setdefault(name, Worker(name, self.timeout, self.cache))
        return worker.call(method, *args, **kwargs)

    def start(self, names) -> None:
        """Start these workers' processes without waiting, so that their framework imports overlap."""
        for name in names:
            worker = self.workers.setdefault(name, Worker(name, self.timeout, self.cache))
            if worker.process is None or worker.process.poll() is not None:
                worker._start()

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()


if __name__ == "__main__":
    from .lifeline import die_with_parent

    die_with_parent(int(sys.argv[3]))
    _serve(sys.argv[1], Connection(int(sys.argv[2])))
