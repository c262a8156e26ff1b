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


def native_cases(framework):
    return st.one_of(*[importlib.import_module(f"conformance.native.{name}").native_cases() for name in NATIVE[framework]])


@frameworks(*NATIVE, one_variant=True)
@given(data=st.data())
def test_dialect_parameters(runner, target, data):
    case = data.draw(native_cases(target.framework), label="native case")
    assert_verdict(runner.native(dataclasses.replace(target, variant=case.variant), case))
