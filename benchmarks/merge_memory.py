"""``convt merge`` peak memory on a million records: streaming keeps it bounded by the largest record
and the sections a report shows, not by the total.

Writes four shards of synthetic records (a real record's fields and size: about 1.1 KB a passing
check; one check in a hundred a mismatch carrying a 4 KB standalone repro) into a temporary folder,
runs ``convt merge`` on them in a fresh process, and prints that process's peak resident memory
(``getrusage``), the inputs' size, and the ratio to the 200 MB target.

    python benchmarks/merge_memory.py [RECORDS]      # default 1,000,000
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.records import RECORDS_FILE, Record

TARGET_MB = 200
SHARDS = 4
REPRO = "# Standalone repro: NumPy and the framework only\n" + "y = conv_transpose(x, w, bias, stride=(2, 1), padding=((1, 0), (0, 2)))\n" * 55


def run_line(index: int) -> dict:
    return {
        "date": "2026-11-30T00:00:00+00:00", "status": "complete", "status_reason": "", "python": "3.11.7", "platform": "Linux-x86_64",
        "frameworks": {"torch@onednn": {"framework": "torch", "version": "2.13.0", "devices": ["cpu"], "mkldnn": True}},
        "options": {"frameworks": ["torch"], "devices": [], "dtypes": [], "shard": f"{index}/{SHARDS}"},
        "shard": {"index": index, "count": SHARDS, "items": 75, "items_total": 300, "collection": "benchmark000000"},
        "draws": {}, "hypothesis": {"profile": "nightly", "max_examples": 1000, "derandomize": False, "seed": None},
        "known_discrepancies": [],
    }


def record(number: int) -> str:
    failing = number % 100 == 0
    case = {"check": "forward", "variant": "functional", "dtype": "float32", "batch": 1 + number % 3, "groups": 1 + number % 2,
            "in_per_group": 2 + number % 5, "out_per_group": 3, "input_size": [4 + number % 7, 5], "kernel_size": [3, 2],
            "bias": bool(number % 2), "seed": number, "stride": [2, 1], "dilation": [1, 1], "padding": [[1, 0], [0, 2]], "output_padding": [1, 0]}
    return Record(
        check="forward", target="torch.functional", framework="torch", version="2.13.0", device="cpu", dtype="float32", precision="default",
        outcome="mismatch" if failing else "pass", case=case, native={"stride": [2, 1], "padding": [1, 0], "output_padding": [1, 0]},
        message="max |error| 3.1e-2 exceeds the bound 4.7e-6 at [0, 1, 3, 2]" if failing else "",
        max_abs_error=3.1e-2 if failing else 1.2e-7, bound=4.7e-6, ratio=6.6e3 if failing else 0.026, worst_index=[0, 1, 3, 2],
        first_differences=[{"index": [0, 1, 3, i], "actual": 0.5, "expected": 0.53, "bound": 4.7e-6} for i in range(3)] if failing else [],
        repro=REPRO if failing else "", test=f"conformance/test_values.py::test_values[torch.functional-cpu-onednn-float32-{number % 40}]",
        environment="onednn=1", backend="onednn", bucket="mismatch forward stride>1 crop" if failing else "",
    ).to_json()


def main(total: int) -> int:
    with tempfile.TemporaryDirectory(prefix="convt-merge-benchmark-") as folder:
        folder = Path(folder)
        started = time.perf_counter()
        directories = []
        for index in range(1, SHARDS + 1):
            directory = folder / f"shard-{index}"
            directory.mkdir()
            with open(directory / RECORDS_FILE, "w") as stream:
                stream.write(json.dumps({"run": run_line(index)}) + "\n")
                for number in range(index - 1, total, SHARDS):
                    stream.write(record(number) + "\n")
            directories.append(str(directory))
        size = sum((Path(d) / RECORDS_FILE).stat().st_size for d in directories)
        print(f"wrote {total:,} records in {SHARDS} shards: {size / 1e6:,.0f} MB ({time.perf_counter() - started:.0f} s)")
        started = time.perf_counter()
        merged = subprocess.run([sys.executable, "-m", "convt", "merge", str(folder / "merged"), *directories], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if merged.returncode != 0:
            print(merged.stdout + merged.stderr)
            return 1
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kilobytes on Linux
        summary = json.loads((folder / "merged" / "summary.json").read_text())
        assert summary["totals"]["checks"] == total, summary["totals"]
        print(merged.stdout.splitlines()[0])
        print(f"convt merge: {seconds:.0f} s; peak resident memory {peak_mb:.0f} MB "
              f"({peak_mb / TARGET_MB:.2f} of the {TARGET_MB} MB target; the inputs are {size / 1e6 / peak_mb:.1f} times that)")
        print(f"merged: records.jsonl {(folder / 'merged' / RECORDS_FILE).stat().st_size / 1e6:,.0f} MB, "
              f"summary.json {(folder / 'merged' / 'summary.json').stat().st_size / 1e6:,.0f} MB "
              f"({len(summary['discrepancies']):,} discrepancies), report.html {(folder / 'merged' / 'report.html').stat().st_size / 1e6:,.1f} MB")
        return 0 if peak_mb < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
