"""One local origin for every contender, counting the bytes it sends.

All pages, runtimes and model files come from this server (never a CDN), so
"bytes downloaded on the first visit" is simply what the server wrote while a
fresh browser profile loaded a page. Like web/serve.py it sends the gzip copy the
site's build wrote beside a file (web/precompress.py) to a browser that accepts it,
so the count is what a first visit costs over the wire. It sends the cross-origin isolation
headers that multi-threaded wasm needs (docs/facts/browser.md) and exact MIME types
(a `.wasm` served as anything else breaks streaming compilation).
"""

from __future__ import annotations

import os
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from web.serve import ISOLATION_HEADERS, send_gzip_copy
from web.serve import MIME_TYPES as SITE_MIME_TYPES

# The page's own server settings: the same MIME types and isolation headers.
MIME_TYPES = {**SITE_MIME_TYPES, "": "application/octet-stream"}


class Traffic:
    """Bytes sent and requests in flight, shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.requests = 0
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.by_path: dict[str, int] = {}

    def begin(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.last_activity = time.monotonic()

    def sent(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes += count
            self.by_path[path] = self.by_path.get(path, 0) + count
            self.last_activity = time.monotonic()

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.bytes, self.requests

    def reset_paths(self) -> None:
        with self._lock:
            self.by_path = {}

    def wait_idle(self, quiet_s: float = 1.5, timeout_s: float = 60.0) -> None:
        """Return once no request has been in flight for `quiet_s` seconds."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = self.in_flight == 0 and time.monotonic() - self.last_activity >= quiet_s
            if idle:
                return
            time.sleep(0.1)


class _CountingFile:
    """Wraps the socket writer so every body byte is counted."""

    def __init__(self, raw, traffic: Traffic, path: str) -> None:
        self._raw, self._traffic, self._path = raw, traffic, path

    def write(self, data) -> int:
        n = self._raw.write(data)
        self._traffic.sent(self._path, len(data))
        return n

    def __getattr__(self, name):
        return getattr(self._raw, name)


class BenchHandler(SimpleHTTPRequestHandler):
    """Static files from several folders, mounted by URL prefix (longest first)."""

    extensions_map = MIME_TYPES
    mounts: ClassVar[list[tuple[str, Path]]] = []
    traffic: Traffic

    def translate_path(self, path: str) -> str:
        path = unquote(urlsplit(path).path)
        for prefix, folder in self.mounts:
            if path.startswith(prefix):
                relative = path[len(prefix) :]
                target = (folder / relative).resolve()
                if target == folder or folder in target.parents:
                    return str(target)
                break
        return str(Path("/nonexistent") / path.lstrip("/"))

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_head(self):
        """The build's gzip copy when there is one and the browser takes it, else the file."""
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            compressed = send_gzip_copy(self, path)
            if compressed is not None:
                return compressed
        return super().send_head()

    def handle_one_request(self) -> None:
        self.traffic.begin()
        try:
            super().handle_one_request()
        finally:
            self.traffic.end()

    def copyfile(self, source, outputfile) -> None:
        try:
            super().copyfile(source, _CountingFile(outputfile, self.traffic, self.path))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancelled (a closed page)

    def log_message(self, format: str, *args) -> None:
        pass


def start_server(mounts: dict[str, Path], port: int = 0) -> tuple[ThreadingHTTPServer, Traffic]:
    """Serve `mounts` ({"/url/prefix/": folder}) on 127.0.0.1 in a daemon thread."""
    traffic = Traffic()
    ordered = sorted(((p, f.resolve()) for p, f in mounts.items()), key=lambda m: -len(m[0]))
    handler = type("Handler", (BenchHandler,), {"mounts": ordered, "traffic": traffic})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="bench-server", daemon=True).start()
    return server, traffic
