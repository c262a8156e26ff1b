"""ONNX Runtime adapter: a one-node ``ConvTranspose`` model run by ``onnxruntime.InferenceSession``.

Each variant (see its class) spells the attributes one way in the ``onnx`` dialect with
``runtime="onnxruntime"``, whose docstring states ORT's rules. Native parameters are the dialect's
keywords plus that ``runtime``; the node gets them as given, invalid ones included, ``group`` added.

Input dims are symbolic, as an exported model with dynamic axes has them: one session serves every
input size, and ONNX shape inference, which checks the node at session creation once W's shape is known,
cannot reject the negative pads and ``output_shape`` -1 that the kernel (and the dialect) accept. Only
``initializers`` fixes W's shape, and it never takes negative pads.

Opset 17 (ConvTranspose-11), IR version 8: the ``onnx`` extra's lower bounds (onnx 1.16, onnxruntime
1.17) load it; the dialect's experiments use opset 22, and the native cases at opset 17 agree with it.
dtypes are probed per device (see ``_framework_error``); CUDA (``cuda:0``) is coded but untested.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict

import numpy as np

from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.onnx import ONNXRUNTIME, onnx_pads
from oracles.geometry import is_int

from ..cases import Case
from .base import FrameworkError, Lane, NotApplicable, Runtime, Target, Unsupported, Variant, batched, computed, first_line

OPSET = 17
IR_VERSION = 8
CACHE_SIZE = 256  # sessions per worker (little memory each); a miss costs 1.5-1.8 ms, a hit 0.03-0.06 ms on 2 CPU cores
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
    """Symbolic dims of the graph inputs (see the module docstring)."""
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
    """ORT's exception as the suite records it. A dtype without a kernel (NOT_IMPLEMENTED "Could not find an
    implementation": float64 on 1.32's CPU provider) or outside the opset's type constraints (INVALID_GRAPH
    "Type Error": bfloat16 at opset 17; opset 22 admits it but has no CPU kernel) is UNSUPPORTED; anything
    else is ORT's verdict on the attributes."""
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

        return {"framework": "onnxruntime", "version": self._ort.__version__, "onnx": onnx.__version__,
                "providers": list(self._ort.get_available_providers()), "devices": list(self.devices()), "opset": OPSET,
                "threads": threads(), "cpu_dtypes": list(self.dtypes("cpu")), "float16_via_casts": self._float16_via_casts()}

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
        """Whether CPU float16 runs as Casts around the float32 kernel (float32 arithmetic, one rounding); None: no float16."""
        if not self._probe("cpu", "float16"):
            return None
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
        model, providers = build_model(attrs, ndim, lane.dtype, bias, constants), _providers(lane.device, lane.precision)
        try:
            session = self._ort.InferenceSession(model.SerializeToString(), self._options(), providers=providers)
        except self._errors as error:
            raise _framework_error(error) from None
        wanted = providers[0][0] if isinstance(providers[0], tuple) else providers[0]
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
        (x, had_batch), w = batched(x, w), np.asarray(w)
        ndim = w.ndim - 2
        dtype = _numpy_dtype(lane.dtype)
        operands = {"W": np.ascontiguousarray(w.astype(dtype))}
        if bias is not None:
            operands["B"] = np.ascontiguousarray(np.asarray(bias).astype(dtype))
        session = self.session(attributes(native, ndim, groups), ndim, bias is not None, lane, operands if initializers else None)
        feeds = {"X": np.ascontiguousarray(x.astype(dtype)), **({} if initializers else operands)}
        try:
            (y,) = session.run(["Y"], feeds)
        except self._errors as error:
            raise _framework_error(error) from None
        y = computed(y)
        return y if had_batch else y[0]


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
    """A spelling of the attributes; every variant calls alike. ``initializers``: W and B are constants."""

    dialect = "onnx"
    initializers = False
    no_compiled = ("no compiled lane: ONNX Runtime has no eager mode to contrast; every session already runs its "
                   "optimised graph (ORT_ENABLE_ALL, the default: fusions and layout transforms)")

    def call(self, runtime: OrtRuntime, native, x, w, bias, groups, lane):
        return runtime.run(native, x, w, bias, groups, lane, initializers=self.initializers)

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """Standalone onnx + onnxruntime code: ``y`` (canonical NumPy) from NumPy ``x``, ``w``, ``bias``."""
        attrs, dims = attributes(native, case.ndim, case.groups), input_dims(case.ndim, case.bias)
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
    """Explicit ``pads`` and ``output_padding``, as the dialect's ``from_canonical`` writes them, where it can."""

    name = "pads"
    allow_negative_pads = False

    def space(self, lane: Lane) -> dict:
        # Pads of at least 0, and output_padding below the stride as the only extension of the end.
        return {} if self.allow_negative_pads else {"crop_before_min": 0, "crop_after_min": "1-s"}

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
    """``pads = [cb.., ca..]``, ``output_padding = 0``: negative pads (zeros appended; not in the spec) for any geometry."""

    name = "signed_pads"
    allow_negative_pads = True


class _Searched(OrtVariant):
    """A spelling the dialect has no ``from_canonical`` for: per dim, the first ``output_padding`` in
    ``[0, s)`` under the first of ``auto_pads`` whose ``to_canonical`` gives the case's crops, checked whole."""

    auto_pads: tuple[str, ...]

    def mode_attributes(self, geometry, mode: str) -> dict:
        """The attributes ``mode`` adds beside strides, dilations and output_padding (tuples are per dim)."""
        raise NotImplementedError

    def native(self, case: Case) -> dict:
        geometry = case.geometry
        for mode in self.auto_pads:
            found = []
            for dim in range(geometry.ndim):
                op = self._output_padding(geometry, dim, mode)
                if op is None:
                    break
                found.append(op)
            else:
                native = dict(strides=geometry.stride, dilations=geometry.dilation, output_padding=tuple(found),
                              **self.mode_attributes(geometry, mode), **RUNTIME)
                params = {key: value for key, value in native.items() if key != "runtime"}
                assert ONNXRUNTIME.to_canonical(geometry.input_size, geometry.kernel_size, **params) == geometry, (native, geometry)
                return native
        raise NotApplicable(f"onnxruntime {self.name}: no {' or '.join(self.auto_pads)} with 0 <= output_padding < stride gives "
                            f"crops {tuple(zip(geometry.crop_before, geometry.crop_after))}")

    def _output_padding(self, geometry, dim: int, mode: str):
        want = (geometry.crop_before[dim], geometry.crop_after[dim])
        attempt = {key: value[dim] if isinstance(value, tuple) else value  # this dim's entry of per-dim attributes
                   for key, value in self.mode_attributes(geometry, mode).items()}
        for op in range(geometry.stride[dim]):
            try:
                got = ONNXRUNTIME.to_canonical(geometry.input_size[dim], geometry.kernel_size[dim], strides=geometry.stride[dim],
                                               dilations=geometry.dilation[dim], output_padding=op, **attempt)
            except Rejected:
                continue
            if (got.crop_before[0], got.crop_after[0]) == want:
                return op
        return None


class OutputShape(_Searched):
    """The ``output_shape`` attribute (ORT splits the clamped total padding: NOTSET puts the odd one
    first, SAME_UPPER last), with ``output_padding`` where it shifts the split; no ``pads``."""

    name = "output_shape"
    auto_pads = ("NOTSET", "SAME_UPPER")

    def space(self, lane: Lane) -> dict:
        return {"native": ("onnx", self.name)}  # drawn as ORT's own output_shape cases: TF's 'SAME' crops often are not

    def mode_attributes(self, geometry, mode):
        return dict(output_shape=geometry.output_size, **({} if mode == "NOTSET" else {"auto_pad": mode}))


class AutoPad(_Searched):
    """``auto_pad`` SAME_UPPER, SAME_LOWER or VALID with ``output_padding``; no ``pads``, no ``output_shape``."""

    name = "auto_pad"
    auto_pads = ("SAME_UPPER", "SAME_LOWER", "VALID")

    def space(self, lane: Lane) -> dict:
        return {"native": ("onnx", self.name)}  # ORT's own SAME_UPPER/SAME_LOWER/VALID with output_padding < stride

    def mode_attributes(self, geometry, mode):
        return dict(auto_pad=mode)


TARGET = Target(framework="onnxruntime", requires=("onnx", "onnxruntime"), load=OrtRuntime, extra="onnx",
                variants=(Pads(), Initializers(), SignedPads(), OutputShape(), AutoPad()))
