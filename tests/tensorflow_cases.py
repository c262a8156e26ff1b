"""Native tf.nn.conv_transpose configurations for the TensorFlow dialect tests (pure and experiments).

Admissible output lengths come from TF's documented rules, not from the dialect's own code.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def full_length(i, k, s, d=1):
    return (i - 1) * s + d * (k - 1) + 1


# ---- configurations, valid by construction --------------------------------------------------------

def build_case(pick, choose, *, admissible=True, runnable=False):
    """A native configuration; ``pick(lo, hi)`` draws an int, ``choose(seq)`` an element.

    Admissible output lengths come from TF's documented rules; with ``admissible=False`` half of
    the dims take any length >= 1 instead. ``runnable`` leaves out what no CPU build runs: explicit
    pads with dilation, channels-first or groups (Eigen kernel only), and grouped 3-D.
    """
    ndim = pick(1, 3)
    top = 3 if ndim == 3 else 4
    padding = choose(["SAME", "VALID", "EXPLICIT"] if ndim == 2 else ["SAME", "VALID"])
    sizes, pads, outputs = [], [], []
    for _ in range(ndim):
        i, k, s, d = pick(1, top), pick(1, 3), pick(1, 3), pick(1, 1 if runnable and padding == "EXPLICIT" else 2)
        L = full_length(i, k, s, d)
        pb, pa = 0, 0
        if padding == "EXPLICIT":  # leave room for some o >= 1 with o + pb + pa <= L + s - 1
            pb = pick(0, min(2, L - 1))
            pa = pick(0, min(2, L - pb + s - 2))
        if not admissible and pick(0, 1) == 0:
            o = pick(1, L + s + 1)
        elif padding == "SAME":
            o = pick((i - 1) * s + 1, i * s)
        else:  # L <= o + pb + pa <= L + s - 1, and o >= 1
            o = pick(max(1, L - pb - pa), L - pb - pa + s - 1)
        sizes.append((i, k, s, d))
        pads.append([pb, pa])
        outputs.append(o)
    eigen_only = runnable and padding == "EXPLICIT"
    data_format = FORMATS[ndim][0] if eigen_only else choose(FORMATS[ndim])
    native = dict(
        output_shape=tuple(outputs),
        strides=tuple(s for _, _, s, _ in sizes),
        dilations=tuple(d for *_, d in sizes),
        data_format=data_format,
    )
    if padding == "EXPLICIT":
        native["padding"] = [[0, 0], *pads, [0, 0]] if not data_format.startswith("NC") else [[0, 0], [0, 0], *pads]
    else:
        native["padding"] = padding
    return dict(
        input_size=tuple(i for i, *_ in sizes),
        kernel_size=tuple(k for _, k, *_ in sizes),
        native=native,
        groups=1 if eigen_only or (runnable and ndim == 3) else choose([1, 1, 2]),
        per_group_in=pick(1, 2),
        per_group_out=pick(1, 2),
        batch=pick(1, 2),
        api=choose(["conv_transpose", "convNd_transpose"]),
    )


@st.composite
def cases(draw, admissible=True, runnable=False):
    return build_case(lambda lo, hi: draw(st.integers(lo, hi)), lambda seq: draw(st.sampled_from(seq)),
                      admissible=admissible, runnable=runnable)


def random_cases(seed, count, admissible):
    rng = np.random.default_rng(seed)
    pick, choose = (lambda lo, hi: int(rng.integers(lo, hi + 1))), (lambda seq: seq[int(rng.integers(len(seq)))])
    return [build_case(pick, choose, admissible=admissible) for _ in range(count)]
