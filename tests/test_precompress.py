"""web/precompress.py: the gzip copies the build writes beside the site's files."""

from __future__ import annotations

import gzip
import os

from web.precompress import GZIP_SUFFIX, write_gzip_copies

TEXT = b"The little fox ran home before the snow.\n" * 200


def test_a_copy_is_written_only_where_gzip_saves_enough(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    (site / "story.txt").write_bytes(TEXT)
    (site / "noise.bin").write_bytes(os.urandom(4096))  # gzip cannot shrink it
    (site / "weights.data").write_bytes(TEXT)  # compressible, but skipped
    saved = write_gzip_copies(site, {"weights.data"}, cache)
    copies = sorted(p.name for p in site.iterdir() if p.name.endswith(GZIP_SUFFIX))
    assert copies == ["story.txt.gz"]
    packed = (site / "story.txt.gz").read_bytes()
    assert gzip.decompress(packed) == TEXT
    assert saved == len(TEXT) - len(packed) > 0.9 * len(TEXT)


def test_copies_are_the_same_bytes_every_build_and_come_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    built = []
    for name in ("one", "two"):
        site = tmp_path / name
        site.mkdir()
        (site / "story.txt").write_bytes(TEXT)
        write_gzip_copies(site, set(), cache, link=False)
        built.append((site / "story.txt.gz").read_bytes())
    assert built[0] == built[1]  # no timestamp in the gzip header
    assert len(list(cache.iterdir())) == 1  # compressed once, by content
