"""Discrepancies: the failing and known checks of a run, each with an identity stable across runs.

A discrepancy is one record whose outcome is a failure (mismatch, shape-mismatch, error-mismatch,
crash, timeout) or a known finding. Its ``id`` hashes what was checked (check, target, device, dtype,
precision, backend, the case and the native parameters), not what came out, so the same configuration
failing in a baseline and in a candidate run has the same id, and ``convt compare`` can say what is
new, fixed, or changed. Its ``bucket`` is the failure's signature (``conformance.buckets``:
``"<outcome> <check> <geometric class>"``, ``""`` in records written before buckets): it says which
failures are most likely one defect, and is not part of the id.
"""

from __future__ import annotations

import hashlib
import json

from conformance.checks import FAILURES, KNOWN

# The failing outcomes are the suite's own (conformance.checks.FAILURES): a test fails on exactly these.
DISCREPANCY_OUTCOMES = FAILURES + (KNOWN,)


def discrepancy_id(record) -> str:
    """12 hex digits identifying what was checked (not its result)."""
    identity = {
        "check": record.check,
        "target": record.target,
        "device": record.device,
        "dtype": record.dtype,
        "precision": record.precision,
        "case": {key: value for key, value in sorted(record.case.items()) if key != "seed"},
        "seed": record.case.get("seed"),
        "native": record.native,
    }
    # Only a forced kernel path joins the identity: the default path keeps the ids it had before
    # records carried a backend, so older records, summaries and tickets still line up.
    if record.backend != "default":
        identity["backend"] = record.backend
    if record.mode != "eager":  # likewise the mode: eager ids are the ids of runs before modes
        identity["mode"] = record.mode
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def mode_verdict(modes: dict | None) -> str:
    """What a compiled failure's re-runs on the same case say (``Record.modes``): a disagreement between
    one framework's modes is a finding of its own, and ``aot_eager`` places it before or in code generation."""
    if not modes:
        return ""
    eager, staged = modes.get("eager"), modes.get("aot_eager")
    if eager != "pass":
        return f"Not specific to compilation: eager gives {eager} on the same case."
    if staged is None:
        return "The modes disagree: the same case passes eagerly; only the compiled program is wrong."
    if staged == "pass":
        return ("The modes disagree: the same case passes eagerly and under aot_eager (tracing without inductor), "
                "so the fault is in inductor itself (its graph passes or its code generation).")
    return (f"The modes disagree: the same case passes eagerly but gives {staged} under aot_eager, so the fault "
            "is in tracing (dynamo/AOTAutograd), before inductor's code generation.")


def discrepancies(records) -> list[dict]:
    """One entry per failing or known record, in the ``summary.json`` form."""
    return list(iter_discrepancies(records))


def iter_discrepancies(records):
    """:func:`discrepancies` one entry at a time, for a caller that streams them."""
    for record in records:
        if record.outcome in DISCREPANCY_OUTCOMES:
            yield entry(record)


def entry(record) -> dict:
    """A failing or known record in the ``summary.json`` form."""
    return {
        "id": discrepancy_id(record),
        "target": record.target,
        "framework": record.framework,
        "version": record.version,
        "device": record.device,
        "dtype": record.dtype,
        "precision": record.precision,
        "backend": record.backend,
        "mode": record.mode,
        "modes": record.modes,
        "modes_verdict": mode_verdict(record.modes),
        "check": record.check,
        "kind": record.outcome,
        "bucket": record.bucket,
        "config": {"case": record.case, "native": record.native},
        "max_abs_error": record.max_abs_error,
        "bound": record.bound,
        "ratio": record.ratio,
        "message": record.message,
        "repro": record.repro,
        "known": record.known,
        "test": record.test,
    }
