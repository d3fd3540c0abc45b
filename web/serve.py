"""`python -m web.serve`: serve build/site/ on http://127.0.0.1:8000/.

A small threaded static server for trying the page locally. It sends the
MIME types the runtimes insist on (a `.wasm` served as anything but
`application/wasm` makes Pyodide hang; `.mjs` must be JavaScript), the
cross-origin isolation headers that let onnxruntime-web use threads and the
site's Content-Security-Policy. It answers `Range: bytes=N-` and `N-M` with 206
and a Content-Range, as static hosts do, so an interrupted download resumes
where it stopped (`If-Range` with the ETag or date it sent is honoured), and it
never lists a folder. Where the build wrote a gzip copy beside a file
(web/precompress.py), a browser that accepts gzip gets that copy with
`Content-Encoding: gzip`, as nginx's `gzip_static` does; a Range request gets the
file itself, whose bytes the range counts. Any static host works too: the service
worker adds the isolation headers and the policy itself.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from web.precompress import GZIP_SUFFIX  # the build's gzip copies

__all__ = [
    "CONTENT_SECURITY_POLICY", "ISOLATION_HEADERS", "MIME_TYPES", "RangeNotSatisfiable",
    "SiteHandler", "accepts_gzip", "byte_range", "main", "make_server", "send_gzip_copy",
]  # fmt: skip

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE = ROOT / "build" / "site"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".onnx": "application/octet-stream",
    ".data": "application/octet-stream",
    ".model": "application/octet-stream",
    ".pieces": "application/octet-stream",
    ".rest": "application/octet-stream",
    ".snapshot": "application/octet-stream",
    "": "text/plain; charset=utf-8",  # NOTICE
}
# Cross-origin isolation: SharedArrayBuffer, hence multi-threaded wasm (docs/facts/browser.md).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Nothing from elsewhere, no inline script or style, no string evaluated as code.
# 'wasm-unsafe-eval' lets Pyodide, onnxruntime-web and hash-wasm compile WebAssembly;
# neither needs 'unsafe-eval' (measured: docs/architecture.md, "Content-Security-Policy").
# web/build.py writes the same policy into index.html and sw.js (the service worker
# sends it on every response it builds).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
)
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header lets the answer be gzip (`q=0` refuses it)."""
    for part in (header or "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in ("gzip", "x-gzip", "*"):
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def send_gzip_copy(handler: SimpleHTTPRequestHandler, path: str):
    """Answer with the build's gzip copy of the file at `path` (200, `Content-Encoding:
    gzip`) and return it open for copyfile, or return None: no copy beside it, the
    browser does not take gzip, or it asked for a range (ranges count the file's bytes).
    """
    copy = path + GZIP_SUFFIX
    headers = handler.headers
    if headers.get("Range") or not accepts_gzip(headers.get("Accept-Encoding")):
        return None
    if not os.path.isfile(copy):
        return None
    source = open(copy, "rb")  # noqa: SIM115 (closed by the caller, as send_head's contract says)
    handler.send_response(HTTPStatus.OK)
    handler.send_header("Content-Type", handler.guess_type(path))
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(os.fstat(source.fileno()).st_size))
    handler.send_header("Last-Modified", handler.date_time_string(os.stat(path).st_mtime))
    handler.send_header("Vary", "Accept-Encoding")
    handler.end_headers()
    return source


class RangeNotSatisfiable(ValueError):
    """A Range header that asks for bytes the file does not have (416)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte span `header` asks of a `size`-byte file; None serves it all.

    One span only (`bytes=N-`, `bytes=N-M`, `bytes=-K`: the last K bytes); several
    spans or a header that does not parse are ignored (a full 200, as RFC 9110 allows).
    """
    match = RANGE.fullmatch(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # a suffix: the last `last` bytes
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(size - count, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(header)
    return start, end


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files with exact MIME types, isolation headers, a CSP, ranges and revalidation."""

    extensions_map = MIME_TYPES
    quiet = False

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        # Revalidate every time: the service worker is the app's cache, not HTTP.
        self.send_header("Cache-Control", "no-cache")
        if getattr(self, "file_validator", None):
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", self.file_validator)
        super().end_headers()

    def send_head(self):
        """A file whole (200) or the span its Range asks for (206); folders as before."""
        self.file_validator = None
        self.remaining = None  # bytes copyfile may send (a 206), None: all
        path = self.translate_path(self.path)
        if not os.path.isfile(path) or self.path.split("?")[0].endswith("/"):
            return super().send_head()  # a folder: its index.html, a redirect or a 404
        stat = os.stat(path)
        self.file_validator = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}-gzip"'
        compressed = send_gzip_copy(self, path)
        if compressed is not None:
            return compressed
        self.file_validator = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        asked = self.headers.get("Range")
        if not asked or not self._range_still_valid(stat.st_mtime):
            return super().send_head()
        try:
            span = byte_range(asked, stat.st_size)
        except RangeNotSatisfiable:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{stat.st_size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if span is None:
            return super().send_head()
        start, end = span
        source = open(path, "rb")  # noqa: SIM115 (closed by the caller, as send_head's contract says)
        source.seek(start)
        self.remaining = end - start + 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{stat.st_size}")
        self.send_header("Content-Length", str(self.remaining))
        self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
        self.end_headers()
        return source

    def _range_still_valid(self, mtime: float) -> bool:
        """False when If-Range names another version of the file: then it is sent whole."""
        condition = self.headers.get("If-Range")
        if condition is None:
            return True
        return condition in (self.file_validator, self.date_time_string(mtime))

    def list_directory(self, path):
        """Folders are never listed: a folder without index.html is not found."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def copyfile(self, source, outputfile) -> None:
        try:
            if self.remaining is None:
                super().copyfile(source, outputfile)
            else:
                copy_bytes(source, outputfile, self.remaining)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancelled a download (a reload, a closed tab)


def copy_bytes(source, target, count: int, block: int = 1 << 16) -> None:
    """Copy the next `count` bytes of `source` to `target`."""
    while count > 0:
        data = source.read(min(block, count))
        if not data:
            break
        target.write(data)
        count -= len(data)


def make_server(
    site: Path = DEFAULT_SITE,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    quiet: bool = False,
    require_index: bool = True,
) -> ThreadingHTTPServer:
    """A ready-to-run server for `site` (port 0 picks a free port: see `server_address`).

    `require_index=False` serves a folder of several sites (the end-to-end tests do).
    """
    if require_index and not (site / "index.html").is_file():
        raise FileNotFoundError(
            f"no site at {site}: build it first with `python -m web.build` (./conteur serve does it)"
        )
    handler = type("Handler", (SiteHandler,), {"quiet": quiet})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(site)))
    server.daemon_threads = True
    return server


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535 (got {text})")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.serve", description="Serve the built site (default build/site/)."
    )
    parser.add_argument(
        "--port", type=_port, default=_port(os.environ.get("PORT", str(DEFAULT_PORT))),
        help=f"port to listen on (default: $PORT or {DEFAULT_PORT})",
    )  # fmt: skip
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default: {DEFAULT_HOST})")
    parser.add_argument("--dir", type=Path, default=DEFAULT_SITE, help="the site folder to serve")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.dir.resolve(), args.port, args.host, args.quiet)
    except FileNotFoundError as exc:
        print(f"web.serve: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"web.serve: error: cannot listen on {args.host}:{args.port} ({exc.strerror}): "
            "is another server running there? Pass --port N",
            file=sys.stderr,
        )
        return 1
    host, port = server.server_address[:2]
    print(f"Conteur is served at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nweb.serve: stopped")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
