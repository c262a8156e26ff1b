"""Oracle speed against PyTorch's own float64 CPU conv_transpose2d, measured in one run.

Target (decoder layer N=8, 64 -> 32 channels, 32x32, k=4, s=2, p=1, float64): the oracle's median
time is at most 1.5x PyTorch's with torch.set_num_threads(2).

    python benchmarks/oracle_speed.py [--repeats 21]
"""

import argparse
import statistics
import sys
import time

import numpy as np

import oracles

LAYERS = {
    "decoder 2-D (N=8, 64->32, 32x32, k=4, s=2, p=1)": ((8, 64, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1)),
    "3-D (N=2, 16->16, 16x40x40, k=(3,4,4), s=(1,2,2))": ((2, 16, 16, 40, 40), (16, 16, 3, 4, 4), dict(stride=(1, 2, 2), padding=0)),
    "grouped 1-D (N=4, 32->32, g=4, L=256, k=5, s=3, d=2)": ((4, 32, 256), (32, 8, 5), dict(stride=3, padding=2, dilation=2, groups=4)),
}


def interleaved_medians(calls, repeats):
    """Median seconds of each call, alternating them so that both see the same machine load."""
    for call in calls:
        call()  # warm-up: first-touch allocations, thread pools
    times = [[] for _ in calls]
    for _ in range(repeats):
        for call, seconds in zip(calls, times):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
    return [statistics.median(seconds) for seconds in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: install the torch extra to compare against it", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    functional = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d, 3: torch.nn.functional.conv_transpose3d}
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, numpy {np.__version__}, float64, median of {args.repeats} interleaved runs")
    ratios = {}
    for name, (x_shape, w_shape, kwargs) in LAYERS.items():
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        ndim = len(x_shape) - 2
        oracle, reference = interleaved_medians(
            [lambda: oracles.conv_transpose(x, w, **kwargs), lambda: functional[ndim](tx, tw, **kwargs)], args.repeats
        )
        ratios[name] = oracle / reference
        print(f"{name:55s} oracle {oracle * 1e3:8.2f} ms   torch {reference * 1e3:8.2f} ms   ratio {oracle / reference:5.2f}")
    target = ratios[next(iter(LAYERS))]
    verdict = "meets" if target <= 1.5 else "MISSES"
    print(f"decoder-layer ratio {target:.2f}: {verdict} the 1.5x target")
    return 0 if target <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
