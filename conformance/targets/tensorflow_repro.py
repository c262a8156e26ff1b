"""The TensorFlow adapter's repro text: the standalone Python a failing check's record carries, calling
``tf.nn.conv_transpose`` or a Keras ``Conv*DTranspose`` as the lane did (its oneDNN setting, device,
precision, the bias and the epilogue, in one ``tf.function(jit_compile=True)`` on a compiled lane).

Split from ``conformance.targets.tensorflow`` (module size; writing source text is a concern of its own).
The variants' ``repro`` and ``repro_call`` delegate here; the two spelling helpers both halves use
(``_listify``, ``_tf_device``) live here too and the adapter imports them. Pure string building: it runs
in the test process, so it imports no framework (nor the adapter), and it defines no ``TARGET``.
"""

from __future__ import annotations

from oracles.dialects import keras as keras_dialect
from oracles.dialects import tensorflow as tf_dialect

from ..cases import Case
from .base import Lane


def _tf_device(device: str) -> str:
    """``cpu`` -> ``/CPU:0``; ``gpu:N`` (or ``cuda:N``) -> ``/GPU:N``."""
    if device == "cpu":
        return "/CPU:0"
    kind, _, index = device.partition(":")
    if kind not in ("gpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'gpu:N'")
    return f"/GPU:{index or 0}"


def _listify(value):
    """Tuples (as the strategies spell sequences, to stay hashable) -> lists, as TF users write them."""
    return [_listify(v) for v in value] if isinstance(value, (tuple, list)) else value


def repro(variant, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
    """``Nn.repro``: the operands in the variant's layout (``channels_first``, ``imports``), its
    ``repro_call`` and the epilogue, and ``y`` back in the canonical layout."""
    dtype = lane.dtype
    lines = _prelude(variant, case, lane)
    if epilogue in ("bias", "residual", "scale"):
        operand = epilogue if epilogue != "residual" or case.batch is not None else "residual[np.newaxis]"
        if epilogue == "residual" and not variant.channels_first:
            operand = f"np.moveaxis({operand}, 1, -1)"
        lines.append(f"    et = tf.cast(tf.constant({operand}), tf.{dtype})  # the epilogue's operand")
    setup, body, arguments = variant.repro_call(case, native, dtype, epilogue)
    body = body + ([] if variant.dialect == "keras" else _repro_epilogue(epilogue, native.get("data_format")))  # Keras: activation=
    lines += [f"    {line}" for line in setup]
    if epilogue in ("bias", "residual", "scale"):
        arguments += ", et"
    if lane.mode == "eager":
        lines += [f"    {line}" for line in body]
    else:
        lines += [f"    def f({arguments}):"] + [f"        {line}" for line in body] + [
            "        return yt", f"    yt = tf.function(f, jit_compile=True)({arguments})  # the lane's mode: compiled (XLA)"]
    return "\n".join(lines + _canonical("y", "yt", variant, case, dtype)) + "\n"


def gradients(variant, case: Case, native: dict, lane: Lane) -> str:
    """``Nn.repro_gradients``: the call under a ``tf.GradientTape`` (in one ``tf.function(jit_compile=True)``
    on a compiled lane, as the runner differentiates it), ``d x`` and ``d w`` of ``sum(upstream * y)``
    back in the canonical layouts."""
    dtype = lane.dtype
    lines = _prelude(variant, case, lane)
    operand = "upstream" if case.batch is not None else "upstream[np.newaxis]"
    if not variant.channels_first:
        operand = f"np.moveaxis({operand}, 1, -1)"
    lines.append(f"    ut = tf.cast(tf.constant({operand}), tf.{dtype})  # the upstream gradient, in the call's layout")
    setup, body, _ = variant.repro_call(case, native, dtype)
    lines += [f"    {line}" for line in setup]
    lines += ["    def g(xt, kt, bt, ut):", "        with tf.GradientTape() as tape:", "            tape.watch([xt, kt])"]
    lines += [f"            {line}" for line in body]
    lines += ["            loss = tf.reduce_sum(ut * yt)", "        return tape.gradient(loss, [xt, kt])"]
    call = "g" if lane.mode == "eager" else "tf.function(g, jit_compile=True)"
    lines.append(f"    dxt, dkt = {call}(xt, kt, bt, ut)" + ("" if lane.mode == "eager" else "  # the lane's mode: compiled (XLA)"))
    lines += _canonical("dx", "dxt", variant, case, dtype)
    lines.append(("dw = np.moveaxis(tf.cast(dkt, tf.float32).numpy()" if dtype == "bfloat16" else "dw = np.moveaxis(dkt.numpy()")
                 + ", (-1, -2), (0, 1))  # [*k, C_out/groups, C_in] -> (C_in, C_out/groups, *k)")
    return "\n".join(lines) + "\n"


def _canonical(name: str, tensor: str, variant, case: Case, dtype: str) -> list[str]:
    """``name``: ``tensor`` as canonical NumPy (float32 for bfloat16, channels first, unbatched again)."""
    lines = [f"{name} = tf.cast({tensor}, tf.float32).numpy()" if dtype == "bfloat16" else f"{name} = {tensor}.numpy()"]
    if not variant.channels_first:
        lines.append(f"{name} = np.moveaxis({name}, -1, 1)  # back to (N, C, *spatial)")
    if case.batch is None:
        lines.append(f"{name} = {name}[0]")
    return lines


def _prelude(variant, case: Case, lane: Lane) -> list[str]:
    """The lane's settings, the imports, the operands in the variant's layout, up to ``xt`` in the device scope."""
    dtype, setting = lane.dtype, "1" if lane.backend == "onednn" else "0"
    lines = [
        "import os",
        f"os.environ['TF_ENABLE_ONEDNN_OPTS'] = {setting!r}  # before TensorFlow loads: the lane's backend ({lane.backend})",
    ] if lane.device == "cpu" else []
    lines += [
        "import numpy as np",
        variant.imports,
        f"# lane: device={lane.device} dtype={dtype} precision={lane.precision} backend={lane.backend}",
        "# canonical x: (N, C_in, *i), w: (C_in, C_out/groups, *k), bias: (C_out,) or None",
        "xb = x" if case.batch is not None else "xb = x[np.newaxis]  # unbatched: TF needs a batch dim",
        "xn = xb  # already (N, C, *i)" if variant.channels_first else "xn = np.moveaxis(xb, 1, -1)  # (N, C, *i) -> channels-last",
        "kernel = np.moveaxis(w, (0, 1), (-1, -2))  # -> [*k, C_out/groups, C_in]",
    ]
    if lane.device != "cpu":
        lines.append(f"tf.config.experimental.enable_tensor_float_32_execution({lane.precision == 'tf32'})")
    lines += [f"with tf.device({_tf_device(lane.device)!r}):", f"    xt = tf.cast(tf.constant(xn), tf.{dtype})"]
    return lines


def nn_call(case: Case, native: dict, dtype: str, epilogue=None) -> tuple[list[str], list[str], str]:
    """``Nn.repro_call``: the kernel and bias tensors, then ``tf.nn.conv_transpose`` and ``tf.nn.bias_add``."""
    data_format = native["data_format"]
    shape = _output_shape(case, native)
    conv_bias = case.bias and epilogue != "bias"
    setup = [f"kt = tf.cast(tf.constant(kernel), tf.{dtype})",
             f"bt = tf.cast(tf.constant(bias), tf.{dtype})" if conv_bias else "bt = None"]
    body = [
        f"yt = tf.nn.conv_transpose(xt, kt, output_shape={shape}, "
        f"strides={_listify(native['strides'])}, padding={_listify(native['padding'])!r}, "
        f"data_format={data_format!r}, dilations={_listify(native['dilations'])})",
    ]
    if conv_bias:
        body.append(f"yt = tf.nn.bias_add(yt, bt, data_format={data_format!r})")
    return setup, body, "xt, kt, bt"


def _output_shape(case: Case, native: dict):
    """TF's ``output_shape`` as the call passes it: the native spatial lengths (as drawn, valid or not)
    completed with batch and channels in ``data_format`` order; anything else as given, for TF to judge."""
    value = native.get("output_shape", case.geometry.output_size)
    if isinstance(value, int) and case.ndim == 1:
        value = (value,)
    if isinstance(value, (tuple, list)) and len(value) == case.ndim:
        return tf_dialect.DIALECT.native_output_shape(value, case.batch or 1, case.out_channels, **native)
    return _listify(value)


def keras_call(case: Case, native: dict, dtype: str, epilogue=None) -> tuple[list[str], list[str], str]:
    """``Keras.repro_call``: the layer made, built and given its weights; its call is the body."""
    params = keras_dialect.DIALECT.native(**native)
    activation = f", activation={epilogue!r}" if epilogue else ""
    return [
        f"layer = keras.layers.Conv{case.ndim}DTranspose(filters={case.out_channels}, kernel_size={case.kernel_size}, "
        f"strides={params['strides']}, padding={params['padding']!r}, output_padding={params['output_padding']!r}, "
        f"data_format={params['data_format']!r}, dilation_rate={params['dilation_rate']}, use_bias={case.bias}, dtype={dtype!r}{activation})",
        "layer.build(tuple(xt.shape))",
        "layer.set_weights([kernel] + ([] if bias is None else [bias]))",
    ], ["yt = layer(xt)"], "xt"


def _repro_epilogue(epilogue, data_format) -> list[str]:
    """The repro's lines for ``epilogue`` on ``yt`` (its operand ``et``), as the adapter's ``_epilogue``
    computes it; Keras's epilogues are the layer's ``activation`` (none here)."""
    return {
        None: [],
        "bias": [f"yt = tf.nn.bias_add(yt, et, data_format={data_format or 'N...C'!r})  # the bias as an op of its own"],
        "relu": ["yt = tf.nn.relu(yt)"],
        "sigmoid": ["yt = tf.math.sigmoid(yt)"],
        "residual": ["yt = yt + et"],
        "scale": ["yt = yt * et" if not data_format or data_format.endswith("C")
                  else "yt = yt * tf.reshape(et, (-1,) + (1,) * (len(yt.shape) - 2))"],
    }[epilogue]
