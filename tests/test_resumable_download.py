"""js/shared/resumable-download.js in Node against the fault server (tests/e2e/fault_server.py).

The module is the one the service worker and the model worker download through; here
Node's fetch drives it over real sockets that the server cuts, so each case runs in
well under a second. The browser paths are in tests/e2e/test_faults_downloads.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.fault_server import Faults, fault_server

MODULE = Path(__file__).resolve().parent.parent / "web/static/js/shared/resumable-download.js"
SIZE = 3_000_000
PATH = "/files/weights.data"

DOWNLOAD = """
import { createHash } from "node:crypto";
import %(module)s;  // a classic script: it defines globalThis.resumableBody
const { resumableBody } = globalThis;
const [url, size] = [process.argv[1], Number(process.argv[2])];
const events = [];
const hash = createHash("sha256");
let bytes = 0;
try {
  const response = await fetch(url);
  const body = resumableBody(response, { url, size, firstWaitMs: %(wait)d, onEvent: (e) => events.push(e) });
  for await (const chunk of body) { hash.update(chunk); bytes += chunk.length; }
  console.log(JSON.stringify({ ok: true, sha256: hash.digest("hex"), bytes, events }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), bytes, events }));
}
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "weights.data").write_bytes(os.urandom(SIZE))
    return tmp_path


@dataclass
class Served:
    origin: str
    faults: Faults
    httpd: ThreadingHTTPServer


@pytest.fixture
def server(folder) -> Iterator[Served]:
    faults = Faults()
    httpd = fault_server(folder, faults)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Served(f"http://127.0.0.1:{httpd.server_address[1]}", faults, httpd)
    httpd.shutdown()
    httpd.server_close()


def start_download(url: str, size: int = SIZE, first_wait_ms: int = 20) -> subprocess.Popen:
    script = DOWNLOAD % {"module": json.dumps(MODULE.as_uri()), "wait": first_wait_ms}
    return subprocess.Popen(
        ["node", "--input-type=module", "-e", script, url, str(size)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def finished(process: subprocess.Popen) -> dict:
    return json.loads(process.communicate(timeout=60)[0])


def download(url: str, size: int = SIZE) -> dict:
    return finished(start_download(url, size))


def wait_until(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def sha256_of(folder: Path) -> str:
    return hashlib.sha256((folder / "files" / "weights.data").read_bytes()).hexdigest()


def test_a_cut_at_70_percent_resumes_from_the_last_byte(server, folder):
    server.faults.cut(PATH, int(SIZE * 0.7))
    result = download(server.origin + PATH)
    assert result["ok"], result
    assert (result["bytes"], result["sha256"]) == (SIZE, sha256_of(folder))
    [event] = result["events"]
    assert event["type"] == "resume" and 0 < event["at"] <= int(SIZE * 0.7)
    asked = server.faults.requests_for(PATH)
    assert asked == [(None, 200), (f"bytes={event['at']}-", 206)]
    assert server.faults.sent[PATH] <= 1.3 * SIZE  # the file once, plus what was in flight
    print(f"cut at 70 %: {server.faults.sent[PATH] / SIZE:.3f} × the file sent")


def test_several_cuts_resume_each_time(server, folder):
    server.faults.cut(PATH, SIZE // 5, SIZE // 2, SIZE - 10)
    result = download(server.origin + PATH)
    assert result["ok"] and result["sha256"] == sha256_of(folder)
    assert [e["type"] for e in result["events"]] == ["resume"] * 3
    statuses = [status for _, status in server.faults.requests_for(PATH)]
    assert statuses == [200, 206, 206, 206]


def test_a_server_that_ignores_range_restarts_from_zero_and_drops_what_it_had(server, folder):
    server.faults.ignore_range(PATH)
    server.faults.cut(PATH, int(SIZE * 0.7))
    result = download(server.origin + PATH)
    assert result["ok"], result
    assert (result["bytes"], result["sha256"]) == (SIZE, sha256_of(folder))
    [event] = result["events"]
    assert event["type"] == "restart"
    asked = server.faults.requests_for(PATH)
    assert [status for _, status in asked] == [200, 200] and asked[1][0] == f"bytes={event['at']}-"
    assert server.faults.sent[PATH] == int(SIZE * 0.7) + SIZE  # the whole file came again


def test_a_file_changed_between_the_cut_and_the_resume_is_never_spliced(server, folder):
    server.faults.cut(PATH, SIZE // 2)
    process = start_download(server.origin + PATH, first_wait_ms=1500)
    wait_until(lambda: server.faults.sent[PATH] >= SIZE // 2)  # cut; the retry waits 1.5 s
    replacement = folder / "files" / "weights.new"
    replacement.write_bytes(os.urandom(SIZE))  # a new deploy: another ETag
    replacement.replace(folder / "files" / "weights.data")
    result = finished(process)
    assert not result["ok"]
    assert "changed on the server" in result["error"]
    assert result["bytes"] <= SIZE // 2


def test_a_file_gone_on_the_server_fails_at_once(server, folder):
    server.faults.cut(PATH, SIZE // 3)
    process = start_download(server.origin + PATH, first_wait_ms=500)
    wait_until(lambda: server.faults.sent[PATH] >= SIZE // 3)
    (folder / "files" / "weights.data").unlink()
    result = finished(process)
    assert not result["ok"]
    assert "HTTP 404" in result["error"]


def test_a_server_that_stays_away_fails_after_bounded_retries(server):
    server.faults.cut(PATH, SIZE // 3)
    process = start_download(server.origin + PATH, first_wait_ms=200)
    wait_until(lambda: server.faults.sent[PATH] >= SIZE // 3)
    server.httpd.shutdown()
    server.httpd.server_close()
    started = time.monotonic()
    result = finished(process)
    assert not result["ok"]
    assert "failed 5 times in a row" in result["error"]
    assert time.monotonic() - started < 0.2 * (1 + 2 + 4 + 8 + 16) + 5  # 6.2 s of waits


def test_a_longer_file_than_listed_is_refused(server):
    result = download(server.origin + PATH, size=SIZE - 1)
    assert not result["ok"]
    assert "more than the" in result["error"]
