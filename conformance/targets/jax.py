"""The JAX adapter: ``lax.conv_transpose``, ``lax.conv_general_dilated`` and the vjp of a forward conv.

Imported only inside a worker (``JAX_ENABLE_X64=1`` there); x64 is also switched on here, because
float64 lanes silently become float32 without it.

Variants (all in the ``jax`` dialect, ``oracles.dialects.jax``), with ``K = d*(k-1)+1`` per dim:

- ``conv_transpose``: channels-last defaults, ``transpose_kernel=False`` (rhs ``W[c, m, t] =
  rhs[K-1-t, c, m]``), padding as ``from_canonical`` prefers: 'SAME', 'VALID', else pairs
  ``(K-1-cb, K-1-ca)``.
- ``conv_transpose_kernel``: ``transpose_kernel=True`` (rhs ``W[c, m, t] = rhs[t, m, c]``) with
  ``use_consistent_padding=True`` and explicit ``(cb, ca)`` tuples, always (never a string).
- ``channels_first``: conv_transpose with ``('NC..', 'OI..' or 'IO..', 'NC..')``; the rhs spec
  alternates with the case's seed so both kernel orders are exercised.
- ``conv_general_dilated``: ``lhs_dilation=s``, pads ``(K-1-cb, K-1-ca)``, ``feature_group_count=groups``
  (rhs ``rhs[g*Mg+m, c, t] = W[g*Cg+c, m, k-1-t]``): the only jax spelling with groups.
- ``vjp``: ``jax.vjp`` of the forward ``conv_general_dilated`` (``window_strides=s``, padding
  ``(cb, ca)``, rhs = W itself) at an input of length ``o``, pulled back at ``x``.

The conv_transpose variants raise ``NotApplicable`` for groups > 1.
"""

from __future__ import annotations

from collections import OrderedDict

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
from jax import lax

from oracles.dialects.base import NotExpressible
from oracles.dialects.jax import (
    DIALECT,
    SPATIAL_LETTERS,
    spec_permutation,
    vjp_forward_params,
    vjp_weight_from_canonical,
)

from ..cases import Case
from .base import FrameworkError, Lane, NotApplicable, Target

jax.config.update("jax_enable_x64", True)

VARIANTS = ("conv_transpose", "conv_transpose_kernel", "channels_first", "conv_general_dilated", "vjp")
GRADIENT_VARIANTS = ("conv_transpose", "conv_general_dilated")
DTYPES = {"float16": jnp.float16, "bfloat16": jnp.bfloat16, "float32": jnp.float32, "float64": jnp.float64}
# Every dtype computes on jax's CPU backend too (checked: conv_transpose in float16 and bfloat16
# returns that dtype), so CPU lanes get all four.
ALL_DTYPES = ("float16", "bfloat16", "float32", "float64")

# One jitted function per (variant, native parameters, shapes, dtype, device, ...): each entry is
# one XLA compilation, and dropping an entry frees it. jit rather than eager, measured on this 2-core
# CPU (2-D float32 conv_transpose + bias, 2x3x(4..10)x(3..8) inputs, 40 distinct shapes per run, two
# runs each): first call of a new shape jit 32-45 ms, eager 85-90 ms (eager compiles each primitive
# -- rev, conv, transpose, add -- on its own); repeated identical calls jit 0.06-0.08 ms, eager
# 0.21-0.27 ms. jit wins both ways, so every call is jitted.
CACHE_SIZE = 256


class JaxTarget(Target):
    framework = "jax"

    def __init__(self):
        self._cache: OrderedDict = OrderedDict()

    # Description.
    def environment(self) -> dict:
        return {
            "framework": "jax",
            "version": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "devices": [str(device) for device in jax.devices()],
            "backend": jax.default_backend(),
            "default_matmul_precision": jax.config.jax_default_matmul_precision,
            "x64": bool(jax.config.jax_enable_x64),
        }

    def variants(self) -> tuple[str, ...]:
        return VARIANTS

    def devices(self) -> tuple[str, ...]:
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:  # no GPU backend in this jaxlib, or no device
            gpus = []
        return ("cpu",) + tuple(f"gpu:{index}" for index in range(len(gpus)))

    def dtypes(self, device: str) -> tuple[str, ...]:
        return ALL_DTYPES

    def dialect(self, variant: str) -> str:
        return "jax"

    # Native parameters.
    def native(self, variant: str, case: Case) -> dict:
        """The jax parameters for ``case``; ``vjp`` returns ``vjp_forward_params`` plus
        ``primal_size`` (the forward conv's input length ``o``, which its parameters alone leave
        ambiguous because of the floor in ``floor((o+cb+ca-K)/s)+1 = i``)."""
        _check_variant(variant)
        geometry = case.geometry
        if variant == "vjp":
            return {**vjp_forward_params(geometry, groups=case.groups), "primal_size": tuple(geometry.output_size)}
        if variant != "conv_general_dilated" and case.groups != 1:
            raise NotApplicable(f"jax {variant}: lax.conv_transpose has no groups (groups={case.groups})")
        options = {
            "conv_transpose": dict(api="conv_transpose"),
            "conv_transpose_kernel": dict(api="conv_transpose", transpose_kernel=True, use_consistent_padding=True),
            "channels_first": dict(api="conv_transpose", dimension_numbers=_channels_first_specs(geometry.ndim, case.seed)),
            "conv_general_dilated": dict(api="conv_general_dilated"),
        }[variant]
        try:
            native = DIALECT.from_canonical(geometry, groups=case.groups, **options)
        except NotExpressible as error:
            raise NotApplicable(f"jax {variant}: {error}") from None
        if variant == "conv_transpose_kernel":
            # from_canonical would still pick 'SAME'/'VALID' when they fit; this variant exists to
            # exercise the consistent-padding tuples.
            native["padding"] = tuple(geometry.padding())
        return native

    # Calls.
    def forward_native(self, variant, native, x, w, bias, groups, lane: Lane) -> np.ndarray:
        _check_variant(variant)
        x, batched = _batched(x, w)
        device, dtype = _device(lane.device), DTYPES[lane.dtype]
        lhs, rhs = self._native_operands(variant, native, x, w, groups)
        key = ("forward", variant, repr(sorted(native.items())), groups, lane, bias is None, lhs.shape, rhs.shape)
        function = self._cached(key, lambda: jax.jit(self._build(variant, native, groups, lane, x.ndim - 2)))
        try:
            out = function(*_put([lhs, rhs, bias], dtype, device))
            out = np.asarray(out)
        except Exception as error:  # anything jax raised, at trace, compile or run time
            raise _framework_error(error) from None
        return _result(out if batched else out[0])

    def gradients(self, variant: str, case: Case, x, w, bias, upstream, lane: Lane):
        """``(d x, d w)`` of ``sum(upstream * y)`` by ``jax.vjp`` with respect to the native operands,
        mapped back with the dialect's layout conversions (permutations and flips, so the gradient
        of the canonical operand is the native gradient converted like the operand itself)."""
        if variant not in GRADIENT_VARIANTS:
            raise NotApplicable(f"jax {variant}: no gradient check")
        native = self.native(variant, case)
        x, batched = _batched(x, w)
        upstream = np.asarray(upstream)[None] if not batched else np.asarray(upstream)
        device, dtype = _device(lane.device), DTYPES[lane.dtype]
        lhs, rhs = self._native_operands(variant, native, x, w, case.groups)
        forward = self._build(variant, native, case.groups, lane, x.ndim - 2)

        def pullback(lhs, rhs, bias, cotangent):
            _, back = jax.vjp(lambda lhs, rhs: forward(lhs, rhs, bias), lhs, rhs)
            return back(cotangent)

        key = ("gradients", variant, repr(sorted(native.items())), case.groups, lane, bias is None, lhs.shape, rhs.shape)
        function = self._cached(key, lambda: jax.jit(pullback))
        try:
            d_lhs, d_rhs = function(*_put([lhs, rhs, bias, upstream], dtype, device))
            d_lhs, d_rhs = np.asarray(d_lhs), np.asarray(d_rhs)
        except Exception as error:
            raise _framework_error(error) from None
        d_x = DIALECT.input_to_canonical(d_lhs, **native)
        d_w = DIALECT.weight_to_canonical(d_rhs, groups=case.groups, **native)
        return _result(d_x if batched else d_x[0]), _result(d_w)

    def _native_operands(self, variant, native, x, w, groups):
        """Canonical ``x`` (batched) and ``w`` as the native lhs and rhs (NumPy, still float64)."""
        if variant == "vjp":
            return np.asarray(x), vjp_weight_from_canonical(w)
        return DIALECT.input_from_canonical(x, **native), DIALECT.weight_from_canonical(w, groups=groups, **native)

    def _build(self, variant, native, groups, lane, ndim):
        """``f(lhs, rhs, bias) -> canonical (N, C_out, *o)``: the jax call, the layout change back to
        channels-first and the bias add, all in the lane's dtype (the framework's own rounding)."""
        precision = lax.Precision.HIGHEST if lane.precision == "highest" else None  # None: jax's default
        if variant == "vjp":
            params = {name: value for name, value in native.items() if name != "primal_size"}
            primal_size = tuple(native["primal_size"])

            def call(lhs, rhs):
                # The forward conv maps (N, C_out, *o) to (N, C_in, *i); rhs is (C_in, C_out/groups, *k).
                primal = jnp.zeros((lhs.shape[0], rhs.shape[1] * groups, *primal_size), lhs.dtype)
                _, back = jax.vjp(lambda z: lax.conv_general_dilated(z, rhs, **params, precision=precision), primal)
                return back(lhs)[0]

            to_canonical = tuple(range(ndim + 2))
        else:
            name, kwargs = DIALECT.call_arguments(ndim, groups=groups, **native)
            function = getattr(lax, name)
            _, rhs_spec, out_spec = kwargs["dimension_numbers"]
            to_canonical = spec_permutation(out_spec, ("N", "C"), rhs_spec)

            def call(lhs, rhs):
                return function(lhs, rhs, **kwargs, precision=precision)

        def run(lhs, rhs, bias):
            out = jnp.transpose(call(lhs, rhs), to_canonical)
            if bias is not None:
                out = out + bias.reshape((-1,) + (1,) * ndim)
            return out

        return run

    def _cached(self, key, make):
        """The jitted function for ``key``, made on a miss; least recently used entries are dropped."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        function = self._cache[key] = make()
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return function

    # Reproduction.
    def repro(self, variant: str, case: Case, lane: Lane) -> str:
        """Standalone code: imports, the layout and weight conversions written out, the jax call, and
        ``y`` as a canonical ``(N, C_out, *o)`` NumPy array (float32 for bfloat16)."""
        native = self.native(variant, case)
        ndim, groups = case.ndim, case.groups
        precision = ", precision=lax.Precision.HIGHEST" if lane.precision == "highest" else ""
        kind, _, index = lane.device.partition(":")
        lines = [
            "import jax, jax.numpy as jnp, numpy as np",
            "from jax import lax",
            'jax.config.update("jax_enable_x64", True)  # float64 needs it; harmless otherwise',
            f"device = jax.devices({'cpu' if kind == 'cpu' else 'gpu'!r})[{int(index or 0)}]",
            f"dtype = jnp.{lane.dtype}",
            "# Canonical operands: x (N, C_in, *i), w (C_in, C_out/groups, *k), bias (C_out,).",
            "lhs = x[None]  # jax needs a batch dim" if case.batch is None else "lhs = x",
        ]
        if variant == "vjp":
            params = {name: value for name, value in native.items() if name != "primal_size"}
            lines += [
                "# The forward conv whose input-gradient is the transposed conv; its rhs is w itself (OIH..).",
                f"params = {params!r}",
                "put = lambda a: jax.device_put(np.asarray(a).astype(dtype), device)",
                "lhs, rhs = put(lhs), put(w)",
                f"primal = jnp.zeros((lhs.shape[0], rhs.shape[1] * {groups}, *{tuple(native['primal_size'])!r}), dtype)",
                f"_, pullback = jax.vjp(lambda z: lax.conv_general_dilated(z, rhs, **params{precision}), primal)",
                "out = pullback(lhs)[0]  # already (N, C_out, *o)",
            ]
        else:
            lines += self._repro_native_call(native, ndim, groups, precision)
        if case.bias:
            lines.append(f"out = out + jnp.asarray(bias, dtype).reshape((-1,){' + (1,) * ' + str(ndim)})")
        lines.append("y = np.asarray(out)" + ("[0]" if case.batch is None else ""))
        if lane.dtype == "bfloat16":
            lines.append("y = y.astype(np.float32)")
        return "\n".join(lines) + "\n"

    def _repro_native_call(self, native, ndim, groups, precision) -> list[str]:
        name, kwargs = DIALECT.call_arguments(ndim, groups=groups, **native)
        lhs_spec, rhs_spec, out_spec = kwargs["dimension_numbers"]
        to_lhs = tuple(int(v) for v in np.argsort(spec_permutation(lhs_spec, ("N", "C"), rhs_spec)))
        to_rhs = tuple(int(v) for v in np.argsort(spec_permutation(rhs_spec, ("O", "I"), rhs_spec)))
        from_out = spec_permutation(out_spec, ("N", "C"), rhs_spec)
        lines = []
        if lhs_spec[-1] == "C" and to_lhs == (0,) + tuple(range(2, ndim + 2)) + (1,):
            lines.append(f"lhs = np.moveaxis(lhs, 1, -1)  # channels last: {lhs_spec}")
        elif to_lhs != tuple(range(ndim + 2)):
            lines.append(f"lhs = np.transpose(lhs, {to_lhs})  # into {lhs_spec}")
        if name == "conv_transpose" and native["transpose_kernel"]:
            lines.append("w_oi = w  # transpose_kernel=True: rhs in (O, I, *k) order is w itself")
        else:
            lines.append("w_oi = np.flip(w, axis=tuple(range(2, w.ndim)))  # jax correlates: flip the taps")
            if groups == 1:
                lines.append("w_oi = w_oi.swapaxes(0, 1)  # (C_in, C_out) -> (O, I) = (C_out, C_in)")
            else:
                lines.append(f"g, cg, mg = {groups}, w.shape[0] // {groups}, w.shape[1]  # O/I swap inside each group")
                lines.append("w_oi = w_oi.reshape(g, cg, mg, *w.shape[2:]).swapaxes(1, 2).reshape(g * mg, cg, *w.shape[2:])")
        identity = tuple(range(ndim + 2))
        if to_rhs == identity:
            lines.append(f"rhs = w_oi  # already {rhs_spec}")
        else:
            lines.append(f"rhs = np.transpose(w_oi, {to_rhs})  # (O, I, *k) -> {rhs_spec}")
        lines.append("put = lambda a: jax.device_put(np.asarray(a).astype(dtype), device)")
        args = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        lines.append(f"out = lax.{name}(put(lhs), put(rhs), {args}{precision})")
        if tuple(from_out) != identity:
            lines.append(f"out = jnp.transpose(out, {tuple(from_out)})  # {out_spec} -> (N, C, *spatial)")
        return lines


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"jax has no variant {variant!r}; it has {', '.join(VARIANTS)}")


def _channels_first_specs(ndim: int, seed: int) -> tuple[str, str, str]:
    letters = SPATIAL_LETTERS[:ndim]
    return ("NC" + letters, ("OI" if seed % 2 == 0 else "IO") + letters, "NC" + letters)


def _batched(x, w) -> tuple[np.ndarray, bool]:
    """``x`` with a batch dim (jax has no unbatched convolution) and whether it had one."""
    x = np.asarray(x)
    return (x, True) if x.ndim == np.ndim(w) else (x[None], False)


def _device(name: str):
    kind, _, index = name.partition(":")
    if kind == "cpu":
        return jax.devices("cpu")[0]
    if kind in ("gpu", "cuda"):
        return jax.devices("gpu")[int(index or 0)]
    raise ValueError(f"unknown device {name!r} for jax; use 'cpu' or 'gpu:N'")


def _put(arrays, dtype, device):
    """Cast on the host (NumPy rounds to nearest even, as jax does), then place on ``device``."""
    return [None if a is None else jax.device_put(np.asarray(a).astype(dtype), device) for a in arrays]


def _result(array: np.ndarray) -> np.ndarray:
    """bfloat16 comes back as float32 holding the same values (every bfloat16 is a float32), so
    callers need no ml_dtypes; other dtypes are returned as computed."""
    return array.astype(np.float32) if array.dtype == jnp.bfloat16 else array


def _framework_error(error: Exception) -> FrameworkError:
    text = str(error).strip()
    return FrameworkError(type(error).__name__, text.splitlines()[0] if text else "")


TARGET = JaxTarget()
