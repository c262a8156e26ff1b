"""Each framework driven in its own parameter space: it raises exactly where its dialect says it
rejects, and elsewhere has the documented output size and the oracle's values."""

import dataclasses
import importlib

from hypothesis import given
from hypothesis import strategies as st

from .assertions import assert_verdict
from .plugin import frameworks

# The dialects each framework's variants speak (modules under conformance/native/).
NATIVE = {"torch": ("torch",), "tensorflow": ("tensorflow", "keras"), "jax": ("jax",)}


def native_cases(framework, spaces=None):
    """The framework's native strategies; ``spaces`` (variant -> ``Target.space``) keeps TensorFlow's to its lane."""
    modules = [importlib.import_module(f"conformance.native.{name}") for name in NATIVE[framework]]
    if spaces is None or framework != "tensorflow":
        return st.one_of(*[module.native_cases() for module in modules])
    return st.one_of(*[module.native_cases(spaces=spaces) for module in modules])


@frameworks(*NATIVE, one_variant=True)
@given(data=st.data())
def test_dialect_parameters(convt, runner, target, data):
    spaces = {t.variant: t.space for t, skip in convt.lanes() if skip is None and t.worker == target.worker and t.lane == target.lane}
    case = data.draw(native_cases(target.framework, spaces), label="native case")
    assert_verdict(runner.native(dataclasses.replace(target, variant=case.variant), case))
