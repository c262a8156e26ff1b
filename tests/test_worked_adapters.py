"""The worked --impl adapters (examples/adapters) and their known discrepancies.

- Each predicate of ``examples/adapters/known_predicates.py`` against a table of measured cases: ones the
  library got wrong and passing neighbours one parameter away (measured through the adapters against
  ``oracles.conv_transpose``; see each predicate's docstring), so that a wrong condition fails here.
- Each adapter run through the suite with ``examples/adapters/known_discrepancies.toml`` (reproducible
  ``ci`` profile, a small budget) ends green with a check passing on every lane: every failure it meets is
  a known one. Skipped, saying why, where the library (or tinygrad's compiler, clang) is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import Case, NativeCase, case_from_data
from conformance.checks import FAILURES
from conformance.known import KnownDiscrepancies

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ROOT / "examples" / "adapters"
KNOWN_FILE = ADAPTERS / "known_discrepancies.toml"


def _predicates():
    spec = importlib.util.spec_from_file_location("worked_adapter_predicates", ADAPTERS / "known_predicates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _predicates()


def case(dims, channels=(1, 1, 1), batch=1, bias=False):
    """A canonical case from per-dim ``(i, k, s, d, padding_before, padding_after, output_padding)`` and
    ``(C_in, C_out, groups)``."""
    i, k, s, d, before, after, op = zip(*dims)
    c_in, c_out, groups = channels
    return Case(batch=batch, groups=groups, in_per_group=c_in // groups, out_per_group=c_out // groups, input_size=i,
                kernel_size=k, bias=bias, stride=s, dilation=d, padding=tuple(zip(before, after)), output_padding=op)


def torch_case(input_size, kernel_size, **native):
    return NativeCase(dialect="torch", variant="functional", native=tuple(sorted(native.items())), batch=1, groups=1,
                      in_per_group=1, out_per_group=1, input_size=input_size, kernel_size=kernel_size, bias=False)


# ---- the predicates against measured cases (True: the library was wrong) ---------------------------------

# OpenVINO 2026.4.1 CPU (AVX-512), measured through openvino_impl (float32, float16; integer-valued operands).
SHIFT, SAME, DILATED = (3, 1, 1, 1, 1, 0, 1), (3, 1, 1, 1, 0, 0, 0), (2, 1, 1, 2, 1, 1, 2)
OPENVINO = [
    ("1-D, pads_begin 1 and output_padding 1", case([(4, 1, 1, 1, 1, 0, 1)]), True),
    ("1-D, dilation 3, pads 1/3, output_padding 4", case([(1, 1, 1, 3, 1, 3, 4)]), True),
    ("2-D, one dim shifted, the other plain", case([SHIFT, SAME]), True),
    ("3-D grouped, 4 -> 2 in 2 groups", case([(2, 1, 1, 1, 1, 0, 1), (2, 1, 1, 2, 1, 0, 1), (2, 1, 1, 1, 0, 0, 0)], (4, 2, 2)), True),
    ("1-D depthwise", case([SHIFT], (4, 4, 4)), True),
    ("2-D depthwise with a dilated dim (gemm)", case([SHIFT, DILATED], (4, 4, 4)), True),
    ("2-D depthwise, dilation 1 (jit_avx512_dw: right)", case([SHIFT, SHIFT], (4, 4, 4), batch=2, bias=True), False),
    ("o = i without a start crop", case([(4, 1, 1, 1, 0, 1, 1)]), False),
    ("start crop, o = i - 1 (no output_padding)", case([(4, 1, 1, 1, 1, 0, 0)]), False),
    ("start crop and o = i with a 2-tap kernel", case([(3, 2, 1, 1, 1, 0, 1)]), False),
    ("start crop with stride 2", case([(3, 1, 2, 1, 1, 0, 1)]), False),
    ("2-D, o = i in both dims, no start crop", case([SAME, (3, 1, 1, 1, 0, 1, 1)]), False),
]

# tinygrad 0.14.0 CPU, measured through tinygrad_impl (forward after a same-size buffer was freed, and backward;
# float64), and tinygrad_torch_dialect (whether it returns a result).
INVALID_SHRINK = [
    ("end crop 2 > L = 1, two zeros prepended", case([(1, 1, 1, 1, -2, 2, 0)]), True),
    ("the repro: L = 6, end crop 7", case([(2, 3, 3, 1, -2, 7, 0)]), True),
    ("found by the suite: i 1, k 2, s 4, d 2, crops (-2, 4)", case([(1, 2, 4, 2, -2, 4, 0)]), True),
    ("start crop 2 > L = 1, zeros appended", case([(1, 1, 1, 1, 2, -2, 0)]), True),
    ("3-D, the last dim only", case([(1, 1, 1, 1, 0, 0, 0), (1, 1, 1, 1, 0, 0, 0), (1, 1, 1, 1, -2, 2, 0)]), True),
    ("end crop = L (an empty shrink: builds)", case([(1, 1, 1, 1, -1, 1, 0)]), False),
    ("end crop 2 < L = 3", case([(1, 3, 1, 1, -1, 2, 0)]), False),
    ("output_padding folded in: end crop 2 - 1 = L", case([(1, 1, 1, 1, -1, 2, 1)]), False),
]

ALL_MASKED = [
    ("gradients raised: i 2, k 2, s 4, d 2, crops (1, 5), batch 2", case([(2, 2, 4, 2, 1, 5, 0)], batch=2), True),
    ("forward raised: 2-D, position 11 of 27 in a gap", case([(1, 3, 10, 3, 0, 0, 0), (3, 3, 10, 3, 11, 15, 0)]), True),
    ("the stale-buffer repro, 2 -> 3, batch 2 (forward stale, gradients raised)", case([(6, 4, 3, 3, 7, 16, 0)], (2, 3, 1), batch=2), True),
    ("forward wrong and gradients raised, 3 -> 2 with bias", case([(2, 4, 3, 3, 4, 7, 0)], (3, 2, 1), bias=True), True),
    ("forward wrong and gradients raised, 16 -> 2 in 2 groups", case([(3, 4, 3, 3, 4, 10, 0)], (16, 2, 2)), True),
    ("position 0 is a tap", case([(2, 2, 4, 2, 0, 6, 0)]), False),
    ("position 2 is a tap (t = 1)", case([(2, 2, 4, 2, 2, 4, 0)]), False),
    ("2-D, the gap dim moved onto a tap", case([(1, 3, 10, 3, 0, 0, 0), (3, 3, 10, 3, 10, 16, 0)]), False),
    ("an invalid shrink is the other entry's", case([(1, 1, 1, 1, -2, 2, 0)]), False),
]

TORCH_REJECTED = [
    ("negative padding", torch_case((1,), (1,), stride=(1,), padding=(-1,), output_padding=(0,), dilation=(1,)), True),
    ("output_padding = max(stride, dilation)", torch_case((2,), (2,), stride=(2,), padding=(0,), output_padding=(2,), dilation=(1,)), True),
    ("negative output_padding", torch_case((3,), (2,), stride=(1,), padding=(1,), output_padding=(-1,), dilation=(1,)), True),
    ("valid", torch_case((2,), (2,), stride=(2,), padding=(0,), output_padding=(1,), dilation=(1,)), False),
    ("negative padding, but an empty output (tinygrad raises too)", torch_case((1,), (1,), stride=(1,), padding=(-1,), output_padding=(-3,), dilation=(1,)), False),
]


@pytest.mark.parametrize("name, predicate, table", [
    ("openvino", P.openvino_gemm_1x1_shift, OPENVINO),
    ("invalid-shrink", P.tinygrad_invalid_shrink, INVALID_SHRINK),
    ("all-masked", P.tinygrad_all_masked_reduce, ALL_MASKED),
    ("torch-rejected", P.tinygrad_accepts_torch_rejected, TORCH_REJECTED),
], ids=lambda value: value if isinstance(value, str) else "")
def test_predicate_matches_the_measured_cases(name, predicate, table):
    wrong = [(label, expected) for label, c, expected in table if predicate(c, dict(getattr(c, "native", ()))) != expected]
    assert not wrong, f"{name}: the predicate disagrees with the measurement on {wrong}"


def test_torch_signature_masked_predicate_maps_native_cases():
    """In torch's signature: a valid case whose one output sits in a stride gap matches, an invalid one does not."""
    gap = torch_case((1, 3), (2, 2), stride=(1, 10), padding=(0, 11), output_padding=(0, 0), dilation=(1, 3))
    tap = torch_case((1, 3), (2, 2), stride=(1, 10), padding=(0, 10), output_padding=(0, 0), dilation=(1, 3))
    invalid = torch_case((1,), (1,), stride=(1,), padding=(-1,), output_padding=(0,), dilation=(1,))
    assert P.tinygrad_all_masked_reduce(gap, gap.parameters)
    assert not P.tinygrad_all_masked_reduce(tap, tap.parameters)
    assert not P.tinygrad_all_masked_reduce(invalid, invalid.parameters)


def test_the_file_loads_and_each_example_is_matched_by_its_own_entry():
    entries = KnownDiscrepancies.load(KNOWN_FILE).entries
    assert {e.implementation for e in entries} == {
        "openvino_impl.conv_transpose", "tinygrad_impl.conv_transpose", "tinygrad_torch_dialect.conv_transpose"}
    for entry in entries:
        assert entry.framework == "impl" and entry.condition is not None, entry.id
        if not entry.example:
            continue
        example = dict(entry.example)  # read as conformance/test_known.py reads it
        for key in ("check", "dtype", "device", "backend", "mode"):
            example.pop(key, None)
        if "dialect" in example:  # a native case keeps its variant and spells its parameters as sorted pairs
            example["native"] = sorted(example["native"].items())
        else:
            example.pop("variant")
        example_case = case_from_data(example)
        assert entry.condition(example_case, dict(getattr(example_case, "native", ()))), entry.id


# ---- each adapter through the suite, with its known discrepancies ----------------------------------------


def _library(name):
    pytest.importorskip(name, reason=f"{name} is not installed: its worked adapter cannot run")
    if name == "tinygrad" and shutil.which(os.environ.get("CC", "clang")) is None:
        pytest.skip("tinygrad's CPU device compiles with clang, which is not installed")


@pytest.mark.parametrize("adapter, library, options, examples", [
    ("openvino_impl.py", "openvino", (), 25),
    ("tinygrad_impl.py", "tinygrad", (), 20),
    ("tinygrad_torch_dialect.py", "tinygrad", ("--impl-dialect", "torch"), 20),
], ids=["openvino", "tinygrad", "tinygrad-torch-signature"])
def test_adapter_run_is_green_with_its_known_discrepancies(tmp_path, adapter, library, options, examples):
    _library(library)
    report = tmp_path / "report"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance",
               "--impl", f"{ADAPTERS / adapter}:conv_transpose", *options, "--known-discrepancies", str(KNOWN_FILE),
               "--hypothesis-profile", "ci", "--max-examples", str(examples), "--report-dir", str(report)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    records = [json.loads(line) for line in (report / "records.jsonl").read_text().splitlines()[1:]]
    failed = [(r["check"], r["outcome"], r["message"][:120]) for r in records if r["outcome"] in FAILURES]
    assert not failed, failed
    lanes = {(r["target"], r["device"], r["dtype"]) for r in records}
    passing = {(r["target"], r["device"], r["dtype"]) for r in records if r["outcome"] == "pass"}
    assert lanes and lanes == passing, f"lanes without a passing check: {sorted(lanes - passing)}"
