"""XLA:CPU aborts (CHECK failure, SIGABRT) compiling some transposed convolutions: jax 0.10.2 / jaxlib 0.10.2.

What it shows
-------------
A transposed convolution spelled as ``lax.conv_general_dilated(x, flipped_w, window_strides=1,
padding=(K-1-cb, K-1-ca), lhs_dilation=s, rhs_dilation=d)`` (K = d*(k-1)+1) kills the process at
compile time::

    F... algebraic_simplifier.cc:586] Check failed: computation->Accept(this) is OK (INVALID_ARGUMENT:
    Window dimensions do not match RHS shape: ...

The algebraic simplifier's convolution operand swap (``conv_operand_swapper.cc``) keeps a dim it
takes for a "group" dim (no padding, no window dilation, base dilation == window size, window stride ==
window size - 1) unchanged, but after the swap that dim's window must match the *input's* length, which
differs. For a transposed convolution that dim is ``k = 2, s = 2, d = 1, crops (1, 1)`` with input
length ``i != 2``; the swap happens when the other dims' kernels are larger than their inputs.
Groups are not needed (the suite found it grouped: in float64 XLA:CPU expands feature groups into an
extra spatial dim first; float16/bfloat16/float32 keep feature_group_count and are not swapped).
jit and eager, ``lax.conv_transpose`` and the ``jax.vjp`` spelling all abort the same way.
torch and TensorFlow compute these cases correctly.

Cases (``--case``):

- ``minimal`` (default): 2-D, one channel, float32. Dim 0: i=1, k=2, s=1, crops (0, 1); dim 1: i=3,
  k=2, s=2, crops (1, 1). jax call: padding ((1, 0), (0, 0)), lhs_dilation (1, 2).
- ``grouped``: the suite's case, 3-D, groups 2, float64 (batch 2, 3 -> 2 channels per group,
  input (1, 1, 3), kernel (4, 4, 2), stride (4, 4, 2), dilation (3, 2, 1), crops ((8, 2), (2, 1), (1, 3)),
  output_padding (2, 2, 2)).
- ``weight-gradient``: the same swap breaks jax's weight gradient of a transposed convolution whose
  forward runs fine: 2-D, i=(3, 1), k=(4, 3), s=(2, 1), crops ((3, 3), (1, 0)).

Run::

    python docs/repros/xla_cpu_grouped_conv_abort.py [--case minimal|grouped|weight-gradient]

Exit status 134 (SIGABRT) or any nonzero status is the bug; 0 means jax returned the NumPy
reference values (fixed). Workaround: ``XLA_FLAGS=--xla_disable_hlo_passes=algsimp`` (gives the right
values here, at the cost of every other simplification).
"""

import argparse
import sys

import numpy as np

import jax
from jax import lax

jax.config.update("jax_enable_x64", True)

CASES = {
    "minimal": dict(batch=1, groups=1, cin=1, cout=1, i=(1, 3), k=(2, 2), s=(1, 2), d=(1, 1),
                    crops=((0, 1), (1, 1)), dtype="float32"),
    "grouped": dict(batch=2, groups=2, cin=3, cout=2, i=(1, 1, 3), k=(4, 4, 2), s=(4, 4, 2), d=(3, 2, 1),
                    crops=((8, 2 - 2), (2, 1 - 2), (1, 3 - 2)), dtype="float64"),  # end crops less output_padding
    "weight-gradient": dict(batch=1, groups=1, cin=1, cout=1, i=(3, 1), k=(4, 3), s=(2, 1), d=(1, 1),
                            crops=((3, 3), (1, 0)), dtype="float32"),
}


def reference(x, w, c):
    """The transposed convolution by definition (NumPy, float64): scatter every product, then crop.
    x: (N, G*Cg, *i); w: (G*Cg, Mg, *k); crops may be negative (zeros appended)."""
    g, cg, mg = c["groups"], c["cin"], c["cout"]
    K = [d * (k - 1) + 1 for k, d in zip(c["k"], c["d"])]
    full = np.zeros((x.shape[0], g * mg, *((i - 1) * s + kk for i, s, kk in zip(c["i"], c["s"], K))))
    for j in np.ndindex(*c["i"]):
        for t in np.ndindex(*c["k"]):
            at = tuple(jj * s + tt * d for jj, tt, s, d in zip(j, t, c["s"], c["d"]))
            for group in range(g):
                xs = x[(slice(None), slice(group * cg, (group + 1) * cg)) + j]  # (N, Cg)
                ws = w[(slice(group * cg, (group + 1) * cg), slice(None)) + t]  # (Cg, Mg)
                full[(slice(None), slice(group * mg, (group + 1) * mg)) + at] += xs @ ws
    out = full
    for axis, (cb, ca) in enumerate(c["crops"], start=2):
        widths = [(0, 0)] * out.ndim
        widths[axis] = (max(-cb, 0), max(-ca, 0))
        out = np.pad(out, widths)
        out = np.take(out, np.arange(max(cb, 0), out.shape[axis] - max(ca, 0)), axis=axis)
    return out


def jax_rhs(w, c):
    """The canonical weight as conv_general_dilated's OI.. rhs: taps flipped, in/out swapped per group."""
    g, cg, mg = c["groups"], c["cin"], c["cout"]
    flipped = np.flip(w, axis=tuple(range(2, w.ndim)))
    return flipped.reshape(g, cg, mg, *c["k"]).swapaxes(1, 2).reshape(g * mg, cg, *c["k"])


def transposed_conv(c):
    K = [d * (k - 1) + 1 for k, d in zip(c["k"], c["d"])]
    padding = [(kk - 1 - cb, kk - 1 - ca) for kk, (cb, ca) in zip(K, c["crops"])]
    print(f"lax.conv_general_dilated(window_strides=1, padding={padding}, lhs_dilation={c['s']}, "
          f"rhs_dilation={c['d']}, feature_group_count={c['groups']})", flush=True)
    return lambda lhs, rhs: lax.conv_general_dilated(lhs, rhs, (1,) * len(K), padding, lhs_dilation=c["s"],
                                                     rhs_dilation=c["d"], feature_group_count=c["groups"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="minimal")
    name = parser.parse_args().case
    c = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((c["batch"], c["groups"] * c["cin"], *c["i"]))
    w = rng.standard_normal((c["groups"] * c["cin"], c["cout"], *c["k"]))
    f = transposed_conv(c)
    dtype = np.dtype(c["dtype"])
    print(f"jax {jax.__version__}, {jax.default_backend()}, {dtype}, case {name!r}; an abort here is the bug", flush=True)
    if name == "weight-gradient":
        expected_out = reference(x, w, c)
        upstream = rng.standard_normal(expected_out.shape)
        # d w of sum(upstream * y): y is linear in w, so column by column through the reference.
        expected = np.zeros_like(w)
        for index in np.ndindex(*w.shape):
            unit = np.zeros_like(w)
            unit[index] = 1.0
            expected[index] = np.sum(upstream * reference(x, unit, c))
        _, pullback = jax.vjp(lambda rhs: f(x.astype(dtype), rhs), jax_rhs(w, c).astype(dtype))
        (d_rhs,) = pullback(upstream.astype(dtype))
        actual = jax_rhs_inverse(np.asarray(d_rhs, dtype=np.float64), c)
    else:
        expected = reference(x, w, c)
        actual = np.asarray(jax.jit(f)(x.astype(dtype), jax_rhs(w, c).astype(dtype)), dtype=np.float64)
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    if actual.shape != expected.shape or not np.allclose(actual, expected, rtol=tolerance, atol=tolerance):
        print(f"WRONG: shape {actual.shape} (expected {expected.shape}), values\n{actual}\nexpected\n{expected}")
        return 1
    print(f"ok: shape {actual.shape}, matches the NumPy reference (the bug is fixed in this build)")
    return 0


def jax_rhs_inverse(rhs, c):
    """jax_rhs undone (it is a permutation and a flip, so gradients map back the same way)."""
    g, cg, mg = c["groups"], c["cin"], c["cout"]
    w = rhs.reshape(g, mg, cg, *c["k"]).swapaxes(1, 2).reshape(g * cg, mg, *c["k"])
    return np.flip(w, axis=tuple(range(2, w.ndim)))


if __name__ == "__main__":
    sys.exit(main())
