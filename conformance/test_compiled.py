"""The compiled lanes (``conformance.modes``): torch.compile, jax.jit, tf.function with XLA, Keras
layers compiled the same way. Each check here is one an eager test makes, on the compiled lanes and
with their own, smaller example budget (:func:`conformance.modes.compiled_examples`: a compilation per
new shape costs inductor about a second):

- values and shapes against the oracle;
- the framework's own parameter space: a configuration eager rejects must be rejected when compiled
  and vice versa, zero-size outputs, ``output_size``/``output_shape`` forms;
- gradients through the compiled forward and backward;
- epilogues a compiler fuses into the convolution.

A compiled failure is re-run on the same case eagerly (and torch's under ``aot_eager``); the record
and the report say whether the modes disagree (``Record.modes``).
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import aim, assert_verdict, check_drawn
from .modes import compiled_examples
from .parametrize import epilogue_check, gradient_check, modes, native_check
from .strategies import lane_cases
from .test_dialects import dialect_check
from .test_epilogues import check_epilogue


@modes("compiled")
@settings(max_examples=compiled_examples())
@given(data=st.data())
def test_compiled_values(runner, target, data):
    check_drawn(runner.forward, target, data, lane_cases)


@modes("compiled")
@native_check
@settings(max_examples=compiled_examples())
@given(data=st.data())
def test_compiled_dialect_parameters(convt, runner, target, data):
    dialect_check(convt, runner, target, data, epilogues=True)


@modes("compiled")
@gradient_check
@settings(max_examples=compiled_examples())
@given(data=st.data())
def test_compiled_gradients(runner, target, data):
    for name, verdict in zip(("dx", "dw"), runner.gradients(target, data.draw(lane_cases(target.space), label="case"))):
        aim(verdict, f"error/bound {name}")
        assert_verdict(verdict)


@modes("compiled")
@epilogue_check
@settings(max_examples=compiled_examples())
@given(data=st.data())
def test_compiled_epilogues(runner, target, data):
    check_epilogue(runner, target, data)
