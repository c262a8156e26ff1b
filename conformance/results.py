"""What a call returned, judged before any check looks at it.

One half runs in the worker, the other in the runner, on either side of the socket:

- :func:`bounded` (worker): an array far larger than the check expects is not sent back; a
  :class:`Withheld` description (shape, dtype, size) goes instead. A wrong result of 10**9 elements
  then costs a few bytes to report, not 8 GB to pickle plus 8 GB to receive, which got the run killed
  for memory (a lazily allocated ``np.zeros`` or a zero-stride ``np.broadcast_to`` view costs the
  implementation nothing; pickling materializes it). A result that cannot be pickled at all (a
  generator, a lambda) is described the same way (:func:`unsendable`).
- :func:`judge` (runner): every result, in one place, must be a real floating NumPy array of the
  expected shape; anything else is a verdict in the house form (``out is None, but should be an
  array of shape (1, 2, 5) [...]``, ``out.dtype=complex128, but should be real [...]``), never a
  ``TypeError`` inside a check that loses the check's record, and never a complex result whose real
  part passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import MISMATCH, SHAPE_MISMATCH, Verdict

OVERSIZE = 4  # a result may have this many times the expected elements and still be sent back
FLOOR = 1 << 16  # ...or this many, whichever is more: small wrong results come back whole, as before
DEFAULT_MAX_ELEMENTS = 1 << 24  # where the caller names no limit (128 MiB of float64)


def element_limit(expected: int) -> int:
    """The most elements a call whose result should have ``expected`` elements may send back."""
    return max(OVERSIZE * int(expected), FLOOR)


@dataclass(frozen=True)
class Withheld:
    """A result the worker did not send back: what it was, and why not."""

    kind: str  # the result's type name
    reason: str  # for an array, the limit it exceeded; otherwise why it could not be sent
    shape: tuple | None = None  # for arrays
    dtype: str | None = None

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape is not None else 0


def bounded(result, max_elements: int | None):
    """``result`` with every array of more than ``max_elements`` elements (itself, or an item of a
    tuple or list) replaced by its :class:`Withheld` description."""
    limit = DEFAULT_MAX_ELEMENTS if max_elements is None else max_elements
    if isinstance(result, np.ndarray):
        return result if result.size <= limit else Withheld("ndarray", f"limit {limit} elements", tuple(result.shape), str(result.dtype))
    if isinstance(result, (tuple, list)) and any(isinstance(item, np.ndarray) for item in result):
        return type(result)(bounded(item, max_elements) if isinstance(item, np.ndarray) else item for item in result)
    return result


def unsendable(result, error: Exception) -> Withheld:
    """The description of a result that cannot be pickled."""
    return Withheld(type(result).__name__, f"cannot be sent back from the worker: {type(error).__name__}: {error}")


def judge(out, shape: tuple | None, context: str, name: str = "out") -> Verdict | None:
    """None when ``out`` is a real floating NumPy array of ``shape`` (any shape when ``shape`` is None),
    else the verdict: ``shape-mismatch`` for what is not an array of that shape, ``mismatch`` for an
    array of that shape whose dtype is not real floating point."""
    should = "an array" + ("" if shape is None else f" of shape {tuple(shape)}")
    if isinstance(out, Withheld):
        if out.shape is None:
            return Verdict(SHAPE_MISMATCH, f"{name} is {_a(out.kind)} ({out.reason}), but should be {should} [{context}]", unusable=True)
        size = f"{out.elements} {out.dtype} elements ({_bytes(out.elements * np.dtype(out.dtype).itemsize)})"
        expected = tuple(shape) if shape is not None else "smaller"
        return Verdict(SHAPE_MISMATCH, f"{name}.shape={out.shape}, but should be {expected}; its {size} stayed in the worker ({out.reason}) [{context}]", unusable=True)
    if not isinstance(out, np.ndarray):
        return Verdict(SHAPE_MISMATCH, f"{name} is {'None' if out is None else _a(type(out).__name__)}, but should be {should} [{context}]", unusable=True)
    if shape is not None and out.shape != tuple(shape):
        return Verdict(SHAPE_MISMATCH, f"{name}.shape={out.shape}, but should be {tuple(shape)} [{context}]")
    if out.dtype.kind == "c":
        return Verdict(MISMATCH, f"{name}.dtype={out.dtype}, but should be real [{context}]", unusable=True)
    if not _floating(out.dtype):
        return Verdict(MISMATCH, f"{name}.dtype={out.dtype}, but should be floating point [{context}]", unusable=True)
    return None


def judge_each(out, shapes, context: str, names) -> list:
    """:func:`judge` for a call returning several arrays (``names``, of ``shapes``): one verdict or None each."""
    if not isinstance(out, (tuple, list)) or len(out) != len(shapes):
        what = "None" if out is None else f"{_a(type(out).__name__)}" + (f" of {len(out)}" if isinstance(out, (tuple, list)) else "")
        return [Verdict(SHAPE_MISMATCH, f"out is {what}, but should be ({', '.join(names)}) [{context}]", unusable=True) for _ in shapes]
    return [judge(item, shape, context, name) for item, shape, name in zip(out, shapes, names)]


def _floating(dtype) -> bool:
    # bfloat16 (ml_dtypes) is not a NumPy floating subtype; the adapters widen it, a user's code may not.
    return np.issubdtype(dtype, np.floating) or dtype.name == "bfloat16"


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _bytes(count: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"
