"""TensorFlow's ``tf.nn.conv{1,2,3}d_transpose`` and ``tf.nn.conv_transpose`` in canonical terms.

Pure arithmetic: this module does not import TensorFlow. Per spatial dim, with ``K = d*(k-1) + 1``,
``L = (i-1)*s + K`` and the requested output length ``o`` (``output_shape`` is required)::

    'SAME'                          cb = floor(max(0, L - o) / 2)   ca = L - cb - o   needs ceil(o/s) == i
    'VALID'                         cb = 0                          ca = L - o        needs L <= o <= L + s - 1
    explicit [[0,0],[pb,pa],..]     cb = pb                         ca = L - pb - o   needs L <= o+pb+pa <= L+s-1

The admissibility rules are TF's own check: the *forward* convolution of a length-``o`` input with
the same stride, dilation and padding must have length ``i``. Explicit padding lists exist only for
2-D (``conv2d_transpose``, or ``conv_transpose`` with 4-D inputs). Filters are ``[*k, out/groups, in]``:
``W[c, m, t] = filters[t, m, c]``; groups are implied by ``output channels / filters.shape[-2]``.

Which configurations a CPU build can *run* depends on dtype and on ``TF_ENABLE_ONEDNN_OPTS``; that is a
separate outcome (UNSUPPORTED), computed by :func:`cpu_support` and :func:`cpu_outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..bounds import dtype_name
from ..geometry import Geometry, is_int, per_dim, positive, spatial_rank
from .base import Dialect, EmptyOutput, Option, Rejected, refuse

DATA_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
PADDING_STRINGS = ("SAME", "VALID")
# The dtypes TF hands to oneDNN on CPU; float16 and float64 stay on the Eigen kernels.
ONEDNN_DTYPES = ("float32", "bfloat16")
SHAPE_ERROR = "AbortedError under oneDNN, InvalidArgumentError otherwise"


class NativeArgs(NamedTuple):
    """Native parameters after TF's own validation, one entry per spatial dim."""

    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    output_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str  # "SAME", "VALID" or "EXPLICIT"
    pads: tuple[tuple[int, int], ...]  # explicit (before, after); zeros for the strings
    data_format: str

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def channels_last(self) -> bool:
        return not self.data_format.startswith("NC")

    @property
    def full_size(self) -> tuple[int, ...]:
        """``L = (i-1)*s + d*(k-1) + 1`` per dim."""
        sizes = zip(self.input_size, self.kernel_size, self.stride, self.dilation)
        return tuple((i - 1) * s + d * (k - 1) + 1 for i, k, s, d in sizes)


class TensorFlowDialect(Dialect):
    """``tf.nn.conv*_transpose(input, filters, output_shape, strides, padding, data_format, dilations)``."""

    name = "tensorflow"
    supports_groups = True
    channels_last_default = True
    options = (
        Option("output_shape", "sizes", None,
               "output length per spatial dim (required; TF's full shape: [N, *o, C] or [N, C, *o])"),
        Option("strides", "per_dim", 1, "an int, or 1, N or N+2 ints (batch and channel entries must be 1)"),
        Option("padding", "padding", "SAME",
               "'SAME', 'VALID' (case-sensitive), or for 2-D a list of 4 (before, after) pairs in data_format order",
               choices=PADDING_STRINGS),
        Option("dilations", "per_dim", 1, "an int, or 1, N or N+2 ints (batch and channel entries must be 1)"),
        Option("data_format", "choice", None, "None (channels-last: NWC/NHWC/NDHWC) or NCW/NCHW/NCDHW",
               choices=sum(DATA_FORMATS.values(), ())),
    )

    def parse(self, input_size, kernel_size, **native) -> NativeArgs:
        """TF's argument checks, without the output-size rule; ``Rejected`` where TF raises."""
        native = self.native(**native)
        ndim = spatial_rank(input_size, kernel_size)
        # Sizes are inputs to the model, not TF arguments: a bad one is the caller's ValueError, not Rejected.
        input_size = positive(per_dim(input_size, ndim, "input_size"), "input_size")
        kernel_size = positive(per_dim(kernel_size, ndim, "kernel_size"), "kernel_size")
        data_format = _data_format(native["data_format"], ndim)
        channels_last = not data_format.startswith("NC")
        stride = _window(native["strides"], ndim, "strides", channels_last)
        dilation = _window(native["dilations"], ndim, "dilations", channels_last)
        output_size = _output_shape(native["output_shape"], ndim, channels_last)
        padding, pads = _padding(native["padding"], ndim, channels_last)
        return NativeArgs(input_size, kernel_size, output_size, stride, dilation, padding, pads, data_format)

    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, **native) -> Geometry:
        """Crops per the module docstring; ``Rejected`` where TF raises, whatever the build;
        ``EmptyOutput`` for an ``output_shape`` with a 0. ``groups`` changes no crop (TF infers it from
        the channel counts); which builds run it is :func:`cpu_support`'s business."""
        self.require_groups(groups)
        args = self.parse(input_size, kernel_size, **native)
        crop_before, crop_after = [], []
        per_dim_args = zip(args.input_size, args.stride, args.full_size, args.output_size, args.pads)
        for dim, (i, s, L, o, (pb, pa)) in enumerate(per_dim_args):
            problem = _inadmissible(args.padding, i, s, L, o, pb, pa)
            if problem:
                raise Rejected(
                    f"output_shape {args.output_size} is inadmissible for padding={args.padding} in spatial dim {dim}: "
                    f"{problem} (L = (i-1)*s + K = {L}); TF raises {SHAPE_ERROR}"
                )
            cb = max(0, L - o) // 2 if args.padding == "SAME" else pb
            crop_before.append(cb)
            crop_after.append(L - cb - o)
        return Geometry(args.input_size, args.kernel_size, args.stride, args.dilation, tuple(crop_before),
                        tuple(crop_after))

    def from_canonical(self, geometry: Geometry) -> dict:
        """'SAME' if it reproduces ``geometry``, else 'VALID', else (2-D only) explicit pads.

        Explicit pads need ``cb >= 0`` and ``ca >= -(s-1)``: ``pb = cb``, ``pa = max(ca, 0)``, and
        ``output_shape`` supplies the ``-ca`` extra zeros when ``ca < 0``.
        """
        base = dict(output_shape=geometry.output_size, strides=geometry.stride, dilations=geometry.dilation,
                    data_format=None)
        for padding in PADDING_STRINGS:
            try:
                if self.to_canonical(geometry.input_size, geometry.kernel_size, padding=padding, **base) == geometry:
                    return {**base, "padding": padding}
            except Rejected:
                pass
        problems = [
            f"dim {dim}: crop_before={cb} < 0 (TF can only pad the start)" if cb < 0
            else f"dim {dim}: crop_after={ca} < -(s-1) = {1 - s} (output_shape adds at most s-1 zeros at the end)"
            for dim, (cb, ca, s) in enumerate(zip(geometry.crop_before, geometry.crop_after, geometry.stride))
            if cb < 0 or ca < 1 - s
        ]
        if geometry.ndim != 2:
            problems.insert(0, f"neither 'SAME' nor 'VALID' gives crops {geometry.padding()} and explicit padding "
                               f"lists exist only for 2-D (this is {geometry.ndim}-D)")
        refuse("tf.nn.conv_transpose cannot express this geometry", problems)
        pads = [[0, 0]] + [[cb, max(ca, 0)] for cb, ca in zip(geometry.crop_before, geometry.crop_after)] + [[0, 0]]
        return {**base, "padding": pads}

    def same_conventions(self, input_size: int, kernel_size: int, stride: int,
                         dilation: int = 1) -> dict[str, Geometry | str]:
        """{"SAME": geometry with ``o = i*s``}: ``cb = floor(max(0, K-s)/2)``, ``ca = K - s - cb``."""
        return {
            "SAME": self.to_canonical(input_size, kernel_size, output_shape=input_size * stride, strides=stride,
                                      dilations=dilation, padding="SAME")
        }

    def weight_to_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """``filters[*k, out/groups, in]`` -> ``W[in, out/groups, *k]``: ``W[c, m, t] = filters[t, m, c]``."""
        return np.moveaxis(np.asarray(weight), (-1, -2), (0, 1))

    def weight_from_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """``W[in, out/groups, *k]`` -> ``filters[*k, out/groups, in]``."""
        return np.moveaxis(np.asarray(weight), (0, 1), (-1, -2))

    def channels_last(self, **native) -> bool:
        data_format = native.get("data_format")
        return data_format is None or not str(data_format).startswith("NC")

    def native_output_shape(self, output_size, batch: int, channels: int, **native) -> list[int]:
        """TF's full ``output_shape`` argument: ``[N, *o, C]`` channels-last, else ``[N, C, *o]``."""
        spatial = [int(output_size)] if is_int(output_size) else [int(o) for o in output_size]
        return [batch, *spatial, channels] if self.channels_last(**native) else [batch, channels, *spatial]


DIALECT = TensorFlowDialect()


@dataclass(frozen=True)
class CpuOutcome:
    """What one CPU build does with a configuration.

    ``kind`` is ``"ok"`` (runs and computes ``geometry``), ``"rejected"`` (TF's rules reject the
    arguments, and this build raises) or ``"unsupported"`` (valid arguments this build cannot run).
    ``reason`` says why for the last two; ``error`` is the TF exception class where it is known.
    """

    kind: str
    geometry: Geometry | None = None
    reason: str | None = None
    error: str | None = None


def uses_onednn(*, dtype, onednn: bool, padding) -> bool:
    """Whether the oneDNN kernel runs: oneDNN on, float32 or bfloat16, and a 'SAME'/'VALID' string.

    Explicit padding lists always take the Eigen kernel (``Conv2DCustomBackpropInput``), even when
    oneDNN is on.
    """
    return onednn and dtype_name(dtype) in ONEDNN_DTYPES and isinstance(padding, str)


def cpu_support(input_size, kernel_size, *, dtype="float32", onednn: bool = True, groups: int = 1,
                **native) -> str | None:
    """The reason a CPU build cannot run these (valid) arguments, or None where it can.

    Dilation > 1, channels-first layouts and groups > 1 exist on CPU only in the oneDNN kernel (see
    :func:`uses_onednn`); grouped 3-D transposed convolution exists in neither. The text is the start
    of TF's InvalidArgumentError message, for the first check TF makes (layout, then dilation, then
    groups). ``Rejected`` where :meth:`TensorFlowDialect.parse` raises.
    """
    args = DIALECT.parse(input_size, kernel_size, **native)
    if uses_onednn(dtype=dtype, onednn=onednn, padding=native.get("padding", "SAME")):
        return "input and filter must have the same depth" if args.ndim == 3 and groups > 1 else None
    if not args.channels_last:
        if args.ndim == 3:
            return "Conv3DBackpropInputOpV2 only supports NDHWC on the CPU"
        return "Conv2DCustomBackpropInputOp only supports NHWC"
    if any(d > 1 for d in args.dilation):
        # The 3-D kernel says "implementation does", the 2-D one (also behind 1-D) "implementations do".
        verb = "implementation does" if args.ndim == 3 else "implementations do"
        return f"Current CPU {verb} not yet support dilation rates larger than 1"
    if groups > 1:
        if args.ndim == 3:
            return "input and filter_sizes must have the same number of channels"
        return "Gradients for grouped convolutions are not supported on CPU"
    return None


def onednn_valid_prefix(input_size, kernel_size, **native) -> Geometry | None:
    """The geometry oneDNN computes for a 'VALID' call that TF's rule rejects, or None.

    oneDNN accepts a dim with ``i == 1`` and ``K - s < o < K`` (TF's rule needs ``o >= K``) and returns
    the prefix ``full[:o]``: ``cb = 0``, ``ca = K - o``. Example ``(i, k, s, o) = (1, 2, 2, 1)``.
    Every other dim must satisfy the ordinary 'VALID' rule.
    """
    args = DIALECT.parse(input_size, kernel_size, **native)
    if args.padding != "VALID":
        return None
    quirky = False
    for i, k, s, d, o in zip(args.input_size, args.kernel_size, args.stride, args.dilation, args.output_size):
        K = d * (k - 1) + 1
        if i == 1 and K - s < o < K:
            quirky = True
        elif not (i - 1) * s + K <= o <= (i - 1) * s + K + s - 1:
            return None
    if not quirky:
        return None
    L = args.full_size
    crop_after = tuple(full - o for full, o in zip(L, args.output_size))
    return Geometry(args.input_size, args.kernel_size, args.stride, args.dilation, (0,) * args.ndim, crop_after)


def cpu_outcome(input_size, kernel_size, *, dtype="float32", onednn: bool = True, groups: int = 1,
                **native) -> CpuOutcome:
    """What a CPU build with this dtype and ``TF_ENABLE_ONEDNN_OPTS`` setting does with the arguments.

    Rejected arguments stay rejected, except the oneDNN 'VALID' prefix quirk (:func:`onednn_valid_prefix`).
    An inadmissible output size raises AbortedError in the oneDNN kernel and InvalidArgumentError
    elsewhere; TF's shape function raises InvalidArgumentError ("Computed output size would be
    negative") first where ``o + pb + pa <= K - 2*s`` (C++ division truncates toward zero).
    ``EmptyOutput`` propagates, as from :meth:`TensorFlowDialect.to_canonical`.
    """
    try:
        args = DIALECT.parse(input_size, kernel_size, **native)
    except Rejected as exc:
        return CpuOutcome("rejected", reason=str(exc))
    onednn_path = uses_onednn(dtype=dtype, onednn=onednn, padding=native.get("padding", "SAME"))
    reason = cpu_support(input_size, kernel_size, dtype=dtype, onednn=onednn, groups=groups, **native)
    try:
        geometry = DIALECT.to_canonical(input_size, kernel_size, groups=groups, **native)
    except Rejected as exc:
        geometry = onednn_valid_prefix(input_size, kernel_size, **native) if onednn_path else None
        if geometry is None:
            # The unsupported-feature checks are InvalidArgumentErrors and run before oneDNN's shape check.
            error = "InvalidArgumentError" if reason else _shape_error(args, onednn_path)
            return CpuOutcome("rejected", reason=str(exc), error=error)
    if reason:
        return CpuOutcome("unsupported", reason=reason, error="InvalidArgumentError")
    return CpuOutcome("ok", geometry=geometry)


def _shape_error(args: NativeArgs, onednn_path: bool) -> str:
    """The exception class for an inadmissible output size."""
    if not onednn_path:
        return "InvalidArgumentError"
    negative = any(
        o + pb + pa <= d * (k - 1) + 1 - 2 * s and args.padding != "SAME"
        for k, s, d, o, (pb, pa) in zip(args.kernel_size, args.stride, args.dilation, args.output_size, args.pads)
    )
    return "InvalidArgumentError" if negative else "AbortedError"


def _inadmissible(padding: str, i: int, s: int, L: int, o: int, pb: int, pa: int) -> str | None:
    """Why TF rejects output length ``o`` in one dim, or None."""
    if padding == "SAME":
        computed = -(-o // s)
        return None if computed == i else f"'SAME' needs ceil(o/s) == i, but ceil({o}/{s}) = {computed} != {i}"
    total = o + pb + pa
    if L <= total <= L + s - 1:
        return None
    what = "o" if padding == "VALID" else f"o + pad_before + pad_after = {o} + {pb} + {pa}"
    return f"'{padding}' needs L <= {what} <= L + s - 1 = {L + s - 1}, got {total}"



def _data_format(data_format, ndim: int) -> str:
    if ndim not in DATA_FORMATS:
        raise Rejected(f"tf.nn.conv_transpose supports 1, 2 or 3 spatial dims; got {ndim}")
    if data_format is None:
        return DATA_FORMATS[ndim][0]
    if data_format not in DATA_FORMATS[ndim]:
        raise Rejected(f"data_format must be one of {DATA_FORMATS[ndim]} for {ndim}-D; got data_format={data_format!r} "
                       f"(ValueError or InvalidArgumentError)")
    return data_format


def _window(value, ndim: int, name: str, channels_last: bool) -> tuple[int, ...]:
    """``strides``/``dilations``: an int, or 1, N or N+2 ints; the N+2 form needs 1 at batch and channel."""
    if value is None:
        return (1,) * ndim
    values = (value,) if is_int(value) else tuple(value)
    if len(values) == 1:
        values = values * ndim
    elif len(values) == ndim + 2:
        outer = (values[0], values[-1]) if channels_last else values[:2]
        if any(v != 1 for v in outer):
            raise Rejected(f"{name}={list(values)}: TF does not support {name} in the batch and depth dimensions "
                           f"(InvalidArgumentError or UnimplementedError)")
        values = values[1:-1] if channels_last else values[2:]
    elif len(values) != ndim:
        raise Rejected(f"{name} must have length 1, {ndim} or {ndim + 2}; got {name}={list(values)} (ValueError)")
    if any(int(v) <= 0 for v in values):
        raise Rejected(f"{name} must be positive; got {name}={list(values)} (InvalidArgumentError)")
    return tuple(int(v) for v in values)


def _output_shape(value, ndim: int, channels_last: bool) -> tuple[int, ...]:
    """Spatial lengths from ``output_shape``: N spatial ints, or the full N+2 tensor shape."""
    if value is None:
        raise Rejected("output_shape is required: tf.nn.conv*_transpose has no default (ValueError converting None)")
    values = (value,) if is_int(value) else tuple(value)
    if len(values) == ndim + 2:
        values = values[1:-1] if channels_last else values[2:]
    if len(values) != ndim:
        raise Rejected(f"output_shape must give {ndim} spatial lengths (or the full {ndim + 2}-D shape); "
                       f"got {list(values)}")
    if any(int(v) < 1 for v in values):
        raise EmptyOutput(f"output_shape {list(values)} has an empty dim; the canonical form needs o >= 1")
    return tuple(int(v) for v in values)


def _padding(value, ndim: int, channels_last: bool) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``("SAME" | "VALID" | "EXPLICIT", spatial (before, after) pads)``."""
    zeros = ((0, 0),) * ndim
    if isinstance(value, str):
        if value not in PADDING_STRINGS:
            raise Rejected(f"padding={value!r} is not one of 'SAME', 'VALID' (case-sensitive; TF raises "
                           f"InvalidArgumentError for the attr)")
        return value, zeros
    if ndim != 2:
        raise Rejected(f"explicit padding lists exist only for 2-D; conv{ndim}d_transpose raises TypeError "
                       f"(Expected string for argument 'padding')")
    try:
        pairs = [tuple(int(v) for v in pair) for pair in value]
    except TypeError:
        raise Rejected(f"explicit padding must be a list of 4 (before, after) pairs; got {value!r} "
                       f"(ValueError)") from None
    if len(pairs) != 4 or any(len(pair) != 2 for pair in pairs):
        raise Rejected(f"explicit padding must be a list of 4 (before, after) pairs; got {value!r} (ValueError)")
    outer = (pairs[0], pairs[3]) if channels_last else pairs[:2]
    spatial = pairs[1:3] if channels_last else pairs[2:]
    if any(v != 0 for pair in outer for v in pair):
        raise Rejected(f"padding={value!r}: nonzero explicit padding in the batch or depth dimensions is not "
                       f"supported (InvalidArgumentError)")
    if any(v < 0 for pair in spatial for v in pair):
        raise Rejected(f"padding={value!r}: all elements of explicit_paddings must be nonnegative "
                       f"(InvalidArgumentError)")
    return "EXPLICIT", tuple(spatial)
