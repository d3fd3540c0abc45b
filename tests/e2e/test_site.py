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

from tests.e2e.backend_files import ORT_ONLY, graph_only_files
from web.build import (
    BuildError,
    backend_graphs,
    build_site,
    check_model,
    download_groups,
    model_files,
)
from web.serve import make_server

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
BACKEND_DIRS = ("vendor/ort/", "model/")


def sw_build(site: Path) -> dict:
    match = re.search(r"^const BUILD = (\{.*\});$", (site / "sw.js").read_text(), re.MULTILINE)
    assert match, "sw.js has no BUILD line"
    return json.loads(match.group(1))


def test_site_holds_the_app_runtimes_wheel_and_model(tiny_site, tiny_model_dir):
    for path in [
        "index.html", "sw.js", "manifest.webmanifest", "app.css", "js/main.js", "js/worker.js",
        "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png",
        "vendor/pyodide/pyodide.mjs", "vendor/pyodide/pyodide.asm.wasm",
        "vendor/pyodide/python_stdlib.zip", "vendor/ort/ort.wasm.min.mjs",
        "vendor/ort/ort.webgpu.min.mjs", "vendor/ort/ort-wasm-simd-threaded.wasm",
        "vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", "py/pyodide-lock.json",
        "model/tokenizer.model", "model/conteur.json", "model/GEMMA_TERMS.html", "model/NOTICE",
    ]:  # fmt: skip
        assert (tiny_site / path).is_file(), path
    # Every file the export lists, whatever its layout (one graph, or one per backend).
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    for name in config["files"]:
        assert (tiny_site / "model" / name).is_file(), name
    for graph in backend_graphs(config).values():
        assert {graph["model"], *graph["data"]} <= set(config["files"])
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
    assert "pyshell/data/family_safe/en.txt" in names  # read at run time (family_safe.py)
    assert "pyshell/onnx_runner.py" not in names  # numpy/onnxruntime: CPython only
    assert any(n.endswith(".dist-info/RECORD") for n in names)


def test_service_worker_lists_every_file_under_a_content_version(tiny_site, tiny_model_dir):
    build = sw_build(tiny_site)
    listed = {f["url"]: f for f in build["files"]}
    on_disk = {p.relative_to(tiny_site).as_posix() for p in tiny_site.rglob("*") if p.is_file()} - {
        "sw.js"
    }
    assert set(listed) == on_disk
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    for name, entry in config["files"].items():
        assert listed[f"model/{name}"]["sha256"] == entry["sha256"]
        assert listed[f"model/{name}"]["bytes"] == entry["bytes"]
    index = tiny_site / "index.html"
    assert listed["index.html"]["sha256"] == hashlib.sha256(index.read_bytes()).hexdigest()
    assert f'data-version="{build["version"]}"' in index.read_text()


def test_each_backend_downloads_only_its_own_runtime_and_graph(tiny_site, tiny_model_dir):
    """Install precaches "core"; a backend's files wait until its page fetches them."""
    groups = {f["url"]: f["group"] for f in sw_build(tiny_site)["files"]}
    assert set(groups.values()) <= {"core", "webgpu", "wasm"}
    for name in ORT_ONLY["webgpu"]:
        assert groups[f"vendor/ort/{name}"] == "webgpu", name
    for name in ORT_ONLY["wasm"]:
        assert groups[f"vendor/ort/{name}"] == "wasm", name
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    own = {kind: set(graph_only_files(config, kind)) for kind in ("webgpu", "wasm")}
    for name in config["files"]:
        expected = next((kind for kind in own if name in own[kind]), "core")
        assert groups[f"model/{name}"] == expected, name
    assert all(group == "core" for url, group in groups.items() if not url.startswith(BACKEND_DIRS))


def test_download_groups_of_the_two_layouts():
    split = {
        "webgpu": {"model": "model.onnx", "data": ["shared.onnx.data", "model.onnx.data"]},
        "wasm": {"model": "model-cpu.onnx", "data": ["shared.onnx.data", "model-cpu.onnx.data"]},
    }
    groups = download_groups({"graphs": split, "files": {}})
    assert groups["model/model.onnx"] == groups["model/model.onnx.data"] == "webgpu"
    assert groups["model/model-cpu.onnx"] == groups["model/model-cpu.onnx.data"] == "wasm"
    assert "model/shared.onnx.data" not in groups  # both backends load it: core
    assert groups["vendor/ort/ort-wasm-simd-threaded.asyncify.wasm"] == "webgpu"
    assert groups["vendor/ort/ort-wasm-simd-threaded.wasm"] == "wasm"
    single = download_groups({"files": {}})  # an older export: one graph for both
    assert not any(url.startswith("model/") for url in single)


def fake_model(folder: Path, files: dict[str, bytes], graphs: dict | None) -> Path:
    """A model folder whose conteur.json lists `files` (no real graph: check_model reads bytes)."""
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    listed = {
        n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()
    }
    config = {"format": "conteur-model", "name": "fake", "files": listed}
    if graphs:
        config["graphs"] = graphs
    (folder / "conteur.json").write_text(json.dumps(config))
    return folder


BASE_FILES = {"tokenizer.model": b"t", "GEMMA_TERMS.html": b"terms", "NOTICE": b"n"}
SPLIT_FILES = {
    "model.onnx": b"g", "model.onnx.data": b"w" * 10, "model-cpu.onnx": b"c",
    "model-cpu.onnx.data": b"q" * 5, "shared.onnx.data": b"s" * 7,
}  # fmt: skip
SPLIT_GRAPHS = {
    "webgpu": {"model": "model.onnx", "data": ["shared.onnx.data", "model.onnx.data"]},
    "wasm": {"model": "model-cpu.onnx", "data": ["shared.onnx.data", "model-cpu.onnx.data"]},
}


def test_check_model_accepts_both_layouts(tmp_path):
    single = {**BASE_FILES, "model.onnx": b"g", "model.onnx.data": b"w"}
    assert "graphs" not in check_model(fake_model(tmp_path / "single", single, None))
    split = fake_model(tmp_path / "split", {**BASE_FILES, **SPLIT_FILES}, SPLIT_GRAPHS)
    assert check_model(split)["graphs"] == SPLIT_GRAPHS
    assert set(model_files(check_model(split))) == {*BASE_FILES, *SPLIT_FILES, "conteur.json"}


def test_check_model_refuses_a_graph_file_it_cannot_serve(tmp_path):
    files = {**BASE_FILES, **SPLIT_FILES}
    del files["model-cpu.onnx.data"]
    with pytest.raises(BuildError, match="does not list model-cpu.onnx.data"):
        check_model(fake_model(tmp_path / "unlisted", files, SPLIT_GRAPHS))
    lacking = fake_model(tmp_path / "lacking", {**BASE_FILES, **SPLIT_FILES}, SPLIT_GRAPHS)
    (lacking / "shared.onnx.data").unlink()
    with pytest.raises(BuildError, match="lacks shared.onnx.data"):
        check_model(lacking)
    broken = fake_model(tmp_path / "broken", {**BASE_FILES, **SPLIT_FILES}, {"webgpu": {}})
    with pytest.raises(BuildError, match="unreadable"):
        check_model(broken)


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
