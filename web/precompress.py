"""Gzip copies of the site's files, for servers that send them compressed (web/serve.py).

A first visit downloads the runtimes (onnxruntime-web's and Pyodide's wasm), Python's
start (web/python_start.py) and the tokenizer's pieces besides the weights; all of them
shrink to a third or less under gzip. The build writes `<file>.gz` beside every file
that gzip makes at least 10 % smaller, and web/serve.py (like nginx's `gzip_static`)
sends that copy with `Content-Encoding: gzip` to a browser that accepts it. The browser
undoes it before anyone reads the body, so the service worker's size and sha256 checks
see the file itself.

The model's weights are never compressed: int8 and int4 values shrink only to 72-88 %,
inflating 230 MB would cost a first visit CPU it does not have to spare, and a download
cut half-way must resume from the byte it stopped at, which a compressed body cannot.

Copies are cached by content in build/cache/gzip/, so a rebuild compresses only what
changed; level 9 and no timestamp make them the same bytes every time.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

__all__ = ["GZIP_SUFFIX", "MIN_SAVING", "write_gzip_copies"]

GZIP_SUFFIX = ".gz"
MIN_SAVING = 0.10  # a copy that saves less is not worth the server's and browser's work
NOT_WORTH_IT = b""  # the cache's mark for a file gzip does not shrink enough


def _cached_copy(data: bytes, cache_dir: Path) -> Path | None:
    """The gzip copy of `data` from the cache, made if missing; None: not worth sending."""
    entry = cache_dir / f"{hashlib.sha256(data).hexdigest()}{GZIP_SUFFIX}"
    if not entry.is_file():
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        keep = len(packed) <= (1 - MIN_SAVING) * len(data)
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = entry.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(packed if keep else NOT_WORTH_IT)
        partial.replace(entry)
    return entry if entry.stat().st_size else None


def write_gzip_copies(site: Path, skip: set[str], cache_dir: Path, link: bool = True) -> int:
    """Write `<file>.gz` beside each file of `site` worth it, except the site paths in
    `skip` (the model's weights); returns the bytes the copies save."""
    saved = 0
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        url = path.relative_to(site).as_posix()
        if url in skip or url.endswith(GZIP_SUFFIX):
            continue
        data = path.read_bytes()
        copy = _cached_copy(data, cache_dir)
        if copy is None:
            continue
        target = path.with_name(path.name + GZIP_SUFFIX)
        try:
            if not link:
                raise OSError("copy asked for")
            os.link(copy, target)
        except OSError:
            shutil.copyfile(copy, target)
        saved += len(data) - copy.stat().st_size
    return saved
