"""``--shard I/N``: one of N invocations that between them run the whole suite, one runner each (a CI
matrix) or one after another.

What is split is the run's **test items** (a test on one lane, e.g.
``test_values[torch.functional-cpu-onednn-float32]``), after ``-k``/``-m`` and every other selection:
item number ``k`` in collection order (0-based) belongs to shard ``k mod N + 1``. Collection order is
the same wherever the same frameworks, devices and options are present, so the split is deterministic;
taking every N-th item spreads each test's lanes (the costly compiled ones with the rest) evenly.
Hypothesis draws nothing across items (each item's seed comes from its own name:
``conformance.profiles.item_seed``), so under the derandomized ``ci`` profile the union of the N
shards checks exactly what one run checks, check for check. A shard's run line says which shard it
is, how many items it ran of how many, and a digest of the whole run's item list, by which ``convt
merge`` proves its shards are shards of one run and names the ones missing.
"""

from __future__ import annotations

import hashlib
import re

import pytest

SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse(value: str | None) -> tuple[int, int] | None:
    """``(index, count)`` from ``"I/N"`` (1 <= I <= N), None when not given; a usage error otherwise."""
    if value is None:
        return None
    match = SPEC.match(value)
    if not match:
        raise pytest.UsageError(f"--shard: expected I/N, the shard to run and how many there are (e.g. --shard 2/4); got {value!r}")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {value.strip()}: the shard must be 1 to N of N >= 1 (e.g. --shard 1/{max(count, 2)}); got shard {index} of {count}")
    return index, count


def split(items: list, index: int, count: int) -> tuple[list, list]:
    """``(selected, deselected)``: every ``count``-th item from the ``index``-th (1-based)."""
    selected = [item for position, item in enumerate(items) if position % count == index - 1]
    deselected = [item for position, item in enumerate(items) if position % count != index - 1]
    return selected, deselected


def collection_digest(node_ids) -> str:
    """16 hex digits naming the whole run's item list (in order): equal only for shards of one run."""
    return hashlib.sha256("\n".join(node_ids).encode()).hexdigest()[:16]


def describe(index: int, count: int, selected: int, node_ids) -> dict:
    """What a shard's run line says of it."""
    return {"index": index, "count": count, "items": selected, "items_total": len(node_ids), "collection": collection_digest(node_ids)}


def label(shard: dict) -> str:
    return f"{shard.get('index')}/{shard.get('count')}"
