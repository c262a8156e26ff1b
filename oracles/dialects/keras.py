"""Keras 3 ``Conv{1,2,3}DTranspose`` (and ``keras.ops.conv_transpose``) in canonical terms.

Pure arithmetic: this module imports neither Keras nor a backend. Per spatial dim, with
``K = d*(k-1) + 1``, ``L = (i-1)*s + K`` and ``op`` the ``output_padding``::

    'valid', op (None means max(K, s) - K)    cb = 0                        ca = -op
    'same',  op None                          o = i*s                       cb = floor(max(0, L - o)/2), ca = L - cb - o
    'same',  op                               o = (i-1)*s + K%2 + op        same crops as above (TF 'SAME' with this o)

Every backend computes the same crops (the jax, torch and numpy backends through
``_convert_conv_transpose_padding_args_from_keras_to_jax``, whose pads ``(a, b)`` give
``cb = K-1-a``, ``ca = K-1-b``: the same numbers), except that the TensorFlow backend hands
``o = (i-1)*s`` to ``tf.nn.conv_transpose(padding='SAME')``, which rejects it, when ``K`` is even and
``op = 0``. The kernel is ``(*k, filters, in)``: ``W[c, m, t] = kernel[t, m, c]``. No groups.

Keras's own checks (``BaseConvTranspose.__init__``): ``0 <= op < s`` per dim (even where dilation
would allow more), strides and dilation_rate > 0, and no ``strides > 1`` in any dim together with
``dilation_rate > 1`` in any dim. ``padding`` is case-insensitive. On the TensorFlow backend a
channels_first layer can add its bias along the wrong axis: :func:`bias_on_last_axis`.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Geometry, per_dim, positive, spatial_rank
from . import tensorflow as tf_dialect
from .base import Dialect, NotExpressible, Option, Rejected

BACKENDS = ("tensorflow", "jax", "torch", "numpy")
DATA_FORMATS = ("channels_last", "channels_first")


class KerasDialect(Dialect):
    """``keras.layers.Conv*DTranspose(filters, kernel_size, strides, padding, output_padding, data_format,
    dilation_rate)``."""

    name = "keras"
    supports_groups = False
    channels_last_default = True
    options = (
        Option("strides", "per_dim", 1, "an int or one int per spatial dim"),
        Option("padding", "choice", "valid", "'valid' or 'same' (case-insensitive)", choices=("valid", "same")),
        Option("output_padding", "per_dim", None, "None, an int or one int per dim; each must be >= 0 and < strides"),
        Option("dilation_rate", "per_dim", 1, "an int or one int per dim; > 1 only where all strides are 1"),
        Option("data_format", "choice", None, "None (keras.config.image_data_format(), 'channels_last') or a choice",
               choices=DATA_FORMATS),
        Option("backend", "choice", "tensorflow", "the KERAS_BACKEND the layer runs on", choices=BACKENDS),
    )

    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, **native) -> Geometry:
        """Crops per the module docstring; ``Rejected`` where Keras or its backend raises; ``EmptyOutput``
        (from the tensorflow dialect) for the empty 'same' output of ``i = 1``, even ``K``, ``op = 0``;
        ``NotExpressible`` for ``groups > 1`` (Conv*DTranspose has no groups argument)."""
        self.require_groups(groups)
        native = self.native(**native)
        ndim = spatial_rank(input_size, kernel_size)
        input_size = positive(per_dim(input_size, ndim, "input_size"), "input_size")
        kernel_size = positive(per_dim(kernel_size, ndim, "kernel_size"), "kernel_size")
        backend = native["backend"]
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}; got backend={backend!r}")
        padding = _padding(native["padding"])
        _data_format(native["data_format"])
        stride = _tuple(native["strides"], ndim, "strides", minimum=1)
        dilation = _tuple(native["dilation_rate"], ndim, "dilation_rate", minimum=1)
        output_padding = native["output_padding"]
        if output_padding is not None:
            output_padding = _tuple(output_padding, ndim, "output_padding", minimum=0)
            for dim, (op, s) in enumerate(zip(output_padding, stride)):
                if op >= s:
                    raise Rejected(
                        f"`output_padding` must be strictly less than `strides` for all dimensions; at dimension {dim} "
                        f"output_padding is {op} but strides is {s} (ValueError)"
                    )
        if max(stride) > 1 and max(dilation) > 1:
            raise Rejected(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`: strides={stride}, "
                           f"dilation_rate={dilation} (ValueError)")
        crop_before, crop_after = [], []
        for dim, (i, k, s, d) in enumerate(zip(input_size, kernel_size, stride, dilation)):
            op = None if output_padding is None else output_padding[dim]
            cb, ca = _crops(i, k, s, d, padding, op, backend, dim)
            crop_before.append(cb)
            crop_after.append(ca)
        return Geometry(input_size, kernel_size, stride, dilation, tuple(crop_before), tuple(crop_after))

    def from_canonical(self, geometry: Geometry, *, backend: str = "tensorflow") -> dict:
        """Native arguments for ``geometry`` on ``backend``, trying in order:
        'same' with ``output_padding=None``, 'valid' with None, 'valid' with per-dim ``op = -ca``,
        'same' with per-dim ``op = o - (i-1)*s - K%2``.
        """
        if max(geometry.stride) > 1 and max(geometry.dilation) > 1:
            raise NotExpressible(f"Keras rejects strides > 1 together with dilation_rate > 1: "
                                 f"strides={geometry.stride}, dilation={geometry.dilation}")
        base = dict(strides=geometry.stride, dilation_rate=geometry.dilation, data_format=None, backend=backend)
        candidates = [("same", None), ("valid", None), ("valid", tuple(-ca for ca in geometry.crop_after))]
        candidates.append(("same", tuple(
            o - (i - 1) * s - K % 2
            for o, i, s, K in zip(geometry.output_size, geometry.input_size, geometry.stride, geometry.effective_kernel)
        )))
        for padding, output_padding in candidates:
            native = dict(base, padding=padding, output_padding=output_padding)
            try:
                if self.to_canonical(geometry.input_size, geometry.kernel_size, **native) == geometry:
                    return native
            except ValueError:  # Rejected, or an empty output
                pass
        raise NotExpressible(
            f"no Keras padding gives crops {geometry.padding()} on the {backend} backend: 'valid' needs cb = 0 and "
            f"-(s-1) <= ca <= 0; 'same' needs the TF-SAME crops of an o in ((i-1)*s, i*s]"
            + (" other than o = (i-1)*s (even K, output_padding=0 fails on TF)" if backend == "tensorflow" else "")
        )

    def same_conventions(self, input_size: int, kernel_size: int, stride: int, dilation: int = 1) -> dict[str, Geometry | str]:
        """{"same": geometry of ``padding='same', output_padding=None``}, ``o = i*s``; the reason where Keras rejects it."""
        try:
            return {"same": self.to_canonical(input_size, kernel_size, strides=stride, dilation_rate=dilation, padding="same")}
        except Rejected as error:
            return {"same": f"rejected: {error}"}

    def weight_to_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """``kernel[*k, filters, in]`` -> ``W[in, filters, *k]``: ``W[c, m, t] = kernel[t, m, c]``."""
        return np.moveaxis(np.asarray(weight), (-1, -2), (0, 1))

    def weight_from_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """``W[in, filters, *k]`` -> ``kernel[*k, filters, in]``."""
        return np.moveaxis(np.asarray(weight), (0, 1), (-1, -2))

    def channels_last(self, **native) -> bool:
        return str(native.get("data_format") or "channels_last").lower() == "channels_last"

    def tensorflow_arguments(self, input_size, kernel_size, **native) -> dict:
        """The ``tf.nn.conv_transpose`` arguments the TensorFlow backend passes (spatial ``output_shape``):
        Keras's own output length, 'SAME'/'VALID', and NWC.. or NCW.. from ``data_format``."""
        geometry = self.to_canonical(input_size, kernel_size, **{**native, "backend": "jax"})
        ndim = geometry.ndim
        return dict(
            output_shape=geometry.output_size,
            strides=geometry.stride,
            dilations=geometry.dilation,
            padding=_padding(self.native(**native)["padding"]).upper(),
            data_format=tf_dialect.DATA_FORMATS[ndim][0 if self.channels_last(**native) else 1],
        )


DIALECT = KerasDialect()


def cpu_support(input_size, kernel_size, *, dtype="float32", onednn: bool = True, **native) -> str | None:
    """The reason this CPU build cannot run the layer, or None.

    Only the TensorFlow backend has build-dependent gaps: dilation > 1 and channels_first run only
    through oneDNN with float32/bfloat16 (see :func:`oracles.dialects.tensorflow.cpu_support`).
    """
    if DIALECT.native(**native)["backend"] != "tensorflow":
        return None
    return tf_dialect.cpu_support(
        input_size, kernel_size, dtype=dtype, onednn=onednn,
        **DIALECT.tensorflow_arguments(input_size, kernel_size, **native),
    )


def bias_on_last_axis(output_size, filters: int, **native) -> bool:
    """Whether the layer adds its bias along the last *spatial* axis instead of the channel axis.

    Observed with Keras 3.15.1 on the TensorFlow backend: ``keras.ops.add(y, bias.reshape(1, C, 1..))``
    becomes ``tf.nn.bias_add(y, bias, data_format="NHWC")`` whenever ``y.shape[-1] == C``, so a
    channels_first layer (``use_bias=True``, the default) with ``filters > 1`` whose last output length
    equals ``filters`` returns ``y[n, m, ..., p] = conv[n, m, ..., p] + bias[p]``. Geometry is unaffected.
    """
    native = DIALECT.native(**native)
    return (
        native["backend"] == "tensorflow"
        and not DIALECT.channels_last(**native)
        and filters > 1
        and int(tuple(output_size)[-1]) == filters
    )


def same_output_length(i: int, k: int, s: int, d: int, op) -> int:
    """Keras's output length for padding='same': ``i*s`` without output_padding, else ``(i-1)*s + K%2 + op``
    (0 for an input of 1, an even effective kernel K and ``op = 0``)."""
    return i * s if op is None else (i - 1) * s + (d * (k - 1) + 1) % 2 + op


def _crops(i: int, k: int, s: int, d: int, padding: str, op, backend: str, dim: int) -> tuple[int, int]:
    K = d * (k - 1) + 1
    L = (i - 1) * s + K
    if padding == "valid":
        return 0, -(max(K, s) - K if op is None else op)
    o = same_output_length(i, k, s, d, op)
    if o < 1:
        raise tf_dialect.EmptyOutput(
            f"padding='same', output_padding=0 gives an empty output in dim {dim} "
            f"(i = 1, even K: o = (i-1)*s + K%2 + op = 0); "
            f"jax/torch/numpy and TF under oneDNN return it, TF without oneDNN raises"
        )
    if backend == "tensorflow" and K % 2 == 0 and op == 0:
        raise Rejected(
            f"padding='same' with even effective kernel K={K} and output_padding=0 in dim {dim}: the TensorFlow "
            f"backend asks tf.nn.conv_transpose('SAME') for o = (i-1)*s = {o}, and TF needs ceil(o/s) == i = {i} "
            f"(TF raises {tf_dialect.SHAPE_ERROR}; the jax/torch/numpy backends return length {o})"
        )
    cb = max(0, L - o) // 2
    return cb, L - cb - o


def _padding(value) -> str:
    if not isinstance(value, str):
        raise Rejected(f"padding={value!r}: Conv*DTranspose takes 'valid' or 'same' "
                       f"(a list fails at call with AttributeError)")
    padding = value.lower()
    if padding not in ("valid", "same"):
        raise Rejected(f"The `padding` argument must be one of 'valid', 'same'; got {value!r} (ValueError)")
    return padding


def _data_format(value) -> None:
    if value is not None and str(value).lower() not in DATA_FORMATS:
        raise Rejected(f"The `data_format` argument must be one of {DATA_FORMATS}; got {value!r} (ValueError)")


def _tuple(value, ndim: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """``keras.src.utils.argument_validation.standardize_tuple``: an int or ``ndim`` ints, each ``>= minimum``."""
    try:
        values = per_dim(value, ndim, name)
    except ValueError as exc:
        raise Rejected(f"The `{name}` argument must be a tuple of {ndim} integers ({exc}) (ValueError)") from None
    if any(v < minimum for v in values):
        raise Rejected(f"The `{name}` argument must be a tuple of {ndim} integers, each >= {minimum}; "
                       f"got {name}={values} (ValueError)")
    return values
