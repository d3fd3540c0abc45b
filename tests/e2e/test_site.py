"""The built site (web/build.py) and its server (web/serve.py), without a browser."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

from pyshell.config import read_graphs
from pyshell.settings import page_settings
from tests.e2e.backend_files import ORT_ONLY, graph_files
from web.block_hashes import BLOCK_BYTES
from web.build import (
    HASH_WASM,
    SETTINGS_MODULE,
    BuildError,
    build_site,
    check_model,
    download_groups,
    meta_policy,
    model_files,
)
from web.precompress import GZIP_SUFFIX
from web.serve import CONTENT_SECURITY_POLICY, make_server

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
BACKEND_DIRS = ("vendor/ort/", "model/")


def sw_build(site: Path) -> dict:
    match = re.search(r"^const BUILD = (\{.*\});$", (site / "sw.js").read_text(), re.MULTILINE)
    assert match, "sw.js has no BUILD line"
    return json.loads(match.group(1))


def test_site_holds_the_app_runtimes_wheel_and_model(tiny_site, tiny_model_dir):
    for path in [
        "index.html", "sw.js", "manifest.webmanifest", "app.css", "js/page/main.js", "js/worker/main.js",
        "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png",
        "vendor/pyodide/pyodide.mjs", "vendor/pyodide/pyodide.asm.wasm",
        "vendor/pyodide/python_stdlib.zip", "vendor/ort/ort.wasm.min.mjs",
        "vendor/ort/ort.webgpu.min.mjs", "vendor/ort/ort-wasm-simd-threaded.wasm",
        "vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", "py/pyodide-lock.json",
        "vendor/idb/index.js",
        "model/tokenizer.model", "model/conteur.json", "model/GEMMA_TERMS.html", "model/NOTICE",
    ]:  # fmt: skip
        assert (tiny_site / path).is_file(), path
    # Every file the export lists, each backend's graph among them.
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    for name in config["files"]:
        assert (tiny_site / "model" / name).is_file(), name
    for graph in read_graphs(config).values():
        assert set(graph.files) <= set(config["files"])
    # Only what the page loads: no source maps, no other onnxruntime builds.
    assert not list(tiny_site.rglob("*.map"))
    ort_files = (tiny_site / "vendor" / "ort").iterdir()
    assert sorted(p.name for p in ort_files if not p.name.endswith(GZIP_SUFFIX)) == sorted(
        [
            "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
            "ort-wasm-simd-threaded.asyncify.wasm", "ort.wasm.min.mjs",
            "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
        ]
    )  # fmt: skip
    # idb as published: one ES module that imports nothing, so nothing else is needed.
    idb = (tiny_site / "vendor" / "idb" / "index.js").read_text()
    assert "export {" in idb and not re.search(r"^import ", idb, re.MULTILINE)


def test_the_page_gets_pyshell_s_rules_from_a_generated_module(tiny_site):
    """js/pyshell-settings.js is a build output equal to pyshell.settings.page_settings()."""
    built = tiny_site / SETTINGS_MODULE
    script = (
        f"import {{ SETTINGS }} from {json.dumps(built.as_uri())};"
        "console.log(JSON.stringify(SETTINGS));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == page_settings()
    assert not (STATIC / SETTINGS_MODULE).exists()  # never a source file
    form = (STATIC / "js" / "page" / "form.js").read_text()
    assert 'from "../shared/pyshell-settings.js"' in form
    for copied in ("4000", "drôle", "heartwarming", "0.95"):  # no pyshell rule written here
        assert copied not in form, copied


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
    on_disk = {p.relative_to(tiny_site).as_posix() for p in tiny_site.rglob("*") if p.is_file()}
    copies = {url for url in on_disk if url.endswith(GZIP_SUFFIX)}  # web/precompress.py's
    assert set(listed) == on_disk - copies - {"sw.js"}
    # Every gzip copy sits beside a file it is the copy of; the weights have none.
    assert {url.removesuffix(GZIP_SUFFIX) for url in copies} <= set(listed) | {"sw.js"}
    assert {"vendor/ort/ort-wasm-simd-threaded.wasm.gz", "py/python-start.snapshot.gz"} <= copies
    graphs = read_graphs(json.loads((tiny_model_dir / "conteur.json").read_text())).values()
    weights = {f"model/{name}" for g in graphs for name in g.files if name != g.model}
    assert not {url.removesuffix(GZIP_SUFFIX) for url in copies} & weights
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    for name, entry in config["files"].items():
        assert listed[f"model/{name}"]["sha256"] == entry["sha256"]
        assert listed[f"model/{name}"]["bytes"] == entry["bytes"]
    index = tiny_site / "index.html"
    assert listed["index.html"]["sha256"] == hashlib.sha256(index.read_bytes()).hexdigest()
    assert f'data-version="{build["version"]}"' in index.read_text()


def test_every_file_larger_than_a_block_lists_its_blocks_sha256(tiny_site):
    """The service worker checks these files block by block (js/shared/block-sha256.js):
    the list must cover each file's bytes exactly, in order."""
    build = sw_build(tiny_site)
    assert build["blockBytes"] == BLOCK_BYTES
    large = [f for f in build["files"] if f["bytes"] > BLOCK_BYTES]
    assert {"py/python-start.snapshot", "vendor/ort/ort-wasm-simd-threaded.wasm"} <= {
        f["url"] for f in large
    }
    for f in build["files"]:
        if f["bytes"] <= BLOCK_BYTES:
            assert "blocks" not in f, f["url"]  # one block: the whole-file check is as fast
            continue
        data = (tiny_site / f["url"]).read_bytes()
        expected = [
            hashlib.sha256(data[at : at + BLOCK_BYTES]).hexdigest()
            for at in range(0, len(data), BLOCK_BYTES)
        ]
        assert f["blocks"] == expected, f["url"]


ON_REQUEST_URLS = ["model/tokenizer.model", "model/tokenizer.pieces"]


def test_the_served_conteur_json_names_no_path_of_the_building_machine(tiny_site, tiny_model_dir):
    exported = json.loads((tiny_model_dir / "conteur.json").read_text())
    assert exported["source"]["path"]  # the exporter records it, for --verify
    served_text = (tiny_site / "model" / "conteur.json").read_text()
    served = json.loads(served_text)
    assert "path" not in served["source"]
    assert str(tiny_model_dir.parent) not in served_text and str(Path.home()) not in served_text
    exported["source"].pop("path")
    assert served == exported  # nothing else changed


def test_each_backend_downloads_only_its_own_runtime_and_graph(tiny_site, tiny_model_dir):
    """Install precaches "core"; a backend's files wait until its page fetches them, and
    the tokenizer's files until someone asks for them: never the tokenizer's
    SentencePiece model, and the pieces table only when Python starts afresh, without
    the build's snapshot that holds the tokenizer loaded."""
    groups = {f["url"]: f["group"] for f in sw_build(tiny_site)["files"]}
    assert set(groups.values()) <= {"core", "webgpu", "wasm", "on-request"}
    on_request = [url for url, group in groups.items() if group == "on-request"]
    assert sorted(on_request) == sorted(ON_REQUEST_URLS)
    for name in ORT_ONLY["webgpu"]:
        assert groups[f"vendor/ort/{name}"] == "webgpu", name
    for name in ORT_ONLY["wasm"]:
        assert groups[f"vendor/ort/{name}"] == "wasm", name
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    own = {kind: set(graph_files(config, kind)) for kind in ("webgpu", "wasm")}
    for name in config["files"]:
        expected = next((kind for kind in own if name in own[kind]), "core")
        if f"model/{name}" in ON_REQUEST_URLS:
            expected = "on-request"
        assert groups[f"model/{name}"] == expected, name
    assert all(
        group == "core"
        for url, group in groups.items()
        if not url.startswith(BACKEND_DIRS) and url not in ON_REQUEST_URLS
    )


def test_download_groups_split_the_graphs_by_backend():
    groups = download_groups({"graphs": SPLIT_GRAPHS, "files": {}})
    assert groups["model/model.onnx"] == groups["model/model.onnx.data"] == "webgpu"
    assert groups["model/model-cpu.onnx"] == groups["model/model-cpu.onnx.data"] == "wasm"
    assert groups["vendor/ort/ort-wasm-simd-threaded.asyncify.wasm"] == "webgpu"
    assert groups["vendor/ort/ort-wasm-simd-threaded.wasm"] == "wasm"
    assert all(groups[url] == "on-request" for url in ON_REQUEST_URLS)
    assert len(groups) == 2 * 2 + 2 * 3 + 2  # nothing else: the rest is core
    shared = {
        kind: {
            **g,
            "data": [*g["data"], "shared.data"],
            "data_chunks": {**g["data_chunks"], "shared.data": [0]},
        }
        for kind, g in SPLIT_GRAPHS.items()
    }
    with pytest.raises(BuildError, match="both graphs list model/shared.data"):
        download_groups({"graphs": shared, "files": {}})


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


BASE_FILES = {
    "tokenizer.model": b"t",
    "tokenizer.pieces": b"p",
    "GEMMA_TERMS.html": b"terms",
    "NOTICE": b"n",
}
SPLIT_FILES = {
    "model.onnx": b"g", "model.onnx.data": b"w" * 10, "model-cpu.onnx": b"c",
    "model-cpu.onnx.data": b"q" * 5,
}  # fmt: skip


def graph_entry(model: str, data: list[str], session: dict) -> dict:
    """A conteur.json `graphs` entry as the exporter writes it."""
    return {
        "model": model, "data": data, "data_chunks": {name: [0] for name in data},
        "head": {"kept": 10, "of": 10, "rule": "full"}, "session": session,
        "kv_cache": "float32",
    }  # fmt: skip


SPLIT_GRAPHS = {
    "webgpu": graph_entry(
        "model.onnx", ["model.onnx.data"],
        {"graph_optimization": "all", "execution_mode": "sequential", "inter_op_threads": None},
    ),
    "wasm": graph_entry(
        "model-cpu.onnx", ["model-cpu.onnx.data"],
        {"graph_optimization": "disabled", "execution_mode": "parallel", "inter_op_threads": 1},
    ),
}  # fmt: skip


def test_the_cpu_graphs_rest_rows_download_with_its_graph():
    """model-cpu.rest (pyshell/rest_rows.py) is the WASM reader's, like the graph it feeds."""
    rest = {"file": "model-cpu.rest", "rows": 4, "width": 64, "block": 32, "record_bytes": 44,
            "ids_offset": 16, "records_offset": 32}  # fmt: skip
    graphs = {**SPLIT_GRAPHS, "wasm": {**SPLIT_GRAPHS["wasm"], "rest": rest}}
    groups = download_groups({"graphs": graphs, "files": {}})
    assert groups["model/model-cpu.rest"] == groups["model/model-cpu.onnx"] == "wasm"


def test_check_model_accepts_the_exported_layout(tmp_path):
    split = fake_model(tmp_path / "split", {**BASE_FILES, **SPLIT_FILES}, SPLIT_GRAPHS)
    assert check_model(split)["graphs"] == SPLIT_GRAPHS
    assert set(model_files(check_model(split))) == {*BASE_FILES, *SPLIT_FILES, "conteur.json"}
    # A folder from before the CPU graph (no `graphs`) is refused: it must be re-exported.
    single = {**BASE_FILES, "model.onnx": b"g", "model.onnx.data": b"w"}
    with pytest.raises(BuildError, match='"graphs" section is missing.*re-export'):
        check_model(fake_model(tmp_path / "single", single, None))


def test_check_model_refuses_a_graph_file_it_cannot_serve(tmp_path):
    files = {**BASE_FILES, **SPLIT_FILES}
    del files["model-cpu.onnx.data"]
    with pytest.raises(BuildError, match="does not list model-cpu.onnx.data"):
        check_model(fake_model(tmp_path / "unlisted", files, SPLIT_GRAPHS))
    lacking = fake_model(tmp_path / "lacking", {**BASE_FILES, **SPLIT_FILES}, SPLIT_GRAPHS)
    (lacking / "model.onnx.data").unlink()
    with pytest.raises(BuildError, match="lacks model.onnx.data"):
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
        ("/js/page/main.js", "text/javascript"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/model/conteur.json", "application/json"),
    ],
)
def test_server_sends_exact_types_and_isolation_headers(served, path, mime):
    with urllib.request.urlopen(served + path) as response:
        assert response.headers["Content-Type"].split(";")[0] == mime
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_the_site_carries_its_policy_hash_wasm_and_clean_terms(tiny_site):
    build = sw_build(tiny_site)
    assert build["csp"] == CONTENT_SECURITY_POLICY
    index = (tiny_site / "index.html").read_text()
    assert (
        f'http-equiv="Content-Security-Policy" content="{meta_policy(CONTENT_SECURITY_POLICY)}"'
        in index
    )
    assert "frame-ancestors" not in meta_policy(CONTENT_SECURITY_POLICY)  # a meta policy ignores it
    groups = {f["url"]: f["group"] for f in build["files"]}
    assert groups[HASH_WASM[1]] == "core"  # the service worker checks every download with it
    terms = (tiny_site / "model" / "GEMMA_TERMS.html").read_text()
    assert "<script" not in terms and "Gemma Terms of Use" in terms
