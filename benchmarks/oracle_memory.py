"""Oracle peak memory relative to the output's bytes, measured with tracemalloc (NumPy reports its buffers to it).

Target (3-D layer of the seed-004 class: N=2, 16 -> 16 channels, 16x40x40, k=(3,4,4), s=(1,2,2)):
peak memory allocated during the call is at most 3x the float64 output's bytes.

    python benchmarks/oracle_memory.py
"""

import sys
import tracemalloc

import numpy as np

import oracles

X_SHAPE, W_SHAPE = (2, 16, 16, 40, 40), (16, 16, 3, 4, 4)
VARIANTS = {
    "padding 0, float64 inputs": (np.float64, dict(stride=(1, 2, 2), padding=0)),
    "padding 1, float64 inputs": (np.float64, dict(stride=(1, 2, 2), padding=1)),
    "padding 1, float32 inputs (upcast copies counted)": (np.float32, dict(stride=(1, 2, 2), padding=1)),
    "asymmetric crops ((0,2),(3,1),(1,4)), bias": (np.float64, dict(stride=(1, 2, 2), padding=((0, 2), (3, 1), (1, 4)))),
}


def peak_ratio(x, w, bias, kwargs):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = oracles.conv_transpose(x, w, bias, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return peak / out.nbytes, out.shape


def main():
    rng = np.random.default_rng(0)
    worst = 0.0
    for name, (dtype, kwargs) in VARIANTS.items():
        x, w = rng.standard_normal(X_SHAPE).astype(dtype), rng.standard_normal(W_SHAPE).astype(dtype)
        bias = rng.standard_normal(16) if "bias" in name else None
        ratio, shape = peak_ratio(x, w, bias, kwargs)
        worst = max(worst, ratio)
        print(f"{name:50s} output {shape}   peak / output bytes = {ratio:.2f}")
    verdict = "meets" if worst <= 3 else "MISSES"
    print(f"worst ratio {worst:.2f}: {verdict} the 3x target")
    return 0 if worst <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
