"""A real ``redis-server`` for the shared example database's tests: started on 127.0.0.1 on a free
port, without persistence, for one test module, and stopped after it. The tests skip, saying why,
where Debian's ``redis-server`` or the ``redis`` package is not installed (``.ci/run`` installs both)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """``redis://127.0.0.1:PORT/0`` of a server that lives as long as the module's tests."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)")
    redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install 'convt-conformance[redis]')")
    directory = tmp_path_factory.mktemp("redis")
    log = directory / "redis.log"
    for _ in range(5):  # another process may take the free port between the probe and the bind
        port = _free_port()
        process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--dir", str(directory), "--logfile", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline, ready = time.monotonic() + 10, False
        while not ready and process.poll() is None and time.monotonic() < deadline:
            try:
                ready = client.ping()
            except redis.ConnectionError:
                time.sleep(0.05)
        if ready:
            break
        process.kill()
        process.wait()
    else:
        pytest.fail(f"redis-server did not start: {log.read_text(errors='replace')[-500:] if log.exists() else 'no log'}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
