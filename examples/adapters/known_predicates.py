"""Conditions of the worked adapters' known discrepancies (``known_discrepancies.toml`` beside this file).

Each entry names one of these as ``predicate = "known_predicates.py:NAME"``; the suite calls it as
``NAME(case, native) -> bool`` with the failing check's case (a ``conformance.cases.Case``, or for
``--impl-dialect`` runs a ``NativeCase`` in the dialect's own parameters) and its parameters. The
conditions are in canonical terms, per spatial dim: input ``i``, kernel ``k``, stride ``s``, dilation
``d``, ``K = d*(k-1) + 1``, full length ``L = (i-1)*s + K``, crops ``cb`` (before) and ``ca`` (after,
``padding`` after minus ``output_padding``), output ``o = L - cb - ca``. Each docstring says how the
condition was measured; tests/test_worked_adapters.py holds measured failing and passing neighbours.
"""

from __future__ import annotations

from conformance.known import torch_dims, torch_output_lengths  # helpers for predicates over torch's parameters


def _dims(case):
    """``(i, k, s, d, K, L, cb, ca, o)`` per dim of a canonical case (a dialect's case mapped first), or
    ``None`` where it has no valid canonical geometry (rejected by its dialect, or an empty output)."""
    try:
        geometry = case.geometry if hasattr(case, "geometry") else case.canonical().geometry
    except ValueError:
        return None
    return list(zip(geometry.input_size, geometry.kernel_size, geometry.stride, geometry.dilation, geometry.effective_kernel,
                    geometry.full_size, geometry.crop_before, geometry.crop_after, geometry.output_size))


# ---- OpenVINO 2026.4.1, CPU plugin -----------------------------------------------------------------


def openvino_gemm_1x1_shift(case, native) -> bool:
    """Every dim ``k = 1``, ``s = 1`` and ``o = i`` (``cb + ca = 0``: ``pads_end - output_padding =
    -pads_begin``), and some dim ``cb >= 1``: OpenVINO returns ``x * w`` unshifted, ignoring pads_begin.
    Except 2-D depthwise (groups > 1, one input and one output channel per group) with dilation 1 in both
    dims, which runs oneDNN's ``jit_avx512_dw`` kernel and is right.

    Why: the CPU plugin's Deconvolution node recomputes ``paddingR = (i-1)*s - (o - K + paddingL)``
    (``Deconvolution::initPaddingR``, src/plugins/intel_cpu/src/nodes/deconv.cpp), here ``-pads_begin``,
    and runs oneDNN's convolution backward-data. oneDNN's gemm implementation (``jit_gemm_f32``, the
    one chosen for these shapes) skips col2im when ``ow == iw, oh == ih, od == id``, the strides are 1
    and the kernel has one tap (``jcp.im2col_sz = !everyone_is(true, jcp.ow == jcp.iw, ..., jcp.ks ==
    1, ...) ? ... : 0`` in ``gemm_convolution_utils.cpp`` ``init_conf``): the padding is never
    consulted, so the product is written in place, unshifted. The runtime model's ``primitiveType``
    was ``jit_gemm_f32`` on every wrong case; right cases ran ``jit_avx512_dw_f32``,
    ``jit_avx512_1x1_f32``, ``brgconv_*_1x1`` or ``jit_avx512_f32``.

    Measured through ``openvino_impl.conv_transpose`` against ``oracles.conv_transpose`` (this machine:
    AVX-512): 6,640 1-D cases (i 1-4, k 1-3, s 1-3, d 1-3, pads 0-3 each, op 0..max(s, d)+1), 72 wrong,
    exactly these; 3,312 cases in 1-3 D (dims of this kind and neighbours with k = 2, s = 2, o = i - 1,
    or pads_begin 0; 24 channel/group layouts: groups 1-17, 1 or 2 channels per group; batch 1 and 2;
    bias or not; float32 and float16) with integer-valued operands: 2,775 wrong, all matched; 105 matched
    by the geometry alone were right, every one 2-D depthwise with dilation 1 (the exception above).
    """
    dims = _dims(case)
    if dims is None:
        return False
    if not all(k == 1 and s == 1 and o == i for i, k, s, d, K, L, cb, ca, o in dims):
        return False
    if not any(cb > 0 for *_, cb, ca, o in dims):
        return False
    depthwise = case.groups > 1 and case.in_per_group == 1 and case.out_per_group == 1
    return not (case.ndim == 2 and depthwise and all(d == 1 for _, _, _, d, *_ in dims))


# ---- tinygrad 0.14.0, CPU device (clang) -----------------------------------------------------------


def _tinygrad_invalid_shrink(dims) -> bool:
    return any(cb > L or ca > L for i, k, s, d, K, L, cb, ca, o in dims)


def _no_tap_reaches_output(dims) -> bool:
    """Some dim in which no output position is a tap ``j*s + t*d - cb`` (``0 <= j < i``, ``0 <= t < k``):
    every output element is 0 (before the bias) by the geometry alone."""
    return any(not {j * s + t * d - cb for j in range(i) for t in range(k)} & set(range(o))
               for i, k, s, d, K, L, cb, ca, o in dims)


def tinygrad_invalid_shrink(case, native) -> bool:
    """Some dim crops more than the whole full output at one end, ``cb > L`` or ``ca > L`` (the other end
    then appends zeros: a negative crop): tinygrad raises ``ValueError: invalid shrink`` building the graph,
    so the forward and both gradients fail alike.

    Why: ``conv_transpose2d`` lowers to ``conv2d`` padded by ``(K-1-cb, K-1-ca)`` around the stride-dilated
    input of length ``M = (i-1)*s + 1`` (tinygrad/mixin/op.py L1645-1646), and ``_pad_constant`` shrinks by
    the negative pads before it pads by the positive ones (L282-290: ``shrink((-min(pB, 0), min(pA + M, M)))``).
    That shrink is out of range exactly where ``max(cb-K+1, 0) > min(M+K-1-ca, M)``, which for an output
    of at least 1 is ``cb > L`` or ``ca > L``; padding first, then cropping, would be valid.

    Measured through ``tinygrad_impl.conv_transpose`` and ``backward``: 1,224 1-D cases (i 1-3, k 1-3,
    s 1-4, d 1-2, cb -2..L+1, o 1-2): the 144 with ``cb > L`` or ``ca > L`` raised in the forward and the
    gradients, no other did; the identity was also checked arithmetically on the whole grid.
    """
    dims = _dims(case)
    return dims is not None and _tinygrad_invalid_shrink(dims)


def tinygrad_all_masked_reduce(case, native) -> bool:
    """No kernel tap reaches any output element (in some dim every output position lies in a stride gap,
    or in zeros the crops prepend or append), and the graph builds (not ``tinygrad_invalid_shrink``).

    The output is then 0 (bias) by the geometry, and tinygrad's codegen mis-lowers the reduction whose
    every term its index simplification masked away: depending on the kernel optimisations it picks
    (upcast, unroll: shapes and channel counts decide), it raises ``ValueError: bad reshape: () ->
    (...)`` in the devectorizer (tinygrad/uop/movement.py L9, a RESHAPE of the folded scalar), or emits
    C that stores an accumulator it never initialised (``double buf0[2];`` then an empty reduce loop,
    then ``data0[...] = buf0[...]``), which clang at -O2 may drop: the output buffer keeps whatever a
    freed buffer of the same size held (zeros in a fresh process, so the wrong values depend on what ran
    before). Or it is right. The same holds for the gradients of such a case (they are 0 too).

    Measured through ``tinygrad_impl`` (the forward after a same-size buffer was freed, and ``backward``),
    float64 and float32: outside this condition nothing was wrong (672 1-D grid cases with one channel,
    500 random 1-3 D cases with up to 17 channels, groups and batch 2). Inside it, of 408 1-D cases
    (i 1-3, k 1-3, s 1-4, d 1-2, o 1-2) in 10 channel/batch layouts, 58 forwards were wrong (16 -> 2
    channels in 2 groups) and 84 gradients raised "bad reshape" (2 channels or batch 2, dilation 2); of
    300 random 1-3 D cases, 20 forwards and 25 gradients were wrong or raised. A "bad reshape" is
    deterministic (the entries' examples); the stale values are not.
    """
    dims = _dims(case)
    return dims is not None and not _tinygrad_invalid_shrink(dims) and _no_tap_reaches_output(dims)


# ---- tinygrad 0.14.0 in torch's signature (--impl-dialect torch) --------------------------------------


def tinygrad_accepts_torch_rejected(case, native) -> bool:
    """Parameters torch rejects that tinygrad's ``conv_transpose2d`` takes without error: a negative
    ``padding`` (tinygrad's ``conv2d`` takes negative pads by design: zeros appended), a negative
    ``output_padding`` (a further crop at the end), or ``output_padding >= max(stride, dilation)``
    (extra rows computed; torch's functional check), with an output of at least 1 in every dim (an empty
    or negative length makes tinygrad raise too). tinygrad documents no such checks (mixin/op.py
    ``conv_transpose2d``); torch's are ATen's (``oracles.dialects.torch._check_kernel_arguments``)."""
    if native.get("output_size") is not None:
        return False
    strides, dilations = torch_dims(case, native, "stride", 1), torch_dims(case, native, "dilation", 1)
    paddings, output_paddings = torch_dims(case, native, "padding", 0), torch_dims(case, native, "output_padding", 0)
    if min(torch_output_lengths(case, native)) < 1:
        return False
    return any(p < 0 or op < 0 or op >= max(s, d) for s, d, p, op in zip(strides, dilations, paddings, output_paddings))
