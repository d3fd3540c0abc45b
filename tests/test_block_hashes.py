"""web/block_hashes.py: the sha256 of each block of a large site file, cached by content."""

from __future__ import annotations

import hashlib
import json

from web.block_hashes import BLOCK_BYTES, block_sha256s


def test_blocks_cover_the_file_and_are_cached_under_its_sha256(tmp_path):
    data = bytes(range(256)) * ((2 * BLOCK_BYTES + 1000) // 256)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    cache = tmp_path / "cache"
    blocks = block_sha256s(path, sha256, cache)
    assert blocks == [
        hashlib.sha256(data[at : at + BLOCK_BYTES]).hexdigest()
        for at in range(0, len(data), BLOCK_BYTES)
    ]
    assert len(blocks) == 3
    [entry] = cache.iterdir()
    assert entry.name == f"{sha256}-{BLOCK_BYTES}.json"
    assert json.loads(entry.read_text()) == blocks
    # A second build reads the list back without reading the file.
    path.unlink()
    assert block_sha256s(path, sha256, cache) == blocks
