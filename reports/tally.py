"""One pass over a run's records, kept as counts: what every report needs besides the discrepancies
themselves (totals by outcome, the lanes, the matrix, known-entry matches, the buckets).

The reports are made from this and from further passes over the records (``reports.summary`` streams
the discrepancies; ``reports.html`` keeps only the sections it shows), so their memory grows with the
number of lanes and buckets, not with the number of records: a merged campaign of a million records
is reported in the memory of one.
"""

from __future__ import annotations

from conformance.checks import FAILURES

from .discrepancies import DISCREPANCY_OUTCOMES

# The raw outcomes always counted (zero included), so the totals have the same keys in every run.
OUTCOMES = ("pass",) + FAILURES + ("unsupported", "known")
GROUPS = {"passed": ("pass",), "failed": FAILURES, "xfailed": ("known",), "skipped": ("unsupported",)}
TARGET_FIELDS = ("name", "framework", "version", "device", "dtype", "precision", "backend", "mode")
# Matrix columns: (key, header, the raw outcomes counted). "mismatch" gathers every value/shape/error
# failure; a crash and a timeout both mean the framework did not answer.
COLUMNS = (
    ("pass", "pass", ("pass",)),
    ("known", "known", ("known",)),
    ("mismatch", "mismatch", ("mismatch", "shape-mismatch", "error-mismatch")),
    ("unsupported", "unsupported", ("unsupported",)),
    ("crash", "crash / timeout", ("crash", "timeout")),
)


class Tally:
    """Counts over records, added one at a time (:meth:`add`) or all at once (:meth:`of`)."""

    def __init__(self):
        self.checks = 0
        self.outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.lanes: set[tuple] = set()
        self.matrix: dict[tuple, dict] = {}
        self.known: dict[str, int] = {}
        self.buckets: dict[str, dict] = {}

    @classmethod
    def of(cls, records) -> "Tally":
        tally = cls()
        for record in records:
            tally.add(record)
        return tally

    def add(self, record) -> None:
        self.checks += 1
        self.outcomes[record.outcome] = self.outcomes.get(record.outcome, 0) + 1
        self.lanes.add((record.target, record.framework, record.version, record.device, record.dtype, record.precision, record.backend, record.mode))
        self._add_to_matrix(record)
        if record.known:
            self.known[record.known] = self.known.get(record.known, 0) + 1
        if record.outcome in DISCREPANCY_OUTCOMES:
            bucket = bucket_of(record.bucket)
            group = self.buckets.setdefault(bucket, {"bucket": bucket, "count": 0, "failed": 0, "label": bucket or "not bucketed (recorded before buckets)"})
            group["count"] += 1
            group["failed"] += record.outcome in FAILURES

    def _add_to_matrix(self, record) -> None:
        # The version joins the lane: records of two versions of a framework (a merge with --allow-mixed)
        # are two rows, not one row counting both.
        key = (record.target, record.device, record.dtype, record.precision, record.backend, record.mode, record.version)
        row = self.matrix.get(key)
        if row is None:
            row = self.matrix[key] = {"target": key[0], "device": key[1], "dtype": key[2], "precision": key[3], "backend": key[4], "mode": key[5],
                                      "version": record.version, "counts": dict.fromkeys([c[0] for c in COLUMNS], 0), "checks": 0}
        row["checks"] += 1
        for column, _, outcomes in COLUMNS:
            if record.outcome in outcomes:
                row["counts"][column] += 1

    def totals(self) -> dict:
        """Checks by outcome: the four pytest-like groups, each raw outcome, and ``checks``."""
        grouped = {group: sum(self.outcomes[outcome] for outcome in outcomes) for group, outcomes in GROUPS.items()}
        return {"checks": self.checks, **grouped, **self.outcomes}

    def targets(self) -> list[dict]:
        """Each distinct lane with a record, sorted."""
        return [dict(zip(TARGET_FIELDS, lane)) for lane in sorted(self.lanes)]

    def matrix_rows(self) -> list[dict]:
        """Counts per lane in the matrix's columns, sorted by lane, each with its status."""
        rows = []
        for key in sorted(self.matrix):
            row = dict(self.matrix[key])
            counts = row["counts"]
            failing = [column for column in ("crash", "mismatch") if counts[column]]
            row["status"] = failing[0] if failing else "known" if counts["known"] else "pass" if counts["pass"] else "unsupported"
            rows.append(row)
        return rows

    def bucket_groups(self) -> list[dict]:
        """One group per bucket of the discrepancies, with ``count`` (all of them, also those a page
        does not show) and ``failed`` (how many are failures rather than known); buckets with failures
        first, then by count, largest first, then by name. ``label`` names the bucket, or says it has none."""
        return sorted((dict(group) for group in self.buckets.values()), key=lambda group: (not group["failed"], -group["count"], group["bucket"]))


def bucket_of(bucket) -> str:
    """A record's bucket; "" for none, and for a hand-edited record's non-string one (the page still renders)."""
    return bucket if isinstance(bucket, str) else ""


def reiterable(records):
    """``records`` as something that can be iterated more than once: a list or a records file as it is,
    a one-shot iterator (a generator) read into a list."""
    return list(records) if iter(records) is records else records
