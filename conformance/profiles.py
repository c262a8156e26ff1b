"""Hypothesis profiles shared by the suite and the self-tests.

- ``dev``: randomized, hypothesis's default budget, no deadline (framework calls jit-compile on first use).
- ``ci``: derandomized, so a CI run is reproducible and a red run can be re-run to the same example.
- ``nightly``: ten times the examples, randomized, to search wider between releases.
"""

from hypothesis import HealthCheck, settings

COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", **COMMON)
settings.register_profile("ci", derandomize=True, **COMMON)
settings.register_profile("nightly", max_examples=1000, **COMMON)
