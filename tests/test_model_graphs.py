"""The page's choice of graph per backend (web/static/js/model-graphs.js), run by Node.

Exports with conteur.json `graphs` give each backend its own graph and data files;
older ones have one graph, which both backends run with the full output head. The
WebGPU self-check's verdict key names the WebGPU graph's weights, and stays what it
was for older exports (remembered verdicts keep their meaning).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

JS = ROOT / "web" / "static" / "js"
VOCABULARY = 262144
FILES = {
    name: {"bytes": 1, "sha256": sha * 4}
    for name, sha in [
        ("model.onnx", "a" * 16), ("model.onnx.data", "b" * 16), ("model-cpu.onnx", "c" * 16),
        ("model-cpu.onnx.data", "d" * 16), ("shared.onnx.data", "e" * 16),
    ]
}  # fmt: skip
SPLIT = {
    "webgpu": {
        "model": "model.onnx",
        "data": ["shared.onnx.data", "model.onnx.data"],
        "head": {"kept": VOCABULARY, "of": VOCABULARY, "rule": "full"},
    },
    "wasm": {
        "model": "model-cpu.onnx",
        "data": ["shared.onnx.data", "model-cpu.onnx.data"],
        "head": {"kept": 49152, "of": VOCABULARY, "rule": "story shortlist: words stories use"},
    },
}


def config(graphs: dict | None = None) -> dict:
    c = {
        "name": "gemma-3-270m",
        "export_version": "v1",
        "architecture": {"vocab_size": VOCABULARY},
        "files": FILES,
    }
    if graphs is not None:
        c["graphs"] = graphs
    return c


def run_js(body: str):
    """Evaluate `body` (which sets `result`) with the page's modules imported; returns result."""
    assert shutil.which("node"), "node is needed (npm installs the browser runtimes with it)"
    script = (
        f"import * as graphs from {json.dumps((JS / 'shared' / 'model-config.js').as_uri())};"
        f"import {{ verdictKey }} from {json.dumps((JS / 'worker' / 'self-check.js').as_uri())};"
        f"let result; try {{ {body} }} catch (error) {{ result = {{error: error.detail}}; }}"
        "console.log(JSON.stringify(result));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def graph_for(c: dict, kind: str):
    return run_js(f"result = graphs.graphFor({json.dumps(c)}, {json.dumps(kind)});")


def test_each_backend_gets_its_own_graph_and_data_files():
    assert graph_for(config(SPLIT), "webgpu") == SPLIT["webgpu"]
    assert graph_for(config(SPLIT), "wasm") == SPLIT["wasm"]


@pytest.mark.parametrize("kind", ["webgpu", "wasm"])
def test_an_older_export_runs_its_one_graph_on_both_backends(kind):
    full = {"kept": VOCABULARY, "of": VOCABULARY, "rule": "full"}
    want = {"model": "model.onnx", "data": ["model.onnx.data"], "head": full}
    assert graph_for(config(), kind) == want


def test_a_graph_without_head_keeps_every_token():
    graphs = {kind: {k: v for k, v in g.items() if k != "head"} for kind, g in SPLIT.items()}
    assert graph_for(config(graphs), "wasm")["head"] == {
        "kept": VOCABULARY,
        "of": VOCABULARY,
        "rule": "full",
    }


def test_unusable_graphs_are_a_config_error():
    assert graph_for(config({"webgpu": SPLIT["webgpu"]}), "wasm") == {
        "error": '"graphs" has no usable "wasm" entry'
    }
    unlisted = {**SPLIT, "wasm": {**SPLIT["wasm"], "data": ["shared.onnx.data", "other.data"]}}
    assert graph_for(config(unlisted), "wasm") == {
        "error": "it does not list the size and sha256 of other.data"
    }


def test_head_rule_names():
    heads = [SPLIT["wasm"]["head"], SPLIT["webgpu"]["head"]]
    names = run_js(f"result = {json.dumps(heads)}.map(graphs.headRuleName);")
    assert names == ["story shortlist", "full"]


def test_verdict_key_names_the_webgpu_weights():
    adapter, ort = "SwiftShader", "1.30.0"
    older = run_js(f"result = verdictKey('{adapter}', '{ort}', {json.dumps(config())});")
    # As before the split: "model.onnx.data"'s sha256, so remembered verdicts still apply.
    assert older == f"{adapter} | onnxruntime-web {ort} | gemma-3-270m v1 {'b' * 16}"
    split = run_js(f"result = verdictKey('{adapter}', '{ort}', {json.dumps(config(SPLIT))});")
    assert split.endswith(f"gemma-3-270m v1 {'e' * 16}+{'b' * 16}")


def test_data_chunks_pass_through_when_listed():
    chunked = {
        **SPLIT,
        "wasm": {**SPLIT["wasm"], "data_chunks": {"model-cpu.onnx.data": [0, 4096]}},
    }
    assert graph_for(config(chunked), "wasm")["chunks"] == {"model-cpu.onnx.data": [0, 4096]}
    assert "chunks" not in graph_for(config(SPLIT), "wasm")
