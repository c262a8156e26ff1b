"""PyTorch's transposed convolution in canonical terms (pure arithmetic; torch is never imported).

Covers ``torch.nn.functional.conv_transpose{1,2,3}d(x, weight, bias, stride, padding, output_padding,
groups, dilation)`` and the module form ``nn.ConvTranspose{1,2,3}d.forward(x, output_size=o)``.
Per spatial dim, with ``K = d*(k-1) + 1`` and ``L = (i-1)*s + K``::

    functional:   cb = p,  ca = p - op,      o = (i-1)*s - 2*p + d*(k-1) + op + 1
    module:       op = o - (L - 2*p)  (the given output_padding is ignored), so ca = L - p - o

The weight ``(C_in, C_out/groups, *k)`` is the canonical layout; tensors are channels-first.

torch can only make ``cb >= 0`` and ``cb >= ca`` (with ``cb - ca = op < max(s, d)``). Any other
geometry with ``cb >= 0`` and ``-ca < max(s, d)`` is emulated by running with a smaller ``p`` (and
``op`` to append zeros at the end) and slicing: see :meth:`TorchDialect.emulation`. For TF 'SAME'
with odd ``K - s`` (``cb < ca``), that is ``p=0, op=0`` followed by ``y[..., cb:L-ca]``.
"""

from __future__ import annotations

from ..geometry import Geometry, spatial_args
from .base import Dialect, Option, Rejected, dim_reasons, refuse


class TorchDialect(Dialect):
    name = "torch"
    supports_groups = True
    channels_last_default = False
    options = (
        Option("stride", "per_dim", 1, "stride per spatial dim"),
        # Ints only: F.conv_transpose*d has no string padding (pytorch#80301).
        Option("padding", "per_dim", 0, "crop at both ends of every spatial dim (>= 0)"),
        Option("output_padding", "per_dim", 0, "extra length at the end; < stride or < dilation per dim"),
        Option("dilation", "per_dim", 1, "kernel dilation per spatial dim"),
        Option("output_size", "sizes", None, "module form: forward(x, output_size=o); overrides output_padding"),
    )

    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, stride=1, padding=0, output_padding=0,
                     dilation=1, output_size=None) -> Geometry:
        """``cb = p``, ``ca = p - op`` per dim; with ``output_size``, ``op = o - ((i-1)*s - 2p + d*(k-1) + 1)``.

        Raises ``Rejected`` (torch's wording) where torch raises, in torch's order: the module's
        ``output_size`` range check (Python, before the kernel), then the kernel's checks.
        """
        self.require_groups(groups)
        if isinstance(padding, str):
            # The functional form raises TypeError; nn.ConvTranspose*d(padding='same') is accepted by
            # the constructor and fails at forward (pytorch#95123). Either way: no string padding.
            raise Rejected(f"conv_transpose: argument 'padding' must be tuple of ints, not str (got {padding!r})")
        i, k, s, d, p, op = spatial_args(input_size, kernel_size, stride=stride, dilation=dilation, padding=padding,
                                         output_padding=output_padding)
        if output_size is not None:
            op = self._module_output_padding(i, k, s, d, p, output_size)
        _check_kernel_arguments(i, k, s, d, p, op)
        geometry = Geometry(
            input_size=i, kernel_size=k, stride=s, dilation=d,
            crop_before=p, crop_after=tuple(pp - o for pp, o in zip(p, op)),
        )
        if any(o <= 0 for o in geometry.output_size):
            # ATen's check in conv_transpose (CPU); CUDA once returned an empty tensor (pytorch#88647).
            raise Rejected(
                f"Given input size per channel: {i}. Calculated output size per channel: {geometry.output_size}. "
                f"Output size is too small"
            )
        return geometry

    @staticmethod
    def _module_output_padding(i, k, s, d, p, output_size) -> tuple[int, ...]:
        """torch/nn/modules/conv.py ``_output_padding``: ``op = o - min_size``.

        ``min_size = (i-1)*s - 2p + d*(k-1) + 1`` and ``max_size = min_size + s - 1``: only ``stride-1``
        extra, even where dilation would let the kernel accept ``op`` up to ``d-1``.
        """
        ndim = len(i)
        sizes = tuple(output_size)
        if len(sizes) != ndim:
            # The module also accepts the full shape (N, C, *o); the dialect takes the spatial part only.
            raise ValueError(f"output_size must have {ndim} spatial entries; got output_size={sizes!r}")
        min_sizes = [(ii - 1) * ss - 2 * pp + dd * (kk - 1) + 1 for ii, kk, ss, dd, pp in zip(i, k, s, d, p)]
        max_sizes = [lo + ss - 1 for lo, ss in zip(min_sizes, s)]
        if any(o < lo or o > hi for o, lo, hi in zip(sizes, min_sizes, max_sizes)):
            raise Rejected(
                f"requested an output size of {list(sizes)}, but valid sizes range "
                f"from {min_sizes} to {max_sizes} (for an input of {list(i)})"
            )
        return tuple(o - lo for o, lo in zip(sizes, min_sizes))

    def from_canonical(self, geometry: Geometry) -> dict:
        """``p = cb``, ``op = cb - ca`` per dim, where ``cb >= 0`` and ``0 <= cb - ca < max(s, d)``.

        Raises ``NotExpressible`` otherwise: ``cb < 0`` needs zeros before the output, ``cb < ca``
        needs a larger end crop than start crop (slice instead: :meth:`emulation`), and
        ``cb - ca >= max(s, d)`` needs an ``output_padding`` torch rejects.
        """
        refuse(
            "torch cannot express this geometry",
            dim_reasons(_direct_reason, geometry.crop_before, geometry.crop_after, geometry.stride, geometry.dilation),
            hint=". Emulate with TorchDialect.emulation (smaller padding, then slice)",
        )
        return dict(
            stride=geometry.stride,
            padding=geometry.crop_before,
            output_padding=tuple(cb - ca for cb, ca in zip(geometry.crop_before, geometry.crop_after)),
            dilation=geometry.dilation,
        )

    def emulation(self, geometry: Geometry) -> tuple[dict, tuple[slice, ...]]:
        """Native parameters and per-dim slices with ``conv_transpose(x, w, **native)[..., *slices]`` = canonical.

        Per dim: where :meth:`from_canonical` can express it, ``p = cb``, ``op = cb - ca`` and the
        slice is the whole axis. Otherwise ``p = max(0, min(cb, ca))``, ``op = max(0, p - ca)``: torch
        returns ``full[p : L + op - p]`` (zeros past ``L``), and ``slice(cb - p, cb - p + o)`` cuts the
        canonical ``full[cb : L - ca]`` out of it.

        Raises ``NotExpressible`` where ``cb < 0`` (zeros before the output cannot come from slicing)
        or ``-ca >= max(s, d)`` (more zeros after ``L`` than ``output_padding`` may add).
        """
        padding, output_padding, slices, reasons = [], [], [], []
        for dim, (cb, ca, s, d, o) in enumerate(zip(
            geometry.crop_before, geometry.crop_after, geometry.stride, geometry.dilation, geometry.output_size
        )):
            if not _direct_reason(cb, ca, s, d):
                padding.append(cb)
                output_padding.append(cb - ca)
                slices.append(slice(None))
                continue
            if cb < 0:
                reasons.append(f"spatial dim {dim}: crop_before={cb} < 0 appends zeros before the output; slicing cannot")
                continue
            p = max(0, min(cb, ca))
            op = max(0, p - ca)
            if op >= max(s, d):
                reasons.append(
                    f"spatial dim {dim}: crop_after={ca} appends {-ca} zeros but output_padding must be < "
                    f"stride ({s}) or < dilation ({d})"
                )
                continue
            padding.append(p)
            output_padding.append(op)
            slices.append(slice(cb - p, cb - p + o))
        refuse("torch cannot emulate this geometry by slicing", reasons)
        native = dict(
            stride=geometry.stride, padding=tuple(padding), output_padding=tuple(output_padding),
            dilation=geometry.dilation,
        )
        return native, tuple(slices)

    def same_conventions(self, input_size: int, kernel_size: int, stride: int, dilation: int = 1) -> dict:
        """``{}``: torch has no 'SAME' for transposed convolution (pytorch#80301).

        Express another framework's SAME through :meth:`from_canonical` or :meth:`emulation`.
        """
        return {}


def _direct_reason(cb: int, ca: int, s: int, d: int) -> str:
    """Why ``(cb, ca)`` has no ``(p, op)`` in one dim, or ``""``: needs ``p = cb >= 0``, ``0 <= op = cb - ca < max(s, d)``."""
    if cb < 0:
        return f"crop_before={cb} < 0 (padding must be >= 0)"
    if cb < ca:
        return f"crop_before={cb} < crop_after={ca} (output_padding = cb - ca would be negative)"
    if cb - ca >= max(s, d):
        return f"output_padding = cb - ca = {cb - ca} is not < stride ({s}) or < dilation ({d})"
    return ""


def _check_kernel_arguments(i, k, s, d, p, op) -> None:
    """ATen's argument checks for conv_transpose, in its order, with its wording."""
    if any(v <= 0 for v in s):
        raise Rejected(f"non-positive stride is not supported (stride={s})")
    if any(v <= 0 for v in d):
        raise Rejected(f"dilation should be greater than zero, but got dilation={d}")
    if any(v <= 0 for v in k) or any(v <= 0 for v in i):
        raise Rejected(f"kernel and input sizes must be positive; got kernel_size={k}, input_size={i}")
    if any(v < 0 for v in p):
        raise Rejected(f"negative padding is not supported (padding={p})")
    if any(v < 0 for v in op):
        raise Rejected(f"negative output_padding is not supported (output_padding={op})")
    if any(o >= ss and o >= dd for o, ss, dd in zip(op, s, d)):
        raise Rejected(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding={op}, stride={s}, dilation={d}"
        )


DIALECT = TorchDialect()
