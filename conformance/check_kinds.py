"""Every kind of check a record can name, in one place: the runner records them, known discrepancies
select them (``checks = [...]``), reports and repro snippets say what each compares.

A check either compares a framework with the oracle (its record's repro snippet computes the oracle's
answer for the same operands) or compares the framework with itself (an identity).
"""

from __future__ import annotations

FORWARD = "forward"  # values and shape of one call against the oracle
NATIVE = "native"  # a configuration in the framework's own parameters: raises where its dialect rejects, else the oracle's values
GRADIENT_INPUT = "gradient-input"  # d x by the framework's autodiff against the oracle's
GRADIENT_WEIGHT = "gradient-weight"  # d w likewise
LINEARITY = "linearity"  # f(x1 + x2) against f(x1) + f(x2)
BATCH_SPLIT = "batch-split"  # a batched call against each sample called alone
DETERMINISM = "determinism"  # two identical calls, identical bits
SAME_AGREEMENT = "same-agreement"  # APIs that claim the same 'SAME' give the same numbers
UNSUPPORTED_RULE = "unsupported-rule"  # a configuration a lane is spared is still refused by the framework
# The transposed convolution followed by an epilogue a compiler may fuse into it (``oracles.epilogues``),
# against the oracle followed by the same epilogue in float64: one kind per epilogue, so a report's
# cells and a comparison's keep them apart.
EPILOGUES = tuple(f"epilogue-{name}" for name in ("bias", "relu", "sigmoid", "residual", "scale"))

ALL = (FORWARD, NATIVE, GRADIENT_INPUT, GRADIENT_WEIGHT, LINEARITY, BATCH_SPLIT, DETERMINISM, SAME_AGREEMENT, UNSUPPORTED_RULE, *EPILOGUES)
GRADIENTS = (GRADIENT_INPUT, GRADIENT_WEIGHT)
AGAINST_ORACLE = (FORWARD, NATIVE, GRADIENT_INPUT, GRADIENT_WEIGHT, *EPILOGUES)


def epilogue_check(name: str) -> str:
    """The check kind of an epilogue: ``epilogue-relu``."""
    return f"epilogue-{name}"


def epilogue_of(check: str) -> str | None:
    """The epilogue a check kind applies (``"relu"`` for ``epilogue-relu``), or None."""
    return check.removeprefix("epilogue-") if check in EPILOGUES else None
