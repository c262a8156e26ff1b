"""PyTorch adapter: ``torch.nn.functional.conv_transpose{1,2,3}d`` and ``nn.ConvTranspose{1,2,3}d``.

Variants, all in the ``torch`` dialect (``oracles.dialects.torch``):

- ``functional``: ``F.conv_transpose*d(x, w, bias, stride, padding, output_padding, groups, dilation)``
  with ``p = cb``, ``op = cb - ca``; not applicable where torch cannot express the geometry
  (``cb < 0``, ``cb < ca``, ``cb - ca >= max(s, d)``).
- ``emulated``: the dialect's ``emulation``: ``F.conv_transpose*d`` with a smaller ``p`` (and ``op`` to
  append zeros), then ``y[..., start:stop]`` per dim, so ``cb < ca`` (TF 'SAME' with odd ``K - s``) is
  checked too. Native key ``slices``: one ``(start, stop)`` per spatial dim.
- ``module``: ``nn.ConvTranspose*d(...).forward(x, output_size=o)``; the module derives
  ``op = o - ((i-1)*s - 2p + d*(k-1) + 1)`` and accepts only ``op <= s-1`` (not ``< d``).
- ``channels_last``: 2-D only; ``x`` and ``w`` in ``torch.channels_last`` memory format, then the
  functional call; the result is made contiguous (canonical NCHW) before it leaves.

Every variant runs eagerly and compiled (``conformance.modes``): the call and its epilogue as one
function under ``torch.compile(f, backend="inductor", fullgraph=True, dynamic=False)`` (``fullgraph``:
a graph break would silently run part of it eagerly), and under ``backend="aot_eager"`` when the
runner places a compiled failure. Gradients compiled: the forward is compiled with its inputs requiring
grad, so AOTAutograd compiles the backward too. The module variant compiles the module's call (as
``torch.compile(model)`` does), with its parameters set from the operands before each call.

Results leave as NumPy arrays in the computed dtype; bfloat16 (no NumPy dtype) leaves as float32
holding the bfloat16 values, which is exact (every bfloat16 is a float32).

The repros' text is written in ``torch_repro`` (split out for module size: source text is a concern of its own).
"""

from __future__ import annotations

import functools
import os
import shutil

import numpy as np

from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.torch import DIALECT

from ..cases import Case
from . import torch_repro
from .base import CompiledCache, FrameworkError, Lane, NotApplicable, Runtime, Target, Unsupported, Variant, first_line, full_text


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _plain(params: dict) -> dict:
    """Dialect output with every per-dim value a tuple of ints."""
    return {key: _ints(value) for key, value in params.items()}


def _framework_error(error: Exception) -> Exception:
    """A torch exception as the suite records it: a missing kernel for a dtype is UNSUPPORTED
    (the build cannot run it); anything else is the framework's own verdict."""
    message = first_line(error)
    if isinstance(error, (RuntimeError, NotImplementedError)) and "not implemented for" in message:
        return Unsupported(f"{type(error).__name__}: {message}")
    return FrameworkError(type(error).__name__, message, full_text(error))


# ---- worker side: torch is imported only here and in the calls --------------------------------


def _tensor(array, lane: Lane):
    """NumPy -> torch on ``lane.device`` in ``lane.dtype`` (float32 carries bfloat16 values exactly)."""
    import torch

    if array is None:
        return None
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array)).to(device=lane.device, dtype=getattr(torch, lane.dtype))


def _numpy(tensor) -> np.ndarray:
    """Torch -> contiguous NumPy in the computed dtype (bfloat16 as exact float32)."""
    import torch

    tensor = tensor.detach().contiguous().cpu()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy()


# Compiled functions kept per (variant, parameters, shapes, lane, epilogue, ...): each is one inductor
# compilation (about 1.3 s on a 2-core CPU), reused by the checks that call the same case again.
CACHE_SIZE = 128


def _epilogue(y, name, operand, ndim: int):
    """The epilogue ``name`` (``oracles.epilogues``) applied to ``y`` in torch ops, inside the function
    that is compiled, where inductor may fuse it into the convolution."""
    import torch

    if name is None:
        return y
    if name == "bias":  # (C, 1, ...) broadcasts along the channel dim, batched or not
        return y + operand.reshape((-1,) + (1,) * ndim)
    if name == "relu":
        return torch.relu(y)
    if name == "sigmoid":
        return torch.sigmoid(y)
    if name == "residual":
        return y + operand
    if name == "scale":
        return y * operand.reshape((-1,) + (1,) * ndim)
    raise ValueError(f"unknown epilogue {name!r}")


def set_precision(lane: Lane) -> None:
    """Set TF32 for ``lane`` on CUDA: ``"tf32"`` allows it, anything else forces IEEE float32.

    Both APIs are set, legacy first: the legacy setter resets the new per-operator flags, and torch
    raises on reading the legacy flags when the two disagree (a "mix of the legacy and new APIs").
    """
    import torch

    if not lane.device.startswith("cuda"):
        return
    allow = lane.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = allow
    torch.backends.cuda.matmul.allow_tf32 = allow
    mode = "tf32" if allow else "ieee"
    for backend in (getattr(torch.backends.cudnn, "conv", None), torch.backends.cuda.matmul):
        if backend is not None and hasattr(backend, "fp32_precision"):
            backend.fp32_precision = mode


def set_backend(lane: Lane) -> None:
    """Force the lane's kernel library (``conformance.backends``): oneDNN on or off on CPU, cuDNN on or
    off on CUDA. Both are process-wide switches, so every call sets them; a lane without a backend
    (``"default"``, as a caller outside the suite makes) leaves torch's own settings."""
    import torch

    if lane.backend == "default":
        return
    if lane.device == "cpu":
        torch.backends.mkldnn.enabled = lane.backend == "onednn"
    else:
        torch.backends.cudnn.enabled = lane.backend == "cudnn"


def onednn_dtypes() -> tuple[str, ...]:
    """The dtypes torch's CPU convolutions may run through oneDNN: float32 always (where torch was built
    with it), bfloat16 and float16 where the CPU has the instructions torch requires for them."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return ()
    checks = {"bfloat16": "_is_mkldnn_bf16_supported", "float16": "_is_mkldnn_fp16_supported"}
    return ("float32",) + tuple(name for name, check in checks.items() if getattr(torch.ops.mkldnn, check)())


# The CPU backend a worker runs, set by its process setting (``torch@onednn``, ``torch@native``); unset
# (the adapter loaded in-process, as the self-tests do) it offers both and switches per call.
CPU_BACKEND = "CONVT_TORCH_CPU_BACKEND"


class TorchRuntime(Runtime):
    def __init__(self):
        import torch

        # The suite makes many tiny calls: one thread is fastest and keeps several workers from
        # oversubscribing the cores. CONVT_TORCH_THREADS overrides (e.g. to measure threaded kernels).
        torch.set_num_threads(int(os.environ.get("CONVT_TORCH_THREADS", "1")))
        # oneDNN on or off for the whole process, not only per call: inductor registers its oneDNN
        # fusion and weight-prepack patterns the first time it compiles with oneDNN enabled, and applies
        # them ever after, so a compiled check would depend on which lanes ran before it in the process.
        self.cpu_backend = os.environ.get(CPU_BACKEND) or None
        if self.cpu_backend is not None:
            torch.backends.mkldnn.enabled = self.cpu_backend == "onednn"
        self._probed: dict[str, bool] = {}
        self._cache = CompiledCache(CACHE_SIZE)
        # Every case compiles the same Python function with other constants: dynamo's per-function
        # recompilation limit (8) would otherwise fall back to eager silently after the eighth case.
        # Raise it, and make hitting it an error rather than a silent eager run.
        dynamo = torch._dynamo.config
        dynamo.recompile_limit = dynamo.accumulated_recompile_limit = 1_000_000
        dynamo.fail_on_recompile_limit_hit = True

    def cached(self, key, make):
        """The compiled function (or model) for ``key``, made on a miss."""
        return self._cache.get(key, make)

    def compile(self, function, mode: str):
        """``function`` as the lane's mode runs it: inductor for ``compiled``, ``aot_eager`` for the diagnosis."""
        import torch

        backend = {"compiled": "inductor", "aot_eager": "aot_eager"}[mode]
        return torch.compile(function, backend=backend, fullgraph=True, dynamic=False)

    def mode_support(self, device: str, mode: str) -> str | None:
        """Inductor compiles C++ for the CPU: without a compiler, compiled CPU lanes cannot run."""
        if mode == "compiled" and device == "cpu":
            from torch._inductor import config

            compiler = config.cpp.cxx[0] if isinstance(config.cpp.cxx, tuple) else config.cpp.cxx
            if compiler and shutil.which(compiler) is None and shutil.which("g++") is None and shutil.which("clang++") is None:
                return f"torch.compile (inductor) needs a C++ compiler for the CPU; none found ({compiler}, g++, clang++)"
        return None

    def environment(self) -> dict:
        import torch

        try:
            tf32 = {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                    "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32}
        except RuntimeError as error:  # flags set through a mix of legacy and new APIs
            tf32 = {"error": first_line(error)}
        conv = getattr(torch.backends.cudnn, "conv", None)
        if conv is not None and hasattr(conv, "fp32_precision"):
            tf32["cudnn.conv.fp32_precision"] = conv.fp32_precision
        return {
            "framework": "torch",
            "version": torch.__version__,
            "devices": list(self.devices()),
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
            "threads": torch.get_num_threads(),
            "cpu_backend": self.cpu_backend or "per call",
            "tf32": tf32,
            "mkldnn": torch.backends.mkldnn.is_available(),
            "onednn_dtypes": list(onednn_dtypes()),
        }

    def devices(self) -> tuple[str, ...]:
        import torch

        return ("cpu",) + tuple(f"cuda:{index}" for index in range(torch.cuda.device_count()))

    def dtypes(self, device: str) -> tuple[str, ...]:
        """GPUs: all four. CPU: float32, float64, plus float16/bfloat16 where a probe call runs
        (torch 2.13 CPU runs both; older builds raised "not implemented for 'Half'")."""
        if device != "cpu":
            return ("float16", "bfloat16", "float32", "float64")
        return ("float32", "float64") + tuple(name for name in ("float16", "bfloat16") if self._cpu_probe(name))

    def backends(self, device: str, dtype: str) -> tuple[str, ...]:
        """CPU: ``onednn`` (torch's default: ``torch.backends.mkldnn.enabled``, torch's heuristics then
        choose oneDNN where they allow) and ``native`` (disabled) for the dtypes oneDNN has kernels for,
        else ``native`` only; CUDA: ``cudnn`` and ``native`` (``torch.backends.cudnn.enabled``)."""
        import torch

        if device != "cpu":
            return ("cudnn", "native") if torch.backends.cudnn.is_available() else ("native",)
        offered = ("onednn", "native") if dtype in onednn_dtypes() else ("native",)
        return offered if self.cpu_backend is None else tuple(b for b in offered if b == self.cpu_backend)

    def _cpu_probe(self, dtype: str) -> bool:
        """Whether a tiny grouped, strided, dilated ``conv_transpose2d`` runs on CPU in ``dtype``."""
        import torch

        if dtype not in self._probed:
            kind = getattr(torch, dtype)
            try:
                torch.nn.functional.conv_transpose2d(
                    torch.ones(1, 2, 2, 2, dtype=kind), torch.ones(2, 1, 2, 2, dtype=kind), torch.ones(2, dtype=kind),
                    stride=2, padding=1, output_padding=1, groups=2, dilation=2)
                self._probed[dtype] = True
            except RuntimeError:
                self._probed[dtype] = False
        return self._probed[dtype]


# ---- variants -----------------------------------------------------------------------------------


class Functional(Variant):
    """``F.conv_transpose{1,2,3}d(x, w, bias, stride, padding, output_padding, groups, dilation)``."""

    name, dialect, checks_gradients = "functional", "torch", True
    modes = ("eager", "compiled")
    diagnostic_modes = ("aot_eager",)
    epilogues = ("bias", "relu", "sigmoid", "residual", "scale")

    def space(self, lane: Lane) -> dict:
        """Drawn in torch's own terms (``strategies.torch_cases``): what the functional form cannot
        express is the emulated variant's (and the torch dialect's tests say where it is)."""
        return {"torch": "functional"}

    def native(self, case: Case) -> dict:
        try:
            return _plain(DIALECT.from_canonical(case.geometry))
        except NotExpressible as error:
            raise NotApplicable(str(error)) from None

    def apply(self, native: dict, x, w, bias, groups: int):
        """Run on torch tensors; returns ``(y, weight_leaf)`` where ``weight_leaf.grad`` is d w."""
        import torch

        function = getattr(torch.nn.functional, f"conv_transpose{w.dim() - 2}d")
        params = {name: native[name] for name in ("stride", "padding", "output_padding", "dilation") if name in native}
        return function(x, w, bias, groups=groups, **params), w

    def call(self, runtime, native, x, w, bias, groups, lane, epilogue=None):
        import torch

        self._check(native, w)
        set_precision(lane)
        set_backend(lane)
        name, operand = epilogue or (None, None)
        x_t, w_t, bias_t, operand_t = (_tensor(a, lane) for a in (x, w, bias, operand))
        try:
            with torch.no_grad():
                y, _ = self.run(runtime, native, x_t, w_t, bias_t, groups, lane, name, operand_t)
        except Exception as error:  # noqa: BLE001  (whatever torch raises is its verdict, recorded as data)
            raise _framework_error(error) from None
        return _numpy(y)

    def gradients(self, runtime, native, x, w, bias, groups, upstream, lane):
        """``(d x, d w)`` of ``sum(upstream * y)`` by ``torch.autograd``, in the lane's dtype (compiled
        lanes: through the compiled forward and the backward AOTAutograd compiles with it)."""
        import torch

        if not self.checks_gradients:
            return super().gradients(runtime, native, x, w, bias, groups, upstream, lane)
        set_precision(lane)
        set_backend(lane)
        x_t, w_t, bias_t, upstream_t = (_tensor(a, lane) for a in (x, w, bias, upstream))
        x_t.requires_grad_(True)
        w_t.requires_grad_(True)
        try:
            with torch.enable_grad():
                y, weight_leaf = self.run(runtime, native, x_t, w_t, bias_t, groups, lane, None, None, gradients=True)
                d_x, d_w = torch.autograd.grad((y * upstream_t).sum(), [x_t, weight_leaf])
        except Exception as error:  # noqa: BLE001
            raise _framework_error(error) from None
        return _numpy(d_x), _numpy(d_w)

    def run(self, runtime, native, x, w, bias, groups, lane, epilogue, operand, gradients=False):
        """``(y, weight leaf)``: the call and its epilogue in the lane's mode; compiled, one function
        (``f(x, w, bias, operand)``) per case and shapes, kept in the runtime's cache."""
        ndim = w.dim() - 2

        def function(x, w, bias, operand):
            return _epilogue(self.apply(native, x, w, bias, groups)[0], epilogue, operand, ndim)

        if lane.mode == "eager":
            y, leaf = self.apply(native, x, w, bias, groups)  # the module variant's weight is its parameter
            return _epilogue(y, epilogue, operand, ndim), leaf
        key = (self.name, repr(sorted(native.items())), groups, lane, epilogue, gradients,
               *(None if t is None else tuple(t.shape) for t in (x, w, bias, operand)))
        compiled = runtime.cached(key, lambda: runtime.compile(function, lane.mode))
        return compiled(x, w, bias, operand), w

    def _check(self, native, w) -> None:
        """Native parameters this variant cannot even be handed (a suite bug, not a framework verdict)."""

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """Python that computes ``y`` (a torch tensor) from NumPy ``x``, ``w``, ``bias`` (``residual``)
        with torch's own API: the call and the epilogue, compiled as the lane compiles them (``torch_repro``)."""
        return torch_repro.repro(self, case, native, lane, epilogue)

    def repro_gradients(self, case: Case, native: dict, lane: Lane) -> str:
        """``dx``, ``dw`` (canonical NumPy) of ``sum(upstream * y)`` by ``torch.autograd`` (``torch_repro``)."""
        return torch_repro.gradients(self, case, native, lane)

    def repro_setup(self, case: Case, native: dict, e: "torch_repro.Expressions") -> list[str]:
        """Lines that stay outside a compiled function (a module is made outside, as users make theirs)."""
        return []

    def repro_call(self, case: Case, native: dict, e: "torch_repro.Expressions") -> list[str]:
        return torch_repro.functional_call(case, native, e)


class Emulated(Functional):
    """The dialect's ``emulation``: ``F.conv_transpose*d`` with a smaller ``p`` (and ``op`` to append
    zeros), then ``y[..., start:stop]`` per dim, so ``cb < ca`` is checked too. Native key ``slices``."""

    name, checks_gradients = "emulated", False

    def space(self, lane: Lane) -> dict:
        # Emulation exists for the crops the functional form cannot express: all but a negative start
        # crop (zeros before the output), which slicing cannot make, and an end extended beyond what
        # output_padding (< max(s, d)) appends.
        return {"crop_before_min": 0, "crop_after_min": "1-max(s,d)"}

    def native(self, case: Case) -> dict:
        geometry = case.geometry
        try:
            params, slices = DIALECT.emulation(geometry)
        except NotExpressible as error:
            raise NotApplicable(str(error)) from None
        whole = [(0, o) for o in geometry.output_size]
        return {**_plain(params), "slices": tuple(
            whole[dim] if part == slice(None) else (part.start, part.stop) for dim, part in enumerate(slices)
        )}

    def apply(self, native, x, w, bias, groups):
        y, w = super().apply(native, x, w, bias, groups)
        return y[(Ellipsis, *(slice(start, stop) for start, stop in native["slices"]))], w

    def _check(self, native, w) -> None:
        if "slices" not in native:
            # A suite bug, not a framework verdict: keep it out of the FrameworkError net.
            raise ValueError(f"torch emulated: native parameters need 'slices'; got {sorted(native)}")

    def repro_call(self, case, native, e):
        return super().repro_call(case, native, e) + torch_repro.emulated_slices(native)


class ChannelsLast(Functional):
    """2-D only: ``x`` and ``w`` in ``torch.channels_last`` memory format, then the functional call;
    the result is made contiguous (canonical NCHW) before it leaves."""

    name, checks_gradients = "channels_last", False

    def space(self, lane: Lane) -> dict:
        return {"ndims": (2,), "torch": "functional"}  # channels_last exists for 4-D tensors

    def native(self, case: Case) -> dict:
        if case.ndim != 2:
            raise NotApplicable(f"torch channels_last: 2-D only (memory format for 4-D tensors); case has {case.ndim} spatial dims")
        return super().native(case)

    def apply(self, native, x, w, bias, groups):
        import torch

        # channels_last exists for 4-D tensors only: an unbatched input gets a batch dim of 1.
        unbatched = x.dim() == w.dim() - 1
        x_last = (x.unsqueeze(0) if unbatched else x).to(memory_format=torch.channels_last)
        y, _ = super().apply(native, x_last, w.to(memory_format=torch.channels_last), bias, groups)
        return (y[0] if unbatched else y), w

    def _check(self, native, w) -> None:
        if np.ndim(w) != 4:
            raise NotApplicable("torch channels_last: 2-D only")

    def repro_call(self, case, native, e):
        torch_repro.channels_last_operands(case, e)
        return super().repro_call(case, native, e) + torch_repro.channels_last_result(case)


class Module(Functional):
    """``nn.ConvTranspose*d(...).forward(x, output_size=o)``; the module derives
    ``op = o - ((i-1)*s - 2p + d*(k-1) + 1)`` and accepts only ``op <= s-1`` (not ``< d``)."""

    name = "module"

    def space(self, lane: Lane) -> dict:
        return {"torch": "module"}

    def native(self, case: Case) -> dict:
        params = super().native(case)
        geometry = case.geometry
        native = {key: params[key] for key in ("stride", "padding", "dilation")}
        native["output_size"] = geometry.output_size
        try:
            module_geometry = DIALECT.to_canonical(case.input_size, case.kernel_size, **native)
        except Rejected as error:
            # op < dilation (but >= stride) is legal for the functional form; the module's range
            # check allows only stride-1 extra (docs/semantics.md, 'PyTorch quirks').
            raise NotApplicable(f"torch module: output_size={geometry.output_size} needs output_padding="
                                f"{params['output_padding']}; the module allows only stride-1 extra: {error}") from None
        assert module_geometry == geometry, (module_geometry, geometry)
        return native

    def apply(self, native, x, w, bias, groups):
        module = self.module(native, x, w, bias, groups)
        return self.forward(module, native, x), module.weight

    @staticmethod
    def module(native, x, w, bias, groups):
        """The ``nn.ConvTranspose*d`` of ``native`` with ``w`` and ``bias`` as its parameters."""
        import torch

        ndim = w.dim() - 2
        module = torch.nn.utils.skip_init(
            getattr(torch.nn, f"ConvTranspose{ndim}d"), x.shape[-ndim - 1], w.shape[1] * groups, _ints(w.shape[2:]),
            stride=native.get("stride", 1), padding=native.get("padding", 0),
            output_padding=native.get("output_padding", 0), dilation=native.get("dilation", 1),
            groups=groups, bias=bias is not None, device=w.device, dtype=w.dtype,
        )
        with torch.no_grad():
            module.weight.copy_(w)
            if bias is not None:
                module.bias.copy_(bias)
        return module

    @staticmethod
    def forward(module, native, x):
        output_size = native.get("output_size")
        return module(x, output_size=None if output_size is None else list(_ints(output_size)))

    def run(self, runtime, native, x, w, bias, groups, lane, epilogue, operand, gradients=False):
        """Compiled as a model is deployed: ``torch.compile(model)`` of a module holding the layer and
        the epilogue's constant (a per-channel bias or scale, as a parameter; a residual stays an input).
        Forward calls are inference (``torch.no_grad()``) with ``torch._inductor.config.freezing`` on,
        the CPU inference recipe: parameters become constants that inductor folds epilogues into. So
        each case's model is compiled for its own weights (frozen constants would be stale for another
        case's); gradients compile the same model without freezing, which applies only to inference."""
        import torch

        if lane.mode == "eager":
            return super().run(runtime, native, x, w, bias, groups, lane, epilogue, operand, gradients)
        frozen = not gradients
        constants = () if not frozen else tuple(_digest(t) for t in (w, bias, operand))
        key = (self.name, repr(sorted(native.items())), groups, lane, epilogue, gradients, constants,
               *(None if t is None else tuple(t.shape) for t in (x, w, bias, operand)))

        def make():
            conv = self.module(native, x, w.detach(), None if bias is None else bias.detach(), groups)
            model = _Model(conv, native, epilogue, None if epilogue == "residual" else operand).eval()
            return model, runtime.compile(model, lane.mode)

        model, compiled = runtime.cached(key, make)
        if not frozen:  # the same model is reused for every operand of these shapes: set this call's
            with torch.no_grad():
                model.conv.weight.copy_(w)
                if bias is not None:
                    model.conv.bias.copy_(bias)
            model.zero_grad(set_to_none=True)
        residual = operand if epilogue == "residual" else None
        with torch._inductor.config.patch(freezing=frozen):
            return compiled(x, residual), model.conv.weight

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """Eagerly as every variant; compiled as the lane runs it: a model holding the layer and the
        epilogue's constant, compiled for inference with ``freezing`` on (its forward calls)."""
        if lane.mode == "eager":
            return super().repro(case, native, lane, epilogue)
        return torch_repro.compiled_module(self, case, native, lane, epilogue)

    def repro_setup(self, case, native, e):
        return torch_repro.module_setup(case, native, e)

    def repro_call(self, case, native, e):
        return torch_repro.module_call(native, e)


def _digest(tensor) -> str | None:
    """A frozen model's constants name its compilation: the bytes of one operand."""
    import hashlib

    return None if tensor is None else hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


@functools.lru_cache(maxsize=None)
def _model_class():
    import torch

    class Model(torch.nn.Module):
        """``nn.ConvTranspose*d`` and its epilogue as a model: a per-channel constant is a parameter."""

        def __init__(self, conv, native, epilogue, constant):
            super().__init__()
            self.conv, self.native, self.epilogue = conv, native, epilogue
            self.constant = None if constant is None else torch.nn.Parameter(constant.detach().clone(), requires_grad=False)

        def forward(self, x, residual=None):
            y = Module.forward(self.conv, self.native, x)
            return _epilogue(y, self.epilogue, residual if self.epilogue == "residual" else self.constant, self.conv.weight.dim() - 2)

    return Model


def _Model(conv, native, epilogue, constant):
    return _model_class()(conv, native, epilogue, constant)


TARGET = Target(
    framework="torch",
    requires=("torch",),
    variants=(Functional(), Emulated(), Module(), ChannelsLast()),
    load=TorchRuntime,
    # One worker per CPU backend (see CPU_BACKEND); the GPU lanes run in the first.
    process_settings={"onednn": {CPU_BACKEND: "onednn"}, "native": {CPU_BACKEND: "native"}},
    backends=("onednn", "native", "cudnn"),
    # Inductor's FX graph cache (and AOTAutograd's) on disk: a second run skips code generation.
    compile_cache={"TORCHINDUCTOR_CACHE_DIR": "{cache}/inductor", "TORCHINDUCTOR_FX_GRAPH_CACHE": "1",
                   "TORCHINDUCTOR_AUTOGRAD_CACHE": "1"},
)
