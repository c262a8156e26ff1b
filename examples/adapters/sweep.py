"""Random configurations inside an adapter's declared capabilities, checked against the oracle within the suite's bound.

    python examples/adapters/sweep.py examples/adapters/openvino_impl.py:conv_transpose --n 3000
    python examples/adapters/sweep.py examples/adapters/tinygrad_impl.py:conv_transpose --n 2000 --backward 500

A quick pre-flight for an adapter (seconds to minutes, one process), not a replacement for the suite:
it draws 1-3 dims, strides 1-4, dilations 1-3, kernels 1-4, crops (negative ones where declared),
output_padding in the declared range, groups (depthwise and 8/16/17/32 channels among them), batch or
unbatched, bias or not, in each declared float32/float64/float16 dtype, and compares with
``oracles.conv_transpose`` within ``sum_bound`` in float64 plus in the lane's dtype (the bound
``conformance.runner`` uses). Each failure prints one JSON line with the configuration; the exit status
is the number of failures (capped at 100).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: oracles, conformance

import oracles  # noqa: E402
from conformance import Capabilities, Unsupported  # noqa: E402
from conformance.targets.impl import load_function  # noqa: E402
from oracles.bounds import sum_bound  # noqa: E402
from oracles.gradients import input_gradient, weight_gradient  # noqa: E402

CHANNELS = [(1, 1, 1), (2, 3, 1), (3, 2, 1), (4, 4, 2), (6, 4, 2), (8, 8, 8), (16, 16, 16), (17, 17, 17), (32, 32, 32),
            (8, 16, 8), (16, 8, 4), (17, 34, 17), (32, 32, 1), (17, 5, 1), (9, 6, 3)]  # (C_in, C_out, groups)


def draw(rng, caps: Capabilities) -> dict:
    """One configuration in canonical form, inside ``caps``."""
    ndim = int(rng.choice(caps.ndims))
    c_in, c_out, groups = CHANNELS[rng.integers(len(CHANNELS))]
    if groups > 1 and (not caps.groups or (ndim == 3 and not caps.groups_3d)):
        groups = 1
    if ndim == 3 and c_in * c_out > 64:  # keep 3-D cases small
        c_in, c_out, groups = (4, 4, 2) if groups > 1 else (3, 2, 1)
    big = c_in * c_out > 64
    stride, dilation, kernel, size, padding, op = [], [], [], [], [], []
    for _ in range(ndim):
        s = int(rng.integers(1, 5))
        d = int(rng.integers(1, 4)) if caps.dilation else 1
        k = int(rng.integers(1, 5))
        i = int(rng.integers(1, 4 if (ndim == 3 or big) else 7))
        full = (i - 1) * s + d * (k - 1) + 1
        low = -2 if caps.negative_padding else 0
        before = int(rng.integers(low, max(low, full - 1) + 1))
        if caps.output_padding == "none":
            o = 0
        else:
            top = {"below-stride": s - 1, "below-stride-or-dilation": max(s, d) - 1, "any": max(s, d) + 1}[caps.output_padding]
            o = int(rng.integers(0, top + 1)) if rng.random() < 0.5 else 0
        after = before if not caps.asymmetric_padding else int(rng.integers(low, max(low, full - before - 1 + o) + 1))
        if full - before - after + o < 1:  # keep the output non-empty
            after = full - before + o - 1
            if after < low or (not caps.asymmetric_padding and after != before):
                before = after = 0
        stride.append(s); dilation.append(d); kernel.append(k); size.append(i); padding.append((before, after)); op.append(o)
    batch = None if (caps.unbatched and rng.random() < 0.25) else int(rng.integers(1, 3))
    return dict(ndim=ndim, c_in=c_in, c_out=c_out, groups=groups, batch=batch, size=size, kernel=kernel,
                stride=stride, dilation=dilation, padding=padding, output_padding=op,
                bias=bool(caps.bias and rng.random() < 0.5))


def operands(cfg: dict, dtype, rng):
    shape = ((cfg["batch"],) if cfg["batch"] else ()) + (cfg["c_in"], *cfg["size"])
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((cfg["c_in"], cfg["c_out"] // cfg["groups"], *cfg["kernel"])).astype(dtype)
    bias = rng.standard_normal(cfg["c_out"]).astype(dtype) if cfg["bias"] else None
    return x, w, bias


def kwargs(cfg: dict) -> dict:
    return dict(stride=tuple(cfg["stride"]), padding=tuple(map(tuple, cfg["padding"])), output_padding=tuple(cfg["output_padding"]),
                dilation=tuple(cfg["dilation"]), groups=cfg["groups"])


def bound(magnitude, terms, dtype, bias_magnitude=0.0):
    return sum_bound(magnitude, terms, dtype="float64", bias_magnitude=bias_magnitude) + sum_bound(magnitude, terms, dtype=dtype, bias_magnitude=bias_magnitude)


def compare(name, got, expected, allowed) -> str | None:
    got = np.asarray(got)
    if got.shape != expected.shape:
        return f"{name}: shape {got.shape}, expected {expected.shape}"
    error = np.abs(got.astype(np.float64) - expected)
    bad = ~(error <= allowed)
    if bad.any():
        at = tuple(int(v) for v in np.argwhere(bad)[0])
        return (f"{name}: {int(bad.sum())}/{bad.size} elements out of bound; first at {at}: got {float(got[at])!r}, "
                f"expected {float(expected[at])!r}, bound {float(allowed[at]):.3g}; max error {float(np.nanmax(error)):.3g}")
    return None


def check_forward(f, cfg, dtype, rng):
    x, w, bias = operands(cfg, dtype, rng)
    kw = kwargs(cfg)
    got = f(x, w, bias, **kw)
    if np.asarray(got).dtype != x.dtype:
        return f"forward: returned {np.asarray(got).dtype}, input {x.dtype}"
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    b64 = None if bias is None else bias.astype(np.float64)
    expected = oracles.conv_transpose(x64, w64, b64, **kw)
    magnitude = oracles.conv_transpose(np.abs(x64), np.abs(w64), **kw)
    bias_magnitude = 0.0 if b64 is None else np.abs(b64).reshape((-1,) + (1,) * cfg["ndim"])
    terms = cfg["c_in"] // cfg["groups"] * int(np.prod(cfg["kernel"])) + (bias is not None)
    return compare("forward", got, expected, bound(magnitude, terms, np.dtype(dtype).name, bias_magnitude))


def check_backward(f, cfg, dtype, rng):
    x, w, bias = operands(cfg, dtype, rng)
    kw = kwargs(cfg)
    shape = oracles.conv_transpose(x, w, None, **kw).shape
    upstream = rng.standard_normal(shape).astype(dtype)
    dx, dw = f.backward(x, w, bias, upstream, **kw)
    g64, x64, w64 = upstream.astype(np.float64), x.astype(np.float64), w.astype(np.float64)
    name = np.dtype(dtype).name
    out = []
    for label, got, of, a, b, terms in (
        ("dx", dx, lambda a, b: input_gradient(a, b, cfg["size"], **kw), g64, w64, cfg["c_out"] // cfg["groups"] * int(np.prod(cfg["kernel"]))),
        ("dw", dw, lambda a, b: weight_gradient(a, b, cfg["kernel"], **kw), x64, g64, (cfg["batch"] or 1) * int(np.prod(cfg["size"]))),
    ):
        problem = compare(label, got, of(a, b), bound(of(np.abs(a), np.abs(b)), terms, name))
        if problem:
            out.append(problem)
    return "; ".join(out) or None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", help="FILE.py:FUNCTION, as for --impl")
    parser.add_argument("--n", type=int, default=1000, help="forward configurations (each in every declared dtype)")
    parser.add_argument("--backward", type=int, default=0, help="backward configurations (needs f.backward)")
    parser.add_argument("--dtypes", default=None, help="comma-separated subset of the declared dtypes (bfloat16 is never drawn)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    f = load_function(args.impl)
    caps = Capabilities.of(getattr(f, "capabilities", None))
    dtypes = [d for d in caps.dtypes if d != "bfloat16" and (args.dtypes is None or d in args.dtypes.split(","))]
    rng = np.random.default_rng(args.seed)
    failures, counts, started = 0, {"pass": 0, "fail": 0, "unsupported": 0, "error": 0}, time.time()
    jobs = [("forward", check_forward)] * args.n + [("backward", check_backward)] * args.backward
    for index, (kind, check) in enumerate(jobs):
        cfg = draw(rng, caps)
        for dtype in dtypes:
            try:
                problem = check(f, cfg, dtype, rng)
                outcome = "fail" if problem else "pass"
            except Unsupported as error:
                problem, outcome = f"unsupported: {error}", "unsupported"
            except Exception as error:  # noqa: BLE001 - a crash is a finding too
                problem, outcome = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}", "error"
            counts[outcome] += 1
            if outcome in ("fail", "error"):
                failures += 1
                print(json.dumps({"kind": kind, "dtype": dtype, "outcome": outcome, "problem": problem, "config": cfg}), flush=True)
    elapsed = time.time() - started
    print(json.dumps({"impl": args.impl, "dtypes": dtypes, "counts": counts, "seconds": round(elapsed, 1)}), flush=True)
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
