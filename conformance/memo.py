"""Within one test, a case whose call crashed or timed out is called once, and nothing after it is run.

A crash costs a worker restart and a hang costs the whole call timeout. Hypothesis, having found a
failing example, shrinks it: it runs many smaller cases, and on a target that crashes on every call
each of those crashed again (57 calls and about 9 s a test on a crash-every-call ``--impl``; a whole
call timeout per shrink step for a hang). Then it replays the minimal example, which may not crash
the same way twice and then reads as flaky.

So, per test (the plugin calls ``Runner.start_test`` as each test starts, which resets this):

- the first case that crashes or times out has its verdict remembered; when hypothesis asks for that
  case again (its final replay), the remembered verdict is returned without calling the target: the
  crash is recorded once, from the one call that made it;
- any other case drawn after it is not run: its verdict is ``not-applicable`` ("not run: ..."), which
  passes the example without writing a record, so shrinking ends at once on the example that crashed;
- a case that already ran to the end before the crash is run again if asked (hypothesis replays the
  examples of every distinct failure it found; each must fail again as it did);
- a crash that matches a known discrepancy passes its example (the runner relabels that very verdict
  ``known`` in place, in ``Runner._finish``): it stops nothing, and the test's examples go on.
"""

from __future__ import annotations

import dataclasses

from .checks import CRASH, NOT_APPLICABLE, TIMEOUT, Verdict

WHAT = {CRASH: "the worker crashed", TIMEOUT: "a call timed out"}


class CallMemo:
    """Which cases of the running test crashed, timed out, or ran, keyed by ``(target, case)``."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.broken: dict = {}  # key -> the verdict the runner got for it (the same object, see above)
        self.completed: set = set()  # keys whose calls returned before the first crash

    def before(self, key) -> Verdict | None:
        """The verdict to return instead of calling, or None to call."""
        stoppers = {k: v for k, v in self.broken.items() if v.outcome in WHAT}
        if not stoppers:
            return None
        if key in stoppers:
            return dataclasses.replace(stoppers[key])  # a copy: whatever the runner does with it stays out of here
        if key in self.completed:
            return None
        first = WHAT[next(iter(stoppers.values())).outcome]
        return Verdict(NOT_APPLICABLE, f"not run: {first} on an earlier example of this test, which records it")

    def after(self, key, verdict: Verdict | None) -> None:
        """What calling ``key`` gave: the verdict of a failed call, or None when the call returned."""
        if verdict is not None and verdict.outcome in WHAT:
            self.broken.setdefault(key, verdict)
        elif not any(v.outcome in WHAT for v in self.broken.values()):
            self.completed.add(key)
