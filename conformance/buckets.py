"""A failing check's signature: ``(outcome, check, geometric class)``, the unit a failure is bucketed by.

Two failures with the same signature are most likely the same defect; two with different signatures
are kept apart all the way: the test raises one exception class per signature
(``conformance.assertions``), so hypothesis shrinks and replays each on its own, and the report groups
its discrepancies by signature.

The geometric class is the single feature of the case's canonical geometry that most likely triggered
the failure. A case usually has several (a grouped case with a gap and a negative crop); the class is
the first in :data:`CLASSES` that it has. The order runs from the most specific to the most common, and
within that, from where implementations take a separate code path to where they merely take a
different size:

0. ``unusable result``: the call returned something that is not a real floating array of about the
   expected size (None, a list, a complex or integer array, 10**9 elements). That is the function's
   contract, not its arithmetic: the case's geometry did not trigger it, and splitting it by geometry
   would only shrink one defect a dozen times.
1. ``empty output``, ``rejected configuration``, ``not expressible``: a native case that its dialect
   maps to no canonical geometry at all. The framework's answer here is an error path or a shape
   special case, not arithmetic, so nothing below applies.
2. ``crop reaches the full length (bias-only output)``: some dim's crop at one end is at least the full
   length ``L``, so every output element lies in the appended zeros and holds the bias alone. Kernels
   that compute the crop window first and then loop over it run an empty loop: the most degenerate
   geometry the canonical form admits, and rarely drawn.
3. ``start crop > K-1`` then ``end crop > K-1``: a zero-insertion formulation pads the dilated input by
   ``K-1-crop`` at each end; past ``K-1`` that padding is negative, and the implementation must crop
   the input instead (the classic ``padding > dilation*(kernel-1)`` branch). The start is first:
   there the crop shifts every output index, at the end it only shortens the output.
4. ``output_padding >= stride``: outside what PyTorch's modules and Keras accept, so implementations
   that copied their rule (``op < s``) need not handle it; the case's own ``output_padding`` (a
   native case's ``output_padding`` parameter), not the folded crop.
5. ``extension (negative crop)``: zeros appended past the full output; a branch in the crop step.
6. ``gaps (stride > effective kernel)``: output positions no kernel tap reaches (they hold the bias):
   the scatter leaves holes, a gather formulation finds no tap.
7. ``groups > 1`` and ``dilation > 1``: index arithmetic on every element, but with no special region
   of the output; groups first because a wrong group offset changes channels, not positions.
8. ``input length 1``, ``channels >= 16``, ``output longer than 32``: sizes where kernels switch
   algorithm (a single input row, vectorised channel blocks, tiled outputs) rather than geometry.
9. ``plain``: none of the above.

A test shrinks at most :data:`SHRUNK_APART` signatures on their own; later new ones share one more
failure class, :data:`FURTHER`. Each shrink costs hundreds of calls, and a function that fails in every
class (it returns the wrong shape everywhere) would otherwise be shrunk a dozen times per test for what
is one defect. Their records keep their own signature, so the report still groups them by it.

Shrinking within a signature keeps the feature (a smaller example that loses it has another
signature, so it is another bug to hypothesis), which is why the order favours the specific feature:
a class low in the list would let the shrinker walk away from the region that actually fails.
"""

from __future__ import annotations

from typing import NamedTuple

from oracles.dialects import EmptyOutput, NotExpressible, Rejected
from oracles.geometry import is_int

from .cases import Case, NativeCase

EMPTY_OUTPUT = "empty output"
REJECTED = "rejected configuration"
NOT_EXPRESSIBLE = "not expressible"
UNUSABLE = "unusable result"
INVALID = "invalid configuration"  # a canonical case whose geometry does not validate (never drawn)
BIAS_ONLY = "crop reaches the full length (bias-only output)"
START_CROP = "start crop > K-1"
END_CROP = "end crop > K-1"
OUTPUT_PADDING = "output_padding >= stride"
EXTENSION = "extension (negative crop)"
GAPS = "gaps (stride > effective kernel)"
GROUPS = "groups > 1"
DILATION = "dilation > 1"
INPUT_ONE = "input length 1"
CHANNELS = "channels >= 16"
LONG_OUTPUT = "output longer than 32"
PLAIN = "plain"

FURTHER = "further signatures"  # the failure class a test raises for signatures beyond SHRUNK_APART
SHRUNK_APART = 2

# The priority order of the geometric classes a valid geometry can have (the module docstring says why).
CLASSES = (BIAS_ONLY, START_CROP, END_CROP, OUTPUT_PADDING, EXTENSION, GAPS, GROUPS, DILATION, INPUT_ONE, CHANNELS, LONG_OUTPUT, PLAIN)
MANY_CHANNELS = 16
LONG = 32


class Signature(NamedTuple):
    """What failed, in which check, in which geometric class; ``str()`` is the record's ``bucket``."""

    outcome: str
    check: str
    geometric: str

    def __str__(self) -> str:
        # Outcomes and check kinds hold no spaces, so the text splits back with split(" ", 2).
        return f"{self.outcome} {self.check} {self.geometric}"


def signature(outcome: str, check: str, case: Case | NativeCase, unusable: bool = False) -> Signature:
    """The signature of a check on ``case`` that ended as ``outcome``; ``unusable``: its result was not
    a real floating array of about the expected size (``Verdict.unusable``), whatever the case."""
    return Signature(outcome, check, UNUSABLE if unusable else geometric_class(case))


class Raised:
    """The failure class each signature raises in one test: its own for the first :data:`SHRUNK_APART`
    distinct signatures, :data:`FURTHER` for any later one (a signature keeps the class it got first,
    so a replay raises what the original did)."""

    def __init__(self, limit: int = SHRUNK_APART):
        self.limit, self.own = limit, set()

    def __call__(self, signature: str) -> str:
        if signature in self.own or len(self.own) < self.limit:
            self.own.add(signature)
            return signature
        return FURTHER


def geometric_class(case: Case | NativeCase) -> str:
    """The first class of :data:`CLASSES` that ``case``'s canonical geometry has; for a native case its
    dialect's mapping, or the dialect's verdict (rejected, empty, not expressible) where there is none."""
    if isinstance(case, NativeCase):
        output_padding = case.parameters.get("output_padding")
        try:
            case = case.canonical()
        except Rejected:
            return REJECTED
        except EmptyOutput:  # before NotExpressible: an empty output is a kind of it
            return EMPTY_OUTPUT
        except NotExpressible:
            return NOT_EXPRESSIBLE
        except ValueError:  # parameters no dialect rule names (an unknown dialect): bucketing must not fail a record
            return INVALID
    else:
        output_padding = case.output_padding
    try:
        geometry = case.geometry
    except ValueError as error:
        return EMPTY_OUTPUT if "output length" in str(error) else INVALID
    return first_class(geometry, _per_dim(output_padding, geometry.ndim), case.groups, (case.in_channels, case.out_channels))


def first_class(geometry, output_padding: tuple[int, ...], groups: int, channels: tuple[int, int]) -> str:
    """The class of a valid canonical ``geometry`` (``oracles.geometry.Geometry``) with the case's own
    ``output_padding`` per dim, its ``groups`` and its ``(in, out)`` channel counts: the first of
    :data:`CLASSES` among its :func:`features`."""
    present = features(geometry, output_padding, groups, channels)
    return next(name for name in CLASSES if name in present)


def features(geometry, output_padding: tuple[int, ...], groups: int, channels: tuple[int, int]) -> set[str]:
    """Every class of :data:`CLASSES` the geometry has (``plain`` always)."""
    present = {PLAIN}
    dims = zip(geometry.full_size, geometry.effective_kernel, geometry.stride, geometry.dilation, geometry.crop_before,
               geometry.crop_after, output_padding, geometry.input_size, geometry.output_size)
    for full, kernel, stride, dilation, before, after, op, length, out in dims:
        if before >= full or after >= full:
            present.add(BIAS_ONLY)
        if before > kernel - 1:
            present.add(START_CROP)
        if after > kernel - 1:
            present.add(END_CROP)
        if op >= stride:
            present.add(OUTPUT_PADDING)
        if before < 0 or after < 0:
            present.add(EXTENSION)
        if stride > kernel:
            present.add(GAPS)
        if dilation > 1:
            present.add(DILATION)
        if length == 1:
            present.add(INPUT_ONE)
        if out > LONG:
            present.add(LONG_OUTPUT)
    if groups > 1:
        present.add(GROUPS)
    if max(channels) >= MANY_CHANNELS:
        present.add(CHANNELS)
    return present


def _per_dim(value, ndim: int) -> tuple[int, ...]:
    """A native ``output_padding`` (None, an int, or one int per dim) as one int per dim."""
    if value is None:
        return (0,) * ndim
    if is_int(value):
        return (int(value),) * ndim
    return tuple(int(v) for v in value)
