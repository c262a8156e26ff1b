"""Which lanes each suite test runs on: ``target`` parametrized over the run's lanes, and the markers
with which a test narrows them (``@frameworks(...)``, ``@gradient_check``, ``@modes(...)``).

A test runs on eager lanes unless it says otherwise: the compiled lanes have their own tests
(``test_compiled.py``), with their own example budget (``conformance.modes.compiled_examples``)."""

from __future__ import annotations

import functools
import importlib.util

import pytest


def parametrize(metafunc, session) -> None:
    """Parametrize a suite test's ``target`` over the lanes of the run (each skipped lane with its reason)."""
    wanted = getattr(metafunc.function, "convt_frameworks", None)
    one_variant = getattr(metafunc.function, "convt_one_variant", False)
    wanted_modes = getattr(metafunc.function, "convt_modes", ("eager",))
    params, seen = [], set()
    for target, skip in session.lanes():
        if wanted is not None and target.framework not in wanted:
            continue
        if target.lane.mode not in wanted_modes:
            continue
        api = _api(target)
        if api is not None and not checks_variant(metafunc.function, api):
            continue
        if getattr(metafunc.function, "convt_gradients", False) and target.space.get("gradients") is False:
            continue  # an implementation that declares no gradients
        if one_variant:  # the test picks its own variants: one parameter per lane
            key = (target.worker, target.lane)
            if key in seen:
                continue
            seen.add(key)
        marks = [pytest.mark.skip(reason=skip)] if skip else []
        ident = target.id if not one_variant else f"{target.framework}-{target.lane_id}"
        if ident in seen:
            continue
        seen.add(ident)
        params.append(pytest.param(target, id=ident, marks=marks))
    if not params:
        selected = session.options.modes
        reason = ("no selected framework has a lane for this test" if not selected or set(wanted_modes) & set(selected)
                  else f"a test of {'/'.join(wanted_modes)} lanes; --modes selected {','.join(selected)}")
        params.append(pytest.param(None, id="no-target", marks=pytest.mark.skip(reason=reason)))
    metafunc.parametrize("target", params)


def gradient_check(function):
    """Parametrize a test only over the variants whose gradients their target checks."""
    function.convt_gradients = True
    return function


def epilogue_check(function):
    """Parametrize a test only over the variants that apply epilogues inside their call."""
    function.convt_epilogues = True
    return function


def checks_variant(function, api) -> bool:
    """Whether the test ``function`` checks the variant ``api`` at all, by its markers: a gradient test
    only variants whose gradients are checked, an epilogue test only those with epilogues, a kernel
    test (``kernel_check``) none that only spells another's call, a spelling test (``spelling_check``) only those."""
    if getattr(function, "convt_gradients", False) and not api.checks_gradients:
        return False
    if getattr(function, "convt_epilogues", False) and not api.epilogues:
        return False
    if getattr(function, "convt_spellings", False) and not api.spells:
        return False
    if getattr(function, "convt_native", False) and not has_native_strategy(api.dialect):
        return False
    return not (getattr(function, "convt_kernel", False) and api.spells)


def native_check(function):
    """Parametrize a test once per worker and lane over the variants whose dialect has a native strategy
    (``conformance.native.<dialect>``): every framework's, and an ``--impl-dialect`` function's; the test
    draws the native cases and picks the variant of each."""
    function.convt_native = True
    function.convt_one_variant = True
    return function


@functools.cache
def has_native_strategy(dialect: str) -> bool:
    return importlib.util.find_spec(f"conformance.native.{dialect}") is not None if dialect.isidentifier() else False


def _api(target):
    """The lane's variant, or None for a placeholder lane (variant ``*``: a framework's lanes not run,
    kept so that the report says why)."""
    try:
        return target.api
    except ValueError:
        return None


def kernel_check(function):
    """Parametrize a test only over variants that reach a kernel of their own, not over spellings of
    another variant's call (``Variant.spells``): an identity of the kernel holds or fails for both alike."""
    function.convt_kernel = True
    return function


def spelling_check(function):
    """Parametrize a test only over variants that spell another variant's call (``Variant.spells``):
    what they add is their rearrangement of operands and parameters, checked with a smaller budget."""
    function.convt_spellings = True
    return function


def frameworks(*names, one_variant=False):
    """Restrict a test to targets of these frameworks; with ``one_variant`` it is parametrized once
    per lane and chooses variants itself."""

    def mark(function):
        function.convt_frameworks = names
        function.convt_one_variant = one_variant
        return function

    return mark


def modes(*names):
    """Parametrize a test over lanes of these execution modes (default: eager only)."""

    def mark(function):
        function.convt_modes = names
        return function

    return mark
