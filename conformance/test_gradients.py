"""d input and d weight from each framework's autodiff against the oracle's gradients."""

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import assert_verdict
from .parametrize import gradient_check
from .strategies import lane_cases


@gradient_check
@settings(max_examples=40)
@given(data=st.data())
def test_gradients(runner, target, data):
    for verdict in runner.gradients(target, data.draw(lane_cases(target.space), label="case")):
        assert_verdict(verdict)
