"""Execution modes: a lane runs its framework eagerly (op by op) or compiled, since the bugs users meet
in transposed convolution increasingly live in compilers and fusion rather than in eager kernels.

| framework | ``eager`` | ``compiled`` |
|---|---|---|
| torch | the call as written | ``torch.compile(f, backend="inductor", fullgraph=True, dynamic=False)`` |
| jax | op by op: each primitive dispatched on its own | ``jax.jit(f)``: one XLA program |
| tensorflow | eager op calls; Keras ``layer(x)`` | ``tf.function(f, jit_compile=True)`` (XLA), Keras layers too |
| onnxruntime | the session as users create it, which already runs the optimised graph (``ORT_ENABLE_ALL``) | none: no eager mode to contrast |
| ``--impl`` | the function as given | none: a user's function has no compiler the suite knows |

``f`` is the whole check: the transposed convolution, the layout changes back to the canonical
layout, and any epilogue (``oracles.epilogues``) -- what a compiler may fuse. Compiled calls are
static-shape (``dynamic=False``): what is compiled then depends only on the case, not on which cases
the process saw before (automatic dynamic shapes would compile a different kernel after the first
recompilation), so a derandomized run compiles the same programs every time.

``aot_eager`` is not a lane: when a compiled torch check fails, the runner calls the same case again
eagerly and under ``backend="aot_eager"`` (dynamo and AOTAutograd, no inductor code generation), and
the record says which of them agree (``Record.modes``), placing the fault in tracing or in code generation.

Compiled lanes cost a compilation per new shape (inductor: about 1.3 s on a 2-core CPU, 17 s for the
first; XLA: 0.06-0.1 s), so they draw :func:`compiled_examples` examples per test instead of the
profile's budget, and the frameworks' persistent compilation caches live in ``--compile-cache``.
"""

from __future__ import annotations

from .profiles import DEFAULT_EXAMPLES, examples

MODES = ("eager", "compiled")
# Compiled lanes draw this fraction of the profile's examples per test (at least one).
COMPILED_FRACTION = 20


def compiled_examples(max_examples: int | None = None) -> int:
    """The examples a compiled lane draws per test: 1/20 of the profile's (``dev``/``ci``: 5 of 100;
    ``nightly``: 50 of 1000; ``--max-examples N``: N/20), at least 1: ``profiles.examples`` of 5."""
    return examples(DEFAULT_EXAMPLES // COMPILED_FRACTION, max_examples)
