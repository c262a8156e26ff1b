"""Two unrelated defects in one implementation, one run of the suite as a user runs it: both are found,
shrunk and recorded, each in a bucket of its own, instead of the first hiding the second."""

import json
import re
from pathlib import Path

pytest_plugins = ["pytester"]
IMPL = Path(__file__).parent / "impls" / "two_defects.py"
# A fixed seed, so the run is the same every time. Hypothesis keeps generating after a first bug only
# for about as many calls again as it took to find the last new one, so a second defect is found only
# if one of the early draws hits it; with this seed one does (about 9 seeds in 10 do). If a change to
# the strategies makes this seed miss the value defect, pick another seed.
SEED = "0"


def test_a_second_defect_in_the_same_test_is_recorded_too(pytester):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "10",
                                           "--hypothesis-seed", SEED, "--impl", f"{IMPL}:conv_transpose", "--report-dir", "out",
                                           "-k", "test_values and not large")
    assert result.ret == 1
    output = result.stdout.str()
    # Each lane (float32, float64) reports several. The phrase also appears in the short summary where
    # pytest does not truncate it (CI=true), so the records below, not this count, say which lane did.
    found = [int(n) for n in re.findall(r"Hypothesis found (\d+) distinct failures", output)]
    assert found and min(found) >= 2, output[-3000:]
    # Each failure is raised as its signature's class: the two defects' classes appear by name.
    assert "Discrepancy[mismatch forward " in output and "Discrepancy[shape-mismatch forward " in output

    lines = (pytester.path / "out" / "records.jsonl").read_text().splitlines()
    failing = [json.loads(line) for line in lines[1:] if json.loads(line)["outcome"] != "pass"]
    for dtype in ("float32", "float64"):  # both defects on each lane, from the same test
        lane = [record for record in failing if record["dtype"] == dtype]
        values = [record for record in lane if record["outcome"] == "mismatch"]
        shapes = [record for record in lane if record["outcome"] == "shape-mismatch"]
        assert values and shapes and len(values) + len(shapes) == len(lane), [(r["outcome"], r["bucket"]) for r in lane]
        # The planted regions, read off each recorded case by hand: the value defect has a start crop
        # past K-1 = d*(k-1) in some dim; the shape defect has groups and no such crop.
        for record in values:
            case = record["case"]
            assert any(before > d * (k - 1) for (before, _), k, d in zip(case["padding"], case["kernel_size"], case["dilation"]))
            # Only one class ranks above 'start crop > K-1' and implies it: a crop past the full length.
            assert record["bucket"] in ("mismatch forward start crop > K-1", "mismatch forward crop reaches the full length (bias-only output)")
        for record in shapes:
            assert record["case"]["groups"] > 1 and record["bucket"].startswith("shape-mismatch forward ")
        buckets = [record["bucket"] for record in lane]
        assert len(set(buckets)) == len(buckets), "a bucket recorded twice: the final replays are one per signature"

    summary = json.loads((pytester.path / "out" / "summary.json").read_text())
    assert sorted(entry["bucket"] for entry in summary["discrepancies"]) == sorted(record["bucket"] for record in failing)
    assert len({entry["id"] for entry in summary["discrepancies"]}) == len(failing)
    page = (pytester.path / "out" / "report.html").read_text()
    assert page.count('<tbody class="bucket">') == len({record["bucket"] for record in failing})
