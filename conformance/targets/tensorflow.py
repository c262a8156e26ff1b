"""TensorFlow adapter: ``tf.nn.conv_transpose`` channels-last (``nn``) and channels-first, and Keras 3
``Conv*DTranspose``, called in a worker that sets ``TF_CPP_MIN_LOG_LEVEL=2`` and ``KERAS_BACKEND=tensorflow``
(layouts: ``oracles.dialects.tensorflow``; unbatched inputs get a batch of one around the call).

Outcomes: where the dialect says this CPU build cannot run valid arguments (``cpu_outcome`` kind
"unsupported") and TF raises, the call raises ``Unsupported``; anything else TF or Keras raises becomes
``FrameworkError(class name, first line)`` for the suite to judge (expected where the dialect says
Rejected, a finding elsewhere). GPUs get no prediction: everything raised there is a FrameworkError.

Modes (``conformance.modes``): ``eager`` runs the ops as called; ``compiled`` runs the call, the bias,
the epilogue (and for gradients the tape) in ``tf.function(f, jit_compile=True)``: XLA's kernels, not
TensorFlow's CPU kernels, so no oneDNN/Eigen prediction applies there (the compiled lanes draw
dilation and groups on every backend). Keras layers compile the same way (``Model.compile(jit_compile=True)``
wraps the layer calls in the same ``tf.function``).

Speed: eager calls, as the suite's shapes rarely repeat. With one intra-op thread on 2 cores, 40 small
2-D calls of varying shapes took 0.6 ms/call eager, 6.8 in ``tf.function`` (a retrace per shape; 0.16 vs 0.56
repeated); with ``jit_compile=True`` 57-62 ms per new shape (217 ms for the first).

The repros' text is written in ``tensorflow_repro`` (split out for module size: source text is a concern of its own).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys

import numpy as np

from oracles.dialects import keras as keras_dialect
from oracles.dialects import tensorflow as tf_dialect
from oracles.dialects.base import NotExpressible

from ..cases import Case
from . import tensorflow_repro
from .base import FrameworkError, Lane, NotApplicable, Runtime, Target, Unsupported, Variant, batched, computed, first_line, full_text
from .tensorflow_repro import _listify, _tf_device  # spelling helpers the calls and the repros share


def onednn_default() -> bool:
    """TF's default for ``TF_ENABLE_ONEDNN_OPTS``: on for x86-64 builds (Linux and Windows) since TF 2.9."""
    return platform.machine().lower() in ("x86_64", "amd64") and sys.platform in ("linux", "win32")


def onednn_enabled() -> bool:
    """Whether this process runs oneDNN kernels: TF's own answer where it exposes one (a build without
    oneDNN says no whatever the variable says), else ``TF_ENABLE_ONEDNN_OPTS`` as TF's ``ReadBoolFromEnvVar``
    reads it ("0"/"false" off, "1"/"true" on; unset or blank: :func:`onednn_default`). Imports TensorFlow."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        value = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
        return value in ("1", "true") if value else onednn_default()


def onednn_dtypes() -> tuple[str, ...]:
    """The dtypes TF's CPU kernels run through oneDNN when it is on, by the CPU's flags (Linux
    /proc/cpuinfo; none elsewhere): float32; bfloat16 with AVX-512; float16 with AVX512-FP16 or
    AMX-FP16 (elsewhere TF logs "oneDNN supports DT_... only on platforms with AVX-512" and uses Eigen)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as stream:
            flags = set(next((line for line in stream if line.startswith("flags")), ":").split(":", 1)[1].split())
    except OSError:
        flags = set()
    needs = {"bfloat16": {"avx512f"}, "float16": {"avx512_fp16", "amx_fp16"}}  # any one of the flags
    return ("float32",) + tuple(dtype for dtype, flag in needs.items() if flags & flag)


def _first_line(error: BaseException) -> str:
    """The first line without eager errors' ``{{function_node ...}}`` prefix (it varies between calls)."""
    line = first_line(error)
    return line.split("}}", 1)[1].strip() if line.startswith("{{function_node") and "}}" in line else line


def _in_mode(function, lane: Lane):
    """``function`` as the lane's mode runs it: as called, or as one XLA program (``tf.function(jit_compile=True)``)."""
    import tensorflow as tf

    return function if lane.mode == "eager" else tf.function(function, jit_compile=True)


def _epilogue(y, name, operand, data_format):
    """The epilogue ``name`` (``oracles.epilogues``) on the native-layout output, in TF ops (``operand``:
    the bias, or the residual already in the native layout)."""
    import tensorflow as tf

    if name is None:
        return y
    if name == "bias":
        return tf.nn.bias_add(y, operand, data_format=data_format or "N...C")
    if name == "relu":
        return tf.nn.relu(y)
    if name == "sigmoid":
        return tf.math.sigmoid(y)
    if name == "residual":
        return y + operand
    if name == "scale":  # one factor per channel: the last axis channels-last, axis 1 channels-first
        return y * (operand if not data_format or data_format.endswith("C") else tf.reshape(operand, (-1,) + (1,) * (len(y.shape) - 2)))
    raise ValueError(f"unknown epilogue {name!r}")


def _guarded(reason: str | None, call):
    """Run a TF/Keras call; Unsupported where the dialect predicted the build cannot run it, else
    FrameworkError for whatever it raised (a finding, or an expected rejection: the suite decides)."""
    try:
        return call()
    except Exception as error:  # TF raises InvalidArgumentError, AbortedError, ValueError, TypeError...
        kind, message = type(error).__name__, _first_line(error)
        if reason is not None:
            raise Unsupported(f"{reason} (TF {kind}: {message})") from None
        raise FrameworkError(kind, message, full_text(error)) from None


# ---- worker side: TensorFlow and Keras are imported only here and in the calls -------------------

def _to_tf(array, dtype: str):
    """A NumPy array as a TF tensor of ``dtype``, via float64: exact for values representable in
    ``dtype`` (the suite sends operands already rounded to the lane's dtype); others are rounded by TF's cast."""
    import tensorflow as tf

    return tf.cast(tf.constant(np.asarray(array, dtype=np.float64)), getattr(tf, dtype))


@contextlib.contextmanager
def _placed(lane: Lane):
    """On the lane's device, with its precision: TF32 is a process-wide switch that only matters for
    float32 on Ampere+ GPUs; CPUs have no such mode."""
    import tensorflow as tf

    with tf.device(_tf_device(lane.device)):
        if lane.device != "cpu":
            tf.config.experimental.enable_tensor_float_32_execution(lane.precision == "tf32")
        yield


def _keras():
    """Keras, imported on first use: it takes seconds, and an "nn"-only worker never needs it."""
    import keras

    return keras


class TensorFlowRuntime(Runtime):
    """TensorFlow in this worker; oneDNN on or off as the worker's ``TF_ENABLE_ONEDNN_OPTS`` says."""

    def __init__(self):
        import tensorflow as tf

        # One intra/inter-op thread unless CONVT_TF_THREADS says ("0": TF's default): the cases are tiny and
        # workers share the machine. Must run before TF executes its first op.
        threads = int(os.environ.get("CONVT_TF_THREADS", "1"))
        if threads > 0:
            with contextlib.suppress(RuntimeError):  # TF already ran ops in this process (in-process self-tests)
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.onednn = onednn_enabled()  # read once at load, as TF does
        # Compiled lanes make a tf.function per call by design (one case, one XLA program); TF's Python
        # logger would warn about "excessive retracing" on every one. Its errors still show.
        tf.get_logger().setLevel("ERROR")

    def environment(self) -> dict:
        import tensorflow as tf

        keras = _keras()
        return dict(
            framework="tensorflow", version=tf.__version__, devices=list(self.devices()),
            TF_ENABLE_ONEDNN_OPTS=os.environ.get("TF_ENABLE_ONEDNN_OPTS"), onednn_default=onednn_default(),
            onednn_enabled=self.onednn, onednn_dtypes=list(onednn_dtypes()) if self.onednn else [],
            support_key=f"onednn={int(self.onednn)}",  # which configurations a CPU build runs depends on it
            tensor_float_32_execution_enabled=bool(tf.config.experimental.tensor_float_32_execution_enabled()),
            intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
            keras_version=keras.__version__, keras_backend=keras.backend.backend(),
        )

    def devices(self) -> tuple[str, ...]:
        import tensorflow as tf

        return ("cpu",) + tuple(f"gpu:{index}" for index in range(len(tf.config.list_physical_devices("GPU"))))

    def dtypes(self, device: str) -> tuple[str, ...]:
        """All four, on CPU too (tensorflow-cpu 2.21 x86: float16 on Eigen, bfloat16 through oneDNN where on)."""
        return ("float32", "float64", "bfloat16", "float16") if device == "cpu" else ("float16", "bfloat16", "float32", "float64")

    def backends(self, device: str, dtype: str) -> tuple[str, ...]:
        """CPU: ``onednn`` where this process runs oneDNN kernels for ``dtype``, else ``eigen`` (its
        worker's ``TF_ENABLE_ONEDNN_OPTS`` decides, see ``conformance.backends``); GPU: ``cudnn``."""
        if device != "cpu":
            return ("cudnn",)
        return ("onednn",) if self.onednn and dtype in onednn_dtypes() else ("eigen",)


# ---- variants -----------------------------------------------------------------------------------

# Off oneDNN a CPU runs neither dilation nor groups nor channels-first (``tf_dialect.cpu_support``).
# Explicit pads (``tf.nn.conv2d_transpose`` only) are crops of at least 0.
EXPLICIT = {"explicit_ndims": (2,), "crop_before_min": 0, "crop_after_min": 0}
EIGEN_SPACE = {"dilation": "none", "groups": "none", "groups_3d": False, "string_padding": True, "channels_first": False, **EXPLICIT}


class Nn(Variant):
    """``tf.nn.conv_transpose`` in NWC/NHWC/NDHWC, ``padding`` as the dialect's ``from_canonical`` prefers,
    ``output_shape = [N, *o, C_out]``; the bias by ``tf.nn.bias_add``; gradients by ``tf.GradientTape``."""

    name, dialect, checks_gradients = "nn", "tensorflow", True
    channels_first = False
    imports = "import tensorflow as tf"
    modes = ("eager", "compiled")
    epilogues = ("bias", "relu", "sigmoid", "residual", "scale")

    def lane_support(self, lane: Lane) -> str | None:
        """A channels-first variant runs on CPU only through oneDNN: an Eigen lane has nothing to run
        (``test_unsupported_rules`` keeps checking that TF still refuses it)."""
        if self.channels_first and lane.device == "cpu" and lane.backend == "eigen" and lane.mode == "eager":
            return ("TensorFlow's CPU kernels run channels-first transposed convolution only through oneDNN "
                    "(Conv2DCustomBackpropInputOp only supports NHWC): no eigen lane")
        return super().lane_support(lane)

    def space(self, lane: Lane) -> dict:
        """What a CPU lane runs (``tf_dialect.cpu_support``): off oneDNN no dilation, no groups; on oneDNN
        both with 'SAME'/'VALID' only (explicit pads take the Eigen kernel: none for channels-first), grouped
        3-D nowhere. 'SAME'/'VALID' are drawn everywhere: 1-D and 3-D ``tf.nn`` have no explicit padding."""
        if lane.device != "cpu" or lane.mode != "eager":  # GPUs and XLA: no CPU-kernel limits
            return {"string_padding": True, **EXPLICIT}
        if lane.backend == "onednn":
            return {"dilation": "string-padding", "groups": "string-padding", "groups_3d": False, "string_padding": True,
                    "explicit": not self.channels_first, **EXPLICIT}
        return dict(EIGEN_SPACE)

    def native(self, case: Case) -> dict:
        """The dialect's ``from_canonical`` with this variant's ``data_format``."""
        try:
            native = tf_dialect.DIALECT.from_canonical(case.geometry)
        except NotExpressible as exc:
            raise NotApplicable(str(exc)) from None
        native["data_format"] = tf_dialect.DATA_FORMATS[case.ndim][int(self.channels_first)]
        return native

    # -- the worker --

    def call(self, runtime, native, x, w, bias, groups, lane, epilogue=None):
        x, had_batch = batched(x, w)
        name, operand = epilogue or (None, None)
        if name == "residual" and not had_batch:
            operand = np.asarray(operand)[np.newaxis]
        with _placed(lane):
            y = self.forward(runtime, dict(native), x, np.asarray(w), bias, groups, lane, name, operand)
        return y if had_batch else y[0]

    def forward(self, runtime, native: dict, x, w, bias, groups: int, lane: Lane, epilogue=None, operand=None) -> np.ndarray:
        """The call and its epilogue on batched canonical operands, inside the lane's device scope."""
        residual = (operand,) if epilogue == "residual" else ()
        reason, (x_t, f_t, b_t, *rest) = self._operands(runtime, native, x, w, bias, groups, lane, *residual)
        operand_t = rest[0] if rest else None if operand is None else _to_tf(operand, lane.dtype)
        data_format = native.get("data_format")

        def function(x_t, f_t, b_t, operand_t):
            return _epilogue(_nn_call(native, x_t, f_t, b_t, w.shape[1] * groups), epilogue, operand_t, data_format)

        y = _guarded(reason, lambda: _in_mode(function, lane)(x_t, f_t, b_t, operand_t))
        return tf_dialect.DIALECT.input_to_canonical(computed(y.numpy()), **native)

    def gradients(self, runtime, native, x, w, bias, groups, upstream, lane):
        """By ``tf.GradientTape`` through the ``tf.nn`` call."""
        if not self.checks_gradients:
            return super().gradients(runtime, native, x, w, bias, groups, upstream, lane)
        import tensorflow as tf

        native, w = dict(native), np.asarray(w)
        (x, had_batch), (upstream, _) = batched(x, w), batched(upstream, w)
        with _placed(lane):
            reason, (x_t, f_t, b_t, u_t) = self._operands(runtime, native, x, w, bias, groups, lane, upstream)

            def call(x_t, f_t, b_t, u_t):
                with tf.GradientTape() as tape:
                    tape.watch([x_t, f_t])
                    loss = tf.reduce_sum(u_t * _nn_call(native, x_t, f_t, b_t, w.shape[1] * groups))
                return tape.gradient(loss, [x_t, f_t])

            dx, df = _guarded(reason, lambda: _in_mode(call, lane)(x_t, f_t, b_t, u_t))
            dx = tf_dialect.DIALECT.input_to_canonical(computed(dx.numpy()), **native)
            dw = tf_dialect.DIALECT.weight_to_canonical(computed(df.numpy()))
        return (dx if had_batch else dx[0]), dw

    def _operands(self, runtime, native: dict, x, w, bias, groups: int, lane: Lane, *inputs):
        """``(reason, tensors)``: the dialect's reason this CPU build cannot run valid arguments (None for
        arguments it rejects, and on GPUs, where it predicts nothing), and ``x`` (then ``inputs``, shaped
        like it) in ``data_format``, ``w`` as TF filters, the bias, in ``lane.dtype``."""
        dialect, reason = tf_dialect.DIALECT, None
        x_t, *rest = (_to_tf(dialect.input_from_canonical(a, **native), lane.dtype) for a in (x, *inputs))
        f_t = _to_tf(dialect.weight_from_canonical(w), lane.dtype)
        b_t = None if bias is None else _to_tf(bias, lane.dtype)
        if lane.device == "cpu" and lane.mode == "eager":  # XLA runs its own kernels: no CPU-kernel prediction
            with contextlib.suppress(ValueError):  # EmptyOutput or a bad size: outside the model, no prediction
                outcome = tf_dialect.cpu_outcome(x.shape[2:], w.shape[2:], dtype=lane.dtype, onednn=runtime.onednn,
                                                 groups=groups, **native)
                reason = outcome.reason if outcome.kind == "unsupported" else None
        return reason, (x_t, f_t, b_t, *rest)

    # -- the repro --

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """Standalone TensorFlow code leaving ``y`` (canonical NumPy): the call, its bias and the epilogue,
        in one ``tf.function(jit_compile=True)`` on a compiled lane (``tensorflow_repro``)."""
        return tensorflow_repro.repro(self, case, native, lane, epilogue)

    def repro_gradients(self, case: Case, native: dict, lane: Lane) -> str:
        """``dx``, ``dw`` (canonical NumPy) of ``sum(upstream * y)`` by ``tf.GradientTape`` (``tensorflow_repro``)."""
        return tensorflow_repro.gradients(self, case, native, lane)

    def repro_call(self, case: Case, native: dict, dtype: str, epilogue=None) -> tuple[list[str], list[str], str]:
        """``(setup, body, arguments)`` inside the device scope: the lines that make the call's tensors,
        the lines that compute ``yt`` from them (what a compiled lane compiles), and the body's arguments."""
        return tensorflow_repro.nn_call(case, native, dtype, epilogue)


class NnChannelsFirst(Nn):
    """``tf.nn.conv_transpose`` in NCW/NCHW/NCDHW, ``output_shape = [N, C_out, *o]``; CPUs run it only through oneDNN."""

    name, checks_gradients = "nn_channels_first", False
    channels_first = True

    def native(self, case: Case) -> dict:
        native = super().native(case)
        if not isinstance(native["padding"], str):  # [[0,0], *spatial, [0,0]] in channels-last order
            native["padding"] = [[0, 0], [0, 0], *native["padding"][1:-1]]
        return native


class Keras(Nn):
    """``keras.layers.Conv{1,2,3}DTranspose``: built, ``set_weights``, called; dtype policy ``lane.dtype``."""

    name, dialect, checks_gradients = "keras", "keras", False
    imports = "import tensorflow as tf\nimport keras  # KERAS_BACKEND=tensorflow"
    epilogues = ("relu", "sigmoid")  # as Keras spells them: the layer's ``activation``

    def space(self, lane: Lane) -> dict:
        """As ``nn`` without groups; Keras always passes a padding string, so on oneDNN dilation always runs."""
        if lane.device != "cpu" or lane.mode != "eager" or lane.backend == "onednn":
            return {"native": ("keras", "keras"), "dilation": "any", "groups": "none"}
        return {"native": ("keras", "keras"), "dilation": "none", "groups": "none", "channels_first": False}

    def native(self, case: Case) -> dict:
        if case.groups > 1:
            raise NotApplicable(f"Keras Conv*DTranspose has no groups (groups={case.groups})")
        try:
            return keras_dialect.DIALECT.from_canonical(case.geometry, backend="tensorflow")
        except NotExpressible as exc:
            raise NotApplicable(str(exc)) from None

    def forward(self, runtime, native, x, w, bias, groups, lane, epilogue=None, operand=None):
        keras, dialect = _keras(), keras_dialect.DIALECT
        params = dialect.native(**native)
        if params["backend"] != keras.backend.backend():
            raise NotApplicable(f"the case asks for Keras backend {params['backend']!r}; this worker runs {keras.backend.backend()!r}")
        if groups > 1:
            raise NotApplicable(f"Keras Conv*DTranspose has no groups (groups={groups})")
        reason = None
        if lane.device == "cpu" and lane.mode == "eager":
            # No prediction for Rejected, EmptyOutput or a bad size: arguments the dialect rejects stay a
            # FrameworkError (as in cpu_outcome), even where TF's unsupported-feature check fires first.
            with contextlib.suppress(ValueError):
                dialect.to_canonical(x.shape[2:], w.shape[2:], **params)
                reason = keras_dialect.cpu_support(x.shape[2:], w.shape[2:], dtype=lane.dtype, onednn=runtime.onednn, **params)
        x_native = _to_tf(dialect.input_from_canonical(x, **params), lane.dtype)
        weights = [dialect.weight_from_canonical(w)] + ([] if bias is None else [np.asarray(bias, dtype=np.float64)])

        def call():
            layer = getattr(keras.layers, f"Conv{w.ndim - 2}DTranspose")(
                filters=w.shape[1], kernel_size=tuple(w.shape[2:]), strides=params["strides"], padding=params["padding"],
                output_padding=params["output_padding"], data_format=params["data_format"],
                dilation_rate=params["dilation_rate"], use_bias=bias is not None, dtype=lane.dtype, activation=epilogue)
            layer.build(tuple(x_native.shape))
            layer.set_weights(weights)
            return _in_mode(lambda x: layer(x), lane)(x_native)

        return dialect.input_to_canonical(computed(_guarded(reason, call).numpy()), **params)

    def repro_call(self, case, native, dtype, epilogue=None):
        """The layer made, built and given its weights outside; its call (with ``activation=`` the
        epilogue, as Keras spells it) is what a compiled lane compiles."""
        return tensorflow_repro.keras_call(case, native, dtype, epilogue)


class KerasChannelsFirst(Keras):
    """The Keras layers with ``data_format="channels_first"`` (models ported from PyTorch keep it): Keras moves
    the channels and adds the bias its own way for that layout, over the same TensorFlow kernels, so it
    spells ``keras`` (``Variant.spells``): checked for its translation, on oneDNN lanes (Eigen runs no NCHW)."""

    name, spells = "keras_channels_first", "keras"
    channels_first = True  # no eigen lane (Nn.lane_support); the repro moves the operands to this layout

    def native(self, case: Case) -> dict:
        return {**super().native(case), "data_format": "channels_first"}


def _nn_call(native: dict, x_t, f_t, b_t, out_channels: int):
    """``tf.nn.conv_transpose`` with the native arguments as given, then ``tf.nn.bias_add``."""
    import tensorflow as tf

    output_shape = _full_output_shape(native, len(f_t.shape) - 2, int(x_t.shape[0]), out_channels)
    y = tf.nn.conv_transpose(x_t, f_t, output_shape, _listify(native.get("strides", 1)),
                             padding=_listify(native.get("padding", "SAME")), data_format=native.get("data_format"),
                             dilations=_listify(native.get("dilations", 1)))
    if b_t is not None:
        y = tf.nn.bias_add(y, b_t, data_format=native.get("data_format") or "N...C")
    return y


def _full_output_shape(native: dict, ndim: int, batch: int, channels: int):
    """TF's ``output_shape``: spatial lengths (``ndim`` of them, or one int in 1-D) completed with batch and
    channels in ``data_format`` order; anything else is passed as given, for TF to accept or reject."""
    value = native.get("output_shape")
    if isinstance(value, (int, np.integer)) and ndim == 1:
        value = (int(value),)
    if isinstance(value, (tuple, list)) and len(value) == ndim:
        return tf_dialect.DIALECT.native_output_shape(value, batch, channels, **native)
    return _listify(value)


TARGET = Target(
    framework="tensorflow",
    requires=("tensorflow",),
    variants=(Nn(), NnChannelsFirst(), Keras(), KerasChannelsFirst()),
    load=TensorFlowRuntime,
    process_settings={"onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"}, "eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"}},  # one worker each
    environment={"TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},  # quiet start-up; Keras on this TF
    backends=("onednn", "eigen", "cudnn"),
)
