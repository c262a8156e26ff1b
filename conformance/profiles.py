"""Hypothesis profiles shared by the suite and the self-tests.

- ``dev``: randomized, hypothesis's default budget, no deadline (framework calls jit-compile on first use).
- ``ci``: derandomized, so a CI run is reproducible and a red run can be re-run to the same example;
  each test item (a test on one lane) draws from a seed of its own name (:func:`item_seed`).
- ``nightly``: ten times the examples, randomized, to search wider between releases.

Every profile draws each example independently (:data:`BACKEND`). Hypothesis's own generation spends
most of a budget near what it has already drawn: after each new example it runs up to five mutations
of it (spans with the same label copied into each other), so a test of 100 examples sees about 20
independent configurations, and a rare region is either hit several times in a run or not at all.
Measured on the canonical strategy over 20 seeds of 100 examples, a region of 0.8% of the draws
(ungrouped, 17 or 33 input channels) was reached in 7 runs (13 times in one of them); drawn
independently, in 14. A conformance search wants as many
distinct configurations as its budget buys. Hypothesis runs a backend other than its own without
those mutations, and still shrinks, replays and saves failures with its own; this one is hypothesis's
own provider under another name (so it draws from the same distributions, seeded by the run's seed
or ``derandomize``). Hypothesis versions without alternative backends keep their own generation.
"""

import hashlib
import math

from hypothesis import HealthCheck, settings

# Hypothesis's default max_examples, the dev and ci profiles' budget: the unit of examples().
DEFAULT_EXAMPLES = 100


def examples(at_default: int, max_examples: int | None = None) -> int:
    """A test's example budget: ``at_default`` under the default budget (the ``dev`` and ``ci`` profiles'
    100), scaled with the profile's (``nightly``: ten times; ``--max-examples N``: N/100 of it), at least 1.

    A test whose checks cost several calls (linearity, gradients) sets a smaller share, and it grows with
    a deeper run like every other test's: an explicit ``max_examples`` would stay fixed under ``nightly``.
    Read when the test module is imported, after the plugin has loaded the run's profile."""
    if max_examples is None:
        max_examples = settings().max_examples
    return max(1, math.ceil(at_default * max_examples / DEFAULT_EXAMPLES))


# The name the independent-draw backend is registered under.
BACKEND = "convt-independent"


def _register_backend() -> dict:
    """``{"backend": BACKEND}`` once registered, or ``{}`` where this hypothesis has no backends."""
    try:
        from hypothesis.internal.conjecture.providers import AVAILABLE_PROVIDERS
    except ImportError:  # pragma: no cover - hypothesis before alternative backends
        return {}
    if not hasattr(settings.default, "backend"):  # pragma: no cover
        return {}
    AVAILABLE_PROVIDERS.setdefault(BACKEND, "hypothesis.internal.conjecture.providers.HypothesisProvider")
    return {"backend": BACKEND}


COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow], **_register_backend())

settings.register_profile("dev", **COMMON)
settings.register_profile("ci", derandomize=True, **COMMON)
settings.register_profile("nightly", max_examples=1000, **COMMON)


def item_seed(name: str, base: str | int | None) -> int:
    """The seed of one test item of a reproducible run: from its name (module, test and lane, e.g.
    ``conformance.test_values::test_values[torch.functional-cpu-onednn-float32]``) and the run's seed
    (``--hypothesis-seed``; 0 under ``derandomize``).

    Hypothesis derives a derandomized test's seed, and takes ``--hypothesis-seed``, for the test
    function as a whole, so every lane of one parametrized test would draw the same sequence: lanes
    with the same space (float32 and float64, one variant on two backends) the very same cases, and a
    region one lane misses every lane misses. A seed per item keeps the run repeatable, on any machine
    and in any split of the run, and lets each lane search on its own, as a randomized run does."""
    digest = hashlib.sha256(f"{0 if base is None else base}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
