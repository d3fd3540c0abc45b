"""A static server that misbehaves on request: the faults a reader's network brings, on cue.

It serves a folder of built sites exactly as web/serve.py does (same handler: types,
isolation headers, CSP, byte ranges), and each test arranges faults per file path:

- `cut(path, at, ...)`: the next answer for the file stops at file byte `at`, stalls
  for half a second (as a failing network does; the browser hands on what it
  received meanwhile) and the connection closes, its Content-Length unmet (the
  browser sees a network error); each further `at` applies to the answer after;
- `corrupt(path)`: the next answer has the right size and wrong bytes;
- `ignore_range(path)`: every answer is the whole file with 200, Range or not;
- `hold(path, at)`: answers pause at file byte `at` (0: before the first byte) until
  the test calls `release(path)`.

It counts what it sends (`sent[path]`: body bytes written, `requests`: every
request's path, Range header and status), which is how the tests measure the bytes
a resumed download asked for again. Unlike web/serve.py it never sends the build's
gzip copies: a fault's byte positions and the counts are the file's own bytes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from web.serve import SiteHandler

BLOCK = 1 << 16
STALL_S = 0.5  # between the last byte of a cut answer and the dropped connection


@dataclass
class Faults:
    """What goes wrong, per URL path ("/site/model/x.data"), and what was sent."""

    cuts: dict[str, list[int]] = field(default_factory=dict)  # path → file bytes to stop at
    corrupt_next: set[str] = field(default_factory=set)
    ignore_ranges: set[str] = field(default_factory=set)
    holds: dict[str, tuple[int, threading.Event]] = field(default_factory=dict)
    sent: Counter = field(default_factory=Counter)  # path → body bytes written
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cut(self, path: str, *at: int) -> None:
        """Cut the next answers for `path` at these file bytes, one answer each."""
        with self.lock:
            self.cuts[path] = list(at)

    def corrupt(self, path: str) -> None:
        with self.lock:
            self.corrupt_next.add(path)

    def ignore_range(self, path: str) -> None:
        with self.lock:
            self.ignore_ranges.add(path)

    def hold(self, path: str, at: int) -> threading.Event:
        """Pause answers for `path` at file byte `at` until `release(path)`."""
        event = threading.Event()
        with self.lock:
            self.holds[path] = (at, event)
        return event

    def release(self, path: str) -> None:
        with self.lock:
            held = self.holds.pop(path, None)
        if held:
            held[1].set()

    def requests_for(self, path: str) -> list[tuple[str | None, int]]:
        """(Range header, status) of each request for `path`, in order."""
        with self.lock:
            return [(asked, status) for p, asked, status in self.requests if p == path]

    def take(self, path: str) -> tuple[int | None, bool, tuple[int, threading.Event] | None]:
        """The cut, corruption and hold that apply to the next answer for `path`."""
        with self.lock:
            cuts = self.cuts.get(path)
            cut = cuts.pop(0) if cuts else None
            corrupt = path in self.corrupt_next
            self.corrupt_next.discard(path)
            return cut, corrupt, self.holds.get(path)


class FaultHandler(SiteHandler):
    """web/serve.py's handler, with the faults of its server's `Faults` applied."""

    faults: Faults
    quiet = True

    def send_head(self):
        path = self._url_path()
        self.asked_range = self.headers.get("Range")  # logged as asked, even when ignored
        if path in self.faults.ignore_ranges and "Range" in self.headers:
            del self.headers["Range"]
        del self.headers["Accept-Encoding"]  # the file's own bytes (see the top)
        self.answer_start = 0
        return super().send_head()

    def send_response(self, code, message=None):
        path = self._url_path()
        with self.faults.lock:
            self.faults.requests.append((path, getattr(self, "asked_range", None), code))
        if code == 206:
            self.answer_start = self.served_start()
        super().send_response(code, message)

    def served_start(self) -> int:
        """The file byte a 206 starts at (from the Range this handler is answering)."""
        asked = self.headers.get("Range", "bytes=0-")
        first = asked.split("=", 1)[1].split("-", 1)[0]
        return int(first) if first else 0

    def copyfile(self, source, outputfile) -> None:
        path = self._url_path()
        cut, corrupt, hold = self.faults.take(path)
        remaining = self.remaining  # None: to the end of the file
        position = self.answer_start
        try:
            while remaining is None or remaining > 0:
                if hold is not None and not hold[1].is_set() and position >= hold[0]:
                    hold[1].wait()  # a hold reached: wait for the test
                    continue
                if cut is not None and position >= cut:
                    self._drop_connection()
                    return
                size = BLOCK if remaining is None else min(BLOCK, remaining)
                if cut is not None:
                    size = min(size, cut - position)
                if hold is not None and not hold[1].is_set():
                    size = min(size, hold[0] - position)
                data = source.read(size)
                if not data:
                    break
                if corrupt:
                    data = bytes(b ^ 0x5A for b in data)
                    corrupt = False  # one damaged block is enough
                outputfile.write(data)
                with self.faults.lock:
                    self.faults.sent[path] += len(data)
                position += len(data)
                if remaining is not None:
                    remaining -= len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _drop_connection(self) -> None:
        """Close mid-body: the Content-Length is not met, so the browser sees a network error."""
        self.close_connection = True
        try:
            self.wfile.flush()
            time.sleep(STALL_S)
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _url_path(self) -> str:
        return unquote(urlsplit(self.path).path)


def fault_server(folder: Path, faults: Faults) -> ThreadingHTTPServer:
    """A server for `folder` (a folder of sites) on a free port, applying `faults`."""
    handler = type("Handler", (FaultHandler,), {"faults": faults})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    server.daemon_threads = True
    return server
