"""Epilogues: the elementwise ops compilers fuse after a transposed convolution, and their error bounds.

The suite checks ``epilogue(conv_transpose(...))`` against the oracle's float64 ``conv_transpose``
followed by the same epilogue in float64 (``apply_epilogue``), within ``epilogue_bound``:

- ``"bias"``: ``y + b``, the convolution computed *without* bias and the bias added as a separate op
  (the pattern compilers fuse); ``b`` broadcast along the channel axis.
- ``"relu"``: ``max(y, 0)``.
- ``"sigmoid"``: ``1 / (1 + exp(-y))``.
- ``"residual"``: ``y + r``, ``r`` a second tensor of ``y``'s shape.
- ``"scale"``: ``y * s``, ``s`` one factor per channel broadcast along the channel axis (the affine
  part of an inference-mode batch norm, which compilers fold into the convolution's weights).

``epilogue_bound`` carries the convolution's per-element bound ``B`` (``oracles.error_bound`` in the
lane's dtype, final rounding included: ``|y_hat - y| <= B``) through the epilogue. It covers the
epilogue computed in ``dtype`` on the rounded ``y_hat``, computed in a wider format and rounded back,
and computed in a fused kernel on the wider accumulator ``a`` (``|a - y| <= B`` too) before the one
final rounding. With ``u`` the unit roundoff of ``dtype`` and ``eta`` half its smallest subnormal:

- **relu**: ``B``, unchanged. relu is 1-Lipschitz and exact in every format (no rounding). Fused,
  ``round(relu(a)) == relu(round(a))``: rounding is monotone and keeps 0, and ``|relu(a)| <= |a|``.
- **bias, residual** (``z = y + v``): ``B + u*(|y + v| + B) + eta``. ``y_hat + v`` is within ``B`` of
  ``y + v``, and its one rounding adds at most ``u*|y_hat + v| <= u*(|y + v| + B)``; ``eta`` covers a
  result that underflows. Where ``y + v == 0`` and ``B == 0`` the bound is 0: both operands are exact
  there, so the sum is an exact zero. ``v`` must hold the lane's values (already in ``dtype``). Done in
  a wider format and rounded back (double rounding), the wider rounding can only land on a midpoint of
  ``dtype`` when the pre-epilogue value is at least ``u*|v|/2`` (the nearest midpoints to ``v``):
  unfused, two ``dtype`` values that close in magnitude sum exactly in the wider format (float16 or
  bfloat16 in float32, float32 in float64); fused, the extra ``u_acc*|a + v| <= u_acc*(2/u + 1)*|a|``
  is below the ``u*M`` that ``B`` holds for the final rounding the fused path skips.
- **scale** (``z = y * s``): ``2*|s|*B + u*(|y*s| + |s|*B) + eta``. ``y_hat * s`` is within ``|s|*B``
  of ``y * s`` and its one rounding adds ``u*|y_hat*s|``. Folded into the weights (``conv(x, w*s)``,
  bias ``b*s``), each scaled weight is rounded once more, which moves the result by up to
  ``u*|s|*(M + |b|)``; ``B >= gamma_n*(M + |b|) >= u*(M + |b|)`` for every ``n >= 1``, so a second
  ``|s|*B`` holds it. Exact zeros stay exact where ``y*s == 0`` and ``B == 0``.
- **sigmoid**: ``B/4 + SIGMOID_ABSOLUTE*u``. sigmoid is 1/4-Lipschitz, so ``B/4`` carries the input
  error. Its evaluation error is bounded *absolutely*, not relative to the result, since ``0 < s < 1``:
  - ``1/(1 + exp(-y))``: a vectorised ``exp`` within 2 ulp (``4u`` relative), the add (``u``) and the
    division (``u``) give a relative, hence absolute, error of ``6u`` (the same for ``exp(y)/(1 + exp(y))``).
  - ``0.5 + 0.5*tanh(0.5*y)`` (some compilers emit this): the final add cancels for negative ``y`` and
    its error is about ``u*(0.5 + 0.5*|tanh|)`` plus tanh's own ulps, below ``3u`` absolutely but not
    relatively: in float32 at ``y = -20`` it gives 0 for ``2.06e-9``, a 100% relative error and an
    absolute one below ``u``.
  - An ``exp`` whose relative error grows with ``|y|`` (CUDA's fast-math ``__expf``: ``2 + 1.173*|y|``
    ulp) stays within it: a relative error ``e`` of ``exp(-y)`` moves the result by ``s*(1 - s)*e``,
    at most ``1.3u`` for that ``exp``.
  - ``SIGMOID_ABSOLUTE = 8`` rounds ``6u`` up. A value computed in float32 and rounded to float16 is
    off by ``u16 + 6*u32``, within ``8*u16``; where ``exp`` overflows or the result underflows the
    result is off by far less than ``u``.

Integer-valued lanes get no special case: the caller decides when results must be exact. The bounds
ignore overflow, as ``oracles.error_bound`` does, and treat the float64 oracle as exact.
"""

from __future__ import annotations

import numpy as np

from .bounds import UNDERFLOW, dtype_name, unit_roundoff

EPILOGUES = ("bias", "relu", "sigmoid", "residual", "scale")

# The sigmoid's absolute evaluation allowance, in units of the dtype's unit roundoff (module docstring).
SIGMOID_ABSOLUTE = 8

_OPERAND = {"bias": "bias", "residual": "residual", "scale": "scale"}


def _operand(name, y, bias, residual, scale=None) -> np.ndarray | None:
    """The added operand of ``name`` (None for relu and sigmoid) as float64, checked against ``y``."""
    if name not in EPILOGUES:
        raise ValueError(f"unknown epilogue {name!r}; expected one of {list(EPILOGUES)}")
    given = {"bias": bias, "residual": residual, "scale": scale}
    for operand, value in given.items():
        if value is not None and _OPERAND.get(name) != operand:
            raise ValueError(f"epilogue {name!r} takes no {operand} operand; got {operand}= of shape {np.shape(value)}")
    operand = _OPERAND.get(name)
    if operand is None:
        return None
    value = given[operand]
    if value is None:
        raise ValueError(f"epilogue {name!r} needs the {operand}= operand")
    value = np.asarray(value, dtype=np.float64)
    if operand == "residual" and value.shape != y.shape:
        raise ValueError(f"epilogue 'residual' needs residual= of y's shape {y.shape}; got {value.shape}")
    if operand in ("bias", "scale"):
        # A (C,) operand not reshaped to (C, 1, ..) would broadcast along the last spatial axis instead.
        if np.broadcast_shapes(value.shape, y.shape) != y.shape or (value.ndim and value.shape[-1] != 1):
            raise ValueError(f"epilogue {name!r} needs {operand}= broadcast along the channel axis, shaped (C, 1, ..); got {value.shape} for y of shape {y.shape}")
    return value


def apply_epilogue(name: str, y, *, bias=None, residual=None, scale=None) -> np.ndarray:
    """``name`` applied to ``y`` in float64, elementwise (batched ``(N, C, *o)`` or unbatched ``(C, *o)``).

    Args:
        name: one of ``EPILOGUES``.
        y: the pre-epilogue output (the convolution without bias).
        bias: for ``"bias"`` only: broadcastable to ``y`` along the channel axis (``(C,)`` reshaped to ``(C, 1, ..)``).
        residual: for ``"residual"`` only: an array of ``y``'s shape.
        scale: for ``"scale"`` only: one factor per channel, shaped like ``bias``.

    Raises:
        ValueError: an unknown name, a missing operand the epilogue needs, or one it does not take.
    """
    y = np.asarray(y, dtype=np.float64)
    operand = _operand(name, y, bias, residual, scale)
    if name == "scale":
        return y * operand
    if name == "relu":
        return np.maximum(y, 0.0)
    if name == "sigmoid":
        # exp(-y) overflows to inf for y < -709, where 1/inf = 0 is within float64's own underflow.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-y))
    return y + operand


def epilogue_bound(name: str, exact, bound, *, dtype, bias=None, residual=None, scale=None) -> np.ndarray:
    """Per-element bound on ``|computed - apply_epilogue(name, exact)|`` (the rule of the module docstring).

    Args:
        name, bias, residual: as for ``apply_epilogue`` (the operands hold the lane's values).
        exact: the float64 pre-epilogue output (the oracle's ``conv_transpose``, without bias).
        bound: its per-element bound in ``dtype`` (``oracles.error_bound``), final rounding included.
        dtype: the lane's format: float64, float32, float16 or bfloat16.

    Returns:
        float64 array of ``exact``'s shape; inf where ``bound`` is inf.
    """
    exact = np.asarray(exact, dtype=np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), exact.shape)
    operand = _operand(name, exact, bias, residual, scale)
    u = unit_roundoff(dtype)
    if name == "relu":
        return bound.copy()
    if name == "scale":
        carried, product = np.abs(operand) * bound, np.abs(exact * operand)
        exact_zero = (product == 0) & (bound == 0)
        return 2 * carried + u * (product + carried) + np.where(exact_zero, 0.0, UNDERFLOW[dtype_name(dtype)])
    if name == "sigmoid":
        return bound / 4 + SIGMOID_ABSOLUTE * u
    total = np.abs(exact + operand)
    exact_zero = (total == 0) & (bound == 0)
    return bound + u * (total + bound) + np.where(exact_zero, 0.0, UNDERFLOW[dtype_name(dtype)])
