"""Values and shapes of every target against the oracle, within the per-element error bound.

Cases are drawn from what the lane can run (``Variant.space``): a TensorFlow Eigen lane draws no
dilation, for instance, since TF's Eigen kernels refuse it (``test_unsupported_rules`` checks that).
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import check_drawn
from .profiles import examples
from .strategies import lane_cases, large_cases


@given(data=st.data())
def test_values(runner, target, data):
    check_drawn(runner.forward, target, data, lane_cases)


@settings(max_examples=examples(15))
@given(data=st.data())
def test_large_outputs(runner, target, data):
    """Outputs longer than 32 along some dim, where kernels switch algorithms."""
    check_drawn(runner.forward, target, data, large_cases)
