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

Every variant runs in both modes (``conformance.modes``): ``eager`` calls the function op by op (each
primitive dispatched and compiled on its own, as a user's un-jitted code runs), ``compiled`` runs it
under ``jax.jit`` as one XLA program, where XLA's simplifier may fold the layout changes, pads, bias
and epilogue into the convolution. Gradients likewise: ``jax.vjp`` op by op, or ``jax.jit`` of it.

The repros' text is written in ``jax_repro`` (split out for module size: source text is a concern of its own).
"""

from __future__ import annotations

import numpy as np

from oracles.dialects.base import NotExpressible
from oracles.dialects.jax import (
    DIALECT,
    SPATIAL_LETTERS,
    spec_permutation,
    vjp_forward_params,
    vjp_weight_from_canonical,
)

from ..cases import Case
from . import jax_repro
from .base import CompiledCache, FrameworkError, Lane, NotApplicable, Runtime, Target, Variant, batched, computed

# Every dtype computes on jax's CPU backend too (checked: conv_transpose in float16 and bfloat16
# returns that dtype), so CPU lanes get all four.
ALL_DTYPES = ("float16", "bfloat16", "float32", "float64")

# One jitted function per (variant, native parameters, shapes, dtype, device, ...) on compiled lanes:
# each entry is one XLA compilation, and dropping an entry frees it. Measured on a 2-core CPU (2-D
# float32 conv_transpose + bias, 40 distinct shapes): first call of a new shape jit 32-45 ms, op by op
# 85-90 ms (each primitive -- rev, conv, transpose, add -- compiled on its own); repeated identical
# calls jit 0.06-0.08 ms, op by op 0.21-0.27 ms.
CACHE_SIZE = 256


class JaxRuntime(Runtime):
    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 lanes silently become float32 without it
        self._cache = CompiledCache(CACHE_SIZE)

    def environment(self) -> dict:
        import jax
        import jaxlib

        return {
            "framework": "jax",
            "version": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "devices": [str(device) for device in jax.devices()],
            "backend": jax.default_backend(),
            "default_matmul_precision": jax.config.jax_default_matmul_precision,
            "x64": bool(jax.config.jax_enable_x64),
        }

    def devices(self) -> tuple[str, ...]:
        import jax

        try:
            gpus = jax.devices("gpu")
        except RuntimeError:  # no GPU backend in this jaxlib, or no device
            gpus = []
        return ("cpu",) + tuple(f"gpu:{index}" for index in range(len(gpus)))

    def dtypes(self, device: str) -> tuple[str, ...]:
        return ALL_DTYPES

    def cached(self, key, make):
        """The jitted function for ``key``, made on a miss."""
        return self._cache.get(key, make)


class ConvTranspose(Variant):
    """``lax.conv_transpose`` with channels-last defaults and ``transpose_kernel=False``.

    ``lax.conv_transpose`` is Python over the one primitive: it turns 'SAME'/'VALID' into pads, flips
    and swaps the kernel for ``transpose_kernel``, and calls ``conv_general_dilated`` with
    ``lhs_dilation`` = the strides. For the same case its conv has the window strides, pads and
    dilations of the ``conv_general_dilated`` variant's, in other dimension numbers
    (``tests/test_target_jax.py`` compares their jaxprs), so it, like the variants below, spells that
    call (``Variant.spells``): checked for its translation, its gradients on float32."""

    name, dialect, checks_gradients = "conv_transpose", "jax", True
    spells = "conv_general_dilated"  # the same primitive with the same window, in channels-last dimension numbers
    modes = ("eager", "compiled")
    epilogues = ("bias", "relu", "sigmoid", "residual", "scale")
    options: dict = {"api": "conv_transpose"}

    # -- translation -----------------------------------------------------------------------------

    def space(self, lane: Lane) -> dict:
        return {"groups": "none"}  # lax.conv_transpose has no feature_group_count

    def native(self, case: Case) -> dict:
        if case.groups != 1:
            raise NotApplicable(f"jax {self.name}: lax.conv_transpose has no groups (groups={case.groups})")
        return self._from_canonical(case, self.options_for(case))

    def options_for(self, case: Case) -> dict:
        return self.options

    def _from_canonical(self, case: Case, options: dict) -> dict:
        try:
            return DIALECT.from_canonical(case.geometry, groups=case.groups, **options)
        except NotExpressible as error:
            raise NotApplicable(f"jax {self.name}: {error}") from None

    # -- execution -------------------------------------------------------------------------------

    def call(self, runtime, native, x, w, bias, groups, lane: Lane, epilogue=None) -> np.ndarray:
        x, had_batch = batched(x, w)
        lhs, rhs = self.native_operands(native, x, w, groups)
        name, operand = epilogue or (None, None)
        if name == "residual" and not had_batch:
            operand = np.asarray(operand)[None]
        ndim = x.ndim - 2
        if lane.mode == "eager":
            out = _eager_convolution(self.convolution(native, groups, lane, ndim), lhs, rhs, bias, lane, ndim)
            if name is not None:  # the epilogue as its own jax op, on the canonical layout
                try:
                    on_device, operand = _put([out, operand], lane)
                    out = np.asarray(_epilogue(on_device, name, operand, ndim))
                except Exception as error:
                    raise FrameworkError.of(error) from None
            return computed(out if had_batch else out[0])
        forward = self.build(native, groups, lane, ndim)

        def function(lhs, rhs, bias, operand):
            return _epilogue(forward(lhs, rhs, bias), name, operand, ndim)

        key = ("forward", self.name, repr(sorted(native.items())), groups, lane, bias is None, lhs.shape, rhs.shape, name)
        try:
            out = np.asarray(_in_mode(runtime, key, function, lane)(*_put([lhs, rhs, bias, operand], lane)))
        except Exception as error:  # anything jax raised, at trace, compile or run time
            raise FrameworkError.of(error) from None
        return computed(out if had_batch else out[0])

    def gradients(self, runtime, native, x, w, bias, groups, upstream, lane: Lane):
        """``(d x, d w)`` of ``sum(upstream * y)`` by ``jax.vjp`` with respect to the native operands,
        mapped back with the dialect's layout conversions (permutations and flips, so the gradient
        of the canonical operand is the native gradient converted like the operand itself)."""
        import jax

        if not self.checks_gradients:
            return super().gradients(runtime, native, x, w, bias, groups, upstream, lane)
        x, had_batch = batched(x, w)
        upstream = np.asarray(upstream)[None] if not had_batch else np.asarray(upstream)
        lhs, rhs = self.native_operands(native, x, w, groups)
        if lane.mode == "eager":
            # The convolution's own vjp, the cotangent permuted to its native layout in NumPy (exact): the
            # bias and the permutation back to canonical change neither gradient, and each would cost an
            # op-by-op compilation per shape (see _eager_convolution).
            call, to_canonical = self.convolution(native, groups, lane, x.ndim - 2)
            bias, upstream = None, upstream.transpose(np.argsort(to_canonical))
            forward = lambda lhs, rhs, bias: call(lhs, rhs)  # noqa: E731
        else:
            forward = self.build(native, groups, lane, x.ndim - 2)

        def pullback(lhs, rhs, bias, cotangent):
            _, back = jax.vjp(lambda lhs, rhs: forward(lhs, rhs, bias), lhs, rhs)
            return back(cotangent)

        key = ("gradients", self.name, repr(sorted(native.items())), groups, lane, bias is None, lhs.shape, rhs.shape)
        try:
            d_lhs, d_rhs = _in_mode(runtime, key, pullback, lane)(*_put([lhs, rhs, bias, upstream], lane))
            d_lhs, d_rhs = np.asarray(d_lhs), np.asarray(d_rhs)
        except Exception as error:
            raise FrameworkError.of(error) from None
        d_x = DIALECT.input_to_canonical(d_lhs, **native)
        d_w = DIALECT.weight_to_canonical(d_rhs, groups=groups, **native)
        return computed(d_x if had_batch else d_x[0]), computed(d_w)

    def native_operands(self, native, x, w, groups):
        """Canonical ``x`` (batched) and ``w`` as the native lhs and rhs (NumPy, still float64)."""
        return DIALECT.input_from_canonical(x, **native), DIALECT.weight_from_canonical(w, groups=groups, **native)

    def build(self, native, groups, lane, ndim):
        """``f(lhs, rhs, bias) -> canonical (N, C_out, *o)``: the jax call, the layout change back to
        channels-first and the bias add, all in the lane's dtype (the framework's own rounding)."""
        return _with_bias(*self.convolution(native, groups, lane, ndim), ndim)

    def convolution(self, native, groups, lane, ndim):
        """``(f(lhs, rhs) -> native output, permutation to canonical)``: the jax call alone."""
        from jax import lax

        name, kwargs = DIALECT.call_arguments(ndim, groups=groups, **native)
        function = getattr(lax, name)
        _, rhs_spec, out_spec = kwargs["dimension_numbers"]
        precision = _precision(lane)
        return (lambda lhs, rhs: function(lhs, rhs, **kwargs, precision=precision)), spec_permutation(out_spec, ("N", "C"), rhs_spec)

    # -- reproduction ----------------------------------------------------------------------------

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """Standalone code: imports, the layout and weight conversions written out, the jax call (with
        the bias add and the epilogue: one ``jax.jit`` function on a compiled lane), and ``y`` as a
        canonical ``(N, C_out, *o)`` NumPy array (float32 for bfloat16); written by ``jax_repro``."""
        return jax_repro.repro(self, case, native, lane, epilogue)

    def repro_call(self, native, ndim, groups, precision, xp="np") -> tuple[list[str], list[str]]:
        """``(prep, body)``: NumPy lines that make ``lhs_t`` and ``rhs_t`` (device arrays), then the jax
        lines that compute ``out`` from them (the part a compiled lane jits); ``xp="jnp"``: the
        conversions in ``jnp`` on operands already put, for the gradient repro."""
        return jax_repro.lax_call(native, ndim, groups, precision, xp)

    def repro_gradients(self, case: Case, native: dict, lane: Lane) -> str:
        """``dx``, ``dw`` (canonical NumPy) of ``sum(upstream * y)`` by ``jax.vjp`` (``jax_repro``)."""
        return jax_repro.gradients(self, case, native, lane)



class ConvTransposeKernel(ConvTranspose):
    """``transpose_kernel=True`` (rhs ``W[c, m, t] = rhs[t, m, c]``) with ``use_consistent_padding=True``
    and explicit ``(cb, ca)`` tuples, always (never a string)."""

    name, checks_gradients = "conv_transpose_kernel", False
    spells = "conv_general_dilated"  # jax flips and swaps the kernel, then calls the same conv
    options = {"api": "conv_transpose", "transpose_kernel": True, "use_consistent_padding": True}

    def native(self, case: Case) -> dict:
        native = super().native(case)
        # from_canonical would still pick 'SAME'/'VALID' when they fit; this variant exists to
        # exercise the consistent-padding tuples.
        native["padding"] = tuple(case.geometry.padding())
        return native


class ChannelsFirst(ConvTranspose):
    """conv_transpose with ``('NC..', 'OI..' or 'IO..', 'NC..')``; the rhs spec alternates with the
    case's seed so both kernel orders are exercised."""

    name, checks_gradients = "channels_first", False
    spells = "conv_general_dilated"  # the same conv with other dimension_numbers (XLA lays it out as it likes)

    def options_for(self, case: Case) -> dict:
        letters = SPATIAL_LETTERS[:case.ndim]
        specs = ("NC" + letters, ("OI" if case.seed % 2 == 0 else "IO") + letters, "NC" + letters)
        return {"api": "conv_transpose", "dimension_numbers": specs}


class ConvGeneralDilated(ConvTranspose):
    """``lhs_dilation=s``, pads ``(K-1-cb, K-1-ca)``, ``feature_group_count=groups``: the only jax
    spelling with groups."""

    name, checks_gradients = "conv_general_dilated", True
    spells = ""  # the primitive itself: the variant every jax kernel check runs on, with groups
    options = {"api": "conv_general_dilated"}

    def space(self, lane: Lane) -> dict:
        return {}

    def native(self, case: Case) -> dict:
        return self._from_canonical(case, self.options)


class Vjp(ConvTranspose):
    """``jax.vjp`` of the forward ``conv_general_dilated`` (``window_strides=s``, padding ``(cb, ca)``,
    rhs = W itself) at an input of length ``o``, pulled back at ``x`` (computed as the forward's
    ``jax.linear_transpose``, which is what its vjp's pullback is). Native parameters are
    ``vjp_forward_params`` plus ``primal_size`` (the forward conv's input length ``o``, which its
    parameters alone leave ambiguous because of the floor in ``floor((o+cb+ca-K)/s)+1 = i``)."""

    name, checks_gradients = "vjp", False
    spells = ""  # jax's transpose rule chooses the conv's pads and dilations itself: a call of its own

    def space(self, lane: Lane) -> dict:
        return {}

    def native(self, case: Case) -> dict:
        geometry = case.geometry
        return {**vjp_forward_params(geometry, groups=case.groups), "primal_size": tuple(geometry.output_size)}

    def native_operands(self, native, x, w, groups):
        return np.asarray(x), vjp_weight_from_canonical(w)

    def convolution(self, native, groups, lane, ndim):
        import jax
        from jax import lax

        params = {name: value for name, value in native.items() if name != "primal_size"}
        primal_size = tuple(native["primal_size"])
        precision = _precision(lane)

        def call(lhs, rhs):
            # The forward conv maps (N, C_out, *o) to (N, C_in, *i); rhs is (C_in, C_out/groups, *k).
            # Its vjp's pullback is its linear transpose (jax's vjp of a linear function transposes it):
            # the same transposed conv, without evaluating the forward, which op by op would compile
            # the forward conv and the zeros it runs on for every new shape too.
            primal = jax.ShapeDtypeStruct((lhs.shape[0], rhs.shape[1] * groups, *primal_size), lhs.dtype)
            return jax.linear_transpose(lambda z: lax.conv_general_dilated(z, rhs, **params, precision=precision), primal)(lhs)[0]

        return call, tuple(range(ndim + 2))

    def repro_call(self, native, ndim, groups, precision, xp="np") -> list[str]:
        return jax_repro.vjp_call(native, ndim, groups, precision)


# ---- worker-side helpers ------------------------------------------------------------------------


def _in_mode(runtime, key, function, lane: Lane):
    """``function`` as the lane's mode runs it: as it is (op by op) or jitted (cached per ``key``)."""
    import jax

    if lane.mode == "eager":
        return function
    return runtime.cached(key, lambda: jax.jit(function))


def _epilogue(out, name, operand, ndim):
    """The epilogue ``name`` (``oracles.epilogues``) on the canonical-layout output, in jax ops."""
    import jax

    if name is None:
        return out
    if name == "bias":
        return out + operand.reshape((-1,) + (1,) * ndim)
    if name == "relu":
        return jax.nn.relu(out)
    if name == "sigmoid":
        return jax.nn.sigmoid(out)
    if name == "residual":
        return out + operand
    if name == "scale":
        return out * operand.reshape((-1,) + (1,) * ndim)
    raise ValueError(f"unknown epilogue {name!r}")


def _precision(lane: Lane):
    from jax import lax

    return lax.Precision.HIGHEST if lane.precision == "highest" else None  # None: jax's default


def _eager_convolution(convolution, lhs, rhs, bias, lane: Lane, ndim: int) -> np.ndarray:
    """The eager call with the convolution as its one jax op: op by op, every jax op compiles its own
    program for each new shape (about 20 ms for the convolution, 30-40 ms more for each transpose or
    add on a 2-core CPU), and the suite draws a new shape almost every example. The layout change back
    to canonical is a permutation (exact in NumPy) and the bias add one rounding in the lane's dtype,
    which NumPy (ml_dtypes for bfloat16) rounds as jax's own add does. Compiled lanes and epilogues
    keep them in jax, where a compiler may fuse them."""
    call, to_canonical = convolution
    try:
        lhs, rhs, bias = _put([lhs, rhs, bias], lane)
        out = np.asarray(call(lhs, rhs)).transpose(to_canonical)
        if bias is not None:
            out = out + np.asarray(bias).reshape((-1,) + (1,) * ndim)
    except Exception as error:  # anything jax raised, at trace, compile or run time
        raise FrameworkError.of(error) from None
    return out


def _with_bias(call, to_canonical, ndim):
    """``f(lhs, rhs, bias)``: ``call``, its output permuted to ``(N, C, *spatial)``, plus the bias."""
    import jax.numpy as jnp

    def run(lhs, rhs, bias):
        out = jnp.transpose(call(lhs, rhs), to_canonical)
        if bias is not None:
            out = out + bias.reshape((-1,) + (1,) * ndim)
        return out

    return run


def _device(name: str):
    import jax

    kind, _, index = name.partition(":")
    if kind == "cpu":
        return jax.devices("cpu")[0]
    if kind in ("gpu", "cuda"):
        return jax.devices("gpu")[int(index or 0)]
    raise ValueError(f"unknown device {name!r} for jax; use 'cpu' or 'gpu:N'")


def _put(arrays, lane: Lane):
    """Cast on the host (NumPy rounds to nearest even, as jax does), then place on the lane's device."""
    import jax
    import jax.numpy as jnp

    dtype, device = getattr(jnp, lane.dtype), _device(lane.device)
    return [None if a is None else jax.device_put(np.asarray(a).astype(dtype), device) for a in arrays]


TARGET = Target(
    framework="jax",
    requires=("jax",),
    variants=(ConvTranspose(), ConvTransposeKernel(), ChannelsFirst(), ConvGeneralDilated(), Vjp()),
    load=JaxRuntime,
    environment={"JAX_ENABLE_X64": "1"},  # also set by the runtime: float64 lanes silently become float32 without it
    # JAX's persistent compilation cache keeps every XLA program (op-by-op primitives too), however quick
    # to compile: the suite's are small and many.
    compile_cache={"JAX_COMPILATION_CACHE_DIR": "{cache}/jax", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                   "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"},
)
