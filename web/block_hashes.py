"""The sha256 of each block of a large site file, for the service worker's check.

The service worker checks every file it stores against the build's sha256. Hashing a
whole file piece by piece takes an incremental hasher in wasm (about 445 MB/s in
headless Chromium here); the browser's own SHA-256 runs at about 1,100 MB/s but only
on whole buffers. So for every file larger than one block the build also lists the
sha256 of each `BLOCK_BYTES` block (sw.js `BUILD.files[].blocks`), and the service
worker hashes each block natively as it arrives (web/static/js/shared/block-sha256.js).

Lists are cached by the file's sha256 in build/cache/blocks/: the 230 MB of weights
are hashed block by block once, not at every build.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["BLOCK_BYTES", "block_sha256s"]

# 4 MiB: large enough that each native digest call costs little besides its bytes,
# small enough that the last block's hash adds little after the last byte.
BLOCK_BYTES = 4 << 20


def block_sha256s(path: Path, sha256: str, cache_dir: Path) -> list[str]:
    """The sha256 (hex) of each BLOCK_BYTES block of `path`, whose own sha256 is `sha256`."""
    entry = cache_dir / f"{sha256}-{BLOCK_BYTES}.json"
    if entry.is_file():
        return json.loads(entry.read_text())
    blocks = []
    with path.open("rb") as f:
        while block := f.read(BLOCK_BYTES):
            blocks.append(hashlib.sha256(block).hexdigest())
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Named per process, as the other build caches do: two builds at once never share it.
    partial = entry.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(blocks))
    partial.replace(entry)  # a build cut short leaves no half-written list
    return blocks
