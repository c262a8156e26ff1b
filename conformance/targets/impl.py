"""A user's own implementation, named with ``--impl MODULE_OR_FILE.py:FUNCTION``.

It is called as ``f(x, w, bias, *, stride, padding, output_padding, dilation, groups)`` with arrays in
the oracle's layout (``x`` batched or unbatched, ``w`` of shape ``(C_in, C_out/groups, *k)``), per-dim
tuples, and ``padding`` as per-dim ``(before, after)`` pairs (``output_padding`` extends the end), in
each dtype it declares; it returns the output array: a real floating array of the output's shape
(NumPy, or anything ``np.asarray`` takes: another library's tensor). Anything else (None, a list, an
integer or complex array) fails the check with a message saying what came back.

- **Declared contract.** ``f.capabilities`` (``conformance.capabilities.Capabilities`` or a dict) keeps
  the draws to what it runs and names its dtypes, devices and gradients; raising
  ``conformance.Unsupported`` records a configuration as unsupported rather than failed.
- **Arrays** (``--impl-arrays``): ``numpy`` (default), ``torch`` (tensors on the lane's device: a CUDA
  kernel is tested on the GPU directly) or ``jax`` (arrays on the lane's device). Results come back
  through ``np.asarray``; bfloat16 as the float32 holding the same values.
- **Gradients**: ``capabilities.gradients = "backward"`` with ``f.backward(x, w, bias, upstream, *,
  stride, ...) -> (dx, dw)``, or ``"autodiff"``: torch's or JAX's autodiff through ``f``.
- **Name and version**: ``stem.function`` of the spec, and ``--impl-version`` or the module's
  ``__version__``, in the run's environment and every record (known entries match on both).

The worker's name carries the options (``impl:SPEC?arrays=torch&version=1.2``), so that the worker
process builds the same target as the test process.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import sys
import urllib.parse
from pathlib import Path

import numpy as np

from ..capabilities import Capabilities
from ..cases import Case
from .base import FrameworkError, Lane, NotApplicable, Runtime, Target, Unsupported, Variant, computed

ARRAYS = ("numpy", "torch", "jax")
# --impl-dialect: a function with a framework's own signature, driven through that framework's parameter
# space. Per dialect: the framework target whose variants translate canonical cases into its parameters
# (and whose native strategies draw valid and invalid ones), and the API spellings such a function has.
DIALECTS = {
    "canonical": None,
    "torch": ("torch", ("functional",)),
    "onnx": ("onnxruntime", ("pads", "output_shape", "auto_pad")),
    "tensorflow": ("tensorflow", ("nn",)),
    "jax": ("jax", ("conv_transpose",)),
}
# Native keys that say which framework's rules a dialect models, not parameters of a call.
MODEL_KEYS = ("runtime",)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"pkg.module:function"`` or ``"path/to/file.py:function"`` -> (module or file, function); ``ValueError`` otherwise."""
    source, sep, function = spec.rpartition(":")
    if not sep or not source or not function.isidentifier():
        raise ValueError(f"--impl must be MODULE_OR_FILE.py:FUNCTION, e.g. mypkg.kernels:conv_transpose or ./impl.py:conv_transpose; got {spec!r}")
    return source, function


def implementation_name(spec: str) -> str:
    """The name records and known entries know an implementation by: ``stem.function`` (``tinygrad_impl.conv_transpose``),
    the same wherever the file lies."""
    source, function = parse_spec(spec)
    stem = Path(source).stem if source.endswith(".py") else source
    return f"{stem}.{function}"


def worker_name(spec: str, arrays: str = "numpy", version: str | None = None, dialect: str = "canonical") -> str:
    """``impl:SPEC``, with the options that differ from the defaults after a ``?``."""
    options = {key: value for key, value in (("arrays", arrays), ("version", version), ("dialect", dialect))
               if value and (key, value) not in (("arrays", "numpy"), ("dialect", "canonical"))}
    return f"impl:{spec}" + (f"?{urllib.parse.urlencode(options)}" if options else "")


def split_worker_name(rest: str) -> tuple[str, dict]:
    """``SPEC?options`` (the worker name after ``impl:``) -> ``(SPEC, options)``; the ``?`` after the function's name."""
    head, sep, function = rest.rpartition(":")
    function, _, query = function.partition("?")
    return f"{head}{sep}{function}", dict(urllib.parse.parse_qsl(query))


def module_from_file(path: Path, name: str):
    """The Python file ``path`` run as the module ``name`` (registered, so that what it defines pickles)."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def load_module(source: str):
    """``--impl``'s module: a file (``.py``) or an importable name; ``ValueError`` saying which is missing."""
    if source.endswith(".py"):
        path = Path(source).resolve()
        if not path.is_file():
            raise ValueError(f"--impl: no such file: {source}")
        return module_from_file(path, f"convt_impl_{path.stem}")
    try:
        return importlib.import_module(source)
    except ImportError as error:
        raise ValueError(f"--impl: cannot import module {source!r}: {error}") from None


def load_function(spec: str):
    """The callable named by ``spec``; ``ValueError`` naming what is missing."""
    source, function = parse_spec(spec)
    implementation = getattr(load_module(source), function, None)
    if not callable(implementation):
        raise ValueError(f"--impl: {source} has no function {function!r}")
    return implementation


# ---- arrays: how operands reach the function and results come back ---------------------------------


class NumpyArrays:
    """NumPy arrays on the CPU; bfloat16 as ``ml_dtypes.bfloat16`` (which JAX installs)."""

    name = "numpy"

    def __init__(self, capabilities: Capabilities):
        self.capabilities = capabilities

    def version(self) -> str:
        return np.__version__

    def devices(self) -> tuple[str, ...]:
        return ("cpu",)  # a NumPy array lives on the host, whatever the function does with it

    def to(self, array, lane: Lane):
        if array is None:
            return None
        if lane.dtype == "bfloat16":
            try:
                import ml_dtypes
            except ImportError:
                raise Unsupported("bfloat16 NumPy arrays need the ml_dtypes package (pip install ml_dtypes)") from None
            return np.asarray(array, dtype=np.float64).astype(ml_dtypes.bfloat16)
        return np.asarray(array).astype(lane.dtype)

    def back(self, result):
        if result is None or isinstance(result, (list, tuple, int, float, complex, str)):
            return result  # the runner says what came back
        if not isinstance(result, np.ndarray) and hasattr(result, "__array__"):
            result = np.asarray(result)  # another library's tensor; it may not unpickle in the test process
        return computed(result) if isinstance(result, np.ndarray) else result

    def precision(self, lane: Lane):
        return contextlib.nullcontext()

    def autodiff(self, call, x, w, upstream):
        raise NotApplicable("--impl-arrays numpy has no autodiff: declare gradients='backward' with f.backward")


class TorchArrays(NumpyArrays):
    """torch tensors on the lane's device (``cpu``, ``cuda:N``), in the lane's dtype; TF32 set per lane on CUDA."""

    name = "torch"

    def __init__(self, capabilities):
        super().__init__(capabilities)
        import torch

        self.torch = torch
        torch.set_num_threads(1)  # many tiny calls; and several workers must not oversubscribe the cores

    def version(self) -> str:
        return self.torch.__version__

    def devices(self) -> tuple[str, ...]:
        return ("cpu",) + tuple(f"cuda:{i}" for i in range(self.torch.cuda.device_count()))

    def to(self, array, lane):
        from .torch import _tensor

        return _tensor(array, lane)  # as the torch target places its operands

    def back(self, result):
        from .torch import _numpy

        return _numpy(result) if isinstance(result, self.torch.Tensor) else super().back(result)

    def precision(self, lane):
        from .torch import set_precision

        set_precision(lane)
        return contextlib.nullcontext()

    def autodiff(self, call, x, w, upstream):
        x, w = x.detach().requires_grad_(True), w.detach().requires_grad_(True)
        with self.torch.enable_grad():
            y = call(x, w)
            if not isinstance(y, self.torch.Tensor):
                raise FrameworkError("TypeError", f"autodiff needs the function to return a torch tensor; it returned {type(y).__name__}")
            dx, dw = self.torch.autograd.grad((y * upstream).sum(), [x, w], allow_unused=True)
        return (self.torch.zeros_like(x) if dx is None else dx), (self.torch.zeros_like(w) if dw is None else dw)


class JaxArrays(NumpyArrays):
    """JAX arrays committed to the lane's device (``cpu``, ``gpu:N``); float64 with x64 enabled."""

    name = "jax"

    def __init__(self, capabilities):
        super().__init__(capabilities)
        import jax

        if "float64" in capabilities.dtypes:
            jax.config.update("jax_enable_x64", True)
        self.jax = jax

    def version(self) -> str:
        return self.jax.__version__

    def devices(self) -> tuple[str, ...]:
        try:
            gpus = self.jax.devices("gpu")
        except RuntimeError:
            gpus = []
        return ("cpu",) + tuple(f"gpu:{i}" for i in range(len(gpus)))

    def to(self, array, lane):
        from .jax import _put

        return _put([array], lane)[0]  # as the jax target places its operands

    def back(self, result):
        if isinstance(result, self.jax.Array):
            return computed(np.asarray(result))
        return super().back(result)

    def precision(self, lane):
        return self.jax.default_matmul_precision("tensorfloat32" if lane.precision == "tf32" else "highest")

    def autodiff(self, call, x, w, upstream):
        y, pullback = self.jax.vjp(call, x, w)
        return pullback(upstream.astype(y.dtype))


ARRAY_LIBRARIES = {"numpy": NumpyArrays, "torch": TorchArrays, "jax": JaxArrays}


class ImplRuntime(Runtime):
    """The user's function, loaded in the worker (its import may crash or hang: that costs the worker),
    with its declared capabilities and the array library it takes."""

    def __init__(self, spec: str, arrays: str = "numpy", version: str | None = None, dialect: str = "canonical"):
        self.spec, self.dialect = spec, dialect
        self.function = load_function(spec)
        try:
            self.capabilities = Capabilities.of(getattr(self.function, "capabilities", None))
        except ValueError as error:
            raise ValueError(f"--impl: {spec}: {error}") from None
        self.backward = getattr(self.function, "backward", None)
        if self.capabilities.gradients == "backward" and not callable(self.backward):
            raise ValueError(f"--impl: {spec}: capabilities.gradients is 'backward' but the function has no callable 'backward' attribute")
        if dialect != "canonical" and self.capabilities.space() != Capabilities().space():
            raise ValueError(f"--impl: {spec}: with --impl-dialect {dialect} the function is drawn the dialect's whole parameter space; "
                             f"it declares only dtypes, devices and tf32 (raise conformance.Unsupported for the rest), not: "
                             f"{', '.join(self.capabilities.declared())}")
        if dialect != "canonical" and self.capabilities.gradients is not None:
            raise ValueError(f"--impl: {spec}: gradients are checked in the canonical signature only, not with --impl-dialect {dialect}")
        if self.capabilities.gradients == "autodiff" and arrays == "numpy":
            raise ValueError(f"--impl: {spec}: capabilities.gradients is 'autodiff', which needs --impl-arrays torch or jax")
        if arrays not in ARRAY_LIBRARIES:
            raise ValueError(f"--impl-arrays must be one of {', '.join(ARRAYS)}; got {arrays!r}")
        try:
            self.arrays = ARRAY_LIBRARIES[arrays](self.capabilities)
        except ImportError as error:
            raise ValueError(f"--impl-arrays {arrays}: {error}") from None
        module = sys.modules.get(getattr(self.function, "__module__", "") or "")
        self.version = version or str(getattr(module, "__version__", "") or "")

    def environment(self) -> dict:
        return {"framework": "impl", "version": self.version, "name": implementation_name(self.spec), "implementation": self.spec,
                "dialect": self.dialect, "arrays": self.arrays.name, f"{self.arrays.name}_version": self.arrays.version(),
                "capabilities": self.capabilities.to_data(), "contract": self.capabilities.describe(),
                "backward": callable(self.backward), "devices": list(self.devices()),
                # What its lanes draw, added to the variant's (``conformance.lanes``): the declared space, and whether gradients are checked.
                "space": {**(self.capabilities.space() if self.dialect == "canonical" else {}), "gradients": self.capabilities.gradients is not None}}

    def devices(self) -> tuple[str, ...]:
        present = self.arrays.devices()
        wanted = self.capabilities.devices
        return tuple(d for d in present if ("cpu" if d == "cpu" else "gpu") in wanted)

    def dtypes(self, device: str) -> tuple[str, ...]:
        return self.capabilities.dtypes

    def precisions(self, device: str, dtype: str) -> tuple[str, ...]:
        """GPU float32: the one the function declares (``tf32``), full float32 (``highest``) otherwise."""
        if device == "cpu" or dtype != "float32":
            return ("default",)
        return ("tf32",) if self.capabilities.tf32 else ("highest",)


class Function(Variant):
    """The user's function, called with the canonical parameters."""

    name, dialect = "function", "canonical"
    no_compiled = "no compiled lane: a user's function (--impl) has no compiler the suite knows (compile inside the function to test that)"
    checks_gradients = True  # where the function declares gradients (``TargetLane.space["gradients"]``; parametrize asks)

    def __init__(self, spec: str, arrays: str = "numpy"):
        self.spec, self.arrays = spec, arrays

    def native(self, case: Case) -> dict:
        return dict(stride=case.stride, padding=case.padding, output_padding=case.output_padding, dilation=case.dilation, groups=case.groups)

    @staticmethod
    def _parameters(native, groups) -> dict:
        return dict(stride=tuple(native["stride"]), padding=tuple(tuple(p) for p in native["padding"]),
                    output_padding=tuple(native["output_padding"]), dilation=tuple(native["dilation"]), groups=groups)

    def call(self, runtime, native, x, w, bias, groups, lane: Lane, epilogue=None):
        arrays = runtime.arrays
        try:
            with arrays.precision(lane):
                result = runtime.function(arrays.to(x, lane), arrays.to(w, lane), arrays.to(bias, lane), **self._parameters(native, groups))
            return arrays.back(result)  # anything else as it is: the runner judges it (None, a list, a complex array...)
        except Unsupported:
            raise
        except Exception as error:  # noqa: BLE001  (whatever the function raises is its verdict, recorded as data)
            raise FrameworkError.of(error) from None

    def gradients(self, runtime, native, x, w, bias, groups, upstream, lane):
        """``(d x, d w)`` of ``sum(upstream * f(x, w, bias))``: the function's ``backward``, or the array library's autodiff."""
        arrays, capabilities = runtime.arrays, runtime.capabilities
        if capabilities.gradients is None:
            raise NotApplicable("the implementation declares no gradients (capabilities.gradients)")
        parameters = self._parameters(native, groups)
        X, W, B, U = (arrays.to(a, lane) for a in (x, w, bias, upstream))
        try:
            with arrays.precision(lane):
                if capabilities.gradients == "backward":
                    dx, dw = runtime.backward(X, W, B, U, **parameters)
                else:
                    dx, dw = arrays.autodiff(lambda x_, w_: runtime.function(x_, w_, B, **parameters), X, W, U)
            return arrays.back(dx), arrays.back(dw)
        except (Unsupported, NotApplicable):
            raise
        except Exception as error:  # noqa: BLE001
            raise FrameworkError.of(error) from None

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """The user's function imported by the spec the run used (a file by its absolute path) and called
        as the worker calls it (with the lane's arrays), leaving ``y``."""
        return "\n".join([*self._import_lines(), *self._array_lines(lane),
            f"out = {self._function}(to(x), to(w), None if bias is None else to(bias), {self._arguments(native)})",
            "y = back(out)",
        ]) + "\n"

    def repro_gradients(self, case: Case, native: dict, lane: Lane) -> str:
        """``dx``, ``dw`` by the function's ``backward`` or the array library's autodiff, as the worker computes them."""
        lines = [*self._import_lines(), *self._array_lines(lane)]
        arguments = self._arguments(native)
        if self.arrays == "torch":
            lines += ["X, W = to(x).requires_grad_(True), to(w).requires_grad_(True)",
                      f"y = {self._function}(X, W, None if bias is None else to(bias), {arguments})",
                      "dx, dw = (back(g) for g in torch.autograd.grad((y * to(upstream)).sum(), [X, W]))",
                      f"# with a backward of your own: dx, dw = {self._function}.backward(to(x), to(w), ..., to(upstream), ...)"]
        elif self.arrays == "jax":
            lines += [f"y, pullback = jax.vjp(lambda X, W: {self._function}(X, W, None if bias is None else to(bias), {arguments}), to(x), to(w))",
                      "dx, dw = (back(g) for g in pullback(to(upstream)))"]
        else:
            lines += [f"dx, dw = {self._function}.backward(to(x), to(w), None if bias is None else to(bias), to(upstream), {arguments})",
                      "dx, dw = back(dx), back(dw)"]
        return "\n".join(lines) + "\n"

    @property
    def _function(self) -> str:
        return parse_spec(self.spec)[1]

    def _import_lines(self) -> list[str]:
        source, function = parse_spec(self.spec)
        if source.endswith(".py"):
            path = str(Path(source).resolve())
            return ["import numpy as np", "import importlib.util",
                    f"spec = importlib.util.spec_from_file_location('user_impl', {path!r})  # --impl {self.spec}",
                    "module = importlib.util.module_from_spec(spec)", "spec.loader.exec_module(module)", f"{function} = module.{function}"]
        return ["import numpy as np", f"from {source} import {function}  # --impl {self.spec}"]

    def _array_lines(self, lane: Lane) -> list[str]:
        """``to`` (NumPy -> the lane's arrays) and ``back`` (-> NumPy) as the worker defines them."""
        if self.arrays == "torch":
            precision = []
            if lane.device.startswith("cuda"):
                allow = lane.precision == "tf32"
                precision = [f"torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = {allow}"]
            return ["import torch", *precision,
                    f"to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device={lane.device!r}, dtype=torch.{lane.dtype})",
                    "back = lambda t: (t.detach().cpu().float() if t.dtype == torch.bfloat16 else t.detach().cpu()).numpy()"]
        if self.arrays == "jax":
            return ["import jax, jax.numpy as jnp", *(["jax.config.update('jax_enable_x64', True)"] if lane.dtype == "float64" else []),
                    f"device = jax.devices({lane.device.partition(':')[0]!r})[{int(lane.device.partition(':')[2] or 0)}]",
                    f"to = lambda a: jax.device_put(jnp.asarray(a, dtype=jnp.{lane.dtype}), device)",
                    "back = lambda a: np.asarray(a).astype(np.float32) if np.asarray(a).dtype.name == 'bfloat16' else np.asarray(a)"]
        if lane.dtype == "bfloat16":
            return ["import ml_dtypes", "to = lambda a: np.asarray(a, dtype=np.float64).astype(ml_dtypes.bfloat16)",
                    "back = lambda a: np.asarray(a).astype(np.float32) if np.asarray(a).dtype.name == 'bfloat16' else np.asarray(a)"]
        return [f"to = lambda a: np.asarray(a).astype(np.{lane.dtype})", "back = np.asarray"]

    def _arguments(self, native) -> str:
        return (f"stride={tuple(native['stride'])!r}, padding={tuple(tuple(p) for p in native['padding'])!r}, "
                f"output_padding={tuple(native['output_padding'])!r}, dilation={tuple(native['dilation'])!r}, groups={native['groups']}")


class DialectFunction(Function):
    """The user's function with a framework's own signature (``--impl-dialect``): called as
    ``f(x, w, bias, **native, groups=groups)`` with the parameters that framework's API takes (valid or
    not: it must raise where the framework rejects them) and the arrays in that API's layouts. The
    framework's variant of the same name translates canonical cases (``native``, ``space``); a function
    of the canonical signature is :class:`Function`.

    Layouts: torch and ONNX take the canonical ones; TensorFlow's ``nn`` takes ``x`` channels-last
    (``data_format``), the filter ``(*k, C_out/groups, C_in)`` and the full ``output_shape``; JAX's
    ``conv_transpose`` takes them as its ``dimension_numbers`` (and ``transpose_kernel``) say. A result
    comes back through the same layout."""

    def __init__(self, spec: str, arrays: str, dialect: str, framework: str, name: str):
        super().__init__(spec, arrays)
        self.name, self.dialect, self.framework = name, dialect, framework
        self.checks_gradients = False

    @property
    def translation(self) -> Variant:
        """The framework's variant of this name: its translation, no framework imported."""
        from . import get

        return get(self.framework).variant(self.name)

    def space(self, lane: Lane) -> dict:
        """The API's own space: for TensorFlow, as a GPU lane runs it (a CPU build's kernels refuse some of it)."""
        if self.framework == "tensorflow":
            lane = Lane("gpu:0", lane.dtype, "highest", "default", lane.mode)
        return self.translation.space(lane)

    def native(self, case: Case) -> dict:
        return self.translation.native(case)

    def call(self, runtime, native, x, w, bias, groups, lane: Lane, epilogue=None):
        from oracles.dialects import get_dialect

        from .base import batched

        dialect = get_dialect(self.dialect)
        layout = {key: value for key, value in native.items() if key not in MODEL_KEYS}
        parameters = {key: value for key, value in layout.items() if value is not None}
        if self.dialect in ("tensorflow", "jax"):  # APIs with a batch dim always
            x, had_batch = batched(x, w)
        else:
            had_batch = True
        if self.dialect == "tensorflow":
            xn, wn = dialect.input_from_canonical(x, **layout), dialect.weight_from_canonical(w, **layout)
            if parameters.get("output_shape") is not None:
                parameters["output_shape"] = dialect.native_output_shape(parameters["output_shape"], x.shape[0], w.shape[1] * groups, **layout)
        elif self.dialect == "jax":
            xn, wn = dialect.input_from_canonical(x, **layout), dialect.weight_from_canonical(w, groups=groups, **layout)
        else:
            xn, wn = x, w
        arrays = runtime.arrays
        try:
            with arrays.precision(lane):
                result = runtime.function(arrays.to(xn, lane), arrays.to(wn, lane), arrays.to(bias, lane), **parameters, groups=groups)
            result = arrays.back(result)
        except Unsupported:
            raise
        except Exception as error:  # noqa: BLE001  (whatever the function raises is its verdict)
            raise FrameworkError.of(error) from None
        if isinstance(result, np.ndarray) and result.ndim == np.ndim(w):
            if self.dialect == "tensorflow":
                result = dialect.input_to_canonical(result, **layout)
            elif self.dialect == "jax":
                result = dialect.output_to_canonical(result, **layout)
            if not had_batch:
                result = result[0]
        return result

    def gradients(self, runtime, native, x, w, bias, groups, upstream, lane):
        raise NotApplicable("gradients are checked in the canonical signature only")

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """The user's function called with the native parameters on the operands in the dialect's layouts
        (moved there with the oracle's dialect, as the worker does), leaving ``y`` in the canonical layout."""
        layout = {key: value for key, value in native.items() if key not in MODEL_KEYS}
        parameters = ", ".join(f"{key}={value!r}" for key, value in sorted(layout.items()) if value is not None)
        lines = [*self._import_lines(), *self._array_lines(lane), "from oracles.dialects import get_dialect",
                 f"dialect, native = get_dialect({self.dialect!r}), {layout!r}", f"groups = {case.groups}"]
        if self.dialect in ("tensorflow", "jax"):
            lines += ["batched = x.ndim == w.ndim", "x = x if batched else x[np.newaxis]"]
        if self.dialect == "tensorflow":
            lines += ["xn, wn = dialect.input_from_canonical(x, **native), dialect.weight_from_canonical(w, **native)"]
            if layout.get("output_shape") is not None:
                parameters = parameters.replace(f"output_shape={layout['output_shape']!r}", "output_shape=dialect.native_output_shape("
                                                f"{layout['output_shape']!r}, x.shape[0], w.shape[1] * groups, **native)")
        elif self.dialect == "jax":
            lines += ["xn, wn = dialect.input_from_canonical(x, **native), dialect.weight_from_canonical(w, groups=groups, **native)"]
        else:
            lines += ["xn, wn = x, w"]
        lines += [f"out = back({self._function}(to(xn), to(wn), None if bias is None else to(bias), {parameters}, groups=groups))"]
        if self.dialect == "tensorflow":
            lines += ["y = dialect.input_to_canonical(out, **native)"]
        elif self.dialect == "jax":
            lines += ["y = dialect.output_to_canonical(out, **native)"]
        else:
            lines += ["y = out"]
        if self.dialect in ("tensorflow", "jax"):
            lines += ["y = y if batched else y[0]"]
        return "\n".join(lines) + "\n"


@functools.cache
def impl_target(name: str) -> Target:
    """The target for the worker ``impl:NAME`` (``SPEC`` or ``SPEC?options``), loaded in its worker by
    :func:`load_function`: one variant (:class:`Function`), or, with a dialect, one per API spelling
    (:class:`DialectFunction`)."""
    spec, options = split_worker_name(name)
    arrays, dialect = options.get("arrays", "numpy"), options.get("dialect", "canonical")
    environment = {"TF_CPP_MIN_LOG_LEVEL": "2"} if arrays == "jax" else {}
    if DIALECTS.get(dialect) is None:
        variants = (Function(spec, arrays),)
    else:
        framework, names = DIALECTS[dialect]
        variants = tuple(DialectFunction(spec, arrays, dialect, framework, name) for name in names)
    return Target(framework="impl", requires=(), variants=variants, environment=environment,
                  load=lambda: ImplRuntime(spec, arrays, options.get("version"), dialect))
