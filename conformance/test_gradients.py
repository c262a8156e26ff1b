"""d input and d weight from each framework's autodiff against the oracle's gradients."""

from hypothesis import given, settings

from .assertions import assert_verdict
from .plugin import gradient_check
from .strategies import cases


@gradient_check
@settings(max_examples=40)
@given(case=cases())
def test_gradients(runner, target, case):
    for verdict in runner.gradients(target, case):
        assert_verdict(verdict)
