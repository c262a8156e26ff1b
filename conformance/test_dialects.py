"""Each framework driven in its own parameter space: it raises exactly where its dialect says it
rejects, and elsewhere has the documented output size and the oracle's values.

The parameter spaces are the native strategies of the dialects a target's variants speak
(``conformance.native.<dialect>``), read from the target registry: a new target with a strategy for its
dialect is tested here without this module changing.
"""

import dataclasses
import importlib
import importlib.util

from hypothesis import given
from hypothesis import strategies as st

from . import targets
from .assertions import assert_verdict
from .parametrize import has_native_strategy, native_check


def native_modules(worker: str) -> list:
    """The native-strategy modules of the dialects the variants of ``worker`` (a framework, or ``impl:...``) speak."""
    names = [f"conformance.native.{dialect}" for dialect in targets.get(worker).dialects]
    return [importlib.import_module(name) for name in names if dialect_has_strategy(name)]


def dialect_has_strategy(module: str) -> bool:
    return has_native_strategy(module.rpartition(".")[2])


def native_cases(worker, spaces=None):
    """The native strategies of the worker's dialects; ``spaces`` (variant -> ``Variant.space``) keeps them to the lane."""
    return st.one_of(*[module.native_cases(spaces=spaces) for module in native_modules(worker)])


@native_check
@given(data=st.data())
def test_dialect_parameters(convt, runner, target, data):
    dialect_check(convt, runner, target, data)


def dialect_check(convt, runner, target, data, epilogues=False) -> None:
    """One native case of the lane's framework, drawn from what the lane's variants can run; with
    ``epilogues``, followed by ReLU or sigmoid where the case's variant applies them (valid or not)."""
    __tracebackhide__ = True
    spaces = {t.variant: t.space for t, skip in convt.lanes() if skip is None and t.worker == target.worker and t.lane == target.lane}
    case = data.draw(native_cases(target.worker, spaces), label="native case")
    target = dataclasses.replace(target, variant=case.variant)
    epilogue = None
    if epilogues:
        offered = [name for name in ("relu", "sigmoid") if name in target.api.epilogues]
        epilogue = data.draw(st.sampled_from([None, *offered]), label="epilogue")
    assert_verdict(runner.native(target, case, epilogue))
