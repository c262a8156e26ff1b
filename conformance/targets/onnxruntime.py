"""ONNX Runtime adapter: a one-node ``ConvTranspose`` model run by ``onnxruntime.InferenceSession``.

Variants, all in the ``onnx`` dialect with ``runtime="onnxruntime"`` (``oracles.dialects.onnx``, whose
docstring states ONNX Runtime's rules: clamped total padding, ``pads`` with ``auto_pad`` rejected,
``op >= s`` rejected, ...); each forces one spelling of the attributes:

- ``pads``: explicit ``pads = [cb.., (ca + op)..]`` and ``output_padding`` (the dialect's
  ``from_canonical``); not applicable where that needs a negative pad or ``op >= s``.
- ``initializers``: as ``pads``, with W and B initializers (constants) of the model, as in an
  exported model, instead of inputs: constant weights are what ORT's kernels may pre-pack when the
  session is created, and W's static shape lets ONNX shape inference check the node then.
- ``signed_pads``: ``pads = [cb.., ca..]``, ``output_padding = 0`` for every geometry
  (``from_canonical(allow_negative_pads=True)``): negative entries append zeros. The spec forbids
  negative pads; ONNX Runtime's kernel accepts them, and so does the session only while W's shape
  (and ``kernel_shape``) are unknown to it (see "Input shapes" below).
- ``output_shape``: the ``output_shape`` attribute (with ``output_padding`` where it shifts the split,
  and ``auto_pad=SAME_UPPER`` where only the floor split fits); no ``pads``.
- ``auto_pad``: ``auto_pad`` SAME_UPPER, SAME_LOWER or VALID with ``output_padding``; no ``pads``. Its
  space asks for TF's 'SAME'/'VALID' crops, the geometries these modes can produce.

Native parameters are the dialect's keywords (``strides``, ``dilations``, ``pads``, ``auto_pad``,
``output_padding``, ``output_shape``) plus ``runtime="onnxruntime"``, so that anything reading them
through the ``onnx`` dialect gets ONNX Runtime's semantics (the dialect's default is the reference
evaluator's). :meth:`OrtVariant.call` passes them to the node as given, invalid ones included, and adds
``group``; ``runtime`` is not an attribute and is dropped.

Input shapes: the graph's inputs have symbolic dims (``["N", "C", "I0", ..]``), as an exported model
with dynamic axes has. Once W's shape is known (static W dims, a W initializer, or a ``kernel_shape``
attribute), ONNX shape inference checks the node when the session is created and rejects negative
``pads`` ("Attribute pads must not contain negative values") that the kernel itself accepts; the
dialect models the kernel (its experiments use shape-less inputs), so the adapter keeps the dims
symbolic, and only ``initializers`` (never negative pads) fixes W's. One session then serves every
input size of a configuration.

Model: opset 17 (ConvTranspose-11), IR version 8, so the ``onnx`` extra's lower bounds (onnx 1.16,
onnxruntime 1.17) load it too. The dialect's experiments (tests/test_dialect_onnx.py) use opset 22;
the native cases at opset 17 (tests/test_target_onnxruntime.py) agree with the same dialect.

dtypes: probed per device by running a tiny grouped, strided, dilated model with bias. ORT 1.32's CPU
provider runs float32 and float16 and has no float64 kernel (a session fails with NOT_IMPLEMENTED "Could
not find an implementation for ConvTranspose"); opset 17 admits no bfloat16 ConvTranspose (INVALID_GRAPH
"Type Error"), and opset 22, which does, has no CPU kernel for it. Such calls are ``Unsupported``.
Its float16 is not a float16 kernel: ORT inserts Cast nodes around the float32 kernel (float16 in,
float32 arithmetic, one rounding to float16 at the end); ``environment()["float16_via_casts"]`` says
whether this build does so. CUDA (``cuda:0`` where ``CUDAExecutionProvider`` is available) is coded
but untested; its float32 lanes set the provider's ``use_tf32``.

Speed (this shared 2-core CPU, one intra-op thread; 2x3x5x5 input, 3x3 kernel, bias, 72 attribute
sets): a first call, which builds, serialises and loads the model, 1.5-1.8 ms; a cached session's call
0.025-0.055 ms. Sessions are cached per (device, precision, dtype, rank, bias, attributes) in an LRU
of ``CACHE_SIZE``; the input dims are symbolic, so one session serves every input size.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

import numpy as np

from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.onnx import ONNXRUNTIME, onnx_pads
from oracles.geometry import is_int

from ..cases import Case
from .base import FrameworkError, Lane, NotApplicable, Runtime, Target, Unsupported, Variant, first_line

OPSET = 17
IR_VERSION = 8
CACHE_SIZE = 256  # sessions kept per worker (a one-node session holds little memory)
PROBE_DTYPES = ("float32", "float16", "float64")
ELEMENT_TYPES = {"float16": "FLOAT16", "float32": "FLOAT", "float64": "DOUBLE", "bfloat16": "BFLOAT16"}
ATTRIBUTES = ("strides", "dilations", "pads", "auto_pad", "output_padding", "output_shape")
RUNTIME = {"runtime": "onnxruntime"}


# ---- the model: one ConvTranspose node (shared by the calls and the repro) ------------------------


def attributes(native: dict, ndim: int, groups: int) -> dict:
    """The node's attributes for ``native`` as given (ints spread over the dims; ``pads`` in ONNX's flat
    ``[b.., e..]``), plus ``group``; ``runtime`` dropped. Invalid values pass through for ORT to judge."""
    unknown = sorted(set(native) - set(ATTRIBUTES) - {"runtime"})
    if unknown:
        # A suite bug, not a framework verdict: keep it out of the FrameworkError net.
        raise ValueError(f"onnxruntime: unknown native parameters {unknown}; the attributes are {', '.join(ATTRIBUTES)}")
    result = {}
    for name in ATTRIBUTES:
        value = native.get(name)
        if value is None:
            continue
        if name == "auto_pad":
            result[name] = str(value)
        elif name == "pads":
            result[name] = _flat_pads(value, ndim)
        elif is_int(value):
            result[name] = [int(value)] * ndim
        else:
            result[name] = [int(v) for v in value]
    result["group"] = int(groups)
    return result


def _flat_pads(pads, ndim: int) -> list[int]:
    """ONNX's flat ``[b_1.., e_1..]``: a flat int sequence as given (any length), other spellings via the dialect."""
    if not is_int(pads) and all(is_int(v) for v in pads):
        return [int(v) for v in pads]
    pairs = onnx_pads(pads, ndim)
    return [b for b, _ in pairs] + [e for _, e in pairs]


def input_dims(ndim: int, bias: bool) -> dict:
    """Symbolic dims of the graph inputs (see the module docstring, "Input shapes")."""
    dims = {"X": ["N", "C", *(f"I{n}" for n in range(ndim))], "W": ["C", "M", *(f"K{n}" for n in range(ndim))]}
    if bias:
        dims["B"] = ["O"]
    return dims


def build_model(attrs: dict, ndim: int, dtype: str, bias: bool, constants: dict | None = None):
    """The one-node ``onnx.ModelProto``: inputs X, W (and B), output Y, element type of ``dtype``.
    ``constants`` (name -> array in ``dtype``) become initializers instead of inputs."""
    from onnx import TensorProto, helper, numpy_helper

    constants = constants or {}
    element = getattr(TensorProto, ELEMENT_TYPES[dtype])
    dims = input_dims(ndim, bias)
    node = helper.make_node("ConvTranspose", list(dims), ["Y"], **attrs)
    graph = helper.make_graph(
        [node], "convt",
        [helper.make_tensor_value_info(name, element, shape) for name, shape in dims.items() if name not in constants],
        [helper.make_tensor_value_info("Y", element, None)],
        initializer=[numpy_helper.from_array(array, name) for name, array in constants.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


# ---- worker side: onnxruntime is imported only here and in the calls ------------------------------


def _ort_exceptions() -> tuple[type, ...]:
    """Every exception class ORT's C++ layer raises (``onnxruntime_pybind11_state``: Fail, InvalidArgument, ...)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    found = tuple(v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))
    return found or (RuntimeError,)


def _framework_error(error: BaseException) -> Exception:
    """ORT's exception as the suite records it: the dtype without a kernel (NOT_IMPLEMENTED "Could not find
    an implementation") or outside the opset's type constraints (INVALID_GRAPH "Type Error: Type
    'tensor(bfloat16)'") is UNSUPPORTED; anything else is ORT's verdict on the attributes."""
    kind, text = type(error).__name__, str(error)
    if (kind == "NotImplemented" and "Could not find an implementation" in text) or (kind == "InvalidGraph" and "Type Error: Type 'tensor(" in text):
        return Unsupported(f"{kind}: {first_line(error)}")
    return FrameworkError.of(error)


def _providers(lane_device: str, precision: str) -> list:
    kind, _, index = lane_device.partition(":")
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    if kind == "cuda":
        options = {"device_id": int(index or 0)}
        if precision in ("highest", "tf32"):
            options["use_tf32"] = int(precision == "tf32")
        return [("CUDAExecutionProvider", options)]
    raise ValueError(f"unknown device {lane_device!r} for onnxruntime; use 'cpu' or 'cuda:N'")


def threads() -> int:
    """Intra-op threads: 1 (many tiny calls; several workers share the cores) unless ``CONVT_ORT_THREADS`` ("0": ORT's default)."""
    return int(os.environ.get("CONVT_ORT_THREADS", "1"))


class OrtRuntime(Runtime):
    def __init__(self):
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # no warnings on stderr; errors come back as exceptions
        self._ort = onnxruntime
        self._errors = _ort_exceptions()
        self._sessions: OrderedDict = OrderedDict()
        self._probed: dict[tuple[str, str], bool] = {}

    def environment(self) -> dict:
        import onnx

        return {
            "framework": "onnxruntime",
            "version": self._ort.__version__,
            "onnx": onnx.__version__,
            "providers": list(self._ort.get_available_providers()),
            "devices": list(self.devices()),
            "opset": OPSET,
            "threads": threads(),
            "cpu_dtypes": list(self.dtypes("cpu")),
            "float16_via_casts": self._float16_via_casts(),
        }

    def devices(self) -> tuple[str, ...]:
        """``cpu``, and ``cuda:0`` where the CUDA provider is available (ORT's Python API has no device count)."""
        cuda = "CUDAExecutionProvider" in self._ort.get_available_providers()
        return ("cpu",) + (("cuda:0",) if cuda else ())

    def dtypes(self, device: str) -> tuple[str, ...]:
        """The dtypes a probe session runs on ``device`` (a dtype without a kernel is not a lane)."""
        return tuple(dtype for dtype in PROBE_DTYPES if self._probe(device, dtype))

    def _probe(self, device: str, dtype: str) -> bool:
        key = (device, dtype)
        if key not in self._probed:
            x, w, bias = np.ones((1, 2, 2, 2)), np.ones((2, 1, 2, 2)), np.ones(2)
            native = dict(strides=(2, 2), dilations=(2, 2), pads=(1, 0, 0, 1), output_padding=(1, 1))
            try:
                self.run(native, x, w, bias, 2, Lane(device, dtype))
                self._probed[key] = True
            except (Unsupported, FrameworkError):
                self._probed[key] = False
        return self._probed[key]

    def _float16_via_casts(self):
        """Whether the CPU provider runs float16 ConvTranspose as Casts around the float32 kernel (None: no float16)."""
        if not self._probe("cpu", "float16"):
            return None
        import tempfile

        import onnx

        model = build_model(attributes({}, 1, 1), 1, "float16", False)
        with tempfile.TemporaryDirectory() as directory:
            options = self._options()
            options.optimized_model_filepath = os.path.join(directory, "optimized.onnx")
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            self._ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
            return "Cast" in {node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node}

    def _options(self):
        options = self._ort.SessionOptions()
        options.log_severity_level = 4  # invalid configurations are expected: their errors are exceptions, not log lines
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        return options

    def session(self, attrs: dict, ndim: int, bias: bool, lane: Lane, constants: dict | None = None):
        """The cached session for this model on ``lane`` (created on a miss; LRU of ``CACHE_SIZE``); a
        model with ``constants`` is keyed by their bytes too."""
        baked = tuple((name, array.shape, hashlib.sha1(array.tobytes()).hexdigest()) for name, array in (constants or {}).items())
        key = (lane.device, lane.precision, lane.dtype, ndim, bias, repr(sorted(attrs.items())), baked)
        if key in self._sessions:
            self._sessions.move_to_end(key)
            return self._sessions[key]
        model = build_model(attrs, ndim, lane.dtype, bias, constants)
        try:
            session = self._ort.InferenceSession(model.SerializeToString(), self._options(),
                                                 providers=_providers(lane.device, lane.precision))
        except self._errors as error:
            raise _framework_error(error) from None
        wanted = _providers(lane.device, lane.precision)[0]
        wanted = wanted[0] if isinstance(wanted, tuple) else wanted
        if wanted not in session.get_providers():
            # ORT falls back to the CPU provider when CUDA's libraries fail to load: not this lane's kernels.
            raise Unsupported(f"onnxruntime: {wanted} did not load (session providers: {session.get_providers()})")
        self._sessions[key] = session
        if len(self._sessions) > CACHE_SIZE:
            self._sessions.popitem(last=False)
        return session

    def run(self, native: dict, x, w, bias, groups: int, lane: Lane, initializers: bool = False) -> np.ndarray:
        """``native`` as given on canonical operands; the canonical ``(N, C_out, *o)`` (or unbatched) result.
        ``initializers``: W and B are constants of the model (as in an exported one), not inputs."""
        w = np.asarray(w)
        x = np.asarray(x)
        unbatched = x.ndim == w.ndim - 1
        ndim = w.ndim - 2
        dtype = _numpy_dtype(lane.dtype)
        operands = {"W": np.ascontiguousarray(w.astype(dtype))}
        if bias is not None:
            operands["B"] = np.ascontiguousarray(np.asarray(bias).astype(dtype))
        session = self.session(attributes(native, ndim, groups), ndim, bias is not None, lane, operands if initializers else None)
        feeds = {"X": np.ascontiguousarray((x[None] if unbatched else x).astype(dtype)), **({} if initializers else operands)}
        try:
            (y,) = session.run(["Y"], feeds)
        except self._errors as error:
            raise _framework_error(error) from None
        if y.dtype.name == "bfloat16":
            y = y.astype(np.float32)
        return y[0] if unbatched else y


def _numpy_dtype(dtype: str):
    """The NumPy dtype fed for ``dtype``; bfloat16 through ml_dtypes (NumPy has none), else Unsupported."""
    if dtype != "bfloat16":
        return np.dtype(dtype)
    try:
        import ml_dtypes
    except ImportError:
        raise Unsupported("onnxruntime: bfloat16 operands need ml_dtypes (NumPy has no bfloat16)") from None
    return ml_dtypes.bfloat16


# ---- variants -----------------------------------------------------------------------------------


class OrtVariant(Variant):
    """A spelling of ConvTranspose's attributes; the call is the same for every variant (native as given).
    ``initializers``: W and B are baked into the model as constants rather than fed as inputs."""

    dialect = "onnx"
    initializers = False

    def call(self, runtime: OrtRuntime, native, x, w, bias, groups, lane):
        return runtime.run(native, x, w, bias, groups, lane, initializers=self.initializers)

    def repro(self, case: Case, native: dict, lane: Lane) -> str:
        """Standalone onnx + onnxruntime code: ``y`` (canonical NumPy) from NumPy ``x``, ``w``, ``bias``."""
        ndim, bias = case.ndim, case.bias
        attrs = attributes(native, ndim, case.groups)
        dims = input_dims(ndim, bias)
        batched = case.batch is not None
        arrays = {"X": "x" if batched else "x[None]", "W": "w", "B": "bias"}
        constants = [name for name in dims if name != "X"] if self.initializers else []
        inputs = {name: shape for name, shape in dims.items() if name not in constants}
        lines = [
            "import numpy as np",
            "import onnxruntime as ort",
            "from onnx import TensorProto, helper" + (", numpy_helper" if constants else ""),
            f"element, dtype = TensorProto.{ELEMENT_TYPES[lane.dtype]}, {_repro_dtype(lane.dtype)}",
            f"attributes = {attrs!r}",
            f"node = helper.make_node('ConvTranspose', {list(dims)!r}, ['Y'], **attributes)",
            f"inputs = [helper.make_tensor_value_info(name, element, shape) for name, shape in {inputs!r}.items()]",
        ]
        if constants:
            lines.append("constants = [" + ", ".join(
                f"numpy_helper.from_array(np.asarray({arrays[name]}).astype(dtype), {name!r})" for name in constants) + "]  # initializers")
        lines += [
            "graph = helper.make_graph([node], 'convt', inputs, [helper.make_tensor_value_info('Y', element, None)]"
            + (", initializer=constants)" if constants else ")"),
            f"model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', {OPSET})], ir_version={IR_VERSION})",
            f"session = ort.InferenceSession(model.SerializeToString(), providers={_providers(lane.device, lane.precision)!r})",
            "feeds = {" + ", ".join(f"{name!r}: np.asarray({arrays[name]}).astype(dtype)" for name in inputs) + "}",
            "y = session.run(['Y'], feeds)[0]" + ("" if batched else "[0]") + "  # (N, C_out, *o)",
        ]
        if lane.dtype == "bfloat16":
            lines.append("y = y.astype(np.float32)")
        return "\n".join(lines) + "\n"


def _repro_dtype(dtype: str) -> str:
    return "__import__('ml_dtypes').bfloat16" if dtype == "bfloat16" else f"np.{dtype}"


class Pads(OrtVariant):
    """Explicit ``pads`` and ``output_padding``, as the dialect's ``from_canonical`` writes them."""

    name = "pads"
    allow_negative_pads = False

    def native(self, case: Case) -> dict:
        try:
            params = ONNXRUNTIME.from_canonical(case.geometry, allow_negative_pads=self.allow_negative_pads)
        except NotExpressible as error:
            raise NotApplicable(f"onnxruntime {self.name}: {error}") from None
        return {**{key: tuple(int(v) for v in value) for key, value in params.items()}, **RUNTIME}


class Initializers(Pads):
    """``pads`` as in :class:`Pads`, with W and B initializers of the model (as an exported model has
    them): ORT's CPU kernel then pre-packs the weights once, a path of its own; W's static shape also
    lets ONNX shape inference check the node when the session is created."""

    name = "initializers"
    initializers = True


class SignedPads(Pads):
    """``pads = [cb.., ca..]``, ``output_padding = 0``: negative pads (zeros appended) for every geometry."""

    name = "signed_pads"
    allow_negative_pads = True


class _Searched(OrtVariant):
    """A spelling the dialect has no ``from_canonical`` for: per dim, the first ``output_padding`` in
    ``[0, s)`` under the first of ``modes`` whose ``to_canonical`` gives the case's crops, checked whole."""

    modes: tuple[str, ...]

    def attempt(self, geometry, dim: int, mode: str, op: int) -> dict:
        """The 1-D native parameters tried for ``dim``."""
        raise NotImplementedError

    def native(self, case: Case) -> dict:
        geometry = case.geometry
        for mode in self.modes:
            found = []
            for dim in range(geometry.ndim):
                op = self._output_padding(geometry, dim, mode)
                if op is None:
                    break
                found.append(op)
            else:
                native = self.compose(geometry, mode, tuple(found))
                params = {key: value for key, value in native.items() if key != "runtime"}
                assert ONNXRUNTIME.to_canonical(geometry.input_size, geometry.kernel_size, **params) == geometry, (native, geometry)
                return native
        raise NotApplicable(f"onnxruntime {self.name}: no {' or '.join(self.modes)} with 0 <= output_padding < stride gives "
                            f"crops {tuple(zip(geometry.crop_before, geometry.crop_after))}")

    def _output_padding(self, geometry, dim: int, mode: str):
        want = (geometry.crop_before[dim], geometry.crop_after[dim])
        for op in range(geometry.stride[dim]):
            try:
                got = ONNXRUNTIME.to_canonical(geometry.input_size[dim], geometry.kernel_size[dim], strides=geometry.stride[dim],
                                               dilations=geometry.dilation[dim], output_padding=op, **self.attempt(geometry, dim, mode, op))
            except Rejected:
                continue
            if (got.crop_before[0], got.crop_after[0]) == want:
                return op
        return None

    def compose(self, geometry, mode: str, ops: tuple[int, ...]) -> dict:
        raise NotImplementedError


class OutputShape(_Searched):
    """The ``output_shape`` attribute (ORT splits the clamped total padding: NOTSET puts the odd one
    first, SAME_UPPER last), with ``output_padding`` where it shifts the split; no ``pads``."""

    name = "output_shape"
    modes = ("NOTSET", "SAME_UPPER")

    def space(self, lane: Lane) -> dict:
        return {"string_padding": True}  # TF's 'SAME'/'VALID' crops are all output_shape-expressible; explicit ones often not

    def attempt(self, geometry, dim, mode, op):
        return dict(auto_pad=mode, output_shape=geometry.output_size[dim])

    def compose(self, geometry, mode, ops):
        native = dict(strides=geometry.stride, dilations=geometry.dilation, output_padding=ops, output_shape=geometry.output_size)
        if mode != "NOTSET":
            native["auto_pad"] = mode
        return {**native, **RUNTIME}


class AutoPad(_Searched):
    """``auto_pad`` SAME_UPPER, SAME_LOWER or VALID with ``output_padding``; no ``pads``, no ``output_shape``."""

    name = "auto_pad"
    modes = ("SAME_UPPER", "SAME_LOWER", "VALID")

    def space(self, lane: Lane) -> dict:
        return {"explicit": False, "string_padding": True}  # only 'SAME'/'VALID'-like crops can be auto_pad's

    def attempt(self, geometry, dim, mode, op):
        return dict(auto_pad=mode)

    def compose(self, geometry, mode, ops):
        return dict(strides=geometry.stride, dilations=geometry.dilation, auto_pad=mode, output_padding=ops, **RUNTIME)


TARGET = Target(
    framework="onnxruntime",
    requires=("onnx", "onnxruntime"),
    variants=(Pads(), Initializers(), SignedPads(), OutputShape(), AutoPad()),
    load=OrtRuntime,
    extra="onnx",
)
