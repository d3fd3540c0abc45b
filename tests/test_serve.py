"""web/serve.py: byte ranges (resumed downloads), gzip copies, no folder listings, the CSP."""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.precompress import write_gzip_copies
from web.serve import (
    CONTENT_SECURITY_POLICY,
    RangeNotSatisfiable,
    accepts_gzip,
    byte_range,
    make_server,
)

DATA = bytes(range(256)) * 40  # 10,240 bytes
SCRIPT = b"export const story = 'once upon a time';\n" * 250  # gzip takes it to a few %


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    (folder / "index.html").write_text("<!doctype html><title>x</title>")
    (folder / "model").mkdir()
    (folder / "model" / "weights.data").write_bytes(DATA)
    (folder / "js").mkdir()
    (folder / "js" / "app.js").write_bytes(SCRIPT)
    (folder / "empty").mkdir()
    cache = tmp_path_factory.mktemp("gzip-cache")
    write_gzip_copies(folder, {"model/weights.data"}, cache)  # as web/build.py does
    return folder


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    server = make_server(site, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url: str, **headers: str):
    """(status, headers, body), also for error statuses."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-", (0, 99)), ("bytes=70-", (70, 99)), ("bytes=10-19", (10, 19)),
        ("bytes=90-500", (90, 99)), ("bytes=-5", (95, 99)), ("bytes=-500", (0, 99)),
        ("bytes=0-0", (0, 0)),
        ("bytes=1-2,5-6", None), ("items=0-5", None), ("bytes=-", None), ("nonsense", None),
    ],
)  # fmt: skip
def test_byte_range_reads_one_span(header, span):
    assert byte_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=5-4", "bytes=-0"])
def test_byte_range_refuses_spans_outside_the_file(header):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 100)


def test_a_whole_file_says_it_accepts_ranges(served):
    status, headers, body = get(f"{served}/model/weights.data")
    assert (status, body) == (200, DATA)
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"].startswith('"')


@pytest.mark.parametrize(
    ("header", "start", "end"), [("bytes=7000-", 7000, 10239), ("bytes=5-9", 5, 9)]
)
def test_a_range_gets_206_with_its_bytes(served, header, start, end):
    status, headers, body = get(f"{served}/model/weights.data", Range=header)
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert int(headers["Content-Length"]) == end - start + 1
    assert body == DATA[start : end + 1]


def test_a_range_past_the_end_gets_416(served):
    status, headers, _ = get(f"{served}/model/weights.data", Range=f"bytes={len(DATA)}-")
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_if_range_resumes_only_the_same_version(served):
    _, headers, _ = get(f"{served}/model/weights.data")
    same = get(f"{served}/model/weights.data", Range="bytes=100-", **{"If-Range": headers["ETag"]})
    assert same[0] == 206 and same[2] == DATA[100:]
    by_date = {"If-Range": headers["Last-Modified"]}
    assert get(f"{served}/model/weights.data", Range="bytes=100-", **by_date)[0] == 206
    other = get(f"{served}/model/weights.data", Range="bytes=100-", **{"If-Range": '"other"'})
    assert other[0] == 200 and other[2] == DATA  # another version: the whole file


def test_folders_are_never_listed(served, site):
    assert get(f"{served}/empty/")[0] == 404
    assert get(f"{served}/model/")[0] == 404
    status, _, body = get(f"{served}/")
    assert status == 200 and body == (site / "index.html").read_bytes()  # its index.html


def test_a_folder_of_sites_is_not_listed_either(site):
    server = make_server(site.parent, port=0, quiet=True, require_index=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, _, body = get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert status == 404
        assert site.name.encode() not in body
    finally:
        server.shutdown()
        server.server_close()


def test_every_response_carries_the_content_security_policy(served):
    for path in ("/", "/model/weights.data", "/missing"):
        _, headers, _ = get(served + path)
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self' 'wasm-unsafe-eval'" in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True),
        ("GZIP", True), (None, False), ("identity", False), ("gzip;q=0", False),
        ("br", False), ("gzip;q=nonsense", False),
    ],
)  # fmt: skip
def test_accepts_gzip_reads_accept_encoding(header, takes):
    assert accepts_gzip(header) is takes


def test_the_builds_gzip_copy_goes_to_a_browser_that_takes_gzip(served, site):
    assert (site / "js" / "app.js.gz").is_file()
    status, headers, body = get(f"{served}/js/app.js", **{"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert (headers["Content-Encoding"], headers["Vary"]) == ("gzip", "Accept-Encoding")
    assert headers["Content-Type"] == "text/javascript"
    assert int(headers["Content-Length"]) == len(body) < len(SCRIPT) // 10
    assert gzip.decompress(body) == SCRIPT
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0"])
def test_a_browser_that_refuses_gzip_gets_the_file_itself(served, accept):
    headers = {"Accept-Encoding": accept} if accept else {}
    status, answer, body = get(f"{served}/js/app.js", **headers)
    assert (status, body, answer["Content-Encoding"]) == (200, SCRIPT, None)


def test_a_range_counts_the_files_own_bytes_even_with_a_gzip_copy(served):
    status, headers, body = get(
        f"{served}/js/app.js", Range="bytes=7-11", **{"Accept-Encoding": "gzip"}
    )
    assert (status, body, headers["Content-Encoding"]) == (206, SCRIPT[7:12], None)


def test_the_weights_never_get_a_gzip_copy(served, site):
    assert not (site / "model" / "weights.data.gz").exists()
    status, headers, body = get(f"{served}/model/weights.data", **{"Accept-Encoding": "gzip"})
    assert (status, body, headers["Content-Encoding"]) == (200, DATA, None)
