"""d input and d weight from each framework's autodiff against the oracle's gradients."""

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import aim, assert_verdict
from .parametrize import gradient_check
from .profiles import examples
from .strategies import lane_cases


@gradient_check
@settings(max_examples=examples(40))
@given(data=st.data())
def test_gradients(runner, target, data):
    for name, verdict in zip(("dx", "dw"), runner.gradients(target, data.draw(lane_cases(target.space), label="case"))):
        aim(verdict, f"error/bound {name}")
        assert_verdict(verdict)
