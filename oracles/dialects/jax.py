"""JAX's transposed convolutions, ``lax.conv_transpose`` and ``lax.conv_general_dilated``, in canonical terms.

Pure arithmetic: this module does not import jax. Per spatial dim, with ``K = d*(k-1)+1`` and
``L = (i-1)*s + K``, both APIs run a stride-1 correlation over the input dilated by ``s`` and padded
by ``(pad_before, pad_after)``, so ``crop_before = K-1-pad_before`` and ``crop_after = K-1-pad_after``.

``api="conv_transpose"`` (``padding`` is the native argument, ``s`` = ``strides``)::

    'SAME'                        cb = 0 if s >= K else floor((K-s)/2);  ca = K-s-cb   (o = i*s)
    'VALID'                       cb = 0;  ca = min(K-s, 0)
    ((a, b), ...)                 cb = K-1-a;  ca = K-1-b
    ((a, b), ...) + use_consistent_padding=True:   cb = a;  ca = b   (jax #32267; entries must be tuples)
    other strings, all s == 1     a *forward* conv with that padding (see ``forward_conv_padding``)
    other strings, some s > 1     jax raises

``api="conv_general_dilated"``: ``conv_general_dilated(lhs, rhs, window_strides=1, padding, lhs_dilation=s,
rhs_dilation=d, feature_group_count=groups)``; explicit pairs as above; strings only with every ``s == 1``.

Weights, with the rhs viewed in ``(O, I, *k)`` order (spatial dims in the rhs spec's order)::

    transpose_kernel=False, or conv_general_dilated:  W[g*Cg+c, m, t] = rhs_OI[g*Mg+m, c, k-1-t]
    transpose_kernel=True:                            W[c, m, t]      = rhs_OI[c, m, t]

jax's shape rule: ``(i-1)*s + 1 + pad_before + pad_after = o + K - 1`` must be ``>= 0`` (else it raises),
and for ``1-K <= o <= 0`` it returns an empty array (``EmptyOutput`` here).
"""

from __future__ import annotations

import numpy as np

from ..geometry import Geometry, is_int, per_dim, spatial_args
from .base import Dialect, EmptyOutput, NotExpressible, Option, Rejected

APIS = ("conv_transpose", "conv_general_dilated")
# Strings lax.padtype_to_pads accepts (it upper-cases them); conv_transpose treats only the exact
# spellings 'SAME' and 'VALID' as transposed-conv padding.
FORWARD_PADDINGS = ("SAME", "SAME_LOWER", "VALID")
SPATIAL_LETTERS = "HWDEFGJKLM"


def default_dimension_numbers(ndim: int, api: str = "conv_transpose") -> tuple[str, str, str]:
    """The specs jax uses for ``dimension_numbers=None``: channels-last for conv_transpose
    (``NHC/HIO``, ``NHWC/HWIO``, ``NHWDC/HWDIO``), channels-first for conv_general_dilated."""
    letters = SPATIAL_LETTERS[:ndim]
    if api == "conv_general_dilated":
        return ("NC" + letters, "OI" + letters, "NC" + letters)
    return ("N" + letters + "C", letters + "IO", "N" + letters + "C")


def resolve_dimension_numbers(ndim: int, dimension_numbers=None, api: str = "conv_transpose") -> tuple[str, str, str]:
    """Explicit ``(lhs_spec, rhs_spec, out_spec)`` strings for ``None`` (the API's default),
    ``"channels_last"``, ``"channels_first"`` or a 3-tuple of spec strings (validated as jax does)."""
    letters = SPATIAL_LETTERS[:ndim]
    if dimension_numbers is None:
        return default_dimension_numbers(ndim, api)
    if dimension_numbers == "channels_last":
        return default_dimension_numbers(ndim, "conv_transpose")
    if dimension_numbers == "channels_first":
        return ("NC" + letters, "OI" + letters, "NC" + letters)
    specs = tuple(dimension_numbers) if not isinstance(dimension_numbers, str) else ()
    if len(specs) != 3 or not all(isinstance(spec, str) for spec in specs):
        raise ValueError("dimension_numbers must be None, 'channels_last', 'channels_first' or 3 spec strings; "
                         f"got {dimension_numbers!r}")
    for spec, pair in zip(specs, (("N", "C"), ("O", "I"), ("N", "C"))):
        if len(spec) != ndim + 2 or len(set(spec)) != len(spec) or not set(pair) <= set(spec):
            raise Rejected(f"jax: dimension spec {spec!r} needs {pair[0]!r}, {pair[1]!r} and {ndim} distinct "
                           "spatial letters")
    spatial = [set(spec) - set(pair) for spec, pair in zip(specs, (("N", "C"), ("O", "I"), ("N", "C")))]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise Rejected(f"jax: dimension_numbers elements must have the same spatial letters; got {specs!r}")
    return specs


def spec_permutation(spec: str, channel_pair: tuple[str, str], rhs_spec: str) -> tuple[int, ...]:
    """jax's ``conv_general_permutations``: ``canonical = native.transpose(perm)``.

    Canonical order is ``(N or O, C or I, *spatial)`` with the spatial letters in ``rhs_spec``'s order,
    which is also the order of ``strides``, ``padding`` and ``rhs_dilation``.
    """
    spatial = sorted((i for i, c in enumerate(spec) if c not in channel_pair), key=lambda i: rhs_spec.index(spec[i]))
    return (spec.index(channel_pair[0]), spec.index(channel_pair[1])) + tuple(spatial)


def forward_padding_crops(mode: str, K: int) -> tuple[int, int]:
    """Crops of a stride-1 forward conv padded by ``lax.padtype_to_pads(mode)`` (case-insensitive):
    SAME pads ``(floor((K-1)/2), ceil((K-1)/2))``, SAME_LOWER the reverse, VALID ``(0, 0)``;
    ``crop = K-1-pad``, so lowercase 'same' is 'SAME' with the halves swapped and 'valid' gives o = i-K+1."""
    total = K - 1
    pad_before = {"SAME": total // 2, "SAME_LOWER": total - total // 2, "VALID": 0}[mode.upper()]
    pad_after = total - pad_before if mode.upper() != "VALID" else 0
    return K - 1 - pad_before, K - 1 - pad_after


def transpose_padding_crops(mode: str, K: int, s: int) -> tuple[int, int]:
    """conv_transpose's 'SAME' (``cb = 0 if s >= K else floor((K-s)/2)``, ``ca = K-s-cb``) and
    'VALID' (``cb = 0``, ``ca = min(K-s, 0)``)."""
    if mode == "SAME":
        before = 0 if s >= K else (K - s) // 2
        return before, K - s - before
    return 0, min(K - s, 0)


class JaxDialect(Dialect):
    """``jax.lax.conv_transpose`` and ``jax.lax.conv_general_dilated`` (option ``api``).

    ``strides`` is conv_transpose's ``strides`` and conv_general_dilated's ``lhs_dilation``; ``groups``
    (keyword of every method) is conv_general_dilated's ``feature_group_count``.
    """

    name = "jax"
    supports_groups = True
    channels_last_default = True
    options = (
        Option("api", "choice", "conv_transpose", "which jax.lax function", APIS),
        Option("strides", "per_dim", 1, "stride of the transposed conv (lhs_dilation for conv_general_dilated)"),
        Option("padding", "padding", "VALID", "'SAME', 'VALID', other padtype strings, or one (a, b) pair per dim",
               ("SAME", "VALID", "same", "valid", "SAME_LOWER")),
        Option("rhs_dilation", "per_dim", 1, "kernel dilation"),
        Option("transpose_kernel", "flag", False, "conv_transpose: flip spatial axes and swap O/I of rhs"),
        Option("use_consistent_padding", "flag", False, "conv_transpose: (a, b) tuples are torch-style crops"),
        Option("dimension_numbers", "choice", None, "None (the API's default), a shorthand or 3 spec strings",
               (None, "channels_last", "channels_first")),
    )

    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, **native) -> Geometry:
        """Canonical geometry; ``Rejected`` where jax raises, ``EmptyOutput`` where it returns length 0."""
        self.require_groups(groups)
        native = self.native(**native)
        api = _api(native)
        input_size, kernel_size, strides, dilation = spatial_args(
            input_size, kernel_size, strides=native["strides"], rhs_dilation=native["rhs_dilation"]
        )
        ndim = len(input_size)
        if any(v <= 0 for v in strides + dilation):
            raise Rejected(f"jax: All dilations must be positive (strides={strides}, rhs_dilation={dilation})")
        if api == "conv_transpose" and groups != 1:
            raise Rejected(f"jax: lax.conv_transpose has no feature_group_count (groups={groups}); use conv_general_dilated")
        if api == "conv_general_dilated" and (native["transpose_kernel"] or native["use_consistent_padding"]):
            raise Rejected("jax: conv_general_dilated has no transpose_kernel or use_consistent_padding parameter")
        resolve_dimension_numbers(ndim, native["dimension_numbers"], api)
        effective = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
        crops = _crops(native["padding"], effective, strides, api, native["use_consistent_padding"])
        geometry = Geometry(input_size, kernel_size, strides, dilation,
                            tuple(cb for cb, _ in crops), tuple(ca for _, ca in crops))
        for dim, (o, K) in enumerate(zip(geometry.output_size, effective)):
            if o + K - 1 < 0:
                raise Rejected(
                    f"jax: Negative padding is larger than the size of the corresponding dimension: dilated input "
                    f"plus padding is o+K-1 = {o}+{K}-1 < 0 in spatial dim {dim}")
            if o <= 0:
                raise EmptyOutput(f"jax returns an empty array: output length {o} in spatial dim {dim} (1-K <= o <= 0)")
        return geometry

    def forward_conv_padding(self, **native) -> str | None:
        """Why these native parameters run a *forward* conv (a string padding other than exactly 'SAME'
        or 'VALID' with every stride 1, on conv_transpose), or None. to_canonical still returns the
        geometry jax computes: ``forward_padding_crops``."""
        native = self.native(**native)
        padding, strides = native["padding"], native["strides"]
        if not isinstance(padding, str) or _api(native) != "conv_transpose" or native["use_consistent_padding"]:
            return None
        if padding in ("SAME", "VALID") or any(s != 1 for s in ((strides,) if is_int(strides) else strides)):
            return None
        return (f"lax.conv_transpose(padding={padding!r}) with all strides 1 silently runs a forward conv padded by "
                f"padtype_to_pads({padding!r}); only 'SAME' and 'VALID' are transposed-conv padding")

    def from_canonical(self, geometry: Geometry, *, groups: int = 1, api: str | None = None,
                       transpose_kernel: bool = False, use_consistent_padding: bool = False,
                       dimension_numbers=None) -> dict:
        """Native parameters for ``geometry``: 'SAME', then 'VALID', then explicit pairs
        ``(K-1-cb, K-1-ca)`` (or ``(cb, ca)`` tuples with use_consistent_padding). ``api`` defaults to
        conv_transpose for ``groups == 1`` and conv_general_dilated otherwise."""
        api = api or ("conv_transpose" if groups == 1 else "conv_general_dilated")
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}; got {api!r}")
        if api == "conv_transpose" and groups != 1:
            raise NotExpressible(f"lax.conv_transpose has no groups (groups={groups}); use api='conv_general_dilated'")
        if api == "conv_general_dilated" and (transpose_kernel or use_consistent_padding):
            raise NotExpressible("conv_general_dilated has no transpose_kernel or use_consistent_padding")
        if any(o <= 0 for o in geometry.output_size):
            raise NotExpressible(f"output size {geometry.output_size} is empty")
        effective, strides = geometry.effective_kernel, geometry.stride
        crops = list(zip(geometry.crop_before, geometry.crop_after))
        padding = None
        if api == "conv_transpose":
            for mode in ("SAME", "VALID"):
                if crops == [transpose_padding_crops(mode, K, s) for K, s in zip(effective, strides)]:
                    padding = mode
                    break
        if padding is None and use_consistent_padding:
            padding = tuple(crops)
        elif padding is None:
            padding = tuple((K - 1 - cb, K - 1 - ca) for K, (cb, ca) in zip(effective, crops))
        return {"api": api, "strides": tuple(strides), "padding": padding, "rhs_dilation": tuple(geometry.dilation),
                "transpose_kernel": transpose_kernel, "use_consistent_padding": use_consistent_padding,
                "dimension_numbers": dimension_numbers}

    def same_conventions(self, input_size: int, kernel_size: int, stride: int,
                         dilation: int = 1) -> dict[str, Geometry | str]:
        """``{"SAME": geometry}`` of conv_transpose's 'SAME' (``o = i*s``) in one spatial dim."""
        return {"SAME": self.to_canonical((input_size,), (kernel_size,), strides=stride, padding="SAME",
                                          rhs_dilation=dilation)}

    def call_arguments(self, ndim: int, *, groups: int = 1, **native) -> tuple[str, dict]:
        """``(function name in jax.lax, keyword arguments)`` so that ``getattr(lax, name)(lhs, rhs, **kwargs)``
        runs these native parameters; padding is passed exactly as given."""
        native = self.native(**native)
        api = _api(native)
        strides = per_dim(native["strides"], ndim, "strides")
        dilation = per_dim(native["rhs_dilation"], ndim, "rhs_dilation")
        specs = resolve_dimension_numbers(ndim, native["dimension_numbers"], api)
        if api == "conv_transpose":
            return api, {"strides": strides, "padding": native["padding"], "rhs_dilation": dilation,
                         "dimension_numbers": specs, "transpose_kernel": native["transpose_kernel"],
                         "use_consistent_padding": native["use_consistent_padding"]}
        return api, {"window_strides": (1,) * ndim, "padding": native["padding"], "lhs_dilation": strides,
                     "rhs_dilation": dilation, "dimension_numbers": specs, "feature_group_count": groups}

    # Layouts. The rhs is handled in (O, I, *k) order, then permuted into the rhs spec.
    def weight_from_canonical(self, weight: np.ndarray, *, groups: int = 1, **native) -> np.ndarray:
        """``(C_in, C_out/groups, *k)`` -> the native rhs (see the module docstring for the formula)."""
        weight = np.asarray(weight)
        native = self.native(**native)
        if _api(native) == "conv_transpose" and native["transpose_kernel"]:
            rhs_oi = weight
        else:
            rhs_oi = _flip_spatial(_swap_in_out(weight, groups))
        rhs_spec = self._specs(weight.ndim - 2, native)[1]
        return rhs_oi.transpose(np.argsort(spec_permutation(rhs_spec, ("O", "I"), rhs_spec)))

    def weight_to_canonical(self, weight: np.ndarray, *, groups: int = 1, **native) -> np.ndarray:
        """The native rhs -> ``(C_in, C_out/groups, *k)``."""
        weight = np.asarray(weight)
        native = self.native(**native)
        rhs_spec = self._specs(weight.ndim - 2, native)[1]
        rhs_oi = weight.transpose(spec_permutation(rhs_spec, ("O", "I"), rhs_spec))
        if _api(native) == "conv_transpose" and native["transpose_kernel"]:
            return rhs_oi
        return _swap_in_out(_flip_spatial(rhs_oi), groups)

    def input_to_canonical(self, x: np.ndarray, **native) -> np.ndarray:
        lhs_spec, rhs_spec, _ = self._specs(np.ndim(x) - 2, self.native(**native))
        return np.asarray(x).transpose(spec_permutation(lhs_spec, ("N", "C"), rhs_spec))

    def input_from_canonical(self, x: np.ndarray, **native) -> np.ndarray:
        lhs_spec, rhs_spec, _ = self._specs(np.ndim(x) - 2, self.native(**native))
        return np.asarray(x).transpose(np.argsort(spec_permutation(lhs_spec, ("N", "C"), rhs_spec)))

    def output_from_canonical(self, y: np.ndarray, **native) -> np.ndarray:
        _, rhs_spec, out_spec = self._specs(np.ndim(y) - 2, self.native(**native))
        return np.asarray(y).transpose(np.argsort(spec_permutation(out_spec, ("N", "C"), rhs_spec)))

    def output_to_canonical(self, y: np.ndarray, **native) -> np.ndarray:
        """The native output -> ``(N, C, *spatial)``."""
        _, rhs_spec, out_spec = self._specs(np.ndim(y) - 2, self.native(**native))
        return np.asarray(y).transpose(spec_permutation(out_spec, ("N", "C"), rhs_spec))

    def channels_last(self, **native) -> bool:
        native = self.native(**native)
        specs = native["dimension_numbers"]
        if specs is None or isinstance(specs, str):  # the shorthands put C at the same end at every rank
            specs = resolve_dimension_numbers(1, specs, _api(native))
        return specs[0][-1] == "C"

    @staticmethod
    def _specs(ndim: int, native: dict) -> tuple[str, str, str]:
        return resolve_dimension_numbers(ndim, native["dimension_numbers"], _api(native))


DIALECT = JaxDialect()


def vjp_forward_params(geometry: Geometry, *, groups: int = 1) -> dict:
    """``conv_general_dilated`` keyword arguments of the forward conv whose input-vjp is ``geometry``.

    The forward conv reads an input of length ``o`` (``geometry.output_size``) padded by ``(cb, ca)``
    with ``window_strides=s``, ``rhs_dilation=d``: its output length ``floor((o+cb+ca-K)/s)+1 = i``,
    and its transpose scatters ``x[j]*W[t]`` to padded position ``j*s+t*d``, i.e. ``full[cb : cb+o]``.
    Channels-first specs, so the rhs is the canonical weight itself: ``vjp_weight_from_canonical``.
    """
    letters = SPATIAL_LETTERS[:geometry.ndim]
    return {"window_strides": tuple(geometry.stride), "padding": geometry.padding(),
            "lhs_dilation": (1,) * geometry.ndim, "rhs_dilation": tuple(geometry.dilation),
            "dimension_numbers": ("NC" + letters, "OI" + letters, "NC" + letters), "feature_group_count": groups}


def vjp_weight_from_canonical(weight: np.ndarray) -> np.ndarray:
    """The forward rhs (``OI*k``) for ``vjp_forward_params``: ``rhs[c, m, t] = W[c, m, t]`` (PyTorch's
    forward layout: out = C_in of the transposed conv, in = C_out/groups); no flip, no regrouping."""
    return np.asarray(weight)


def _api(native: dict) -> str:
    if native["api"] not in APIS:
        raise ValueError(f"api must be one of {APIS}; got {native['api']!r}")
    return native["api"]


def _crops(padding, effective, strides, api: str, consistent: bool) -> list[tuple[int, int]]:
    """Per-dim ``(cb, ca)`` for a native ``padding`` (rules in the module docstring)."""
    ndim = len(effective)
    if isinstance(padding, str):
        if api == "conv_transpose" and padding in ("SAME", "VALID"):
            return [transpose_padding_crops(padding, K, s) for K, s in zip(effective, strides)]
        if api == "conv_transpose" and consistent:
            raise Rejected(f"jax: Invalid padding mode: {padding} (use_consistent_padding takes 'SAME', 'VALID' or tuples)")
        if any(s != 1 for s in strides):
            raise Rejected(f"jax: String padding {padding!r} is not implemented for transposed convolution using this "
                           f"op (strides={tuple(strides)})")
        if padding.upper() not in FORWARD_PADDINGS:
            raise Rejected(f"jax: Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}")
        return [forward_padding_crops(padding, K) for K in effective]
    entries = tuple(padding) if not is_int(padding) else ()
    if len(entries) != ndim or not all(_is_pair(entry) for entry in entries):
        raise Rejected(f"jax: padding must be a string or one (low, high) pair per spatial dim ({ndim}); got {padding!r}")
    if api == "conv_transpose" and consistent:
        # jax checks only isinstance(entry, tuple) here; a 3-tuple would pass it, unmodelled and rejected above.
        if not all(isinstance(entry, tuple) for entry in entries):
            raise Rejected(f"jax: Invalid padding mode: use_consistent_padding needs tuples; got {padding!r}")
        return [(int(a), int(b)) for a, b in entries]
    return [(K - 1 - int(a), K - 1 - int(b)) for K, (a, b) in zip(effective, entries)]


def _is_pair(entry) -> bool:
    try:
        values = tuple(entry)
    except TypeError:
        return False
    return len(values) == 2 and all(is_int(v) for v in values)


def _flip_spatial(array: np.ndarray) -> np.ndarray:
    return np.flip(array, axis=tuple(range(2, array.ndim)))


def _swap_in_out(array: np.ndarray, groups: int) -> np.ndarray:
    """``(G*A, B, *k)`` -> ``(G*B, A, *k)`` by ``out[g*B+b, a] = array[g*A+a, b]``: canonical
    ``(C_in, Mg)`` to the rhs's ``(O, I) = (C_out, Cg)``, and back (the map is its own inverse in form)."""
    first, second = array.shape[:2]
    if first % groups:
        raise ValueError(f"weight.shape[0]={first} is not divisible by groups={groups}")
    grouped = array.reshape(groups, first // groups, second, *array.shape[2:])
    return grouped.swapaxes(1, 2).reshape(groups * second, first // groups, *array.shape[2:])
