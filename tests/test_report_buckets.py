"""Reports group discrepancies by bucket: summary.json carries each one's bucket, the page's index
groups them with a count per bucket, and a bucket changes no discrepancy's id."""

from __future__ import annotations

import dataclasses
import re

from conformance.records import Record
from reports.discrepancies import discrepancy_id
from reports.html import render_html
from reports.summary import build_summary

CASE = dict(batch=None, groups=1, in_per_group=1, out_per_group=1, input_size=[3], kernel_size=[3], bias=False, values="float", seed=0,
            stride=[1], dilation=[1], padding=[[3, 0]], output_padding=[0])
CROP = "mismatch forward start crop > K-1"
GROUPS = "shape-mismatch forward groups > 1"
RUN = {"date": "2026-11-01T00:00:00+00:00", "status": "complete"}


def make(outcome, bucket, seed, **fields) -> Record:
    return Record(check="forward", target="impl.function", framework="impl", version="", device="cpu", dtype="float32",
                  precision="default", outcome=outcome, case={**CASE, "seed": seed}, bucket=bucket, message=f"{outcome} {seed}", **fields)


def records() -> list[Record]:
    return [
        make("pass", "", 0),
        make("shape-mismatch", GROUPS, 1),
        make("mismatch", CROP, 2),
        make("mismatch", CROP, 3),
        make("known", CROP, 4, known="impl-crop"),
        make("mismatch", "", 5),  # written before records had buckets
    ]


def test_each_summary_discrepancy_names_its_bucket():
    entries = build_summary(RUN, records())["discrepancies"]
    assert [(entry["kind"], entry["bucket"]) for entry in entries] == [
        ("shape-mismatch", GROUPS), ("mismatch", CROP), ("mismatch", CROP), ("known", CROP), ("mismatch", "")]


def test_a_bucket_is_no_part_of_a_discrepancys_id():
    record = make("mismatch", CROP, 2)
    assert discrepancy_id(record) == discrepancy_id(dataclasses.replace(record, bucket="")) == discrepancy_id(dataclasses.replace(record, bucket=GROUPS))


def test_an_old_record_reads_with_no_bucket():
    line = make("mismatch", CROP, 2).to_json().replace(f', "bucket": "{CROP}"', "")
    assert '"bucket"' not in line and Record.from_json(line).bucket == ""


def test_the_page_indexes_discrepancies_bucket_by_bucket_with_counts():
    page = render_html(RUN, records())
    summary = re.search(r'<p id="bucket-summary">(.*?)</p>', page, re.S).group(1)
    # The most frequent bucket first; a bucket of known findings alone would come after those with failures.
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", summary)).strip() == (
        "3 buckets (outcome, check, geometric class): mismatch forward start crop &gt; K-1 (3), "
        "not bucketed (recorded before buckets) (1), shape-mismatch forward groups &gt; 1 (1)")
    index = page[page.index('<table id="discrepancy-index">'):]
    index = index[: index.index("</table>")]
    groups = re.findall(r'<tbody class="bucket">(.*?)</tbody>', index, re.S)
    headings = [re.sub(r"<[^>]+>", "", re.search(r'<tr class="bucket-heading">(.*?)</tr>', group, re.S).group(1)) for group in groups]
    assert headings == ["mismatch forward start crop &gt; K-1 — 3 discrepancies", "not bucketed (recorded before buckets) — 1 discrepancy",
                        "shape-mismatch forward groups &gt; 1 — 1 discrepancy"]
    links = [re.findall(r'<a href="#(d\d+-[0-9a-f]{12})">', group) for group in groups]
    assert [len(group) for group in links] == [3, 1, 1]
    # Every link reaches its section, and the sections come in the index's order, a bucket's together.
    sections = re.findall(r'<section class="discrepancy [^"]*" id="([^"]+)"', page)
    assert sections == [anchor for group in links for anchor in group]
    crop_ids = {discrepancy_id(r) for r in records() if r.bucket == CROP}
    assert {anchor.split("-", 1)[1] for anchor in links[0]} == crop_ids
    # Within a bucket the failures come before the known finding.
    assert re.findall(r'<td class="(?:mismatch|known|crash)">([^<]+)</td>', groups[0]) == ["mismatch", "mismatch", "known"]


def test_a_hand_edited_bucket_that_is_no_string_still_renders():
    page = render_html(RUN, [make("mismatch", None, 1), make("mismatch", 7, 2), make("mismatch", CROP, 3)])
    assert page.count('<tbody class="bucket">') == 2 and "not bucketed (recorded before buckets) <span class=\"muted\">— 2 discrepancies" in page
