"""Per-element forward error bounds for computing a transposed convolution in a floating-point format.

For one output element summing ``n`` terms (``n = C_in/groups * prod(k)`` products, plus one for the
bias) in any order, in a format with unit roundoff ``u``::

    |y - y_exact| <= rho * M  +  gamma_n * ((1 + rho) * M + |bias|)  +  2*(n+1) * eta
    M       = (|x| conv_transpose |w|) at the same position (same stride, crops, dilation, groups)
    gamma_n = n*u / (1 - n*u)
    rho     = 2*u_in + u_in**2     when the inputs are first converted to a narrower format (TF32, bf16)
    eta     = half the smallest subnormal: each product and sum may also be off by eta where the
              result underflows (float16: 2**-25), so tiny outputs get an absolute allowance

``gamma_n`` bounds recursive summation of ``n`` terms whatever the order or blocking (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 3.1), so the bias is counted as a
term that may meet every rounding, not only the last one. ``rho`` is the relative error of a product of
two rounded inputs. The bound ignores overflow and underflow, and assumes a summation algorithm
(direct, im2col, implicit GEMM); transforms such as Winograd or FFT have larger errors.
"""

from __future__ import annotations

import numpy as np

from .geometry import validate_operands
from .transpose import conv_transpose

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
# Half the smallest positive subnormal: the absolute error of rounding a result that underflows.
UNDERFLOW = {"float64": 2.0**-1075, "float32": 2.0**-150, "float16": 2.0**-25, "bfloat16": 2.0**-134}

# Relative error of the input conversion before the products, by precision mode. TF32 keeps 10
# explicit mantissa bits: 2**-11 when rounded to nearest, but tensor cores fed unrounded float32 drop
# the low bits (round toward zero), which is off by up to 2**-10. A bound that must never raise a false
# alarm takes the chopping value. bfloat16 conversions in the frameworks round to nearest even.
INPUT_ROUNDOFF = {None: 0.0, "highest": 0.0, "tf32": 2.0**-10, "bfloat16": 2.0**-8}


def dtype_name(dtype) -> str:
    """The name of a floating-point format: ``"float32"`` for ``np.float32``, ``"float32"``, or ``np.dtype("f4")``."""
    if isinstance(dtype, str):
        name = dtype
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = getattr(dtype, "__name__", str(dtype))
    if name not in UNIT_ROUNDOFF:
        raise ValueError(f"dtype must be one of {sorted(UNIT_ROUNDOFF)}; got dtype={dtype!r}")
    return name


def unit_roundoff(dtype) -> float:
    """``u = 2**-p`` for a format with ``p`` significand bits (float32: ``2**-24``)."""
    return UNIT_ROUNDOFF[dtype_name(dtype)]


def gamma(n: int, u: float) -> float:
    """``gamma_n = n*u / (1 - n*u)``; infinite when ``n*u >= 1`` (no useful bound exists)."""
    return n * u / (1.0 - n * u) if n * u < 1.0 else float("inf")


def error_bound(
    x, w, bias=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1, dtype, precision=None, accumulation=None
) -> np.ndarray:
    """Per-element bound on ``|y - y_exact|`` for ``conv_transpose`` computed in ``dtype``.

    Args:
        x, w, bias, stride, padding, output_padding, dilation, groups: as for ``conv_transpose``;
            the values are the ones the implementation under test received (already in ``dtype``).
        dtype: the format of the result: float64, float32, float16 or bfloat16.
        precision: None or ``"highest"`` (inputs used as given), ``"tf32"`` (float32 inputs rounded
            to TF32 before each product) or ``"bfloat16"`` (inputs rounded to bfloat16).
        accumulation: the format the sums are carried in, when wider than ``dtype`` (float16 and
            bfloat16 kernels accumulate in float32). The result is then rounded once more to ``dtype``:
            ``bound = e + u_dtype * (M + |bias| + e) + eta_dtype`` with ``e`` the bound above in the accumulation format.

    Returns:
        float64 array of the output's shape (batched like ``x``). Positions that no product reaches and
        with no bias are 0: an implementation must produce exact zeros there. Where ``n*u >= 1`` no
        finite bound exists and the entry is ``inf``.
    """
    x, w, bias, batched = validate_operands(x, w, bias, groups, weight_layout="transpose")
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    magnitude = conv_transpose(np.abs(x), np.abs(w), **kwargs)
    bias_magnitude = 0.0 if bias is None else np.abs(bias).reshape((-1,) + (1,) * (w.ndim - 2))
    terms = (x.shape[1] // groups) * int(np.prod(w.shape[2:])) + (bias is not None)
    bound = sum_bound(magnitude, terms, dtype=dtype, precision=precision, accumulation=accumulation, bias_magnitude=bias_magnitude)
    return bound if batched else bound[0]


def sum_bound(magnitude, terms: int, *, dtype, precision=None, accumulation=None, bias_magnitude=0.0) -> np.ndarray:
    """The bound of the module docstring for sums of ``terms`` terms whose absolute values add up to
    ``magnitude`` (per element), plus an unrounded-input ``bias_magnitude``; shared by every operator
    the suite checks (the transposed convolution, its input and weight gradients)."""
    name = dtype_name(dtype)
    accumulation = name if accumulation is None else dtype_name(accumulation)
    if precision not in INPUT_ROUNDOFF:
        raise ValueError(f"precision must be one of {list(INPUT_ROUNDOFF)}; got precision={precision!r}")
    if precision == "tf32" and name != "float32":
        raise ValueError(f"precision='tf32' applies to float32 only; got dtype={name}")
    if UNIT_ROUNDOFF[accumulation] > UNIT_ROUNDOFF[name]:
        raise ValueError(f"accumulation={accumulation} is narrower than dtype={name}")
    magnitude = np.asarray(magnitude, dtype=np.float64)
    u_in = INPUT_ROUNDOFF[precision]
    rho = 2 * u_in + u_in**2
    gamma_n = gamma(terms, UNIT_ROUNDOFF[accumulation])
    reached = (magnitude + bias_magnitude) > 0
    if np.isinf(gamma_n):
        bound = np.where(reached, np.inf, 0.0)
    else:
        bound = rho * magnitude + gamma_n * ((1 + rho) * magnitude + bias_magnitude)
    # Each of the n products and n sums (plus the bias) may underflow by eta; exact zeros stay exact.
    bound = bound + np.where(reached, 2 * (terms + 1) * UNDERFLOW[accumulation], 0.0)
    if accumulation != name:
        bound = bound + UNIT_ROUNDOFF[name] * (magnitude + bias_magnitude + bound) + np.where(reached, UNDERFLOW[name], 0.0)
    return bound
