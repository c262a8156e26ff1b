"""Values and shapes of every target against the oracle, within the per-element error bound.

Cases are drawn from what the lane can run (``Variant.space``): a TensorFlow Eigen lane draws no
dilation, for instance, since TF's Eigen kernels refuse it (``test_unsupported_rules`` checks that).

A variant that only spells another's call (``Variant.spells``: jax's ``conv_transpose_kernel`` and
``channels_first`` rearrange the operands and call ``conv_transpose``'s conv) is checked for its
rearrangement by ``test_values_of_spellings``, with a smaller share of the budget: its kernel, and the
long outputs where kernels switch algorithms, are the spelled variant's, which ``test_values`` and
``test_large_outputs`` check with the full one.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import check_drawn
from .parametrize import kernel_check, spelling_check
from .profiles import examples
from .strategies import lane_cases, large_cases


@kernel_check
@given(data=st.data())
def test_values(runner, target, data):
    check_drawn(runner.forward, target, data, lane_cases)


@spelling_check
@settings(max_examples=examples(30))
@given(data=st.data())
def test_values_of_spellings(runner, target, data):
    """A spelling's rearrangement of the operands and parameters, against the oracle."""
    check_drawn(runner.forward, target, data, lane_cases)


@kernel_check
@settings(max_examples=examples(15))
@given(data=st.data())
def test_large_outputs(runner, target, data):
    """Outputs longer than 32 along some dim, where kernels switch algorithms."""
    check_drawn(runner.forward, target, data, large_cases)
