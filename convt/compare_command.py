"""``convt compare``: gate a framework upgrade on two runs' records (reports.compare)."""

from __future__ import annotations

import argparse
import math

from reports.compare import DEFAULT_GROWTH, compare

from .arguments import add_command, add_json_flag, format_number, one_line, print_json

DESCRIPTION = f"""\
Compare the records of two conformance runs (each DIR/records.jsonl, written by
pytest --pyargs conformance --report-dir DIR), typically the pinned framework version (baseline)
and the upgrade (candidate). Discrepancy ids hash what was checked, not what came out:

  new      a failure in the candidate whose id does not fail in the baseline (known findings are
           accepted, never new), or a cell (target, device, dtype, precision, backend, mode, check)
           with no failure in the baseline and some in the candidate
  fixed    a baseline failure whose id does not fail in the candidate; 'now' says whether the
           candidate passed it, matched a known entry, or did not draw it (absent)
  changed  an id failing in both whose error/bound ratio grew by more than --growth
           (default {DEFAULT_GROWTH:g}x: reordered sums move ratios by small factors, real faults by
           orders of magnitude), or whose kind changed (mismatch -> crash)
  moved    (randomized profiles only) a new id in a cell whose baseline failures are gone: likely
           the same fault at another drawn example; reported, not gating

Known-discrepancy match counts and environment differences (framework versions) are shown for
context. Gate with the derandomized profile (--hypothesis-profile ci) so the two runs draw the same
examples and ids line up.

Both runs must be complete (the run line's status: a run that was interrupted or stopped early, or
whose file predates the status, is refused), hold records, and describe their environment.

Exit status: 0 when nothing is new or changed, 1 when something is, 2 on bad input or a run that
cannot be gated on (the message names the side)."""

EPILOG = """\
JSON (--json): {"baseline", "candidate", "growth", "draws_comparable", "failed", "counts", "new",
"fixed", "changed", "moved", "new_cells", "fixed_cells", "known_changes", "environment",
"warnings"}; entries of new/fixed/changed/moved have the keys of summary.json's discrepancies,
and as there a ratio that is not finite is the string "inf" (strict JSON).
Example: convt compare reports/tf-2.20 reports/tf-2.21"""

# Text output lists at most this many environment differences (JSON has them all).
MAX_ENVIRONMENT_LINES = 12


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(
        subparsers, "compare",
        help="what a candidate run broke, fixed or made worse against a baseline run (exit 1 if anything new)",
        description=DESCRIPTION, epilog=EPILOG,
    )
    parser.add_argument("baseline", metavar="BASELINE_DIR", help="report dir of the baseline run")
    parser.add_argument("candidate", metavar="CANDIDATE_DIR", help="report dir of the candidate run")
    parser.add_argument(
        "--growth", type=_factor, default=DEFAULT_GROWTH, metavar="F",
        help=f"a failure in both runs is 'changed' when its error/bound ratio grew more than F times (default {DEFAULT_GROWTH:g})",
    )
    add_json_flag(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    result = compare(args.baseline, args.candidate, growth=args.growth)
    if args.json:
        print_json(result.as_dict())
    else:
        print(render(result))
    # Not an error: a failed gate is exit 1, so CI tells it from bad input (2).
    return 1 if result.failed else 0


def render(result) -> str:
    counts = result.counts
    lines = [
        f"baseline  {result.baseline}: {_run_counts(counts['baseline'])}",
        f"candidate {result.candidate}: {_run_counts(counts['candidate'])}",
    ]
    if result.environment:
        lines.append("environment:")
        for diff in result.environment[:MAX_ENVIRONMENT_LINES]:
            lines.append(f"  {diff['key']}: {_value(diff['baseline'])} -> {_value(diff['candidate'])}")
        if len(result.environment) > MAX_ENVIRONMENT_LINES:
            lines.append(f"  ... {len(result.environment) - MAX_ENVIRONMENT_LINES} more (--json lists all)")
    lines += _section("new", result.new, lambda e: f"was {e['baseline']}" + ("" if e["cell_failed_in_baseline"] else ", cell clean in baseline"))
    if result.new_cells:
        lines.append(f"new cells ({len(result.new_cells)}): no failure in the baseline, some in the candidate")
        for cell in result.new_cells:
            lines.append(
                f"  {cell['target']}  {cell['check']}  {_lane(cell)}: "
                f"{cell['baseline_failures']} of {cell['baseline_records']} -> {cell['candidate_failures']} of {cell['candidate_records']} failing"
            )
    lines += _section("changed", result.changed, lambda e: f"{e['reason']}; was {e['baseline_kind']} ratio {_ratio(e['baseline_ratio'])}")
    lines += _section("fixed", result.fixed, lambda e: f"now {e['now']}")
    lines += _section("moved", result.moved, lambda e: f"same cell failed in the baseline at {', '.join(e['baseline_ids'])}")
    if result.fixed_cells:
        lines.append(f"fixed cells ({len(result.fixed_cells)}): " + "; ".join(
            f"{c['target']} {c['check']} {_lane(c)}" for c in result.fixed_cells
        ))
    if result.known_changes:
        lines.append("known discrepancies:")
        for change in result.known_changes:
            lines.append(f"  {change['entry']}: matched {_value(change['baseline_matched'])} -> {_value(change['candidate_matched'])} ({change['note']})")
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    verdict = (
        f"FAIL: {len(result.new)} new, {len(result.new_cells)} new cell(s), {len(result.changed)} changed beyond {result.growth:g}x"
        if result.failed else "OK: nothing new, nothing changed beyond " + f"{result.growth:g}x"
    )
    lines.append(f"{verdict}; {len(result.fixed)} fixed")
    return "\n".join(lines)


def _section(title: str, entries: list, note) -> list:
    if not entries:
        return [f"{title}: none"]
    lines = [f"{title} ({len(entries)}):"]
    for entry in entries:
        lines.append(
            f"  {entry['id']}  {entry['target']}  {entry['check']}  {_lane(entry)}  "
            f"{entry['kind']}  ratio {_ratio(entry['ratio'])}  ({note(entry)})"
        )
        if entry.get("message"):
            lines.append(f"    {one_line(entry['message'])}")
        if entry.get("test"):
            lines.append(f"    test: {entry['test']}")
    return lines


def _lane(entry: dict) -> str:
    """``cpu float32 default backend=onednn``: the backend named, since "default" is also a precision; the mode
    where it is not eager (``... compiled``)."""
    mode = entry.get("mode", "eager")
    return f"{entry['device']} {entry['dtype']} {entry['precision']} backend={entry['backend']}" + ("" if mode == "eager" else f" {mode}")


def _run_counts(counts: dict) -> str:
    return f"{counts['records']} checks, {counts['failures']} failing ids, {counts['known']} known"


def _ratio(value) -> str:
    if value is None:
        return "none"
    value = float(value)
    return format_number(value) if not math.isfinite(value) or value == 0 else f"{value:.3g}"


def _value(value) -> str:
    return "absent" if value is None else (repr(value) if isinstance(value, str) else str(value))


def _factor(text: str) -> float:
    """argparse type: a finite factor >= 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be a finite factor >= 1 (a ratio grown F times); got {text!r}")
    return value
