"""`python -m web.serve`: serve build/site/ on http://127.0.0.1:8000/.

A small threaded static server for trying the page locally. It sends the
MIME types the runtimes insist on (a `.wasm` served as anything but
`application/wasm` makes Pyodide hang; `.mjs` must be JavaScript) and the
cross-origin isolation headers that let onnxruntime-web use threads. Any
static host works too: the service worker adds those headers itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["ISOLATION_HEADERS", "MIME_TYPES", "SiteHandler", "main", "make_server"]

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
    "": "text/plain; charset=utf-8",  # NOTICE
}
# Cross-origin isolation: SharedArrayBuffer, hence multi-threaded wasm (docs/facts/browser.md).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files with exact MIME types, isolation headers and revalidation."""

    extensions_map = MIME_TYPES
    quiet = False

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("X-Content-Type-Options", "nosniff")
        # Revalidate every time: the service worker is the app's cache, not HTTP.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def copyfile(self, source, outputfile) -> None:
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancelled a download (a reload, a closed tab)


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
