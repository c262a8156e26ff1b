"""``report.html``: one self-contained page per run (inline CSS and JS, images as ``data:`` URIs).

Sections: a banner when the run is not complete (interrupted, incomplete, or of unknown status: the
counts then cover only what ran); the environment; a matrix of target x device x dtype x precision x backend x mode with counts per outcome
(filterable and sortable in vanilla JS, and complete without JS); an index of the discrepancies grouped by
bucket (``conformance.buckets``: the failure's signature, a count per bucket); one section per discrepancy with its
configuration in canonical and native terms, the error against the bound, a heatmap of error/bound,
the first differing elements and the standalone repro script with a copy button (older records: their
framework call beside the oracle's); the 'SAME' conventions
table; the known discrepancies. The page loads nothing from the network, so it opens from a CI
artifact or an air-gapped machine; only ``<a href>`` links point outside (issue trackers).

At most :data:`MAX_SECTIONS` discrepancy sections are rendered (failures first), so a run where
everything fails still makes a page a browser can open; summary.json lists all of them.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path

from conformance.checks import FAILURES

from .discrepancies import DISCREPANCY_OUTCOMES, entry as discrepancy_entry
from .snippets import canonical_terms, is_native, literal, operands_snippet, oracle_snippet
from .status import run_status
from .tally import COLUMNS, Tally, bucket_of, reiterable

MAX_SECTIONS = 200
STANDALONE_MARK = "# Standalone repro:"  # the first line of every conformance.standalone script
TEMPLATES = Path(__file__).with_name("templates")
# Environment keys shown as precision settings (TF32, oneDNN/MKL-DNN, matmul precision, x64).
PRECISION_MARKERS = ("tf32", "onednn", "mkldnn", "precision", "x64", "cudnn", "support_key")
SAME_TABLE = {"input_sizes": (3,), "kernel_sizes": (1, 2, 3, 4), "strides": (1, 2, 3)}


def render_html(run: dict, records, tally: Tally | None = None) -> str:
    """The report page for ``run`` (the records.jsonl run line) and its records (iterated twice, or three
    times without ``tally``, :meth:`Tally.of` the same records); only the sections shown are held."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    records = reiterable(records)
    tally = Tally.of(records) if tally is None else tally
    environment = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["number"] = number
    sections, hidden, buckets = discrepancy_sections(records, run, tally)
    status, status_reason = run_status(run)
    context = {
        "status": status,
        "status_reason": status_reason,
        "run": run or {},
        "hypothesis": (run or {}).get("hypothesis") or {},
        "frameworks": framework_rows(run),
        "totals": tally.totals(),
        "columns": COLUMNS,
        "matrix": tally.matrix_rows(),
        "sections": sections,
        "hidden": hidden,
        "buckets": buckets,
        # The 'SAME' table compares the frameworks' APIs: nothing to say of a run of an implementation alone.
        "same": same_rows() if _frameworks_in(run) - {"impl"} else None,
        "known": known_rows(run, tally.known),
    }
    return environment.get_template("report.html.j2").render(**context)


def number(value) -> str:
    """Short, exact-enough numbers: ``inf`` as the symbol, floats to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}"
    return str(value)


def web_link(url) -> str | None:
    """An http(s) address to link to, or None: a ``javascript:`` or other scheme from a TOML file is not a link."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def framework_rows(run: dict) -> list[dict]:
    """One row per worker: version, devices, precision settings, everything else the worker reported."""
    rows = []
    for worker, environment in ((run or {}).get("frameworks") or {}).items():
        environment = dict(environment or {})
        devices = environment.pop("devices", [])
        contract = str(environment.pop("contract", "") or "")  # an implementation's declared contract, in words
        for drawn in ("capabilities", "space"):  # what the contract says in words
            environment.pop(drawn, None)
        precision, other = {}, {}
        for key, value in environment.items():
            if key in ("framework", "version"):
                continue
            (precision if any(marker in key.lower() for marker in PRECISION_MARKERS) else other)[key] = value
        framework = environment.get("framework", worker)
        if framework == "impl" and environment.get("name"):
            framework = f"impl {environment['name']}"
        rows.append({"worker": worker, "framework": framework, "version": environment.get("version", ""),
                     "devices": devices, "precision": _flat(precision), "other": _flat(other), "contract": contract})
    return rows


def _frameworks_in(run) -> set[str]:
    """The frameworks the run line describes (``impl`` for an implementation)."""
    return {str((environment or {}).get("framework", worker.partition("@")[0].partition(":")[0]))
            for worker, environment in ((run or {}).get("frameworks") or {}).items()}


def _flat(settings: dict) -> list[tuple[str, str]]:
    """``key=value`` pairs, nested dicts (torch's TF32 flags) spelled out as ``key.sub``."""
    pairs = []
    for key, value in settings.items():
        if isinstance(value, dict):
            pairs += [(f"{key}.{sub}" if not sub.startswith(key) else sub, str(item)) for sub, item in value.items()]
        else:
            pairs.append((key, str(value)))
    return pairs


def matrix_rows(records) -> list[dict]:
    """Counts per lane (target, device, dtype, precision, backend, mode) in the matrix's columns, sorted by lane."""
    return Tally.of(records).matrix_rows()


def discrepancy_sections(records, run: dict, tally: Tally | None = None) -> tuple[list[dict], int, list[dict]]:
    """Sections for the first :data:`MAX_SECTIONS` discrepancies, how many are left out, and the
    buckets they fall in (:meth:`Tally.bucket_groups`). Sections come bucket by bucket in the buckets'
    order, failures before known ones within each, then in record order, so a bucket's sections are
    next to each other. One pass that keeps only the records shown."""
    tally = Tally.of(records) if tally is None else tally
    groups = tally.bucket_groups()
    rank = {group["bucket"]: position for position, group in enumerate(groups)}
    found = ((index, record) for index, record in enumerate(records) if record.outcome in DISCREPANCY_OUTCOMES)
    shown = heapq.nsmallest(MAX_SECTIONS, found, key=lambda pair: (rank[bucket_of(pair[1].bucket)], pair[1].outcome not in FAILURES, pair[0]))
    links = {entry.get("id"): web_link(entry.get("link")) for entry in (run or {}).get("known_discrepancies") or []}
    # ``number`` is the section's place on the page: its anchor, which the grouped index links to.
    sections = [{**_section(discrepancy_entry(record), record, links), "number": number} for number, (_, record) in enumerate(shown, 1)]
    for group in groups:
        group["sections"] = [section for section in sections if bucket_of(section.get("bucket")) == group["bucket"]]
    total = sum(group["count"] for group in groups)
    return sections, max(0, total - MAX_SECTIONS), groups


def _section(entry: dict, record, links: dict) -> dict:
    case = record.case or {}
    terms = canonical_terms(case)
    heatmap, heatmap_note = None, ""
    if record.ratio_map is not None:
        try:
            from .heatmap import ratio_heatmap

            heatmap = ratio_heatmap(record.ratio_map, len(case.get("input_size") or []) or None, title=f"{record.target} {record.check}: |error| / bound")
        except Exception as error:  # one undrawable map must not cost the whole report
            heatmap_note = f"heatmap not drawn: {type(error).__name__}: {error}"
    else:
        heatmap_note = ("no error map: the output was larger than the recorded limit" if record.outcome == "mismatch"
                        else f"no error map: the check ended as {record.outcome}, without values to compare")
    return {
        **entry,
        "record": record,
        "native_case": is_native(case),
        "canonical": [(key, _text(value)) for key, value in terms.items()],
        "native": [(key, literal(value)) for key, value in (record.native or {}).items()],
        "heatmap": heatmap,
        "heatmap_note": heatmap_note,
        "differences": [_difference(item) for item in record.first_differences or []],
        "standalone": is_standalone(record.repro),
        # Records from before standalone repros: the operands and the oracle beside the framework's call.
        "operands": "" if is_standalone(record.repro) else operands_snippet(record),
        "oracle": "" if is_standalone(record.repro) else oracle_snippet(record),
        "known_link": links.get(record.known),
    }


def is_standalone(repro) -> bool:
    """Whether a record's repro is a standalone script (``conformance.standalone``), not a bare framework call."""
    return isinstance(repro, str) and repro.startswith(STANDALONE_MARK)


def _text(value) -> str:
    return value if isinstance(value, str) else literal(value)


def _difference(item: dict) -> dict:
    actual, expected, bound = item.get("actual"), item.get("expected"), item.get("bound")
    try:
        error = abs(float(actual) - float(expected))
        ratio = error / float(bound) if bound else (math.inf if error else 0.0)
    except (TypeError, ValueError):
        error = ratio = None
    return {"index": literal(item.get("index")), "actual": actual, "expected": expected, "error": error, "bound": bound, "ratio": ratio}


def same_rows() -> dict:
    """The 'SAME' conventions table at i=3, k=1..4, s=1..3: the rows where some API differs."""
    from oracles.dialects.same_table import COLUMNS as SAME_COLUMNS, REFERENCE, TORCH, same_table

    labels = [label for label, _, _ in SAME_COLUMNS] + [TORCH]
    rows = []
    for row in same_table(SAME_TABLE["input_sizes"], SAME_TABLE["kernel_sizes"], SAME_TABLE["strides"]):
        if not row.differs:
            continue
        cells = []
        for label in labels:
            cell = row.cells[label]
            text = cell.note if cell.crops is None else (cell.note or f"({cell.crops[0]}, {cell.crops[1]})")
            if cell.crops is not None and cell.output_size != row.input_size * row.stride:
                text += f" [o={cell.output_size}]"
            cells.append({"text": text, "differs": cell.differs})
        rows.append({"config": f"({row.input_size}, {row.kernel_size}, {row.stride}, {row.dilation})", "cells": cells})
    return {"labels": labels, "rows": rows, "reference": REFERENCE}


def known_rows(run: dict, counted: dict) -> list[dict]:
    """The run's known discrepancies with the number of checks each matched (``counted``: id -> checks,
    from the records, where the run line lacks it)."""
    rows = []
    present = _frameworks_in(run)
    for entry in (run or {}).get("known_discrepancies") or []:
        if present and entry.get("framework") not in present:
            continue  # another framework's findings say nothing about this run
        matched = entry.get("matched")
        rows.append({**entry, "link": web_link(entry.get("link")), "matched": counted.get(entry.get("id"), 0) if matched is None else matched})
    return rows
