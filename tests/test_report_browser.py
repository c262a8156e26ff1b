"""report.html in a real browser: headless Chromium loads it offline without console errors, requests
nothing but the file and its data: images, and shows the matrix and a discrepancy section.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``: commands
on its fd 3, replies on fd 4, each JSON message ended by a NUL byte), which needs no websocket client,
no driver and no port. Skipped where no Chromium is installed (Debian: ``apt-get install chromium``;
or point ``CONVT_CHROMIUM`` at a Chrome/Chromium binary).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pytest

from conformance.records import Record
from reports.html import render_html

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BINARY = os.environ.get("CONVT_CHROMIUM") or next(filter(None, map(shutil.which, CANDIDATES)), None)
pytestmark = pytest.mark.skipif(BINARY is None or not os.access(BINARY, os.X_OK),
                                reason=f"no Chromium found ({BINARY or 'none on PATH'}): apt-get install chromium, or set CONVT_CHROMIUM to a Chrome/Chromium binary")
TIMEOUT = 30.0
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--remote-debugging-pipe", "--window-size=1400,2000")


class Chromium:
    """One headless browser and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="convt-chromium-")
        commands_read, self.commands = os.pipe()
        self.replies, replies_write = os.pipe()

        def descriptors():  # in the child: the protocol's fixed fds 3 (commands in) and 4 (replies out)
            commands, replies = os.dup(commands_read), os.dup(replies_write)  # above 4, so dup2 cannot clobber them
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"], preexec_fn=descriptors,
                                        close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self.buffer, self.last_id, self.events = b"", 0, []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable", page=True)

    def send(self, method: str, params: dict | None = None, page: bool = False) -> dict:
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            for reply in self._receive(deadline):
                if reply.get("id") == self.last_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)

    def _receive(self, deadline: float) -> list[dict]:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.replies], [], [], remaining)[0]:
            raise TimeoutError("Chromium did not answer in time")
        chunk = os.read(self.replies, 1 << 20)
        if not chunk:
            raise EOFError("Chromium closed the DevTools pipe")
        self.buffer += chunk
        *messages, self.buffer = self.buffer.split(b"\0")
        return [json.loads(message) for message in messages]

    def load(self, path) -> None:
        """Open ``path`` and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", {"url": f"file://{path}"}, page=True)
        deadline = time.monotonic() + TIMEOUT
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            self.events += self._receive(deadline)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, page=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (failed loads, CSP, ...) since the load."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(arg.get("value", arg.get("description"))) for arg in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append("log: " + params["entry"].get("text", ""))
        return found

    def requests(self) -> list[str]:
        return [event["params"]["request"]["url"] for event in self.events if event.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(10)
        except Exception:
            self.process.kill()
            self.process.wait(10)
        finally:
            os.close(self.commands)
            os.close(self.replies)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium(BINARY)
    yield chromium
    chromium.close()


def sample_records() -> list[Record]:
    """A passing lane, a mismatch with a ratio map (one infinite ratio), an unsupported lane, a crash."""
    case = dict(batch=1, groups=1, in_per_group=1, out_per_group=3, input_size=[4, 4], kernel_size=[2, 2], bias=True, values="float",
                seed=1, stride=[2, 2], dilation=[1, 1], padding=[[0, 0], [0, 0]], output_padding=[0, 0])
    ratios = np.full((1, 3, 8, 8), 0.05)
    ratios[0, 2] = 3.0e5
    ratios[0, 1, 0, 0] = -1.0

    def make(outcome, **fields):
        base = dict(check="forward", target="impl.function", framework="impl", version="", device="cpu", dtype="float32",
                    precision="default", outcome=outcome, case=case)
        return Record(**{**base, **fields})

    return [
        *[make("pass") for _ in range(5)],
        make("pass", dtype="float64"),
        make("mismatch", message="64 of 192 elements exceed the error bound", max_abs_error=1.3, bound=4.3e-6, ratio=3.0e5, worst_index=[0, 2, 0, 0],
             ratio_map=ratios.tolist(), first_differences=[{"index": [0, 2, 0, 0], "actual": 0.1, "expected": 1.4, "bound": 4.3e-6}],
             repro="# Standalone repro: the forward check of impl.function\nout = conv_transpose(x.astype('float32'), w.astype('float32'), bias, stride=(2, 2))\n"),
        make("unsupported", target="tensorflow.nn", framework="tensorflow", version="2.21.0", message="dilation needs oneDNN"),
        make("crash", target="jax.conv_transpose", framework="jax", version="0.7.0", message="worker died"),
    ]


RUN = {"date": "2026-01-02T03:04:05+00:00", "status": "complete", "status_reason": "", "python": "3.11", "platform": "test",
       "frameworks": {"torch": {"framework": "torch", "version": "2.13.0", "devices": ["cpu"]}},
       "hypothesis": {"profile": "ci", "max_examples": 10, "derandomize": True, "seed": None},
       "known_discrepancies": [{"id": "k", "framework": "torch", "versions": ">=2", "reason": "r", "link": "https://example.org/1", "matched": 0}]}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(RUN, sample_records()), encoding="utf-8")
    return path


VISIBLE = """(selector) => { const e = document.querySelector(selector); if (!e) return false;
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; }"""


def visible(browser, selector: str) -> bool:
    return browser.evaluate(f"({VISIBLE})({json.dumps(selector)})")


def test_the_report_loads_offline_without_console_errors(browser, report):
    browser.load(report)
    assert browser.errors() == []
    assert all(url.startswith(("file://", "data:")) for url in browser.requests()), browser.requests()
    assert browser.evaluate("document.title").startswith("convt conformance report")


def test_the_matrix_and_a_discrepancy_section_are_visible(browser, report):
    browser.load(report)
    assert visible(browser, "#matrix") and visible(browser, "#matrix tbody tr")
    assert browser.evaluate("document.querySelectorAll('#matrix tbody tr:not([hidden])').length") == 4
    assert visible(browser, "section.discrepancy") and visible(browser, "section.discrepancy img.heatmap")
    assert browser.evaluate("document.querySelector('section.discrepancy img.heatmap').naturalWidth") > 100  # the PNG decoded
    assert visible(browser, "#same-table") and visible(browser, "#known-table")


def test_the_matrix_filters_and_sorts(browser, report):
    browser.load(report)
    shown = "Array.from(document.querySelectorAll('#matrix tbody tr:not([hidden])')).map(r => r.cells[0].textContent + ' ' + r.cells[3].textContent)"
    browser.evaluate("(() => { const box = document.getElementById('matrix-filter'); box.value = 'float64'; box.dispatchEvent(new Event('input')); })()")
    assert browser.evaluate(shown) == ["impl.function float64"]
    browser.evaluate("(() => { const box = document.getElementById('matrix-filter'); box.value = ''; box.dispatchEvent(new Event('input')); })()")
    browser.evaluate("document.querySelector('.outcome-filter[value=pass]').click()")  # rows with passes no longer qualify on that alone
    assert sorted(browser.evaluate(shown)) == ["impl.function float32", "jax.conv_transpose float32", "tensorflow.nn float32"]
    browser.evaluate("document.querySelector('.outcome-filter[value=pass]').click()")
    header = "Array.from(document.querySelectorAll('#matrix th')).find(th => th.textContent.trim().startsWith('pass'))"
    browser.evaluate(f"{header}.click()")
    browser.evaluate(f"{header}.click()")  # descending: the lane with most passes first
    assert browser.evaluate(shown)[0] == "impl.function float32"
    assert browser.evaluate(f"{header}.getAttribute('aria-sort')") == "descending"
    assert browser.errors() == []


def test_the_copy_button_copies_the_repro_or_selects_it(browser, report):
    """Headless Chromium may refuse the clipboard to a file:// page; then the script is selected instead."""
    browser.load(report)
    assert visible(browser, "section.discrepancy button.copy") and visible(browser, "section.discrepancy pre.repro")
    label = browser.evaluate("""(async () => {
        const button = document.querySelector('section.discrepancy button.copy');
        button.click();
        for (let i = 0; i < 50 && button.textContent === 'copy'; i++) { await new Promise(r => setTimeout(r, 20)); }
        return button.textContent; })()""")
    script = browser.evaluate("document.querySelector('section.discrepancy pre.repro').textContent")
    assert script.startswith("# Standalone repro:")
    if label == "copied":
        pass  # the clipboard took it (reading it back needs a permission a test page lacks)
    else:
        assert label == "selected: press Ctrl+C" and browser.evaluate("window.getSelection().toString()").rstrip() == script.rstrip()
    assert browser.errors() == []


def test_the_harness_sees_console_errors(browser, tmp_path):
    """The check above is only worth something if an error on the page would fail it."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom'); undefinedFunction();</script>")
    browser.load(broken)
    errors = browser.errors()
    assert any("boom" in error for error in errors) and any("undefinedFunction" in error for error in errors), errors
