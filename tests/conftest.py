"""Self-tests use the suite's hypothesis profiles: ``ci`` (derandomized) under CI, ``dev`` otherwise."""

import os

from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
