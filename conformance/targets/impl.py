"""A user's own implementation, named with ``--impl MODULE_OR_FILE.py:FUNCTION``.

It is called as ``f(x, w, bias, *, stride, padding, output_padding, dilation, groups)`` with NumPy
arrays in the oracle's layout (``x`` batched or unbatched, ``w`` of shape ``(C_in, C_out/groups, *k)``),
per-dim tuples, and ``padding`` as per-dim ``(before, after)`` pairs (``output_padding`` extends the
end), in a float32 and a float64 lane; it returns the output array: a real floating NumPy array (or an
object with ``__array__``, such as another library's tensor) of the output's shape. Anything else (None,
a list, an integer or complex array) fails the check with a message saying what came back.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from pathlib import Path

import numpy as np

from ..cases import Case
from .base import FrameworkError, Lane, Runtime, Target, Variant


def parse_spec(spec: str) -> tuple[str, str]:
    """``"pkg.module:function"`` or ``"path/to/file.py:function"`` -> (module or file, function); ``ValueError`` otherwise."""
    source, sep, function = spec.rpartition(":")
    if not sep or not source or not function.isidentifier():
        raise ValueError(f"--impl must be MODULE_OR_FILE.py:FUNCTION, e.g. mypkg.kernels:conv_transpose or ./impl.py:conv_transpose; got {spec!r}")
    return source, function


def load_function(spec: str):
    """The callable named by ``spec``; ``ValueError`` naming what is missing."""
    source, function = parse_spec(spec)
    if source.endswith(".py"):
        path = Path(source).resolve()
        if not path.is_file():
            raise ValueError(f"--impl: no such file: {source}")
        module_spec = importlib.util.spec_from_file_location(f"convt_impl_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(source)
        except ImportError as error:
            raise ValueError(f"--impl: cannot import module {source!r}: {error}") from None
    implementation = getattr(module, function, None)
    if not callable(implementation):
        raise ValueError(f"--impl: {source} has no function {function!r}")
    return implementation


class ImplRuntime(Runtime):
    """The user's function, loaded in the worker (its import may crash or hang: that costs the worker)."""

    def __init__(self, spec: str):
        self.spec = spec
        self.function = load_function(spec)

    def environment(self) -> dict:
        return {"framework": "impl", "version": "", "implementation": self.spec, "devices": ["cpu"]}


class Function(Variant):
    """The user's function, called with the canonical parameters."""

    name, dialect = "function", "canonical"
    no_compiled = "no compiled lane: a user's function (--impl) has no compiler the suite knows (compile inside the function to test that)"

    def __init__(self, spec: str):
        self.spec = spec

    def native(self, case: Case) -> dict:
        return dict(stride=case.stride, padding=case.padding, output_padding=case.output_padding, dilation=case.dilation, groups=case.groups)

    def call(self, runtime, native, x, w, bias, groups, lane: Lane) -> np.ndarray:
        dtype = np.dtype(lane.dtype)
        try:
            result = runtime.function(
                x.astype(dtype), w.astype(dtype), None if bias is None else bias.astype(dtype),
                stride=tuple(native["stride"]), padding=tuple(tuple(p) for p in native["padding"]),
                output_padding=tuple(native["output_padding"]), dilation=tuple(native["dilation"]), groups=groups,
            )
            if not isinstance(result, np.ndarray) and hasattr(result, "__array__"):
                result = np.asarray(result)  # another library's tensor; it may not unpickle in the test process
        except Exception as error:
            raise FrameworkError.of(error) from None
        return result  # anything else as it is: the runner judges it (None, a list, a complex array...)

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """The user's function imported by the spec the run used (a file by its absolute path) and called
        as the worker calls it, leaving ``y``."""
        source, function = parse_spec(self.spec)
        dtype = f"np.{lane.dtype}"
        if source.endswith(".py"):
            path = str(Path(source).resolve())
            lines = [
                "import importlib.util",
                f"spec = importlib.util.spec_from_file_location('user_impl', {path!r})  # --impl {self.spec}",
                "module = importlib.util.module_from_spec(spec)",
                "spec.loader.exec_module(module)",
                f"{function} = module.{function}",
            ]
        else:
            lines = [f"from {source} import {function}  # --impl {self.spec}"]
        return "\n".join(["import numpy as np", *lines,
            f"out = {function}(x.astype({dtype}), w.astype({dtype}), None if bias is None else bias.astype({dtype}), "
            f"stride={tuple(native['stride'])!r}, padding={tuple(tuple(p) for p in native['padding'])!r}, "
            f"output_padding={tuple(native['output_padding'])!r}, dilation={tuple(native['dilation'])!r}, groups={native['groups']})",
            "y = np.asarray(out)",
        ]) + "\n"


@functools.cache
def impl_target(spec: str) -> Target:
    """The target for ``--impl SPEC``: one variant, loaded in its worker by :func:`load_function`."""
    return Target(framework="impl", requires=(), variants=(Function(spec),), load=lambda: ImplRuntime(spec))
