"""web/static/js/worker/wheel-files.js: pyshell's files put back from its wheel, by Node.

The page's interpreter starts from a snapshot that holds no files (web/python_start.py),
so the worker unpacks the wheel itself: every file, stored or deflated, byte for byte,
and a damaged wheel is refused rather than half written.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

from tests.conftest import ROOT
from tests.node_script import run_node
from web.wheel import PACKAGE, build_wheel

WHEEL_FILES = json.dumps((ROOT / "web" / "static" / "js" / "worker" / "wheel-files.js").as_uri())

# Unpack the zip at argv path into a dict-backed file system; print {path: hex}.
UNPACK = """
import {{ readFileSync }} from "node:fs";
import {{ putWheelFiles }} from {module};
const written = {{}};
const FS = {{ mkdirTree: () => {{}}, writeFile: (path, bytes) => {{ written[path] = Buffer.from(bytes).toString("hex"); }} }};
let result;
try {{
  const count = await putWheelFiles(FS, "/site", new Uint8Array(readFileSync({path})));
  result = {{ count, written }};
}} catch (error) {{
  result = {{ error: String(error.message), written }};
}}
console.log(JSON.stringify(result));
"""


def unpack(path) -> dict:
    return run_node(UNPACK.format(module=WHEEL_FILES, path=json.dumps(str(path))))


def test_every_file_comes_back_byte_for_byte_stored_or_deflated(tmp_path):
    files = {
        "pkg/__init__.py": b"",
        "pkg/data/words.txt": "éléphant\nwolf\n".encode() * 200,
        "pkg/random.bin": os.urandom(5000),  # deflate cannot shrink it
    }
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("pkg/", b"")  # a directory entry: nothing to write
        for name, data in files.items():
            method = zipfile.ZIP_DEFLATED if name.endswith(".txt") else zipfile.ZIP_STORED
            z.writestr(name, data, compress_type=method)
    got = unpack(path)
    assert got["count"] == 3
    assert got["written"] == {f"/site/{name}": data.hex() for name, data in files.items()}


def test_the_real_wheel_comes_back_whole(tmp_path):
    wheel = build_wheel(ROOT / PACKAGE, tmp_path, "0.0.0")
    got = unpack(wheel)
    with zipfile.ZipFile(wheel) as z:
        expected = {f"/site/{i.filename}": z.read(i).hex() for i in z.infolist() if not i.is_dir()}
    assert got["count"] == len(expected) > 40
    assert got["written"] == expected


def test_a_damaged_wheel_is_refused_before_any_file_is_written(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("pkg/a.py", b"x = 1\n" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("pkg/b.py", b"y = 2\n" * 100, compress_type=zipfile.ZIP_STORED)
    whole = buffer.getvalue()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])  # the central directory is gone
    got = unpack(cut)
    assert "no end of central directory" in got["error"] and got["written"] == {}
    flipped = bytearray(whole)
    flipped[whole.index(b"y = 2")] ^= 0x01  # "x = 2": one bit of b.py's stored bytes
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(flipped))
    got = unpack(bad)
    assert "pkg/b.py: its CRC-32" in got["error"] and got["written"] == {}
