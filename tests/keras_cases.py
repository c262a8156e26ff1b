"""Keras Conv*DTranspose layer arguments for the Keras dialect tests (pure and experiments).

What Keras accepts comes from its documented rules (``BaseConvTranspose.__init__``), not from the dialect.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from oracles.dialects.keras import DIALECT


def effective(k, d):
    return d * (k - 1) + 1


# ---- configurations, valid by construction --------------------------------------------------------

def build_case(pick, choose, *, rejectable=False):
    """Layer arguments Keras accepts: ``0 <= op < s``, and dilation > 1 only where every stride is 1.

    With ``rejectable``, one in four cases breaks one of those rules instead. 'same' with an even
    effective kernel and ``op = 0`` stays in: the TF backend rejects it, the others do not.
    """
    ndim = pick(1, 3)
    top = 3 if ndim == 3 else 4
    dilated = pick(0, 2) == 0
    stride = tuple(1 if dilated else pick(1, 3) for _ in range(ndim))
    dilation = tuple(pick(1, 2) if dilated else 1 for _ in range(ndim))
    output_padding = None if pick(0, 1) else tuple(pick(0, s - 1) for s in stride)
    breaks = pick(0, 3) == 0 if rejectable else False
    if breaks and choose(["output_padding", "strides with dilation"]) == "output_padding":
        output_padding = tuple(pick(s, s + 1) for s in stride)
    elif breaks:
        stride, dilation = (2,) + stride[1:], (1,) * (ndim - 1) + (2,)
    input_size = tuple(pick(1, top) for _ in range(ndim))
    kernel_size = tuple(pick(1, 4) for _ in range(ndim))
    padding = choose(["valid", "same", "SAME", "Valid"])
    if padding.lower() == "same" and output_padding is not None:
        # i = 1 with an even K and op = 0 is an empty output: outside the model, so step around it.
        output_padding = tuple(op + 1 if i == 1 and effective(k, d) % 2 == 0 and op == 0 and op + 1 < s else op
                               for op, i, k, d, s in zip(output_padding, input_size, kernel_size, dilation, stride))
        dims = zip(output_padding, input_size, kernel_size, dilation)
        if any(i == 1 and effective(k, d) % 2 == 0 and op == 0 for op, i, k, d in dims):
            output_padding = None
    native = dict(strides=stride, dilation_rate=dilation, output_padding=output_padding, padding=padding,
                  data_format=choose(["channels_last", "channels_first"]))
    return dict(input_size=input_size, kernel_size=kernel_size, native=native, batch=pick(1, 2), in_channels=pick(1, 3),
                filters=pick(1, 3))


@st.composite
def cases(draw, rejectable=False):
    return build_case(lambda lo, hi: draw(st.integers(lo, hi)), lambda seq: draw(st.sampled_from(seq)),
                      rejectable=rejectable)


def random_cases(seed, count):
    rng = np.random.default_rng(seed)
    pick, choose = (lambda lo, hi: int(rng.integers(lo, hi + 1))), (lambda seq: seq[int(rng.integers(len(seq)))])
    return [build_case(pick, choose) for _ in range(count)]


def canonical(case, backend="tensorflow"):
    return DIALECT.to_canonical(case["input_size"], case["kernel_size"], **case["native"], backend=backend)
