"""The registry of framework targets: every module in this package that defines ``TARGET``.

Adding a framework is adding one module here (see ``base``); the plugin (which frameworks exist and are
installed), the worker (what to load) and the dialect tests (which native strategies to draw) all read
this registry. ``impl`` is the user's own implementation, made from ``--impl``'s value instead.
Importing an adapter module imports no framework, so the registry is cheap to read in the test process.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from .base import Target

NOT_FRAMEWORKS = ("base", "impl")


@functools.cache
def targets() -> dict[str, Target]:
    """Every framework target by name, in a fixed order (alphabetical)."""
    found = {}
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        if module in NOT_FRAMEWORKS:
            continue
        target = getattr(importlib.import_module(f"{__name__}.{module}"), "TARGET", None)
        if isinstance(target, Target):
            found[target.framework] = target
    return found


def frameworks() -> tuple[str, ...]:
    return tuple(targets())


def get(name: str) -> Target:
    """The target of a framework name, or of a worker name (``tensorflow@eigen``, ``impl:SPEC``)."""
    if name.startswith("impl:"):
        from .impl import impl_target

        return impl_target(name[len("impl:"):])
    framework = name.partition("@")[0]
    try:
        return targets()[framework]
    except KeyError:
        raise ValueError(f"no target {framework!r}; the targets are {', '.join(targets())}") from None
