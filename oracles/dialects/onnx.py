"""ONNX ``ConvTranspose`` in canonical terms, for two runtimes (pure arithmetic; onnx is never imported).

Attributes: ``strides``, ``dilations``, ``pads = [b_1.., e_1..]``, ``auto_pad`` (NOTSET, SAME_UPPER,
SAME_LOWER, VALID), ``output_padding``, ``output_shape``, ``group`` (it must agree with ``groups=``).
Weight ``(C_in, C_out/group, *k)`` is the canonical layout. Per spatial dim, ``K = d*(k-1) + 1``,
``L = (i-1)*s + K``; the spec says::

    pads:             cb = b,  ca = e - op
    SAME_*:           T = K - s + op (total padding for o = i*s); UPPER cb = floor(T/2), LOWER cb = ceil(T/2)
    output_shape=o:   T = L + op - o; UPPER cb = T//2, otherwise cb = T - T//2
    and always        ca = L - cb - o

The runtimes differ from the spec and from each other (all checked by experiment, onnx 1.23.2 and
onnxruntime 1.32.0; see tests/test_dialect_onnx.py):

``runtime="reference"`` (``onnx.reference.ReferenceEvaluator``):
- explicit ``pads`` win over ``auto_pad``; with NOTSET/VALID and no pads, pads are 0 even when
  ``output_shape`` is given, so ``cb = 0``, ``ca = L - o``;
- SAME keeps negative ``T`` (zeros appended: ``(3,1,2)`` gives ``(-1, 0)`` for UPPER);
- col2im's check ``(o + b + e - K)//s + 1 == i`` rejects ``op`` outside ``[0, s)`` and ``output_shape``
  outside ``[L, L+s-1]`` (NOTSET). It compares only the product over dims: a per-dim mismatch with a
  matching product returns a reshuffled array instead of raising; this dialect reports it Rejected.
- wrong values for ``group > 1`` with several channels per group, or with a bias (a value bug, not a
  geometry one; the suite must not trust those outputs).

``runtime="onnxruntime"``:
- ``pads`` together with ``auto_pad != NOTSET`` is an error; ``output_shape`` makes it ignore ``pads``
  (in the dims it gives: see -1 below);
- the total padding is clamped: ``T' = max(0, T)``, both for SAME (output length ``L + op - T'``, so
  SAME is not ``i*s`` where ``K + op < s``) and for ``output_shape`` (length ``o``: ``cb = split(T')``);
- rejects ``op < 0``, ``op >= max(s, d)``, and then (its shape check) ``op >= s`` even where
  ``op < d`` (onnxruntime#14208); ``output_shape`` must satisfy ``(o + T' - K)//s + 1 == i``.
- an ``output_shape`` entry of ``-1`` means "not given" for that dim (an ORT quirk; the spec says
  nothing of -1): there ``pads``, ``auto_pad`` and ``op`` act, with their checks, as if there were no
  ``output_shape``, while the other dims keep their ``o`` (``[-1, 5]``); all ``-1`` is no
  ``output_shape``. ``0`` and ``-2`` or below are rejected. ``onnx.reference`` takes ``-1`` as a length
  and fails (tests/test_onnxruntime_experiments.py::test_output_shape_minus_one_by_experiment).
- SAME_UPPER/LOWER were swapped before 1.13 (onnxruntime#9370, #11927); this models 1.13 and later.
- This models ORT's kernel. Negative ``pads`` and an ``output_shape`` of ``-1`` reach it only while
  W's shape is unknown to the session: with static W dims, a W initializer or a ``kernel_shape``
  attribute, ONNX shape inference rejects them when the session is created ("Attribute pads must not
  contain negative values", and the same for output_shape); see
  tests/test_onnxruntime_experiments.py::test_negative_pads_run_only_while_w_shape_is_unknown and
  ::test_output_shape_minus_one_runs_only_while_w_shape_is_unknown.
"""

from __future__ import annotations

from ..geometry import Geometry, is_int, per_dim, spatial_args
from .base import Dialect, Option, Rejected, dim_reasons, refuse

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
RUNTIMES = ("reference", "onnxruntime")


class OnnxDialect(Dialect):
    name = "onnx"
    supports_groups = True
    channels_last_default = False

    def __init__(self, runtime: str = "reference"):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}; got {runtime!r}")
        self.runtime = runtime
        self.options = (
            Option("strides", "per_dim", 1, "stride per spatial dim"),
            Option("pads", "padding", None,
                   "None (attribute absent), an int, per-dim ints, ONNX's flat [b.., e..], or (b, e) pairs"),
            Option("auto_pad", "choice", "NOTSET", "automatic padding", AUTO_PADS),
            Option("output_padding", "per_dim", 0, "extra length at the end of every spatial dim"),
            Option("output_shape", "sizes", None, "spatial output shape; pads are derived from it"),
            Option("dilations", "per_dim", 1, "kernel dilation per spatial dim"),
            Option("group", "int", None, "the group attribute; None (absent) means the groups= count"),
            Option("runtime", "choice", runtime, "which implementation's behaviour to model", RUNTIMES),
        )

    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, strides=1, pads=None, auto_pad="NOTSET",
                     output_padding=0, output_shape=None, dilations=1, group=None, runtime=None) -> Geometry:
        """Canonical geometry of ConvTranspose under ``runtime`` (default: this dialect's runtime).

        Raises ``Rejected`` where that runtime raises, with its rule in the message, and where the
        ``group`` attribute and ``groups`` (the operands' channel-group count) are both given and differ.
        """
        self.require_groups(groups)
        _check_group(groups, group)
        runtime = self.runtime if runtime is None else runtime
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}; got {runtime!r}")
        if auto_pad not in AUTO_PADS:
            raise ValueError(f"auto_pad must be one of {AUTO_PADS}; got {auto_pad!r}")
        i, k, s, d, op = spatial_args(input_size, kernel_size, strides=strides, dilations=dilations,
                                      output_padding=output_padding)
        ndim = len(i)
        pairs = None if pads is None else onnx_pads(pads, ndim)
        shape = None if output_shape is None else per_dim(output_shape, ndim, "output_shape")
        if any(v <= 0 for v in s + d + k + i):
            raise Rejected(f"strides, dilations, kernel and input sizes must be positive; got "
                           f"strides={s}, dilations={d}, kernel_size={k}, input_size={i}")
        dims = range(ndim)
        resolve = _reference_dim if runtime == "reference" else _onnxruntime_dim
        if runtime == "onnxruntime" and pairs is not None and auto_pad != "NOTSET":
            raise Rejected(f"auto_pad == AutoPadType::NOTSET was false. A Conv/ConvTranspose node has both "
                           f"'auto_pad' ({auto_pad}) and 'pads' attributes")
        crops = [
            resolve(dim, i[dim], k[dim], s[dim], d[dim], op[dim], auto_pad,
                    None if pairs is None else pairs[dim], None if shape is None else shape[dim])
            for dim in dims
        ]
        return Geometry(input_size=i, kernel_size=k, stride=s, dilation=d,
                        crop_before=tuple(cb for cb, _ in crops), crop_after=tuple(ca for _, ca in crops))

    def from_canonical(self, geometry: Geometry, *, allow_negative_pads: bool = False) -> dict:
        """``pads = [cb.., (ca + op)..]`` with ``op = max(0, -ca)``, valid in both runtimes.

        The spec asks for ``pads >= 0`` and both runtimes need ``0 <= op < s``, so a dim is expressible
        where ``cb >= 0`` and ``-ca < s``. ``allow_negative_pads=True`` returns ``pads = [cb.., ca..]``,
        ``op = 0`` for any geometry: both runtimes append zeros for negative pads (checked by
        experiment), though the spec does not allow them. onnxruntime does so only while the session
        does not know W's shape: static W dims, a W initializer or ``kernel_shape`` let ONNX shape
        inference reject negative pads when the session is created
        (tests/test_onnxruntime_experiments.py::test_negative_pads_run_only_while_w_shape_is_unknown).
        ``NotExpressible`` otherwise.
        """
        cbs, cas, strides = geometry.crop_before, geometry.crop_after, geometry.stride
        if allow_negative_pads:
            ops = (0,) * geometry.ndim
        else:
            ops = tuple(max(0, -ca) for ca in cas)
            refuse(
                "ONNX cannot express this with pads >= 0 and output_padding < stride",
                dim_reasons(_pads_reason, cbs, cas, strides, ops),
                hint=" (onnxruntime and onnx.reference accept negative pads: allow_negative_pads=True)",
            )
        return dict(
            strides=geometry.stride,
            pads=tuple(cbs) + tuple(ca + op for ca, op in zip(cas, ops)),
            output_padding=ops,
            dilations=geometry.dilation,
        )

    def same_conventions(self, input_size: int, kernel_size: int, stride: int, dilation: int = 1) -> dict:
        """``{"SAME_UPPER": Geometry | reason, "SAME_LOWER": ...}`` for 1-D under this dialect's runtime."""
        result = {}
        for mode in ("SAME_UPPER", "SAME_LOWER"):
            try:
                result[mode] = self.to_canonical(input_size, kernel_size, strides=stride, dilations=dilation,
                                                 auto_pad=mode)
            except Rejected as error:
                result[mode] = str(error)
        return result


def onnx_pads(pads, ndim: int) -> tuple[tuple[int, int], ...]:
    """``pads`` as ``(before, after)`` per dim: an int, ``ndim`` ints (both ends), ONNX's flat ``2*ndim``
    ints ``[b_1.., e_1..]``, or ``ndim`` pairs."""
    if is_int(pads):
        return ((int(pads), int(pads)),) * ndim
    entries = tuple(pads)
    if all(is_int(v) for v in entries):
        if len(entries) == 2 * ndim:
            return tuple((int(entries[dim]), int(entries[dim + ndim])) for dim in range(ndim))
        if len(entries) == ndim:
            return tuple((int(v), int(v)) for v in entries)
    elif len(entries) == ndim and all(not is_int(v) and len(tuple(v)) == 2 for v in entries):
        pairs = tuple(tuple(v) for v in entries)
        if all(is_int(b) and is_int(e) for b, e in pairs):
            return tuple((int(b), int(e)) for b, e in pairs)
    raise ValueError(f"pads must be an int, {ndim} ints, {2 * ndim} ints [b.., e..] or {ndim} (b, e) pairs; "
                     f"got pads={pads!r}")


def _pads_reason(cb: int, ca: int, s: int, op: int) -> str:
    """Why ``pads >= 0`` and ``output_padding = op < s`` cannot give ``(cb, ca)`` in one dim, or ``""``."""
    if cb < 0:
        return f"crop_before={cb} needs a negative pad"
    if op >= s:
        return f"crop_after={ca} needs output_padding={op} >= stride {s}"
    return ""


def _check_group(groups: int, group) -> None:
    """``group`` (the attribute; None where absent) must be a positive int that agrees with ``groups``.

    ``groups=1`` is the keyword's default, so only ``groups > 1`` counts as given. A mismatch need not
    raise (where ``C_in`` divides by ``group`` both runtimes run the node and compute another
    convolution), so the dialect refuses it: its geometry would describe a computation the node does not do.
    """
    if group is None:
        return
    if not is_int(group):
        raise ValueError(f"group must be an int; got group={group!r}")
    if group < 1:
        # onnxruntime's wording; onnx.reference fails too (ZeroDivisionError or a reshape ValueError).
        raise Rejected(f"group count is <= 0 group: {group}")
    if groups != 1 and group != groups:
        raise Rejected(f"the ConvTranspose attribute group={group} disagrees with groups={groups}, the operands' "
                       f"channel-group count: give one of them, or the same value")


def _split(total: int, upper: bool) -> tuple[int, int]:
    """``(before, after)`` halves of ``total``: UPPER puts the odd one at the end, otherwise at the start."""
    before = total // 2 if upper else total - total // 2
    return before, total - before


def _reference_dim(dim, i, k, s, d, op, auto_pad, pair, o):
    """onnx.reference ConvTranspose in one dim: pads, then col2im's block-count check."""
    K = d * (k - 1) + 1
    L = (i - 1) * s + K
    if pair is not None:
        before, after = pair
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        o = i * s if o is None else o
        before, after = _split(L + op - o, auto_pad == "SAME_UPPER")
    else:
        # NOTSET and VALID: pads are 0 even when output_shape is given (the spec would split L + op - o).
        before, after = 0, 0
    if o is None:
        o = L + op - before - after
    if o <= 0:
        raise Rejected(f"output length {o} <= 0 in spatial dim {dim} (an empty array or a negative-dimension error)")
    blocks = (o + before + after - K) // s + 1
    if blocks != i:
        raise Rejected(
            f"col2im: expected size of input's dimension to match the calculated number of sliding blocks: "
            f"(o + pads - K)//s + 1 = ({o} + {before + after} - {K})//{s} + 1 = {blocks} != input {i} "
            f"in spatial dim {dim} (needs L <= o + pads <= L + s - 1 with L = {L}; output_padding={op})"
        )
    return before, L - before - o


def _onnxruntime_dim(dim, i, k, s, d, op, auto_pad, pair, o):
    """onnxruntime ConvTranspose in one dim (CPU provider, 1.13 and later)."""
    if o == -1:
        o = None  # ORT reads -1 as "not given" in this dim: pads or auto_pad apply here
    K = d * (k - 1) + 1
    L = (i - 1) * s + K
    if op < 0:
        raise Rejected(f"Output padding must be non-negative. Got: {op}")
    if op >= max(s, d):
        raise Rejected(f"output_padding[{dim}] ({op}) must be less than max(stride, dilation) ({max(s, d)}) "
                       f"for spatial dimension {dim}.")
    if o is not None:
        if o <= 0:
            raise Rejected(f"Explicit output size must be positive. Got: {o}")
        # Explicit pads are ignored; the total padding is clamped at 0 (zeros appended at the end).
        total = max(0, L + op - o)
        before, _ = _split(total, auto_pad == "SAME_UPPER")
        if (o + total - K) // s + 1 != i:
            raise Rejected(
                f"Explicit output_shape is inconsistent with input spatial dimensions and convolution "
                f"parameters. Expected input size {(o + total - K) // s + 1} but got {i} (output_size={o}, "
                f"kernel={K}, stride={s}, dilation={d}, output_padding={op})."
            )
        return before, L - before - o
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        total = max(0, K - s + op)  # clamped: SAME is not i*s where K + op < s
        before, after = _split(total, auto_pad == "SAME_UPPER")
    elif pair is not None and auto_pad == "NOTSET":
        before, after = pair
    else:
        before, after = 0, 0
    o = L + op - before - after
    if o <= 0:
        raise Rejected(f"Computed output dimension is <= 0 for dim {dim}. Input shape: {{{i}}}")
    if op >= s:
        # Its shape check (o + pads - K)//s + 1 == i fails exactly when op >= s (onnxruntime#14208).
        raise Rejected(f"Computed output shape is inconsistent with input spatial dimensions. output_padding "
                       f"({op}) may be too large for stride ({s}). Expected input size {i + op // s} but got {i}.")
    return before, after - op


DIALECT = OnnxDialect()
ONNXRUNTIME = OnnxDialect(runtime="onnxruntime")
