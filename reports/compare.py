"""Compare two runs' records: what a framework upgrade broke, fixed or made worse.

``compare(baseline_dir, candidate_dir)`` reads ``DIR/records.jsonl`` of both runs and sorts their
discrepancies (``reports.discrepancies``; ids hash what was checked, not what came out):

- **new**: a failure in the candidate whose id does not fail in the baseline. A ``known`` record is
  an accepted finding, never new; a baseline ``known`` that fails in the candidate *is* new (the
  known entry no longer covers it, e.g. its version range ends before the candidate's version).
- **fixed**: a baseline failure whose id does not fail in the candidate; ``now`` says what the
  candidate recorded for it: ``pass``, ``known``, another outcome, or ``absent`` (not drawn or not run).
- **changed**: an id failing in both runs whose error/bound ratio grew by more than ``growth``
  (default :data:`DEFAULT_GROWTH`), or whose kind changed (e.g. ``mismatch`` -> ``crash``).
- **new cells**: a cell (target, device, dtype, precision, backend, mode, check) with no failure in the baseline and
  at least one in the candidate. The ids of its failures are new too (the id contains the cell); the
  cell rule is what still holds when hypothesis draws different examples in the two runs.
- **moved**: only when the two runs' draws are not comparable (a randomized profile, or different
  seeds or budgets): a failing id the baseline never drew, in a cell that failed in the baseline too,
  while the baseline's failing ids there are gone. That is most likely the same fault found at
  another drawn example, so it does not gate (the cell rule still would, had the cell been clean);
  the derandomized ``ci`` profile makes ids line up and ``moved`` empty.

Both runs must be gateable (``reports.gateable``: complete, with records and an environment);
``load`` refuses a side that is not, naming it. The gate fails (``Comparison.failed``) on any new,
changed or new cell. Known-discrepancy match
counts and environment differences (framework versions, profile) are reported for context.

Reads JSON only: this package never imports a deep-learning framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from conformance.checks import FAILURES

from .discrepancies import discrepancies, discrepancy_id
from .gateable import gate_problem
from .load import read_records_dir
from .validate import record_problem, run_line_problem

# A real regression (a lost bias, a wrong crop, a precision drop to bfloat16) moves the error/bound
# ratio by orders of magnitude: the suite's own missing-bias impl fails at 8e6 (float32) and 2e15
# (float64). A different summation order (another oneDNN kernel, another blocking) changes the error
# of a failing element by a small factor, typically under 2: the bound is a worst case and the actual
# error a sum of roundings of random sign. 4x (two bits) leaves room for that noise and still flags a
# tenfold growth; a TF32 (2**-10) or bfloat16 (2**-8) fallback in float32 grows it by 2**13 or more.
DEFAULT_GROWTH = 4.0

CELL_KEYS = ("target", "device", "dtype", "precision", "backend", "mode", "check")
# Run-line keys that are not about the environment: when and how it ran (a shard, a merge of which
# inputs), and the known entries (compared apart).
_NOT_ENVIRONMENT = ("date", "status", "status_reason", "known_discrepancies", "shard", "merged")


@dataclass
class Comparison:
    baseline: str
    candidate: str
    growth: float
    draws_comparable: bool
    new: list = field(default_factory=list)
    fixed: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    moved: list = field(default_factory=list)
    new_cells: list = field(default_factory=list)
    fixed_cells: list = field(default_factory=list)
    known_changes: list = field(default_factory=list)
    environment: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """The gate: something new, a cell newly failing, or a failure grown past the factor."""
        return bool(self.new or self.changed or self.new_cells)

    def as_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "growth": self.growth,
            "draws_comparable": self.draws_comparable,
            "failed": self.failed,
            "counts": self.counts,
            "new": self.new,
            "fixed": self.fixed,
            "changed": self.changed,
            "moved": self.moved,
            "new_cells": self.new_cells,
            "fixed_cells": self.fixed_cells,
            "known_changes": self.known_changes,
            "environment": self.environment,
            "warnings": self.warnings,
        }


def load(directory, side: str = "") -> tuple[dict, list]:
    """``(run, records)`` of a gateable run's ``directory/records.jsonl``; ``ValueError`` with one clear
    line otherwise, starting with ``side`` (``baseline``, ``candidate``) so the user knows which."""
    prefix = f"{side} " if side else ""
    try:
        path, run, records = read_records_dir(directory)
    except ValueError as error:
        raise ValueError(f"{prefix}{error}") from None
    if not run:
        raise ValueError(f'{prefix}{path}: does not start with a {{"run": {{...}}}} line; not written by the conformance suite')
    problem = gate_problem(run, records)
    if problem:
        raise ValueError(f"{prefix}{path}: {problem}")
    problem = run_line_problem(run)
    if problem:
        raise ValueError(f"{prefix}{path}:1: run line: {problem}")
    for number, record in enumerate(records, 2):
        problem = record_problem(record, (*CELL_KEYS, "outcome"))
        if problem is None:
            try:
                discrepancy_id(record)  # hashes the case: a value nested too deeply fails here, not midway
            except RecursionError:
                problem = "nested too deeply to compare"
        if problem:
            raise ValueError(f"{prefix}{path}:{number}: {problem}")
    return run, records


def compare(baseline_dir, candidate_dir, *, growth: float = DEFAULT_GROWTH) -> Comparison:
    if not (isinstance(growth, (int, float)) and math.isfinite(growth) and growth >= 1):
        raise ValueError(f"growth factor must be a finite number >= 1; got {growth!r}")
    base_run, base_records = load(baseline_dir, "baseline")
    cand_run, cand_records = load(candidate_dir, "candidate")
    comparable = _draws_comparable(base_run, cand_run)
    result = Comparison(str(baseline_dir), str(candidate_dir), float(growth), comparable)

    base_fail, cand_fail = _failures(base_records), _failures(cand_records)
    base_cells, cand_cells = _cells(base_records), _cells(cand_records)
    base_outcomes, cand_outcomes = _outcomes(base_records), _outcomes(cand_records)

    for key, entry in cand_fail.items():
        if key in base_fail:
            change = _change(base_fail[key], entry, growth)
            if change:
                result.changed.append({**entry, **change})
            continue
        cell = _cell_key(entry)
        baseline_failures = base_cells.get(cell, {}).get("failures", 0)
        before = base_outcomes.get(key)
        entry = {**entry, "baseline": before or "absent", "cell_failed_in_baseline": baseline_failures > 0}
        gone = [k for k, e in base_fail.items() if _cell_key(e) == cell and k not in cand_fail]
        # Only an id the baseline never drew can be the same fault moved: one it drew and passed regressed.
        if not comparable and baseline_failures and gone and before is None:
            result.moved.append({**entry, "baseline_ids": gone})
        else:
            result.new.append(entry)

    moved_from = {k for entry in result.moved for k in entry["baseline_ids"]}
    for key, entry in base_fail.items():
        if key not in cand_fail and key not in moved_from:
            result.fixed.append({**entry, "now": cand_outcomes.get(key, "absent")})

    for cell in sorted(set(base_cells) | set(cand_cells)):
        before, after = base_cells.get(cell), cand_cells.get(cell)
        before, after = before or {"records": 0, "failures": 0}, after or {"records": 0, "failures": 0}
        row = dict(
            zip(CELL_KEYS, cell),
            baseline_records=before["records"], baseline_failures=before["failures"],
            candidate_records=after["records"], candidate_failures=after["failures"],
        )
        if after["failures"] and not before["failures"]:
            result.new_cells.append(row)
        elif before["failures"] and after["records"] and not after["failures"]:
            result.fixed_cells.append(row)
    only_base = [c for c in base_cells if c not in cand_cells]
    only_cand = [c for c in cand_cells if c not in base_cells]
    if only_base:
        result.warnings.append(
            f"{len(only_base)} cell(s) ran only in the baseline (e.g. {_cell_text(only_base[0])}): "
            "their failures show as fixed with now=absent, not as passing"
        )
    if only_cand:
        result.warnings.append(f"{len(only_cand)} cell(s) ran only in the candidate (e.g. {_cell_text(only_cand[0])})")
    if not comparable:
        result.warnings.append(
            "the runs' hypothesis draws are not comparable (randomized profile, or different seed or "
            "max_examples): ids need not line up; new cells are the reliable signal; gate with --hypothesis-profile ci"
        )

    result.known_changes = _known_changes(base_run, cand_run, base_records, cand_records)
    result.environment = _environment_changes(base_run, cand_run)
    result.counts = {
        "baseline": _count(base_records, base_fail),
        "candidate": _count(cand_records, cand_fail),
        "new": len(result.new), "fixed": len(result.fixed), "changed": len(result.changed),
        "moved": len(result.moved), "new_cells": len(result.new_cells), "fixed_cells": len(result.fixed_cells),
    }
    return result


def _failures(records) -> dict:
    """Failing entries by id; where an id fails more than once, the worst ratio speaks for it."""
    found = {}
    for entry in discrepancies(records):
        if entry["kind"] not in FAILURES:
            continue
        held = found.get(entry["id"])
        if held is None or _ratio(entry) > _ratio(held):
            found[entry["id"]] = entry
    return found


def _outcomes(records) -> dict:
    """What each id came to: a failure, else ``known``, else the outcome (``pass``, ``unsupported`` ...)."""
    rank = {outcome: 0 for outcome in FAILURES} | {"known": 1, "pass": 2}
    found = {}
    for record in records:
        key = discrepancy_id(record)
        if key not in found or rank.get(record.outcome, 3) < rank.get(found[key], 3):
            found[key] = record.outcome
    return found


def _cells(records) -> dict:
    cells = {}
    for record in records:
        cell = cells.setdefault(tuple(getattr(record, key) for key in CELL_KEYS), {"records": 0, "failures": 0, "known": 0})
        cell["records"] += 1
        cell["failures"] += record.outcome in FAILURES
        cell["known"] += record.outcome == "known"
    return cells


def _cell_key(entry: dict) -> tuple:
    return tuple(entry[key] for key in CELL_KEYS)


def _cell_text(cell: tuple) -> str:
    return " ".join(str(part) for part in cell)


def _ratio(entry: dict) -> float:
    """The ratio as a float for ordering; no ratio (a crash, a shape mismatch) or NaN orders lowest."""
    value = entry.get("ratio")
    if value is None:
        return -math.inf
    value = float(value)
    return -math.inf if math.isnan(value) else value


def _change(before: dict, after: dict, growth: float) -> dict | None:
    """Why an id failing in both runs counts as changed, or None."""
    change = {"baseline_kind": before["kind"], "baseline_ratio": before["ratio"], "baseline_message": before["message"]}
    if before["kind"] != after["kind"]:
        return {**change, "reason": f"kind {before['kind']} -> {after['kind']}"}
    old, new = _ratio(before), _ratio(after)
    if new == -math.inf or old == -math.inf or new <= 0:
        return None  # nothing to compare: the check reports no ratio
    if old <= 0 or new > growth * old:  # inf > 4*finite holds; inf vs inf does not grow
        factor = "inf" if old <= 0 or math.isinf(new / old) else f"{new / old:.3g}x"
        return {**change, "reason": f"ratio grew {factor} (> {growth:g}x)", "growth": factor}
    return None


def _known_changes(base_run, cand_run, base_records, cand_records) -> list:
    """Known entries whose match count changed, and ids that moved between failing and known."""
    def matched(run, records):
        counts = {entry.get("id"): entry.get("matched", 0) for entry in run.get("known_discrepancies") or [] if isinstance(entry, dict)}
        for record in records:  # the records are the truth when the run line lacks the entries
            if record.known and record.known not in counts:
                counts[record.known] = sum(r.known == record.known for r in records)
        return counts

    before, after = matched(base_run, base_records), matched(cand_run, cand_records)
    changes = []
    for entry in sorted(set(before) | set(after), key=str):
        old, new = before.get(entry), after.get(entry)
        if old == new:
            continue
        if old is None or new is None:
            note = "entry only in the candidate's list" if old is None else "entry only in the baseline's list"
        elif new == 0:
            note = "no longer matches: fixed in the candidate, or its version range ends before it (test_known says which)"
        elif old == 0:
            note = "matches now (accepted, not new)"
        else:
            note = "matches a different number of checks"
        changes.append({"entry": entry, "baseline_matched": old, "candidate_matched": new, "note": note})
    return changes


def _environment_changes(base_run: dict, cand_run: dict) -> list:
    """Differing run-line values, framework versions first (what an upgrade is about)."""
    before, after = _flatten(_by_framework(base_run)), _flatten(_by_framework(cand_run))
    keys = [key for key in set(before) | set(after) if before.get(key) != after.get(key)]
    keys.sort(key=lambda key: (not key.endswith("version"), key))
    return [{"key": key, "baseline": before.get(key), "candidate": after.get(key)} for key in keys]


def _by_framework(run: dict) -> dict:
    """The run line with its workers keyed by framework name, so that ``--impl`` workers (named by
    their file path) line up across runs and a path change shows once, as ``.implementation``."""
    workers = run.get("frameworks")
    if not isinstance(workers, dict):
        return run
    named = {}
    for worker, info in workers.items():
        name = info.get("framework", worker) if isinstance(info, dict) else worker
        named[worker if name in named else name] = info
    return {**run, "frameworks": named}


def _flatten(value, prefix="") -> dict:
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        if not prefix and key in _NOT_ENVIRONMENT:
            continue
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _draws_comparable(base_run: dict, cand_run: dict) -> bool:
    """Hypothesis draws the same examples in both runs: both derandomized, or the same explicit seed, and
    neither replays a shared example database (--example-db) first."""
    base, cand = base_run.get("hypothesis") or {}, cand_run.get("hypothesis") or {}
    if base.get("max_examples") != cand.get("max_examples"):
        return False
    if base.get("example_db") or cand.get("example_db"):
        return False  # a shared example database's examples come first, and take their share of the budget
    if base.get("derandomize") and cand.get("derandomize"):
        return True
    return base.get("seed") is not None and base.get("seed") == cand.get("seed")


def _count(records, failures) -> dict:
    return {
        "records": len(records),
        "failures": len(failures),
        "known": sum(record.outcome == "known" for record in records),
    }
