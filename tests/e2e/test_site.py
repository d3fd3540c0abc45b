"""The built site (web/build.py) and its server (web/serve.py), without a browser."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

from web.build import BuildError, build_site
from web.serve import make_server

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def sw_build(site: Path) -> dict:
    match = re.search(r"^const BUILD = (\{.*\});$", (site / "sw.js").read_text(), re.MULTILINE)
    assert match, "sw.js has no BUILD line"
    return json.loads(match.group(1))


def test_site_holds_the_app_runtimes_wheel_and_model(tiny_site):
    for path in [
        "index.html", "sw.js", "manifest.webmanifest", "app.css", "js/main.js", "js/worker.js",
        "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png",
        "vendor/pyodide/pyodide.mjs", "vendor/pyodide/pyodide.asm.wasm",
        "vendor/pyodide/python_stdlib.zip", "vendor/ort/ort.wasm.min.mjs",
        "vendor/ort/ort.webgpu.min.mjs", "vendor/ort/ort-wasm-simd-threaded.wasm",
        "vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", "py/pyodide-lock.json",
        "model/model.onnx", "model/model.onnx.data", "model/tokenizer.model",
        "model/conteur.json", "model/GEMMA_TERMS.html", "model/NOTICE",
    ]:  # fmt: skip
        assert (tiny_site / path).is_file(), path
    # Only what the page loads: no source maps, no other onnxruntime builds.
    assert not list(tiny_site.rglob("*.map"))
    assert sorted(p.name for p in (tiny_site / "vendor" / "ort").iterdir()) == sorted(
        [
            "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
            "ort-wasm-simd-threaded.asyncify.wasm", "ort.wasm.min.mjs",
            "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
        ]
    )  # fmt: skip


def test_lock_file_lists_only_the_pyshell_wheel(tiny_site):
    lock = json.loads((tiny_site / "py" / "pyodide-lock.json").read_text())
    assert list(lock["packages"]) == ["pyshell"]
    entry = lock["packages"]["pyshell"]
    wheel = tiny_site / "py" / entry["file_name"]
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "pyshell/browser.py" in names and "pyshell/tokenizer.py" in names
    assert "pyshell/onnx_runner.py" not in names  # numpy/onnxruntime: CPython only
    assert any(n.endswith(".dist-info/RECORD") for n in names)


def test_service_worker_precaches_every_file_under_a_content_version(tiny_site, tiny_model_dir):
    build = sw_build(tiny_site)
    listed = {f["url"]: f for f in build["files"]}
    on_disk = {p.relative_to(tiny_site).as_posix() for p in tiny_site.rglob("*") if p.is_file()} - {
        "sw.js"
    }
    assert set(listed) == on_disk
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    assert listed["model/model.onnx.data"]["sha256"] == config["files"]["model.onnx.data"]["sha256"]
    index = tiny_site / "index.html"
    assert listed["index.html"]["sha256"] == hashlib.sha256(index.read_bytes()).hexdigest()
    assert f'data-version="{build["version"]}"' in index.read_text()


def test_rebuilding_the_same_sources_keeps_the_version(tiny_site, tiny_model_dir, tmp_path):
    build_site(tiny_model_dir, tmp_path / "again")
    assert sw_build(tmp_path / "again")["version"] == sw_build(tiny_site)["version"]


def test_build_refuses_a_damaged_model(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for f in tiny_model_dir.iterdir():
        (model / f.name).write_bytes(f.read_bytes())
    (model / "tokenizer.model").write_bytes(b"not the exported file")
    with pytest.raises(BuildError, match="does not match"):
        build_site(model, tmp_path / "site")
    with pytest.raises(BuildError, match="no model folder"):
        build_site(tmp_path / "nowhere", tmp_path / "site")


def test_static_sources_load_nothing_from_elsewhere():
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css", ".webmanifest"):
            urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", path.read_text())
            assert not urls, f"{path.name} refers to {urls}"


@pytest.fixture(scope="module")
def served(tiny_site):
    server = make_server(tiny_site, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("/", "text/html"),
        ("/vendor/pyodide/pyodide.asm.wasm", "application/wasm"),
        ("/vendor/ort/ort.wasm.min.mjs", "text/javascript"),
        ("/js/main.js", "text/javascript"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/model/conteur.json", "application/json"),
    ],
)
def test_server_sends_exact_types_and_isolation_headers(served, path, mime):
    with urllib.request.urlopen(served + path) as response:
        assert response.headers["Content-Type"].split(";")[0] == mime
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
