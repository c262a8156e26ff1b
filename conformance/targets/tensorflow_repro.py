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
    lines.append("y = tf.cast(yt, tf.float32).numpy()" if dtype == "bfloat16" else "y = yt.numpy()")
    if not variant.channels_first:
        lines.append("y = np.moveaxis(y, -1, 1)  # back to (N, C_out, *o)")
    if case.batch is None:
        lines.append("y = y[0]")
    return "\n".join(lines) + "\n"


def nn_call(case: Case, native: dict, dtype: str, epilogue=None) -> tuple[list[str], list[str], str]:
    """``Nn.repro_call``: the kernel and bias tensors, then ``tf.nn.conv_transpose`` and ``tf.nn.bias_add``."""
    data_format = native["data_format"]
    shape = tf_dialect.DIALECT.native_output_shape(case.geometry.output_size, case.batch or 1, case.out_channels, **native)
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
