"""Reports made from records: summary.json's schema and totals, report.html's sections and self-containment,
atomic writing, the plugin writing both at the end of every run, and ``convt report``."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import oracles
from conformance.records import RECORDS_FILE, Record, read_run, write_run
from convt.cli import main
from reports import html as html_module
from reports import write as write_module
from reports.discrepancies import discrepancy_id
from reports.heatmap import flatten, ratio_heatmap
from reports.html import render_html
from reports.snippets import operands_snippet, oracle_snippet
from reports.summary import build_summary
from reports.write import write_reports

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"

CASE_2D = dict(batch=2, groups=1, in_per_group=2, out_per_group=3, input_size=[4, 5], kernel_size=[3, 3], bias=True, values="float",
               seed=7, stride=[2, 1], dilation=[1, 1], padding=[[1, 1], [0, 0]], output_padding=[1, 0])
CASE_1D = dict(batch=None, groups=1, in_per_group=1, out_per_group=3, input_size=[2], kernel_size=[2], bias=True, values="float",
               seed=0, stride=[1], dilation=[1], padding=[[0, 0]], output_padding=[0])
NATIVE_CASE = dict(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=[3], kernel_size=[2], bias=False, values="float",
                   seed=3, dialect="torch", variant="functional", native=[["dilation", [1]], ["output_padding", [1]], ["padding", [1]], ["stride", [2]]])
RUN = {
    "date": "2026-01-02T03:04:05+00:00", "python": "3.11.7", "platform": "Linux-test",
    "frameworks": {
        "torch": {"framework": "torch", "version": "2.13.0+cpu", "devices": ["cpu"], "tf32": {"cudnn.allow_tf32": True, "cuda.matmul.allow_tf32": False}, "mkldnn": True},
        "tensorflow": {"framework": "tensorflow", "version": "2.21.0", "devices": ["cpu"], "onednn_enabled": True, "TF_ENABLE_ONEDNN_OPTS": None},
    },
    "options": {"frameworks": ["torch", "tensorflow"], "devices": [], "dtypes": [], "impl": None},
    "hypothesis": {"profile": "ci", "max_examples": 100, "derandomize": True, "seed": 12345},
    "known_discrepancies": [
        {"id": "torch-zero-length-output-not-rejected", "framework": "torch", "versions": ">=2.2,<2.14", "reason": "empty tensor instead of an error",
         "link": "https://github.com/pytorch/pytorch/issues/127734", "matched": 1},
        {"id": "never-matched", "framework": "tensorflow", "versions": ">=2.16", "reason": "an idle entry", "link": "https://example.org/issue/1", "matched": 0},
        {"id": "not-this-run", "framework": "jax", "versions": ">=0.4", "reason": "a framework the run did not test", "link": "https://example.org/issue/2", "matched": 0},
    ],
}


def ratio_map_2d():
    """(2, 3, 8, 7): CASE_2D's output; two elements beyond the bound, one infinite (-1)."""
    ratios = np.full((2, 3, 8, 7), 0.01)
    ratios[1, 2, 5, 3] = 4.0e3
    ratios[0, 1, 0, 0] = -1.0
    return ratios.tolist()


def make(outcome="pass", **fields) -> Record:
    defaults = dict(check="forward", target="torch.functional", framework="torch", version="2.13.0+cpu", device="cpu", dtype="float32",
                    precision="default", outcome=outcome, case=dict(CASE_1D), test="test_values.py::test_values[torch.functional-cpu-float32]")
    return Record(**{**defaults, **fields})


def sample_records() -> list[Record]:
    mismatch = make("mismatch", case=dict(CASE_2D), native={"stride": [2, 1], "padding": [1, 0], "output_padding": [1, 0], "dilation": [1, 1]},
                    message="2 of 336 elements exceed the error bound <worst>", max_abs_error=0.5, bound=1.25e-4, ratio=4.0e3,
                    worst_index=[1, 2, 5, 3], ratio_map=ratio_map_2d(),
                    first_differences=[{"index": [0, 1, 0, 0], "actual": 1.0, "expected": 0.5, "bound": 0.0},
                                       {"index": [1, 2, 5, 3], "actual": 2.0, "expected": 1.5, "bound": 1.25e-4}],
                    repro="import torch\ny = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias), stride=(2, 1))")
    return [
        *[make() for _ in range(3)],
        make(dtype="float64"),
        mismatch,
        make("shape-mismatch", target="tensorflow.nn", framework="tensorflow", version="2.21.0", dtype="float64", message="out.shape=(3, 4), but should be (3, 5)"),
        make("error-mismatch", check="native", target="jax.conv_transpose", framework="jax", version="0.7.0", case=dict(NATIVE_CASE, dialect="jax"),
             native={"strides": [2], "padding": "SAME"}, message="raised ValueError, but the configuration is valid"),
        make("crash", target="jax.conv_transpose", framework="jax", version="0.7.0", message="the worker died (SIGABRT)"),
        make("timeout", target="jax.conv_transpose", framework="jax", version="0.7.0", dtype="float64", message="no answer within 120 s"),
        make("unsupported", target="tensorflow.nn", framework="tensorflow", version="2.21.0", message="dilation needs oneDNN"),
        make("known", check="native", dtype="bfloat16", case=dict(NATIVE_CASE), native={"stride": [2], "padding": [1], "output_padding": [1], "dilation": [1]},
             known="torch-zero-length-output-not-rejected", message="known discrepancy"),
    ]


# -- summary.json ------------------------------------------------------------------------------------


def test_summary_has_exactly_the_documented_form():
    records = sample_records()
    summary = build_summary(RUN, records)
    assert set(summary) == {"status", "status_reason", "environment", "targets", "draws", "totals", "discrepancies"}
    assert {"date", "python", "platform", "frameworks", "options", "hypothesis", "known_discrepancies"} <= set(summary["environment"])
    assert summary["environment"]["hypothesis"]["seed"] == 12345
    for target in summary["targets"]:
        assert set(target) == {"name", "framework", "version", "device", "dtype", "precision", "backend", "mode"}
    lanes = {(t["name"], t["dtype"]) for t in summary["targets"]}
    assert lanes == {(r.target, r.dtype) for r in records} and len(summary["targets"]) == len(lanes)
    json.loads(json.dumps(summary, allow_nan=False))  # strict JSON throughout


def test_summary_totals_group_the_raw_outcomes():
    totals = build_summary(RUN, sample_records())["totals"]
    assert totals["checks"] == 11
    assert (totals["passed"], totals["failed"], totals["xfailed"], totals["skipped"]) == (4, 5, 1, 1)
    assert totals["pass"] == 4 and totals["mismatch"] == 1 and totals["shape-mismatch"] == 1 and totals["error-mismatch"] == 1
    assert totals["crash"] == 1 and totals["timeout"] == 1 and totals["unsupported"] == 1 and totals["known"] == 1


def test_summary_of_nothing_has_every_key():
    summary = build_summary({}, [])
    assert summary["targets"] == [] and summary["discrepancies"] == []
    assert summary["totals"]["checks"] == 0 and summary["totals"]["failed"] == 0 and summary["totals"]["crash"] == 0
    assert summary["environment"]["hypothesis"] == {"profile": None, "max_examples": None, "derandomize": None, "seed": None}


def test_summary_discrepancies_are_the_shared_entries():
    records = sample_records()
    entries = build_summary(RUN, records)["discrepancies"]
    failing = [r for r in records if r.outcome not in ("pass", "unsupported")]
    assert [e["id"] for e in entries] == [discrepancy_id(r) for r in failing]
    assert {"id", "target", "kind", "config", "max_abs_error", "bound", "repro", "known"} <= set(entries[0])
    mismatch = next(e for e in entries if e["kind"] == "mismatch")
    assert mismatch["config"]["case"]["stride"] == [2, 1] and mismatch["bound"] == 1.25e-4
    assert next(e for e in entries if e["kind"] == "known")["known"] == "torch-zero-length-output-not-rejected"


def test_an_infinite_ratio_is_written_as_a_string():
    summary = build_summary(RUN, [make("mismatch", max_abs_error=1.0, bound=0.0, ratio=float("inf"))])
    assert summary["discrepancies"][0]["ratio"] == "inf"


# -- report.html -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    return render_html(RUN, sample_records())


class Resources(HTMLParser):
    """Every attribute that makes a browser fetch something (not <a href>), and inline CSS url()s."""

    def __init__(self):
        super().__init__()
        self.loads, self.styles, self.style = [], [], False

    def handle_starttag(self, tag, attrs):
        self.style = tag == "style"
        for name, value in attrs:
            if value and (name in ("src", "srcset", "poster", "data", "action", "background") or (name == "href" and tag != "a")):
                self.loads.append((tag, name, value))
            if name == "style" and value:
                self.styles.append(value)

    def handle_data(self, data):
        if self.style:
            self.styles.append(data)


def test_the_page_loads_nothing_from_the_network(page):
    parser = Resources()
    parser.feed(page)
    assert parser.loads, "the parser saw no resources at all"
    assert all(value.startswith("data:") for _, _, value in parser.loads), parser.loads
    assert not any(re.search(r"url\(|@import", style) for style in parser.styles)
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=["']?https?:""", page)


def test_the_page_shows_the_environment(page):
    for text in ("2.13.0+cpu", "2.21.0", "cudnn.allow_tf32=True", "onednn_enabled=True", "mkldnn=True", "profile <code>ci</code>", "12345", "2026-01-02T03:04:05+00:00"):
        assert text in page, text


def test_the_matrix_has_a_row_per_lane_with_coloured_counts(page):
    matrix = page[page.index('<table id="matrix">'): page.index("</table>", page.index('<table id="matrix">'))]
    rows = re.findall(r"<tr data-pass=\"(\d+)\" data-known=\"(\d+)\" data-mismatch=\"(\d+)\" data-unsupported=\"(\d+)\" data-crash=\"(\d+)\">", matrix)
    assert len(rows) == len({(r.target, r.device, r.dtype, r.precision) for r in sample_records()})
    assert ("3", "0", "1", "0", "0") in rows  # torch.functional float32: 3 pass, 1 mismatch
    assert ("0", "0", "0", "0", "2") not in rows and ("0", "0", "0", "0", "1") in rows  # jax crash and timeout on separate lanes
    assert 'class="num mismatch"' in matrix and 'class="num pass"' in matrix and 'class="num zero"' in matrix
    assert 'id="matrix-filter"' in page and page.count('class="outcome-filter"') == 5 and 'class="sortable' in matrix


def test_a_mismatch_section_has_the_heatmap_numbers_differences_and_repro(page):
    mismatch = next(r for r in sample_records() if r.outcome == "mismatch")
    start = page.index(f'id="d1-{discrepancy_id(mismatch)}"')  # failures first: the mismatch is the first section
    section = page[start: page.index("</section>", start)]
    image = re.search(r'<img class="heatmap"[^>]* src="data:image/png;base64,([A-Za-z0-9+/=]+)"', section)
    assert image and base64.b64decode(image.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert "4000" in section.replace("4e+03", "4000") and "0.000125" in section  # ratio and bound
    assert "<code>(1, 2, 5, 3)</code>" in section and "∞" in section  # a first difference; an infinite ratio
    assert "conv_transpose2d(torch.from_numpy(x)" in section
    assert "oracles.conv_transpose(x, w, bias, stride=(2, 1), padding=((1, 1), (0, 0)), output_padding=(1, 0), dilation=(1, 1), groups=1)" in section
    assert "&lt;worst&gt;" in section and "<worst>" not in section  # messages are escaped


def test_a_native_section_names_its_dialect_and_canonical_terms(page):
    known = next(r for r in sample_records() if r.outcome == "known")
    start = re.search(rf'<section [^>]*id="d\d+-{discrepancy_id(known)}"', page).start()
    section = page[start: page.index("</section>", start)]
    # Every dialect takes groups= (Dialect.to_canonical), so the snippet passes the case's count.
    assert ("get_dialect(&#39;torch&#39;).to_canonical((3,), (2,), groups=1, dilation=(1,), output_padding=(1,), "
            "padding=(1,), stride=(2,))") in section
    assert "native case, mapped by its dialect" in section and "https://github.com/pytorch/pytorch/issues/127734" in section


def test_the_same_table_marks_the_differing_cells(page):
    table = page[page.index('<table id="same-table">'): page.index("</table>", page.index('<table id="same-table">'))]
    assert "tensorflow SAME" in table and "onnx SAME_LOWER" in table and "torch (p, op)" in table
    assert table.count("<tr>") >= 3 and 'class="differs"' in table


def test_the_known_discrepancies_have_reason_link_and_matches(page):
    table = page[page.index('<table id="known-table">'): page.index("</table>", page.index('<table id="known-table">'))]
    assert '<a href="https://github.com/pytorch/pytorch/issues/127734">' in table and "empty tensor instead of an error" in table
    assert re.search(r'class="num known">1</td>', table) and re.search(r'class="num zero">0</td>', table)
    assert "not-this-run" not in table  # another framework's findings say nothing about this run


def test_a_link_that_is_not_http_is_not_made_a_link():
    run = dict(RUN, known_discrepancies=[{"id": "x", "framework": "torch", "versions": "", "reason": "r", "link": "javascript:alert(1)", "matched": 0}])
    assert "javascript:" not in render_html(run, [])


def test_sections_are_capped_failures_first(monkeypatch):
    monkeypatch.setattr(html_module, "MAX_SECTIONS", 2)
    records = [make("known", known="k")] + [make("shape-mismatch", case=dict(CASE_1D, seed=seed)) for seed in range(4)]
    page = render_html(RUN, records)
    assert page.count('<section class="discrepancy') == 2 and '<section class="discrepancy kind-known' not in page
    assert "3 more discrepancies are not shown" in page


def test_heatmaps_flatten_leading_dims_and_draw_infinite_ratios():
    image, band, labels, axis = flatten(ratio_map_2d(), spatial_ndim=2)
    assert image.shape == (2 * 3 * 8, 7) and band == 8 and labels[:2] == ["n0 c0", "n0 c1"] and axis == "(n, c, h) flattened"
    image, band, labels, axis = flatten(np.zeros((3, 2, 4, 5)).tolist(), spatial_ndim=3)  # unbatched 3-D
    assert image.shape == (3 * 2 * 4, 5) and band == 8 and labels == ["c0", "c1", "c2"]
    assert flatten([[0.5, -1.0]], spatial_ndim=1)[0].shape == (1, 2)
    assert ratio_heatmap([[-1.0, 0.0, 2.0]], 1).startswith("data:image/png;base64,")


@pytest.mark.parametrize("record", [
    make("mismatch", case=dict(CASE_2D), dtype="float32"),
    make("mismatch", check="gradient-input", case=dict(CASE_2D), dtype="bfloat16"),
    make("mismatch", check="gradient-weight", case=dict(CASE_1D, values="integer"), dtype="float64"),
    make("known", check="native", case=dict(NATIVE_CASE)),
], ids=["forward", "gradient-input", "gradient-weight", "native"])
def test_the_oracle_snippets_run(record):
    scope: dict = {}
    exec(operands_snippet(record) + "\n" + oracle_snippet(record), scope)  # noqa: S102 - the snippet is ours
    case = record.case
    if record.check == "native":  # torch: o = (3-1)*2 - 2*1 + (2-1) + 1 + 1 = 5, i.e. crops (1, 1-1)
        direct = oracles.conv_transpose(scope["x"], scope["w"], None, stride=2, padding=1, output_padding=1)
        assert scope["expected"].shape == (1, 1, 5) and np.array_equal(scope["expected"], direct)
    else:
        assert scope["expected"].shape[1] == case["out_per_group"] * case["groups"]
    if record.check == "gradient-input":
        assert scope["expected_dx"].shape == scope["x"].shape
    if record.check == "gradient-weight":
        assert scope["expected_dw"].shape == scope["w"].shape


# -- writing -----------------------------------------------------------------------------------------


def test_write_reports_writes_both(tmp_path):
    paths = write_reports(tmp_path, RUN, sample_records())
    assert sorted(p.name for p in paths) == ["report.html", "summary.json"]
    assert json.loads((tmp_path / "summary.json").read_text())["totals"]["checks"] == 11
    assert (tmp_path / "report.html").read_text().rstrip().endswith("</html>")


def test_a_failure_while_rendering_writes_nothing(tmp_path, monkeypatch):
    def broken(run, records, tally=None):
        raise RuntimeError("template bug")

    monkeypatch.setattr(write_module, "render_html", broken)
    with pytest.raises(RuntimeError, match="template bug"):
        write_reports(tmp_path / "fresh", RUN, sample_records())
    assert not (tmp_path / "fresh").exists() or not list((tmp_path / "fresh").iterdir())
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("previous")
    with pytest.raises(RuntimeError):
        write_reports(tmp_path / "old", RUN, sample_records())
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["summary.json"] and (tmp_path / "old" / "summary.json").read_text() == "previous"


class Interrupted(Exception):
    """A write cut short (a full disk, a signal) just as report.html would land."""


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    import os

    real = os.replace

    def replace(source, destination):
        if Path(destination).name == "report.html":
            raise Interrupted
        return real(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Interrupted):
        write_reports(tmp_path, RUN, sample_records())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # no report.html, no temporary file
    assert json.loads((tmp_path / "summary.json").read_text())["totals"]["checks"] == 11  # and the summary complete


# -- the plugin writes the reports at the end of every run --------------------------------------------


@pytest.mark.parametrize("impl, args", [
    ("missing_bias.py", ["-k", "test_values and not large"]),  # checks fail
    ("aborts.py", ["-k", "test_values and not large"]),  # a crash isolated in its worker
    ("missing_bias.py", ["-k", "test_values and not large", "-n", "2"]),  # xdist: the controller writes
], ids=["failed", "crashed", "xdist"])
def test_every_run_ends_with_the_reports(pytester, impl, args):
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--max-examples", "10",
                                           "--impl", f"{IMPLS / impl}:conv_transpose", "--report-dir", "out", *args)
    assert result.ret == 1
    out = pytester.path / "out"
    run, records = read_run(out / RECORDS_FILE)
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(build_summary(run, records)))
    assert summary["totals"]["failed"] >= 1 and summary["totals"]["checks"] == len(records)
    page = (out / "report.html").read_text()
    assert page.count('<section class="discrepancy') == len(summary["discrepancies"])
    assert main(["report", str(out)]) == 0 and (out / "report.html").read_text() == page  # what `convt report` makes, exactly


# -- convt report ------------------------------------------------------------------------------------


def test_convt_report_round_trip(tmp_path, capsys):
    records = sample_records()
    write_run(tmp_path, RUN, records)
    assert main(["report", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.split() == [str(tmp_path / "summary.json"), str(tmp_path / "report.html")]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == json.loads(json.dumps(build_summary(*read_run(tmp_path / RECORDS_FILE))))
    assert summary["totals"]["checks"] == len(records) and summary["environment"]["hypothesis"]["seed"] == 12345
    first = (tmp_path / "report.html").read_bytes()
    assert main(["report", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == summary
    assert (tmp_path / "report.html").read_bytes() == first  # re-rendering is deterministic


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing", "no such directory"),
    (lambda d: d, "no records.jsonl in"),
    (lambda d: _write(d / RECORDS_FILE, "x"), "not a directory"),
    (lambda d: _write(d / RECORDS_FILE, '{"run": {}}\n{"check": "forward"}\n').parent, "records.jsonl:2: not a record"),
    (lambda d: _write(d / RECORDS_FILE, '{"run": {}}\nnot json\n').parent, "records.jsonl:2: not a record"),
    (lambda d: _write(d / RECORDS_FILE, "[1, 2]\n").parent, "every line must be a JSON object"),
    (lambda d: _write(d / RECORDS_FILE, "").parent, "empty"),
    (lambda d: _write_bytes(d / RECORDS_FILE, b'{"run": {}}\n\xff\n').parent, "records.jsonl: not UTF-8 text"),
], ids=["missing-directory", "no-records", "a-file", "missing-fields", "not-json", "not-an-object", "empty", "not-utf8"])
def test_convt_report_bad_input_is_one_line_and_exit_2(tmp_path, capsys, setup, message):
    target = setup(tmp_path)
    assert main(["report", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("convt: error: ") and message in err, err
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "summary.json").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_lanes_not_run_are_listed():
    """A green matrix says nothing about a lane the machine could not run: the page names each with its reason."""
    run = {**RUN, "skipped_lanes": [{"lane": "torch.*-gpu-float32-tf32", "reason": "no GPU visible to torch"}]}
    page = render_html(run, sample_records())
    assert 'id="lanes-not-run"' in page and "<code>torch.*-gpu-float32-tf32</code>: no GPU visible to torch" in page
    assert 'id="lanes-not-run"' not in render_html(RUN, sample_records())


STANDALONE = "# Standalone repro: the forward check of torch.functional (torch 2.13)\nimport numpy as np\nprint('<a> & b')\n"


def test_a_standalone_repro_is_shown_whole_with_a_copy_button_and_is_summary_jsons_repro():
    record = make("mismatch", case=dict(CASE_2D), repro=STANDALONE)
    page = render_html(RUN, [record])
    start = page.index(f'-{discrepancy_id(record)}"')
    section = page[start: page.index("</section>", start)]
    assert '<button type="button" class="copy" data-copies="repro-1">copy</button>' in section
    assert '<pre class="repro" id="repro-1"># Standalone repro: the forward check' in section and "&lt;a&gt; &amp; b" in section
    assert f"convt repro DIR {discrepancy_id(record)}" in section
    assert 'class="operands"' not in section and "oracles.conv_transpose" not in section  # the script stands alone
    assert "navigator.clipboard.writeText" in page and "selectNodeContents" in page  # the fallback where the clipboard is refused
    assert build_summary(RUN, [record])["discrepancies"][0]["repro"] == STANDALONE


# -- reports made in passes over a records file ----------------------------------------------------


@pytest.mark.parametrize("records", [sample_records, lambda: [], lambda: [make("mismatch", max_abs_error=1.0, bound=0.0, ratio=float("inf"))]],
                         ids=["sample", "none", "infinite-ratio"])
def test_the_streamed_summary_is_the_summary_byte_for_byte(records):
    import io

    from reports.summary import to_json, write_summary
    from reports.tally import Tally

    stream = io.StringIO()
    write_summary(stream, RUN, Tally.of(records()), records())
    assert stream.getvalue() == to_json(build_summary(RUN, records()))


def test_reports_from_a_records_file_are_those_from_its_records_in_memory(tmp_path):
    from conformance.records import RecordsFile

    write_run(tmp_path / "file", RUN, sample_records())
    write_reports(tmp_path / "file", RUN, RecordsFile(tmp_path / "file" / RECORDS_FILE))
    write_reports(tmp_path / "memory", RUN, sample_records())
    for name in ("summary.json", "report.html"):
        assert (tmp_path / "file" / name).read_text() == (tmp_path / "memory" / name).read_text()


def test_a_page_shows_the_first_sections_of_many_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr(html_module, "MAX_SECTIONS", 3)
    records = [make("mismatch" if index % 2 else "known", max_abs_error=float(index)) for index in range(10)]
    sections, hidden, groups = html_module.discrepancy_sections(records, RUN)
    # Failures first, in record order, whatever the iteration kept in memory.
    assert [section["record"].max_abs_error for section in sections] == [1.0, 3.0, 5.0] and hidden == 7
    assert sum(group["count"] for group in groups) == 10
