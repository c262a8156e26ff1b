"""Hypothesis strategies in each framework's own parameter space, valid and invalid; one module per dialect.

Each module is named after its dialect (``oracles.dialects``) and offers ``native_cases(spaces=None)``:
a strategy of :class:`~conformance.cases.NativeCase` whose ``variant`` is one of the target's variants
speaking that dialect. ``spaces`` maps a variant name to what the lane can run (``Variant.space``), for
strategies whose framework cannot run everything on every lane. ``conformance.test_dialects`` finds
them through the target registry.
"""
