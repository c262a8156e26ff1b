"""The NumPy text every standalone repro carries: a direct transposed convolution, its adjoint, and the
printing of an answer beside the expected one.

Source text, not code the suite runs: ``conformance.standalone`` pastes :data:`REFERENCE` into each
script, so a maintainer reading a repro sees the whole definition it is judged against, in NumPy alone.
The reference is deliberately the slowest obvious formulation (a scatter loop over input positions and
kernel taps, float64), independent of the oracle's polyphase products; ``tests/test_standalone.py``
checks the two agree over random configurations. Nothing here imports the oracle or a framework.
"""

from __future__ import annotations

REFERENCE = '''
def conv_transpose_reference(x, w, bias, stride, dilation, crops, output_padding, groups):
    """Transposed convolution by its definition, in float64. x: (N, C_in, *i) or (C_in, *i);
    w: (C_in, C_out/groups, *k); bias: (C_out,) or None; crops: (before, after) per dim (negative: zeros
    added). Input position j and tap t land on j*s + t*d - before; the output length is
    (i-1)*s + d*(k-1) + 1 - before - after + output_padding."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    unbatched = x.ndim == w.ndim - 1
    x = x[None] if unbatched else x
    per_group_in, per_group_out = w.shape[0] // groups, w.shape[1]
    size = [(i - 1) * s + d * (k - 1) + 1 - b - a + p
            for i, k, s, d, (b, a), p in zip(x.shape[2:], w.shape[2:], stride, dilation, crops, output_padding)]
    y = np.zeros((x.shape[0], groups * per_group_out, *size))
    for j in np.ndindex(*x.shape[2:]):
        for t in np.ndindex(*w.shape[2:]):
            at = tuple(jj * s + tt * d - b for jj, tt, s, d, (b, _) in zip(j, t, stride, dilation, crops))
            if all(0 <= o < n for o, n in zip(at, size)):
                for g in range(groups):
                    cin, cout = slice(g * per_group_in, (g + 1) * per_group_in), slice(g * per_group_out, (g + 1) * per_group_out)
                    y[(slice(None), cout) + at] += x[(slice(None), cin) + j] @ w[(cin, slice(None)) + t]
    if bias is not None:
        y += np.asarray(bias, np.float64).reshape((-1,) + (1,) * (x.ndim - 2))
    return y[0] if unbatched else y


def conv_transpose_adjoint(upstream, x, w, stride, dilation, crops, groups):
    """(d x, d w) of sum(upstream * conv_transpose_reference(x, w, ...)): the same loop, each product
    pulled back to the operand it came from (bias and output_padding do not change them)."""
    x, w, u = (np.asarray(a, np.float64) for a in (x, w, upstream))
    unbatched = x.ndim == w.ndim - 1
    x, u = (x[None], u[None]) if unbatched else (x, u)
    per_group_in, per_group_out = w.shape[0] // groups, w.shape[1]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for j in np.ndindex(*x.shape[2:]):
        for t in np.ndindex(*w.shape[2:]):
            at = tuple(jj * s + tt * d - b for jj, tt, s, d, (b, _) in zip(j, t, stride, dilation, crops))
            if all(0 <= o < n for o, n in zip(at, u.shape[2:])):
                for g in range(groups):
                    cin, cout = slice(g * per_group_in, (g + 1) * per_group_in), slice(g * per_group_out, (g + 1) * per_group_out)
                    dx[(slice(None), cin) + j] += u[(slice(None), cout) + at] @ w[(cin, slice(None)) + t].T
                    dw[(cin, slice(None)) + t] += x[(slice(None), cin) + j].T @ u[(slice(None), cout) + at]
    return (dx[0] if unbatched else dx), dw


def as_float64(value):
    """A framework's answer as float64 NumPy (a torch tensor detached and brought to the CPU first)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double()
    return np.asarray(value, dtype=np.float64)


def show(what, answer, expected, tolerance=0.0, first=5):
    """Print the framework's answer beside the expected one: shapes, max |difference|, and the first
    elements that differ by more than ``tolerance``; ``answer`` is a function, so a raise is shown too."""
    print(f"== {what}")
    try:
        actual = as_float64(answer())
    except Exception as error:  # what the framework raised is the finding here
        print(f"the framework raised {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
        print("DIFFERS: it should return an array of shape", np.shape(expected))
        return False
    print("shape:", actual.shape, "expected:", np.shape(expected))
    if actual.shape != np.shape(expected):
        print("DIFFERS: a different shape")
        return False
    difference = np.abs(actual - expected)
    difference = np.where(np.isnan(difference), np.inf, difference)
    worst = np.unravel_index(int(np.argmax(difference)), difference.shape) if difference.size else ()
    print("max |difference|:", float(difference.max(initial=0.0)), "at", tuple(int(i) for i in worst))
    differing = np.argwhere(difference > tolerance)
    if not len(differing):
        print(f"NO DIFFERENCE beyond {tolerance:g}")
        return True
    print(f"DIFFERS: {len(differing)} of {difference.size} elements by more than {tolerance:g}; the first:")
    for index in differing[:first]:
        index = tuple(int(i) for i in index)
        print(f"  {index}: framework {float(actual[index])!r}, expected {float(expected[index])!r}")
    return False


def show_outcome(what, answer, should, empty_allowed=False):
    """For a configuration the framework must reject (``should`` says by which rule), or may answer with
    an empty output or a raise (``empty_allowed``): print what it did."""
    print(f"== {what}")
    try:
        actual = answer()
    except Exception as error:
        print(f"the framework raised {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
        print("should:", should)
        print("NO DIFFERENCE: it raised")
        return True
    print("the framework returned an array of shape", np.shape(actual))
    print("should:", should)
    if empty_allowed and np.size(actual) == 0:
        print("NO DIFFERENCE: the output is empty")
        return True
    print("DIFFERS: it returned a result")
    return False
'''
