"""A worker process dies with the process that started it, whatever killed that one.

Without this, SIGKILL or SIGTERM to pytest while a framework call hangs leaves the worker running
(reparented to init, often at 100% CPU) until someone finds it. A worker calls :func:`die_with_parent`
first thing at start-up:

- On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker the moment its parent
  goes, even mid-call in native code that never returns to Python. The kernel ties this to the
  *thread* that spawned the worker, not the process: a worker started from a thread that later exits
  is killed with that thread. The suite starts workers from pytest's main thread (tests, fixtures and
  hooks run there, under pytest-xdist too); keep it so.
- Elsewhere (or where prctl fails), a daemon thread polls ``os.getppid()``. It needs the interpreter
  to run Python bytecode now and then, which a call stuck in native code holding the GIL prevents; it
  is the best a portable process can do.

The parent may die before either is in place; the worker then already has a new parent, so it
compares ``os.getppid()`` with the parent's pid handed over on its command line and exits at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_SECONDS = 0.5
ORPHANED_EXIT_CODE = 70  # distinct, for anyone reading an exit status; nobody is left to read it in practice


def die_with_parent(parent: int, *, use_prctl: bool = True) -> str:
    """Arrange for this process to end when process ``parent`` ends; returns how (``"prctl"`` or ``"watchdog"``)."""
    how = "prctl" if use_prctl and _set_parent_death_signal() else "watchdog"
    if how == "watchdog":
        threading.Thread(target=_watch, args=(parent,), name="convt-parent-watchdog", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the guard was in place
        os._exit(ORPHANED_EXIT_CODE)
    return how


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc symbol table to speak of (static builds, exotic libcs)
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(ORPHANED_EXIT_CODE)
