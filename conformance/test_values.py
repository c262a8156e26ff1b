"""Values and shapes of every target against the oracle, within the per-element error bound."""

from hypothesis import given, settings

from .assertions import assert_verdict
from .strategies import cases, large_cases


@given(case=cases())
def test_values(runner, target, case):
    assert_verdict(runner.forward(target, case))


@settings(max_examples=15)
@given(case=large_cases())
def test_large_outputs(runner, target, case):
    """Outputs longer than 32 along some dim, where kernels switch algorithms."""
    assert_verdict(runner.forward(target, case))
