"""Merging many runs' records into one: the shards of a run (``--shard I/N``), and the jobs of a CI
matrix (one framework each), into one ``records.jsonl`` with its ``report.html`` and ``summary.json``.

Streaming: each input is read a line at a time and every record is checked and copied as it stands
(its text unchanged), so memory is bounded by the largest record, not by the total; the reports are
then made in passes over the merged file (``reports.write``).

Fail safe:

- **Shards of one run** (same item-list digest and N) must all be there, each once. A missing shard
  is named; with ``allow_missing`` the merge is written but its status is ``incomplete``, naming what
  is missing, so ``convt compare`` refuses to gate on it.
- **One environment.** A framework worker seen in several inputs must have the same environment in
  each (version, devices, precision settings), and the runs the same Python, hypothesis settings,
  options and known discrepancies: a report claims one environment. ``allow_mixed`` merges them
  anyway; the run line then lists every difference and keeps each worker's environments apart.
- **Status.** The merge is ``complete`` only when every input is; otherwise it takes the input's
  status, and its reason names the inputs that were not complete.

The run line says what was merged (``run["merged"]``: the inputs, the shards held and missing, the
differences allowed); the reports show it.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from conformance.records import RECORDS_FILE, RecordsFile, open_atomically

from .load import open_records_dir
from .status import COMPLETE, run_status
from .write import write_reports

# Run-line keys compared between inputs (beside each worker's environment), and how each is merged.
SAME = ("python", "hypothesis")
# Options a matrix varies between jobs: the union is the merged run's.
MATRIX_OPTIONS = ("frameworks", "impl", "impl_arrays", "impl_version", "impl_dialect", "shard")


class MergeError(ValueError):
    """Inputs that cannot be merged as asked; the message is one line naming them."""


@dataclass
class Input:
    directory: Path
    source: RecordsFile
    run: dict = field(default_factory=dict)

    @property
    def shard(self) -> dict | None:
        shard = self.run.get("shard")
        return shard if isinstance(shard, dict) and {"index", "count", "collection"} <= set(shard) else None

    def held(self) -> list[tuple]:
        """``(collection, count, items_total, index)`` of each shard this input holds: its own, or, for an
        earlier merge, those it merged (so a merge of merges still counts every shard once)."""
        if self.shard is not None:
            return [(self.shard["collection"], self.shard["count"], self.shard.get("items_total"), self.shard["index"])]
        merged = self.run.get("merged")
        groups = merged.get("shards") if isinstance(merged, dict) else None
        return [(group["collection"], group["count"], group.get("items_total"), index)
                for group in groups or [] if isinstance(group, dict) and {"collection", "count", "held"} <= set(group)
                for index in group["held"]]

    @property
    def name(self) -> str:
        shard = self.shard
        return f"{self.directory} (shard {shard['index']}/{shard['count']})" if shard else str(self.directory)


@dataclass
class Merged:
    directory: Path
    run: dict
    records: int
    paths: list


def merge(out, directories, *, allow_mixed: bool = False, allow_missing: bool = False) -> Merged:
    """Merge the runs in ``directories`` into ``out``; ``MergeError`` (one line) where they cannot be."""
    out = Path(out)
    if not directories:
        raise MergeError("no input: give the report directories of the runs to merge")
    inputs = [_open(directory) for directory in directories]
    _refuse_overlap(out, inputs)
    shards, missing = _shards(inputs)
    if missing and not allow_missing:
        raise MergeError(f"missing {_missing_text(missing)}; merge every shard (or --allow-missing to write an incomplete merge)")
    differences = _differences(inputs)
    if differences and not allow_mixed:
        raise MergeError(f"the runs' environments differ: {differences[0]}"
                         + (f" (and {len(differences) - 1} more)" if len(differences) > 1 else "")
                         + "; merge runs of one environment, or give --allow-mixed to merge them anyway")
    run = _merged_run(inputs, shards, missing, differences)
    path = out / RECORDS_FILE
    count = 0
    with open_atomically(path) as stream:
        stream.write(json.dumps({"run": run}, default=str) + "\n")
        for item in inputs:
            count += _copy(item, stream)
    written = write_reports(out, run, RecordsFile(path))
    return Merged(out, run, count, [path, *written])


def _open(directory) -> Input:
    source = open_records_dir(directory)  # ValueError naming what is missing
    if not source.run:
        raise MergeError(f'{source.path}: does not start with a {{"run": {{...}}}} line; not written by the conformance suite')
    return Input(Path(directory), source, source.run)


def _refuse_overlap(out: Path, inputs) -> None:
    seen: dict[Path, Input] = {}
    target = out.resolve()
    for item in inputs:
        where = item.directory.resolve()
        if where == target:
            raise MergeError(f"{out}: the output is one of the inputs; merge into another directory")
        if where in seen:
            raise MergeError(f"{item.directory}: given twice")
        seen[where] = item


def _shards(inputs) -> tuple[list[dict], list[dict]]:
    """The shard groups (one per sharded run) with the shards each holds, and those it misses."""
    groups: dict[tuple, dict] = {}
    for item in inputs:
        for collection, count, items_total, index in item.held():
            group = groups.setdefault((collection, count), {"collection": collection, "count": count, "items_total": items_total, "held": {}})
            if index in group["held"]:
                raise MergeError(f"shard {index}/{count} of run {collection} given twice: {group['held'][index]} and {item.directory}")
            group["held"][index] = str(item.directory)
    shards, missing = [], []
    for group in groups.values():
        absent = [index for index in range(1, group["count"] + 1) if index not in group["held"]]
        shards.append({"collection": group["collection"], "count": group["count"], "items_total": group["items_total"],
                       "held": sorted(group["held"]), "missing": absent})
        if absent:
            missing.append(shards[-1])
    return shards, missing


def _missing_text(missing) -> str:
    parts = []
    for group in missing:
        count = group["count"]
        absent = ", ".join(f"{index}/{count}" for index in group["missing"])
        held = ", ".join(f"{index}/{count}" for index in group["held"])
        parts.append(f"shard{'s' if len(group['missing']) > 1 else ''} {absent} of run {group['collection']} (have {held})")
    return "; ".join(parts)


def _differences(inputs) -> list[str]:
    """Every way the inputs' environments differ, one phrase each, in a stable order."""
    found = []
    workers: dict[str, tuple[dict, Input]] = {}
    for item in inputs:
        for worker, environment in (item.run.get("frameworks") or {}).items():
            if worker not in workers:
                workers[worker] = (environment, item)
                continue
            first, where = workers[worker]
            if environment != first:
                keys = sorted(key for key in set(first) | set(environment or {}) if first.get(key) != (environment or {}).get(key))
                shown = ", ".join(f"{key} {_short(first.get(key))} in {where.name} but {_short((environment or {}).get(key))} in {item.name}" for key in keys[:2])
                found.append(f"{worker}: {shown}")
    reference = inputs[0]
    for item in inputs[1:]:
        for key in SAME:
            if item.run.get(key) != reference.run.get(key):
                found.append(f"{key} {_short(reference.run.get(key))} in {reference.name} but {_short(item.run.get(key))} in {item.name}")
        mine, theirs = item.run.get("options") or {}, reference.run.get("options") or {}
        for key in sorted(set(mine) | set(theirs)):
            if key not in MATRIX_OPTIONS and mine.get(key) != theirs.get(key):
                found.append(f"option {key} {_short(theirs.get(key))} in {reference.name} but {_short(mine.get(key))} in {item.name}")
        known = {entry.get("id") for entry in item.run.get("known_discrepancies") or []}
        reference_known = {entry.get("id") for entry in reference.run.get("known_discrepancies") or []}
        if known != reference_known:
            found.append(f"known discrepancies differ between {reference.name} and {item.name} "
                         f"({len(reference_known - known)} only in the first, {len(known - reference_known)} only in the second)")
    return list(dict.fromkeys(found))


def _short(value, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _merged_run(inputs, shards, missing, differences) -> dict:
    """The merged run line: the inputs' common environment, their workers, summed draws and matches."""
    runs = [item.run for item in inputs]
    status, reason = _status(inputs, missing)
    run = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "status": status,
        "status_reason": reason,
        "python": _common(run.get("python") for run in runs),
        "platform": _common(run.get("platform") for run in runs),
        "frameworks": _workers(inputs),
        "options": _options(runs),
        "shard": None,
        "skipped_lanes": list({(lane.get("lane"), lane.get("reason")): lane for run in runs for lane in run.get("skipped_lanes") or []
                               if isinstance(lane, dict)}.values()),
        "draws": _draws(runs),
        "hypothesis": runs[0].get("hypothesis") or {},
        "known_discrepancies": _known(runs),
        "merged": {
            "inputs": [{"directory": str(item.directory), "status": run_status(item.run)[0], "date": item.run.get("date"),
                        "platform": item.run.get("platform"), "shard": None if item.shard is None else f"{item.shard['index']}/{item.shard['count']}"}
                       for item in inputs],
            "shards": shards,
            "mixed": differences,
        },
    }
    return run


def _only_shards_missing(run: dict) -> bool:
    """Whether ``run`` is a merge (``--allow-missing``) whose every input was complete: only shards were
    missing, which this merge counts again over all its inputs (``_shards``) and names if still missing."""
    merged = run.get("merged")
    inputs = merged.get("inputs") if isinstance(merged, dict) else None
    return bool(inputs) and all(isinstance(entry, dict) and entry.get("status") == COMPLETE for entry in inputs)


def _status(inputs, missing) -> tuple[str, str]:
    reasons, statuses = [], []
    for item in inputs:
        status, reason = run_status(item.run)
        if status != COMPLETE and not _only_shards_missing(item.run):
            statuses.append(status)
            reasons.append(f"{item.name} is {status}" + (f" ({reason})" if reason else ""))
    if missing:
        statuses.append("incomplete")
        reasons.append(f"missing {_missing_text(missing)}")
    if not reasons:
        return COMPLETE, ""
    status = "interrupted" if "interrupted" in statuses else statuses[0] if len(set(statuses)) == 1 else "incomplete"
    return status, "merged runs not complete: " + "; ".join(reasons)


def _common(values) -> str:
    distinct = list(dict.fromkeys(value for value in values if value))
    return distinct[0] if len(distinct) == 1 else "; ".join(str(value) for value in distinct)


def _workers(inputs) -> dict:
    """Every worker of every input; a worker whose environment differs between inputs (``--allow-mixed``)
    once per environment, named after the first input that ran it."""
    workers: dict[str, dict] = {}
    seen: dict[str, list] = {}  # worker -> its environments so far
    for item in inputs:
        for worker, environment in (item.run.get("frameworks") or {}).items():
            if environment in seen.setdefault(worker, []):
                continue
            workers[worker if not seen[worker] else f"{worker} [{item.name}]"] = environment
            seen[worker].append(environment)
    return workers


def _options(runs) -> dict:
    merged: dict = {}
    for run in runs:
        for key, value in (run.get("options") or {}).items():
            if key == "shard":
                continue
            if key == "frameworks" and isinstance(value, list):
                merged[key] = list(dict.fromkeys([*merged.get(key, []), *value]))
            elif key not in merged:
                merged[key] = value
            elif merged[key] != value:  # --allow-mixed, or a matrix option (one --impl a job): every value
                values = merged[key] if isinstance(merged[key], list) and key in MATRIX_OPTIONS else [merged[key]]
                merged[key] = values + [value] if value not in values else values
    merged["shard"] = None
    return merged


def _draws(runs) -> dict:
    draws: dict[str, dict] = {}
    for run in runs:
        for lane, counts in (run.get("draws") or {}).items():
            total = draws.setdefault(lane, {"checked": 0, "not_applicable": 0})
            total["checked"] += (counts or {}).get("checked", 0)
            total["not_applicable"] += (counts or {}).get("not_applicable", 0)
    return dict(sorted(draws.items()))


def _known(runs) -> list[dict]:
    """The known entries of all inputs, each once, its matches summed and the lanes it covered joined."""
    entries: dict[str, dict] = {}
    for run in runs:
        for entry in run.get("known_discrepancies") or []:
            if not isinstance(entry, dict):
                continue
            merged = entries.get(entry.get("id"))
            if merged is None:
                entries[entry.get("id")] = {**entry, "lanes_covered": list(entry.get("lanes_covered") or [])}
                continue
            merged["matched"] = (merged.get("matched") or 0) + (entry.get("matched") or 0)
            merged["lanes_covered"] = sorted(set(merged["lanes_covered"]) | set(entry.get("lanes_covered") or []))
    return list(entries.values())


def _copy(item: Input, stream) -> int:
    """Copy ``item``'s records into ``stream`` as they were written, each checked to be one; how many."""
    count = 0
    for line, _ in item.source.lines():
        stream.write(line if line.endswith("\n") else line + "\n")
        count += 1
    return count
