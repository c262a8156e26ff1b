"""The JAX adapter's repro text: the standalone Python a failing check's record carries, with the layout
and weight conversions written out, the ``lax`` call (or the vjp), the bias and the epilogue (one
``jax.jit`` function on a compiled lane), and ``y`` back as a canonical NumPy array.

Split from ``conformance.targets.jax`` (module size; writing source text is a concern of its own). The
variants' ``repro`` and ``repro_call`` delegate here. Pure string building: it runs in the test process,
so it imports no framework (nor the adapter), and it defines no ``TARGET``.
"""

from __future__ import annotations

import numpy as np

from oracles.dialects.jax import DIALECT, spec_permutation

from ..cases import Case
from .base import Lane


def _header(lane: Lane) -> list[str]:
    """The imports, x64, and the lane's device and dtype that every jax repro starts with."""
    kind, _, index = lane.device.partition(":")
    return [
        "import jax, jax.numpy as jnp, numpy as np",
        "from jax import lax",
        'jax.config.update("jax_enable_x64", True)  # float64 needs it; harmless otherwise',
        f"device = jax.devices({'cpu' if kind == 'cpu' else 'gpu'!r})[{int(index or 0)}]",
        f"dtype = jnp.{lane.dtype}",
    ]


def repro(variant, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
    """``ConvTranspose.repro``: the imports and lane settings, the variant's ``repro_call``, the bias add
    and the epilogue, and ``y`` (``[0]`` for an unbatched case; float32 for bfloat16)."""
    ndim = case.ndim
    precision = ", precision=lax.Precision.HIGHEST" if lane.precision == "highest" else ""
    lines = _header(lane) + [
        "# Canonical operands: x (N, C_in, *i), w (C_in, C_out/groups, *k), bias (C_out,).",
        "lhs = x[None]  # jax needs a batch dim" if case.batch is None else "lhs = x",
    ]
    prep, body = variant.repro_call(native, ndim, case.groups, precision)
    lines += prep
    conv_bias = case.bias and epilogue != "bias"
    lines.append(f"bias_t = {'put(bias)' if conv_bias else 'None'}")
    if epilogue in ("bias", "residual", "scale"):
        operand = epilogue if epilogue != "residual" or case.batch is not None else "residual[None]"
        lines.append(f"e_t = put({operand})  # the epilogue's operand")
    body = body + [f"out = out + bias_t.reshape((-1,){' + (1,) * ' + str(ndim)})"] * conv_bias + _repro_epilogue(epilogue, ndim)
    if lane.mode == "eager":
        lines += body
    else:
        lines += ["def f(lhs_t, rhs_t, bias_t, e_t=None):"] + [f"    {line}" for line in body] + [
            "    return out", f"out = jax.jit(f)(lhs_t, rhs_t, bias_t{', e_t' if epilogue in ('bias', 'residual', 'scale') else ''})  # the lane's mode: compiled"]
    lines.append("y = np.asarray(out)" + ("[0]" if case.batch is None else ""))
    if lane.dtype == "bfloat16":
        lines.append("y = y.astype(np.float32)")
    return "\n".join(lines) + "\n"


def gradients(variant, case: Case, native: dict, lane: Lane) -> str:
    """``ConvTranspose.repro_gradients``: the layout and weight conversions and the call as one function of
    the canonical ``x`` and ``w`` (conversions in ``jnp``, so ``jax.vjp`` pulls the gradient back through
    them), its pullback of ``upstream`` (one ``jax.jit`` function on a compiled lane), ``dx`` and ``dw``."""
    ndim = case.ndim
    precision = ", precision=lax.Precision.HIGHEST" if lane.precision == "highest" else ""
    prep, body = variant.repro_call(native, ndim, case.groups, precision, xp="jnp")
    unbatched = case.batch is None
    lines = _header(lane) + [
        "put = lambda a: jax.device_put(np.asarray(a).astype(dtype), device)",
        f"x_t, w_t, u_t = put({'x[None]' if unbatched else 'x'}), put(w), put({'upstream[None]' if unbatched else 'upstream'})",
        f"bias_t = {'put(bias)' if case.bias else 'None'}",
        "def forward(lhs, w):",
        *[f"    {line}" for line in prep],
        "    lhs_t, rhs_t = lhs, rhs",
        *[f"    {line}" for line in body],
        *([f"    out = out + bias_t.reshape((-1,) + (1,) * {ndim})"] if case.bias else []),
        "    return out",
        "def pullback(x_t, w_t, u_t):",
        "    return jax.vjp(forward, x_t, w_t)[1](u_t)",
        "dx, dw = " + ("pullback" if lane.mode == "eager" else "jax.jit(pullback)") + "(x_t, w_t, u_t)"
        + ("" if lane.mode == "eager" else "  # the lane's mode: compiled"),
        "dx, dw = np.asarray(dx).astype(np.float64), np.asarray(dw).astype(np.float64)",
    ]
    if unbatched:
        lines.append("dx = dx[0]")
    return "\n".join(lines) + "\n"


def lax_call(native, ndim, groups, precision, xp: str = "np") -> tuple[list[str], list[str]]:
    """``ConvTranspose.repro_call``: the permutations into the native specs and the weight conversion
    (flip, O/I swap, per group), then ``lax.<name>`` and the output's permutation back. ``xp``: the array
    module of the conversions (``jnp`` where they are differentiated, and the operands are already put)."""
    name, kwargs = DIALECT.call_arguments(ndim, groups=groups, **native)
    lhs_spec, rhs_spec, out_spec = kwargs["dimension_numbers"]
    to_lhs = tuple(int(v) for v in np.argsort(spec_permutation(lhs_spec, ("N", "C"), rhs_spec)))
    to_rhs = tuple(int(v) for v in np.argsort(spec_permutation(rhs_spec, ("O", "I"), rhs_spec)))
    from_out = spec_permutation(out_spec, ("N", "C"), rhs_spec)
    lines = []
    if lhs_spec[-1] == "C" and to_lhs == (0,) + tuple(range(2, ndim + 2)) + (1,):
        lines.append(f"lhs = {xp}.moveaxis(lhs, 1, -1)  # channels last: {lhs_spec}")
    elif to_lhs != tuple(range(ndim + 2)):
        lines.append(f"lhs = {xp}.transpose(lhs, {to_lhs})  # into {lhs_spec}")
    if name == "conv_transpose" and native["transpose_kernel"]:
        lines.append("w_oi = w  # transpose_kernel=True: rhs in (O, I, *k) order is w itself")
    else:
        lines.append(f"w_oi = {xp}.flip(w, axis=tuple(range(2, w.ndim)))  # jax correlates: flip the taps")
        if groups == 1:
            lines.append("w_oi = w_oi.swapaxes(0, 1)  # (C_in, C_out) -> (O, I) = (C_out, C_in)")
        else:
            lines.append(f"g, cg, mg = {groups}, w.shape[0] // {groups}, w.shape[1]  # O/I swap inside each group")
            lines.append("w_oi = w_oi.reshape(g, cg, mg, *w.shape[2:]).swapaxes(1, 2).reshape(g * mg, cg, *w.shape[2:])")
    identity = tuple(range(ndim + 2))
    if to_rhs == identity:
        lines.append(f"rhs = w_oi  # already {rhs_spec}")
    else:
        lines.append(f"rhs = {xp}.transpose(w_oi, {to_rhs})  # (O, I, *k) -> {rhs_spec}")
    if xp == "np":
        lines.append("put = lambda a: jax.device_put(np.asarray(a).astype(dtype), device)")
        lines.append("lhs_t, rhs_t = put(lhs), put(rhs)")
    args = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    body = [f"out = lax.{name}(lhs_t, rhs_t, {args}{precision})"]
    if tuple(from_out) != identity:
        body.append(f"out = jnp.transpose(out, {tuple(from_out)})  # {out_spec} -> (N, C, *spatial)")
    return lines, body


def vjp_call(native, ndim, groups, precision) -> tuple[list[str], list[str]]:
    """``Vjp.repro_call``: the forward conv's parameters, then its pullback at ``lhs``."""
    params = {name: value for name, value in native.items() if name != "primal_size"}
    return [
        "# The forward conv whose input-gradient is the transposed conv; its rhs is w itself (OIH..).",
        f"params = {params!r}",
        "put = lambda a: jax.device_put(np.asarray(a).astype(dtype), device)",
        "lhs_t, rhs_t = put(lhs), put(w)",
    ], [
        f"primal = jnp.zeros((lhs_t.shape[0], rhs_t.shape[1] * {groups}, *{tuple(native['primal_size'])!r}), dtype)",
        f"_, pullback = jax.vjp(lambda z: lax.conv_general_dilated(z, rhs_t, **params{precision}), primal)",
        "out = pullback(lhs_t)[0]  # already (N, C_out, *o)",
    ]


def _repro_epilogue(epilogue, ndim: int) -> list[str]:
    """The repro's lines for ``epilogue`` on ``out`` (its operand ``e_t``), as the adapter's ``_epilogue`` computes it."""
    return {
        None: [],
        "bias": [f"out = out + e_t.reshape((-1,) + (1,) * {ndim})  # the bias as an op of its own"],
        "relu": ["out = jax.nn.relu(out)"],
        "sigmoid": ["out = jax.nn.sigmoid(out)"],
        "residual": ["out = out + e_t"],
        "scale": [f"out = out * e_t.reshape((-1,) + (1,) * {ndim})  # one factor per output channel"],
    }[epilogue]
