"""Known discrepancies: real framework findings, recorded with a reason and a public link.

Entries live in ``known_discrepancies.toml`` beside this module (or a file given with
``--known-discrepancies``). A failing check that an entry matches is recorded as ``known`` instead
of failing the run. Each entry also carries an ``example``: the suite runs it as a strict xfail, so an
entry whose framework has been fixed turns red and is removed rather than hiding a regression later.

An entry::

    [[discrepancy]]
    id = "tf-valid-prefix-onednn"
    framework = "tensorflow"          # matched against the record's framework
    versions = ">=2.16"               # PEP 440 specifier on the framework's version
    targets = ["tensorflow.nn*"]      # fnmatch patterns on "<framework>.<variant>"
    checks = ["native"]               # check names (forward, native, gradient-input, ...); empty = all
    dtypes = []                       # empty = all
    devices = []                      # empty = all
    backends = []                     # lanes' backend paths ("onednn", "eigen", ...); empty = all
    modes = []                        # execution modes ("eager", "compiled"); empty = all
    predicate = "name"                # optional: a function in PREDICATES over the record, or your own:
                                      # "FILE.py:function" (relative to this file) or "module:function",
                                      # called as function(case, native) -> bool
    reason = "..."
    link = "https://github.com/..."
    example = { variant = "nn", dtype = "float32", backend = "onednn", ... }   # see conformance/test_known.py

An entry for a user's implementation (``--impl``) has ``framework = "impl"`` and ``implementation``, an
fnmatch pattern on its name (``stem.function``, e.g. ``"tinygrad_impl.conv_transpose"``); ``versions``
is then matched against the version the run recorded for it (``--impl-version`` or ``__version__``).

An example names the lane it needs (``device``, ``dtype``, ``backend``, ``mode``); a run without that lane
skips it, saying so, and never fails it.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .cases import Case, case_from_data, tuples

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = Path(__file__).with_name("known_discrepancies.toml")
REQUIRED = ("id", "framework", "versions", "reason", "link")


def _geometry(case):
    """The case's canonical geometry: its own, or its dialect's mapping of a native case."""
    return case.geometry if isinstance(case, Case) else case.canonical().geometry


def torch_output_lengths(case, native) -> list[int]:
    """``(i-1)*s - 2p + d*(k-1) + op + 1`` per dim, from a torch-dialect case and its parameters."""
    if native.get("output_size") is not None:  # the module form asks for its output length directly
        return list(native["output_size"])
    return [
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        for i, k, s, p, op, d in zip(case.input_size, case.kernel_size, torch_dims(case, native, "stride", 1), torch_dims(case, native, "padding", 0),
                                     torch_dims(case, native, "output_padding", 0), torch_dims(case, native, "dilation", 1))
    ]


def _per_dim(value, ndim: int) -> list[int]:
    """A window parameter as frameworks accept it (one int for every dim, or one per dim) as one int per dim."""
    return [value] * ndim if isinstance(value, int) else list(value)


def torch_dims(case, native, name, default) -> list[int]:
    """A torch parameter (an int or one per dim, ``default`` where absent) as one int per dim."""
    return _per_dim(native.get(name, default), case.ndim)


def _torch_output_padding(case, native) -> list[int]:
    """The output padding per dim, derived from ``output_size`` for the module form (its length above
    the smallest output, as ``nn.ConvTranspose*d`` derives it)."""
    if native.get("output_size") is None:
        return torch_dims(case, native, "output_padding", 0)
    smallest = torch_output_lengths(case, {**native, "output_size": None, "output_padding": 0})
    return [o - low for o, low in zip(native["output_size"], smallest)]


def _tf_conv3d_same_offset(case, native) -> bool:
    """3-D 'SAME' with an output at least 2 longer than the full length L in some dim (the entry's
    ``backends`` keeps it to the Eigen lanes)."""
    if case.ndim != 3 or native.get("padding") != "SAME":
        return False
    geometry = _geometry(case)
    return any(o - L >= 2 for L, o in zip(geometry.full_size, geometry.output_size))


def _eigen_negative_low_padding(case, *, channel_limit: int | None) -> bool:
    """The misread shared by every XLA:CPU front end: XLA lowers a transposed convolution to a correlation
    padded by ``(K-1-cb, K-1-ca)`` (jax's ``conv_general_dilated``; TensorFlow's tf2xla
    ``Conv2DBackpropInput`` likewise), and XLA:CPU's Eigen spatial kernel misreads a dim padded by
    ``low < 0 < high <= -low``, only with stride and dilation 1 in every dim (lhs_dilation or rhs_dilation
    take another path) and never in 3-D. 1-D at any channel count, grouped too, where a patch holds an
    8-float packet (channels per group times taps >= 8: fewer were always right; 4 x 3 and 5 x 3 with
    ``high = 1`` were right too, not modelled here). 2-D, ungrouped and grouped alike (depthwise
    included), exactly where a whole 8-float packet of the patch reaches the high padding: the patch is
    channels per group x k0 x k1 floats (channels innermost, then dim 1's taps, then dim 0's), its first
    ``patch // 8 * 8`` floats are read in packets, and the high padding of dim ``j`` holds its last
    ``min(high, k_j)`` taps. ``channel_limit``: in 2-D, more input or output channels in all than this
    take another kernel (jaxlib's YNNPACK path, right); None where every channel count reaches Eigen."""
    try:
        geometry = _geometry(case)
    except ValueError:
        return False
    if any(s != 1 for s in geometry.stride) or any(d != 1 for d in geometry.dilation):
        return False
    kernel = tuple(geometry.kernel_size)  # dilation 1: the effective kernel
    pads = [(K - 1 - cb, K - 1 - ca) for K, cb, ca in zip(geometry.effective_kernel, geometry.crop_before, geometry.crop_after)]
    padded = [low < 0 < high <= -low for low, high in pads]
    if case.ndim == 1:
        return padded[0] and case.in_per_group * kernel[0] >= 8
    if case.ndim > 2 or channel_limit is not None and (case.in_channels > channel_limit or case.out_channels > channel_limit):
        return False
    packed = case.in_per_group * kernel[0] * kernel[1] // 8 * 8  # the floats read as whole packets
    per_tap = (kernel[1] * case.in_per_group, case.in_per_group)  # the patch's floats per tap of dim 0, of dim 1
    # the first float of the high padding's taps: tap k - min(high, k) of that dim, the other dim's tap 0
    return any(p and packed > (k - min(high, k)) * step for p, (_, high), k, step in zip(padded, pads, kernel, per_tap))


def _xla_negative_low_padding(case, native) -> bool:
    """jax's forward: :func:`_eigen_negative_low_padding` with jaxlib 0.10.2's YNNPACK path taking 2-D
    convs of more than 16 input or output channels (right). Observed on jax/jaxlib 0.10.2
    (tests/test_known_predicates.py), through the suite's Runner (batch 2, about 5,700 2-D cases; batch 1
    only adds lucky right answers). The entry's ``dtypes`` leave out float64, which was always right."""
    return _eigen_negative_low_padding(case, channel_limit=16)


def _tf_xla_negative_low_padding(case, native) -> bool:
    """TensorFlow's ``tf.function(jit_compile=True)``: the same Eigen misread with no channel limit (its
    XLA:CPU has no YNNPACK path: 17 to 128 channels misread as 16 do). Only 2-D is reachable (explicit
    pads, crops >= 0: ``cb >= K`` and ``ca <= K-2``; 'SAME' and 'VALID' never crop more than ``K-1``).
    Measured on tensorflow-cpu 2.21.0 by about 8,000 direct calls (tests/test_known_predicates.py)."""
    return _eigen_negative_low_padding(case, channel_limit=None)


def _xla_negative_low_padding_input_gradient(case, native) -> bool:
    """The same misread in the input gradient, ``conv(g, w, window_strides=s, padding=(cb, ca),
    rhs_dilation=d)``: a dim cropped by ``cb < 0 < ca <= -cb`` pads the cotangent by a negative low and a
    positive high, here at any window stride (in the forward the stride is lhs_dilation, which takes
    another path). Measured through the suite's Runner on jax/jaxlib 0.10.2 (tests/test_known_predicates.py):
    wrong only with dilation 1 in every dim (rhs_dilation 2: right), in 1-D and in 2-D (3-D right). A
    patch is the cotangent's channels per group times the kernel taps, read in 8-float packets: in 1-D
    wrong exactly where a whole packet holds one of the high padding's zeros (the last ``min(ca, k)`` taps
    of the last window), so ``C*k >= 8`` except 4 x 3 with ``ca = 1`` (its padding zeros are the tail
    past the packet; batch 2, every such case); in 2-D where ``C*taps >= 8`` with at most 16 channels in
    and out (17 either way: right, as the forward's YNNPACK path), ungrouped or (the only grouped 2-D
    measured) 2 groups of one input channel (-> 4 and -> 8 per group: wrong). The entry's ``dtypes``
    leave out float64, always right; the weight gradient was right on these cases."""
    try:
        geometry = _geometry(case)
    except ValueError:
        return False
    if case.ndim > 2 or any(d != 1 for d in geometry.dilation):
        return False
    taps = int(np.prod(geometry.kernel_size))
    if case.ndim == 2:
        if case.groups != 1 and case.in_per_group != 1 or case.in_channels > 16 or case.out_channels > 16 or case.out_per_group * taps < 8:
            return False
        return any(cb < 0 < ca <= -cb for cb, ca in zip(geometry.crop_before, geometry.crop_after))
    k, cb, ca = geometry.kernel_size[0], geometry.crop_before[0], geometry.crop_after[0]
    if not cb < 0 < ca <= -cb:
        return False
    patch = case.out_per_group * k
    return patch // 8 * 8 > (k - min(ca, k)) * case.out_per_group  # a whole packet reaches the padded taps


def _xla_swap_rejected(dims) -> bool:
    """Whether XLA's convolution operand swap (``SwapConvolutionOperandsIfBeneficial``, in
    ``xla/hlo/transforms/simplifiers/conv_operand_swapper.cc``, which the algebraic simplifier runs on a
    conv with no feature or batch groups) builds an invalid conv, which XLA:CPU turns into a CHECK abort.

    ``dims``: per spatial dim of the HLO conv, ``(input size, window size, window stride, pad low,
    pad high, base dilation, window dilation)``. The swap keeps a dim it takes for a *group* dim (no
    padding, no window dilation, base dilation == window size, stride == window size - 1) unchanged,
    which is only valid where the input is as long as the window; it swaps when the product of the other
    dims' window sizes exceeds the product of their input sizes (a size-1 input padded by window-1 on
    both sides counting as the window size). Both parts were checked against the observed aborts.
    """
    misread, window_product, swapped_product = False, 1, 1
    for size, window, stride, low, high, base, window_dilation in dims:
        plain = low == 0 and high == 0 and window_dilation == 1
        if plain and base == window and stride == window - 1:  # taken for a group dim and kept as it is
            misread |= size != window
            continue
        if plain and size == window and base == 1 and stride == 1:  # a pure contraction dim, kept too
            continue
        window_product *= window
        full_window = size == 1 and stride == 1 and window_dilation == 1 and low == high == window - 1
        swapped_product *= window if full_window else size
    return misread and window_product > swapped_product


def _canonical_dims(case):
    """``(i, k, s, d, K, cb, ca, o)`` per dim, or ``None`` where the case has no valid canonical geometry."""
    try:
        geometry = _geometry(case)
    except ValueError:  # Rejected, NotExpressible (an empty output) or an invalid geometry
        return None
    dims = list(zip(geometry.input_size, geometry.kernel_size, geometry.stride, geometry.dilation, geometry.effective_kernel,
                    geometry.crop_before, geometry.crop_after, geometry.output_size))
    return None if any(o < 1 for *_, o in dims) else dims


def _xla_conv_swap_forward(case) -> bool:
    """The forward lowering, ``conv(x, rhs, window_strides=1, padding=(K-1-cb, K-1-ca), lhs_dilation=s,
    rhs_dilation=d)``, as the swap sees it. In canonical terms the misread dim is ``k = 2, s = 2, d = 1,
    cb = ca = 1`` with ``i != 2``."""
    dims = _canonical_dims(case)
    return dims is not None and _xla_swap_rejected(
        (i, k, 1, K - 1 - cb, K - 1 - ca, s, d) for i, k, s, d, K, cb, ca, _ in dims)


def _xla_conv_swap_abort(case, native) -> bool:
    """An ungrouped transposed convolution whose forward conv XLA's operand swap breaks (every dtype)."""
    return case.groups == 1 and _xla_conv_swap_forward(case)


def _xla_conv_swap_abort_grouped(case, native) -> bool:
    """The same with groups > 1: only where XLA:CPU first expands the feature groups into an extra
    spatial dim (float64; float16, bfloat16 and float32 keep feature_group_count and skip the swap).
    The entry's ``dtypes`` holds the dtype half of the condition."""
    return case.groups > 1 and _xla_conv_swap_forward(case)


def _xla_conv_swap_abort_weight_gradient(case, native) -> bool:
    """jax's weight gradient of the transposed convolution: ``conv(x, cotangent, window_strides=d,
    padding=(K-1-cb, K-1-ca), lhs_dilation=s)`` (window = the output length ``o``). Its batch groups
    are expanded for every dtype, so groups do not matter. In canonical terms the misread dim is
    ``cb = ca = K-1, o = s, d = s-1`` with ``i != s``."""
    dims = _canonical_dims(case)
    return dims is not None and _xla_swap_rejected(
        (i, o, d, K - 1 - cb, K - 1 - ca, s, 1) for i, k, s, d, K, cb, ca, o in dims)


def _xla_zero_only_dim_input_gradient(case) -> bool:
    """jax's input gradient of a transposed convolution is ``conv(cotangent, w, window_strides=s,
    padding=(cb, ca), rhs_dilation=d)``. Where a dim has ``i = k = 1`` and an output of length 1 that is
    a padding zero (``cb = -ca != 0``: x's only element cropped, one prepended or appended zero kept),
    that dim pads the cotangent's single element away, and XLA:CPU computes as if it had no padding
    (the gradient of the uncropped element comes back instead of 0). Observed on jax/jaxlib 0.10.2
    (tests/test_known_predicates.py) only 2-D, only with a batch of one (or none), only with more than
    16 input or output channels in all, and only where dim 0 is such a dim or is itself ``i = k = 1``
    with an output of 1 (the zero dim then second). 1-D and 3-D, a kernel of 2 or more in the zero
    dim, an output of 2 or more in it (which crashed instead) and i = 2 were right."""
    if case.ndim != 2 or (case.batch or 1) != 1 or max(case.in_channels, case.out_channels) <= 16:
        return False
    dims = _canonical_dims(case)
    if dims is None:
        return False
    single = [i == 1 and k == 1 and o == 1 for i, k, s, d, K, cb, ca, o in dims]
    return single[0] and any(one and cb != 0 for one, (i, k, s, d, K, cb, ca, o) in zip(single, dims))


def _xla_zero_only_dim_input_gradient_ungrouped(case, native) -> bool:
    """Ungrouped, or one input and one output channel per group (every dtype was wrong for these)."""
    return (case.groups == 1 or case.in_per_group == case.out_per_group == 1) and _xla_zero_only_dim_input_gradient(case)


def _xla_zero_only_dim_input_gradient_grouped(case, native) -> bool:
    """Grouped (wrong in float16, bfloat16 and float32, right in float64 unless one channel per group:
    the entry's ``dtypes``)."""
    return case.groups > 1 and _xla_zero_only_dim_input_gradient(case)


def _xla_zero_only_dim_forward(case) -> bool:
    """The forward conv of a transposed convolution, ``conv(x, rhs, window_strides=1, padding=(K-1-cb,
    K-1-ca), lhs_dilation=s, rhs_dilation=d)`` (and jax.vjp's linear transpose, the same conv), over
    the same kind of dim as the input gradient's entries: ``i = k = 1``, crops ``cb = -ca != 0``, an
    output of one padding zero, which XLA:CPU fills from x as if that dim had no padding. Observed on
    jax/jaxlib 0.10.2 through Runner.forward (tests/test_known_predicates.py): only 2-D, only with
    stride 1 in every dim (lhs_dilation takes another path), only with more than 16 input or output
    channels in all, and only where either that dim is dim 0 and dim 1 does not grow (``k <= i`` and
    ``o <= i``), or that dim is dim 1 behind a dim 0 with ``k = 1`` and ``o = 1``. The dilation of
    either dim does not matter; 1-D and 3-D were right. The batch is left to the callers."""
    if case.ndim != 2 or max(case.in_channels, case.out_channels) <= 16:
        return False
    dims = _canonical_dims(case)
    if dims is None or any(s != 1 for _, _, s, *_ in dims):
        return False
    (i0, k0, _, _, _, cb0, ca0, o0), (i1, k1, _, _, _, cb1, ca1, o1) = dims
    zero0 = i0 == k0 == 1 and cb0 == -ca0 != 0
    zero1 = i1 == k1 == 1 and cb1 == -ca1 != 0
    return zero0 and k1 <= i1 and o1 <= i1 or zero1 and k0 == 1 and o0 == 1


def _xla_zero_only_dim_forward_depthwise(case) -> bool:
    """Ungrouped, or one input channel per group (the conv is depthwise): every dtype was wrong."""
    return case.groups == 1 or case.in_per_group == 1


def _xla_zero_only_dim_forward_ungrouped(case, native) -> bool:
    """A single call (a batch of one or none: 2 and more were right) of ``_xla_zero_only_dim_forward``,
    ungrouped or depthwise."""
    return (case.batch or 1) == 1 and _xla_zero_only_dim_forward_depthwise(case) and _xla_zero_only_dim_forward(case)


def _xla_zero_only_dim_forward_grouped(case, native) -> bool:
    """The same, grouped with more than one input channel per group (wrong in float16, bfloat16 and
    float32, right in float64: the entry's ``dtypes``)."""
    return (case.batch or 1) == 1 and not _xla_zero_only_dim_forward_depthwise(case) and _xla_zero_only_dim_forward(case)


def _xla_zero_only_dim_batch_split(case, native) -> bool:
    """batch-split of a batch of 2 or more: the batched call is right and each sample called alone is
    wrong as ``_xla_zero_only_dim_forward`` says (ungrouped or depthwise)."""
    return (case.batch or 1) >= 2 and _xla_zero_only_dim_forward_depthwise(case) and _xla_zero_only_dim_forward(case)


def _xla_zero_only_dim_batch_split_grouped(case, native) -> bool:
    """The same, grouped with more than one input channel per group (float16, bfloat16, float32)."""
    return (case.batch or 1) >= 2 and not _xla_zero_only_dim_forward_depthwise(case) and _xla_zero_only_dim_forward(case)


def _xla_zero_only_dim_crash_convs(case):
    """Which of the transposed convolution's three XLA convs have the crashing shape, as ``(forward,
    input_gradient, weight_gradient)``: the forward conv (``padding (K-1-cb, K-1-ca)``, also the primal
    of an eager jax.vjp and each sample of batch-split), jax's input gradient ``conv(g, w,
    window_strides=s, padding=(cb, ca))`` and its weight gradient ``conv(x, g)`` (x's channels as the
    batch, its batch as the features). Each is a 2-D conv with a dim whose window is 1, whose input
    has 2 or more elements and whose single output element reads only padding (the input of 1 is
    ``xla-cpu-zero-only-dim-*``'s wrong values instead), with the other dim as
    ``_xla_zero_only_dim_forward`` has it (that dim first and the other not growing, or that dim second
    behind a dim of window 1 and output 1), 2 or more elements no tap reaches. Channels, batch and
    groups are left to the callers."""
    dims = _canonical_dims(case) if case.ndim == 2 else None
    if dims is None:
        return False, False, False
    (i0, k0, s0, _, _, cb0, _, o0), (i1, k1, s1, _, _, cb1, _, o1) = dims
    # forward and weight gradient: k = s = o = 1, input i >= 2, its one output a padding zero (stride 1 everywhere)
    zero0 = k0 == 1 and o0 == 1 and i0 >= 2 and not 0 <= cb0 < i0
    zero1 = k1 == 1 and o1 == 1 and i1 >= 2 and not 0 <= cb1 < i1
    forward = s0 == s1 == 1 and (zero0 and k1 <= i1 and o1 <= i1 or zero1 and k0 == 1 and o0 == 1)
    # input gradient (input o, window k, output i): i = k = 1, an output o >= 2 of padding zeros only
    grad0 = i0 == k0 == 1 and o0 >= 2 and (cb0 >= 1 or cb0 + o0 <= 0)
    grad1 = i1 == k1 == 1 and o1 >= 2 and (cb1 >= 1 or cb1 + o1 <= 0)
    input_gradient = grad0 and k1 <= o1 and i1 <= o1 or grad1 and k0 == 1 and i0 == 1
    return forward, input_gradient, forward


def _xla_zero_only_dim_crash(case, native) -> bool:
    """A case one of whose XLA convs (``_xla_zero_only_dim_crash_convs``) kills the process (SIGSEGV,
    jax/jaxlib 0.10.2, XLA:CPU; measured through the suite's runner, tests/test_known_predicates.py),
    in every dtype: each conv with more than 16 input or output channels in all, ungrouped or with one
    input feature per group (the conv's own: C_in per group for the forward, C_out per group for the
    input gradient), and a batch of one or none (the conv's batch: the case's for the forward and the
    input gradient, C_in for the weight gradient, which so crashes only with C_in = 1 and batch or
    C_out above 16). The forward conv crashes whatever the case's batch, since batch-split calls each
    sample alone; an eager gradient crashes wherever the forward does (the primal), a compiled one
    only where a gradient conv does. The predicate is per case: the checks above that do not run the
    crashing conv pass, and are never matched. 1-D and 3-D: right."""
    forward, input_gradient, weight_gradient = _xla_zero_only_dim_crash_convs(case)
    many = max(case.in_channels, case.out_channels) > 16
    return (many and forward and (case.groups == 1 or case.in_per_group == 1)
            or many and input_gradient and (case.batch or 1) == 1 and (case.groups == 1 or case.out_per_group == 1)
            or weight_gradient and case.in_channels == 1 and max(case.batch or 1, case.out_channels) > 16)


def _xla_zero_only_dim_crash_grouped(case, native) -> bool:
    """The same with groups > 1 and more than one input feature per group in the crashing conv: float16,
    bfloat16 and float32 crashed, float64 was right (the entry's ``dtypes``)."""
    forward, input_gradient, _ = _xla_zero_only_dim_crash_convs(case)
    return case.groups > 1 and max(case.in_channels, case.out_channels) > 16 and (
        forward and case.in_per_group > 1 or input_gradient and (case.batch or 1) == 1 and case.out_per_group > 1)


def _keras_bias_on_last_axis(case, native) -> bool:
    """A channels_first Keras layer with a bias whose last output length equals its filter count (see the
    keras dialect); without a bias there is nothing to add on the wrong axis."""
    from oracles.dialects.keras import bias_on_last_axis

    if not case.bias:
        return False
    native = {k: v for k, v in native.items() if k in ("strides", "padding", "output_padding", "dilation_rate", "data_format", "backend")}
    try:
        return bias_on_last_axis(_geometry(case).output_size, case.out_channels, **native)
    except (ValueError, TypeError, KeyError):
        return False


def _inductor_folds_on_input_channels(case, native) -> bool:
    """inductor's freezing folds a per-channel constant into the weight's axis 0 (``binary_folding.py``:
    ``weight.size(0)``, the output channels of a forward convolution), which for a transposed one's
    ``(C_in, C_out/groups, *k)`` weight is the input channels: the shapes line up, and the fold runs,
    only where ``C_in == C_out``; with one channel the two axes coincide."""
    return case.in_channels == case.out_channels > 1


def _partial_zero_output(case, native) -> bool:
    """The torch output has a zero-length dim and a positive one."""
    lengths = torch_output_lengths(case, native)
    return 0 in lengths and min(lengths) >= 0 and max(lengths) > 0


def _inductor_partial_zero_output(case, native) -> bool:
    """A torch output with a zero-length dim and a positive one, followed by an epilogue: inductor's meta
    check (pytorch#144225, the fix of #144013) rejects only outputs whose every dim is empty."""
    return bool(native.get("epilogue")) and _partial_zero_output(case, native)


def _torch_onednn_partial_zero_output(case, native) -> bool:
    """The same partial-zero output on the compiled oneDNN lane, with or without an epilogue, where
    oneDNN runs the convolution, whose kernel does not check the output size either: the module
    compiled with freezing packs a 2-D or 3-D, non-depthwise one with ``op < s`` (inductor's
    ``_is_packable_convolution``); otherwise torch's own choice (``ConvParams::use_mkldnn`` for float32,
    at the suite's one thread unless ``CONVT_TORCH_THREADS`` says more)."""
    import os

    if not _partial_zero_output(case, native):
        return False
    strides, dilations = torch_dims(case, native, "stride", 1), torch_dims(case, native, "dilation", 1)
    if any(op >= s for op, s in zip(_torch_output_padding(case, native), strides)):
        return False  # neither packs nor picks oneDNN (is_output_padding_big)
    if case.variant == "module" and case.ndim in (2, 3) and not (case.groups > 1 and case.in_per_group == 1):
        return True
    batch, kernel, in_channels = case.batch or 1, case.kernel_size, case.groups * case.in_per_group
    threads = int(os.environ.get("CONVT_TORCH_THREADS", "1"))
    worth_it = (any(s != 1 for s in strides) or any(d != 1 for d in dilations) or batch >= 16
                or kernel[-1] != 1 or kernel[-2] != 1 or threads > 1)
    return worth_it and (case.groups > 1 or (kernel[-1] > 3 and kernel[-2] > 3) or batch > 1
                         or batch * in_channels * case.input_size[0] * case.input_size[1] > 20480)


def _inductor_folds_into_bias_on_input_channels(case, native) -> bool:
    """The same binary folding, into the convolution's bias: an add's constant becomes the new bias, a
    multiply's scales the existing one, each resized to ``weight.size(0)``, the input channels of a
    transposed convolution's weight, so the bias fails the convolution's shape check where
    ``C_in != C_out``. The fold is attempted only where the constant broadcasts like a per-channel one
    over ``weight.size(0)`` (``_op_not_broadcasting_with_conv``): a ``(C_out, 1, ...)`` constant does so
    with C_out == C_in (the other entry) or C_out == 1 (expanded to C_in elements: the error). A bias is
    needed: the bias epilogue's case always has one (added as an op of its own, after a convolution
    without one), a scale is folded into the module's own bias only if it has one (without, only the
    weight is scaled, which is right). Unbatched inputs are not folded: the module squeezes its
    unbatched output, so the epilogue does not follow the convolution directly."""
    return bool(case.bias) and case.out_channels == 1 and case.in_channels > 1 and case.batch is not None


def _empty_output(case, native) -> bool:
    """The native case's output has a zero-length dim (its dialect raises EmptyOutput)."""
    from oracles.dialects import EmptyOutput

    try:
        case.canonical()
    except EmptyOutput:
        return True
    except ValueError:
        return False
    return False


def _tf_conv3d_hw_dilations_differ(case, native) -> bool:
    """3-D with different dilations in the last two spatial dims, which TensorFlow's Conv3D shape
    function (``Conv3DShape``) swaps."""
    return case.ndim == 3 and case.dilation[1] != case.dilation[2]


def _tf_onednn_valid_short_output(case, native) -> bool:
    """TensorFlow 'VALID' with, in some dim, an input of length 1 and an ``output_shape`` shorter than
    the full length ``L = K`` by less than the stride (``L - s < o < L``): oneDNN returns the first ``o``
    outputs instead of refusing the shape."""
    if native.get("padding") != "VALID" or not isinstance(native.get("output_shape"), (list, tuple)):
        return False
    ndim = case.ndim

    def per_dim(name, default=1):
        value = native.get(name, default)
        value = [value] * ndim if isinstance(value, int) else list(value)
        return value[-ndim:] if len(value) >= ndim else value + [1] * (ndim - len(value))

    outputs = list(native["output_shape"])
    if len(outputs) != ndim:
        return False
    for i, k, s, d, o in zip(case.input_size, case.kernel_size, per_dim("strides"), per_dim("dilations"), outputs):
        full = (i - 1) * s + d * (k - 1) + 1
        if i == 1 and full - s < o < full:
            return True
    return False


def _tf_requested_output_empty(case, native) -> bool:
    """The output_shape TensorFlow's backprop-input kernel is asked for has a zero-length dim: tf.nn's own
    ``output_shape``, or the length Keras computes, which is 0 for padding='same' with output_padding 0
    and an even effective kernel over an input of 1 (``keras.same_output_length``). oneDNN's kernel
    (``MklConvCustomBackpropInputOp``) returns an empty output for it before checking any shape."""
    from oracles.dialects.keras import same_output_length

    if "output_shape" in native:
        return 0 in [int(o) for o in native["output_shape"]]
    if str(native.get("padding", "")).lower() != "same" or native.get("output_padding") is None:
        return False
    return 0 in [
        same_output_length(i, k, s, d, op)
        for i, k, s, d, op in zip(case.input_size, case.kernel_size, _per_dim(native.get("strides", 1), case.ndim),
                                  _per_dim(native.get("dilation_rate", 1), case.ndim), _per_dim(native["output_padding"], case.ndim))
    ]


# Named conditions an entry can require, over the failing check's case and native parameters.
PREDICATES = {
    "keras_bias_on_last_axis": _keras_bias_on_last_axis,
    "xla_negative_low_padding": _xla_negative_low_padding,
    "tf_xla_negative_low_padding": _tf_xla_negative_low_padding,
    "xla_negative_low_padding_input_gradient": _xla_negative_low_padding_input_gradient,
    "xla_conv_swap_abort": _xla_conv_swap_abort,
    "xla_conv_swap_abort_grouped": _xla_conv_swap_abort_grouped,
    "xla_conv_swap_abort_weight_gradient": _xla_conv_swap_abort_weight_gradient,
    "xla_zero_only_dim_input_gradient": _xla_zero_only_dim_input_gradient_ungrouped,
    "xla_zero_only_dim_input_gradient_grouped": _xla_zero_only_dim_input_gradient_grouped,
    "xla_zero_only_dim_forward": _xla_zero_only_dim_forward_ungrouped,
    "xla_zero_only_dim_forward_grouped": _xla_zero_only_dim_forward_grouped,
    "xla_zero_only_dim_batch_split": _xla_zero_only_dim_batch_split,
    "xla_zero_only_dim_batch_split_grouped": _xla_zero_only_dim_batch_split_grouped,
    "xla_zero_only_dim_crash": _xla_zero_only_dim_crash,
    "xla_zero_only_dim_crash_grouped": _xla_zero_only_dim_crash_grouped,
    "tf_conv3d_same_offset": _tf_conv3d_same_offset,
    "explicit_padding": lambda case, native: not isinstance(native.get("padding"), str),
    "inductor_folds_on_input_channels": _inductor_folds_on_input_channels,
    "inductor_folds_into_bias_on_input_channels": _inductor_folds_into_bias_on_input_channels,
    "inductor_partial_zero_output": _inductor_partial_zero_output,
    "torch_partial_zero_output": _torch_onednn_partial_zero_output,
    "empty_output": _empty_output,
    "tf_conv3d_hw_dilations_differ": _tf_conv3d_hw_dilations_differ,
    "tf_onednn_valid_short_output": _tf_onednn_valid_short_output,
    "tf_requested_output_empty": _tf_requested_output_empty,
    "torch_zero_output_length": lambda case, native: 0 in torch_output_lengths(case, native) and min(torch_output_lengths(case, native)) >= 0,
}


@dataclass(frozen=True)
class Discrepancy:
    id: str
    framework: str
    versions: str
    reason: str
    link: str
    targets: tuple = ("*",)
    checks: tuple = ()
    dtypes: tuple = ()
    devices: tuple = ()
    backends: tuple = ()
    modes: tuple = ()
    predicate: str = ""
    implementation: str = ""  # framework "impl": an fnmatch pattern on the implementation's name
    example: dict = field(default_factory=dict, compare=False, hash=False)
    condition: object = field(default=None, compare=False, hash=False, repr=False)  # the predicate's function

    def covers(self, record) -> bool:
        """Whether the record's framework version, target, check and lane are among the entry's (the
        predicate aside): a run in which no covered lane ran cannot say whether the entry still holds."""
        if record.framework != self.framework or not _version_in(record.version, self.versions):
            return False
        if self.implementation and not fnmatch.fnmatchcase(getattr(record, "implementation", "") or "", self.implementation):
            return False
        if not any(fnmatch.fnmatchcase(record.target, pattern) for pattern in self.targets):
            return False
        for wanted, actual in ((self.checks, record.check), (self.dtypes, record.dtype), (self.devices, record.device),
                               (self.backends, getattr(record, "backend", "default")), (self.modes, getattr(record, "mode", "eager"))):
            if wanted and actual not in wanted:
                return False
        return True

    def matches(self, record) -> bool:
        if not self.covers(record):
            return False
        if not self.predicate:
            return True
        native = {key: tuples(value) for key, value in (record.native or {}).items()}
        return (self.condition or PREDICATES[self.predicate])(case_from_data(record.case), native)


def _version_in(version: str, specifier: str) -> bool:
    try:
        return Version(version.split("+")[0]) in SpecifierSet(specifier)
    except Exception:
        return False


# Field -> the TOML type it must have (lists are lists of strings).
_STRINGS = ("id", "framework", "versions", "reason", "link", "predicate", "implementation")
_LISTS = ("targets", "checks", "dtypes", "devices", "backends", "modes")
_EXAMPLE_LANE = ("variant", "dtype", "device", "backend", "mode", "check")


def _check_types(path, number, raw) -> None:
    """Each field its type: a string where a list is meant would match character by character."""
    name = f"discrepancy {raw['id']!r}" if isinstance(raw.get("id"), str) else f"discrepancy #{number}"
    for key in _STRINGS:
        if key in raw and not isinstance(raw[key], str):
            raise ValueError(f"{path}: {name}: {key} must be a string; got {raw[key]!r}")
    for key in _LISTS:
        if key in raw and not (isinstance(raw[key], list) and all(isinstance(v, str) for v in raw[key])):
            raise ValueError(f"{path}: {name}: {key} must be a list of strings, e.g. {key} = [\"...\"]; got {raw[key]!r}")
    if "example" in raw:
        example = raw["example"]
        if not isinstance(example, dict):
            raise ValueError(f"{path}: {name}: example must be a table; got {example!r}")
        if "variant" not in example:
            raise ValueError(f"{path}: {name}: example lacks variant")
        for key in _EXAMPLE_LANE:
            if key in example and not isinstance(example[key], str):
                raise ValueError(f"{path}: {name}: example.{key} must be a string; got {example[key]!r}")


def _own_predicate(path: Path, entry: str, spec: str):
    """The function a ``predicate = "FILE.py:function"`` (relative to the TOML file) or ``"module:function"`` names;
    ``ValueError`` naming the entry where it cannot be loaded."""
    import importlib

    from .targets.impl import module_from_file

    source, _, name = spec.rpartition(":")
    try:
        if source.endswith(".py"):
            file = (path.parent / source).resolve()
            if not file.is_file():
                raise ValueError(f"no such file {file}")
            module = module_from_file(file, f"convt_predicates_{file.stem}")
        else:
            module = importlib.import_module(source)
    except Exception as error:  # noqa: BLE001  (any failure to load is the file's, said in one line)
        raise ValueError(f"{path}: discrepancy {entry!r}: cannot load predicate {spec!r}: {type(error).__name__}: {error}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{path}: discrepancy {entry!r}: predicate {spec!r}: {source} has no function {name!r}")
    return function


class KnownDiscrepancies:
    """The loaded entries. How often each matched is counted from the run's records (the plugin),
    which under pytest-xdist are the only place every worker's matches come together."""

    def __init__(self, entries):
        self.entries = list(entries)

    def match(self, record):
        return next((entry for entry in self.entries if entry.matches(record)), None)

    @classmethod
    def load(cls, path=None) -> "KnownDiscrepancies":
        """Parse and validate the file; ``ValueError`` naming the entry and field that is wrong."""
        path = Path(path or DEFAULT_FILE)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read known discrepancies from {path}: {error}") from None
        entries, seen = [], set()
        unknown = set(data) - {"discrepancy"}
        if unknown:
            raise ValueError(f"{path}: unknown top-level keys {', '.join(sorted(unknown))}; entries are [[discrepancy]] tables")
        listed = data.get("discrepancy", [])
        if not isinstance(listed, list) or not all(isinstance(raw, dict) for raw in listed):
            raise ValueError(f"{path}: 'discrepancy' must be an array of tables ([[discrepancy]]); got {type(listed).__name__}")
        for number, raw in enumerate(listed, 1):
            _check_types(path, number, raw)
            missing = [name for name in REQUIRED if not raw.get(name)]
            if missing:
                raise ValueError(f"{path}: discrepancy #{number} lacks {', '.join(missing)}")
            if raw["framework"] == "impl" and not raw.get("implementation"):
                raise ValueError(f"{path}: discrepancy {raw['id']!r}: framework \"impl\" needs implementation, the name it matches "
                                 "(stem.function of --impl, e.g. \"mykernels.conv_transpose\")")
            if raw["id"] in seen:
                raise ValueError(f"{path}: duplicate discrepancy id {raw['id']!r}")
            condition = None
            if raw.get("predicate") and raw["predicate"] not in PREDICATES:
                if ":" not in raw["predicate"]:
                    raise ValueError(f"{path}: discrepancy {raw['id']!r} names unknown predicate {raw['predicate']!r}; known: "
                                     f"{', '.join(PREDICATES)}, or your own as FILE.py:function or module:function")
                condition = _own_predicate(path, raw["id"], raw["predicate"])
            try:
                SpecifierSet(raw["versions"])
            except Exception:
                raise ValueError(f"{path}: discrepancy {raw['id']!r} has an invalid version specifier {raw['versions']!r}") from None
            unknown = set(raw) - set(Discrepancy.__dataclass_fields__)
            if unknown:
                raise ValueError(f"{path}: discrepancy {raw['id']!r} has unknown fields {', '.join(sorted(unknown))}")
            seen.add(raw["id"])
            entries.append(Discrepancy(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()},
                                       condition=condition))
        return cls(entries)
