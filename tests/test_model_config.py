"""The page's reader of conteur.json (web/static/js/shared/model-config.js), run by Node.

It is the only JavaScript that reads conteur.json: each backend's graph (model,
data files, chunk starts, head, onnxruntime-web session options), the files'
sizes and sha256, the KV-cache shape and the self-check. A folder an older
exporter wrote (no `graphs`, a graph without `session`) is a ModelConfigError
that says to re-export; the WebGPU self-check's verdict key names the WebGPU
graph's weights.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

JS = ROOT / "web" / "static" / "js"
VOCABULARY = 262144
SHA = {name: c * 64 for name, c in [("model.onnx", "a"), ("model.onnx.data", "b")]}
SHA |= {"model-cpu.onnx": "c" * 64, "model-cpu.onnx.data": "d" * 64}
SHA |= {"tokenizer.model": "e" * 64, "tokenizer.pieces": "f" * 64}
SESSIONS = {
    "webgpu": {
        "graph_optimization": "all",
        "execution_mode": "sequential",
        "inter_op_threads": None,
    },
    "wasm": {"graph_optimization": "disabled", "execution_mode": "parallel", "inter_op_threads": 1},
}
GRAPHS = {
    "webgpu": {
        "model": "model.onnx",
        "data": ["model.onnx.data"],
        "data_chunks": {"model.onnx.data": [0, 4096]},
        "head": {"kept": VOCABULARY, "of": VOCABULARY, "rule": "full"},
        "session": SESSIONS["webgpu"],
        "kv_cache": "float32",
    },
    "wasm": {
        "model": "model-cpu.onnx",
        "data": ["model-cpu.onnx.data"],
        "data_chunks": {"model-cpu.onnx.data": [0, 1000, 5000]},
        "head": {"kept": 81920, "of": VOCABULARY, "rule": "story shortlist: words stories use"},
        "session": SESSIONS["wasm"],
        "kv_cache": "float16",
    },
}
STEP = {"feed": [2, 7], "top_ids": [9, 4], "top_logits": [20.5, 19.25]}


def config() -> dict:
    """A conteur.json as the exporter writes it (the fields the page reads)."""
    return {
        "format": "conteur-model",
        "format_version": 1,
        "export_version": "v1",
        "name": "gemma-3-270m",
        "architecture": {
            "vocab_size": VOCABULARY,
            "context_length": 32768,
            "num_layers": 18,
            "sliding_window": 512,
        },
        "tokens": {"pad": 0, "eos": 1, "bos": 2, "unk": 3},
        "graph": {"top_k": 64, "num_layers": 18, "kv_heads": 1, "head_dim": 256},
        "graphs": copy.deepcopy(GRAPHS),
        "files": {name: {"bytes": 8192, "sha256": sha} for name, sha in SHA.items()},
        "self_check": {"prompt_ids": [2, 7], "steps": [STEP], "atol": 0.05, "rtol": 0.005},
    }


def run_js(body: str):
    """Evaluate `body` (which sets `result`) with the modules imported; returns result,
    or {"error": detail, "message": the reader's text} when it throws a ConteurError."""
    assert shutil.which("node"), "node is needed (npm installs the browser runtimes with it)"
    script = (
        f"import * as mc from {json.dumps((JS / 'shared' / 'model-config.js').as_uri())};"
        f"import {{ verdictKey }} from {json.dumps((JS / 'worker' / 'self-check.js').as_uri())};"
        "let result; try { " + body + " } catch (error) {"
        " if (error.detail === undefined) throw error;"
        " result = {error: error.detail, message: error.message}; }"
        "console.log(JSON.stringify(result));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def read(c: dict | str) -> dict:
    """modelConfig(text) without `text` (the JSON itself)."""
    text = c if isinstance(c, str) else json.dumps(c)
    return run_js(f"const {{text, ...rest}} = mc.modelConfig({json.dumps(text)}); result = rest;")


def test_each_backend_gets_its_graph_files_chunks_head_and_session():
    got = read(config())
    assert got["graphs"]["webgpu"] == {
        "backend": "webgpu",
        "model": "model.onnx",
        "data": ["model.onnx.data"],
        "dataChunks": {"model.onnx.data": [0, 4096]},
        "head": GRAPHS["webgpu"]["head"],
        "session": {"graphOptimizationLevel": "all", "executionMode": "sequential"},
        "kvCache": "float32",
        "rest": None,
    }
    wasm = got["graphs"]["wasm"]
    assert (wasm["model"], wasm["data"]) == ("model-cpu.onnx", ["model-cpu.onnx.data"])
    assert wasm["dataChunks"] == {"model-cpu.onnx.data": [0, 1000, 5000]}
    assert wasm["head"] == GRAPHS["wasm"]["head"]
    assert wasm["kvCache"] == "float16"
    # The CPU graph: no graph optimizations, the parallel executor on one inter-op thread.
    assert wasm["session"] == {
        "graphOptimizationLevel": "disabled",
        "executionMode": "parallel",
        "extra": {"session": {"inter_op_num_threads": "1"}},
    }


REST = {"file": "model-cpu.rest", "rows": 4, "width": 64, "block": 32, "record_bytes": 44,
        "ids_offset": 16, "records_offset": 32}  # fmt: skip


def with_rest(rest: dict) -> dict:
    c = config()
    c["graphs"]["wasm"]["rest"] = rest
    c["files"]["model-cpu.rest"] = {"bytes": 32 + 4 * 44, "sha256": "9" * 64}
    return c


def test_the_cpu_graphs_rest_rows_are_read_and_checked():
    """`graphs.wasm.rest` (pyshell/rest_rows.py's layout), camel-cased; a rest entry whose
    records would not fit its listed file is refused before any byte is read."""
    assert read(config())["graphs"]["wasm"]["rest"] is None
    assert read(with_rest(REST))["graphs"]["wasm"]["rest"] == {
        "file": "model-cpu.rest", "rows": 4, "width": 64, "block": 32, "recordBytes": 44,
        "idsOffset": 16, "recordsOffset": 32,
    }  # fmt: skip
    too_many = read(with_rest({**REST, "rows": 5}))
    assert too_many["error"] == '"graphs.wasm.rest" puts its ids and records outside model-cpu.rest'
    assert too_many["message"].endswith("Re-export the model and rebuild the site.")
    assert (
        read(with_rest({**REST, "file": 7}))["error"] == '"graphs.wasm.rest.file" is not a string'
    )
    short = read(with_rest({**REST, "record_bytes": 40}))["error"]
    assert short == '"graphs.wasm.rest.record_bytes" is 40: a record needs 41'


def test_the_rest_of_the_config():
    got = read(config())
    assert (got["name"], got["exportVersion"], got["label"]) == (
        "gemma-3-270m",
        "v1",
        "gemma-3-270m v1",
    )
    assert (got["layers"], got["kvHeads"], got["headDim"]) == (18, 1, 256)
    assert (got["contextLength"], got["vocabulary"]) == (32768, VOCABULARY)
    assert got["tokens"] == {"pad": 0, "eos": 1, "bos": 2, "unk": 3}
    assert got["tokenizer"] == {"model": "tokenizer.model", "pieces": "tokenizer.pieces"}
    assert got["files"]["model-cpu.onnx.data"] == {"bytes": 8192, "sha256": "d" * 64}
    assert got["selfCheck"] == {
        "promptIds": [2, 7],
        "steps": [{"feed": [2, 7], "topIds": [9, 4], "topLogits": [20.5, 19.25]}],
        "atol": 0.05,
        "rtol": 0.005,
    }


@pytest.mark.parametrize(
    ("session", "options"),
    [
        (
            {"graph_optimization": "all", "execution_mode": "parallel", "inter_op_threads": 3},
            {
                "graphOptimizationLevel": "all",
                "executionMode": "parallel",
                "extra": {"session": {"inter_op_num_threads": "3"}},
            },
        ),
        (
            {
                "graph_optimization": "disabled",
                "execution_mode": "sequential",
                "inter_op_threads": None,
            },
            {"graphOptimizationLevel": "disabled", "executionMode": "sequential"},
        ),
    ],
)
def test_session_options_map_onto_onnxruntime_web(session, options):
    assert run_js(f"result = mc.ortSessionOptions({json.dumps(session)});") == options


def test_an_export_without_graphs_must_be_re_exported():
    old = config()
    del old["graphs"]
    got = read(old)
    assert got["error"] == 'it has no "graphs": an older exporter wrote it'
    assert got["message"].endswith("Re-export the model and rebuild the site.")


def broken(keys: tuple[str, ...], value=None) -> dict:
    """config() with the entry at `keys` replaced by `value`, or deleted (None)."""
    c = config()
    *parents, last = keys
    entry = c
    for key in parents:
        entry = entry[key]
    if value is None:
        del entry[last]
    else:
        entry[last] = value
    return c


CHUNKS = ("graphs", "wasm", "data_chunks", "model-cpu.onnx.data")
THREADS = ("graphs", "wasm", "session", "inter_op_threads")
OPTIMIZATION = ("graphs", "wasm", "session", "graph_optimization")
KV_CACHE = ("graphs", "wasm", "kv_cache")


@pytest.mark.parametrize(
    ("keys", "value", "error"),
    [
        (("graphs", "wasm", "session"), None, '"graphs.wasm.session" is missing'),
        (("graphs", "webgpu", "head"), None, '"graphs.webgpu.head" is missing'),
        (("graphs", "wasm", "data_chunks"), None, '"graphs.wasm.data_chunks" is missing'),
        (("graphs", "wasm"), None, '"graphs.wasm" is missing'),
        (OPTIMIZATION, "basic", f'"{".".join(OPTIMIZATION)}" is "basic": one of "all", "disabled"'),
        (THREADS, 0, f'"{".".join(THREADS)}" is 0: a thread count or null'),
        (KV_CACHE, "bfloat16", '"graphs.wasm.kv_cache" is "bfloat16": one of "float32", "float16"'),
        (KV_CACHE, None, '"graphs.wasm.kv_cache" is missing'),
        (CHUNKS, [0, 5000, 1000], f'"{".".join(CHUNKS)}" is not a list of ascending offsets'),
        (("graphs", "wasm", "data"), ["x.data"], "it does not list the size and sha256 of x.data"),
        (
            ("files", "tokenizer.pieces"),
            None,
            "it does not list the size and sha256 of tokenizer.pieces",
        ),
        (("self_check",), None, '"self_check" is missing'),
        (("graph", "kv_heads"), "1", '"graph.kv_heads" is not a count'),
    ],
)
def test_unusable_configs_say_which_field(keys, value, error):
    assert read(broken(keys, value))["error"].startswith(error)


def test_not_json_and_not_a_conteur_config():
    assert read("{")["error"].startswith("it is not valid JSON")
    assert read(json.dumps({"format": "other"}))["error"] == "it is not a Conteur model description"


def test_head_rule_names():
    heads = [GRAPHS["wasm"]["head"], GRAPHS["webgpu"]["head"]]
    names = run_js(f"result = {json.dumps(heads)}.map(mc.headRuleName);")
    assert names == ["story shortlist", "full"]


def test_verdict_key_names_the_webgpu_weights():
    text = json.dumps(config())
    key = run_js(
        f"result = verdictKey('SwiftShader', '1.30.0', mc.modelConfig({json.dumps(text)}));"
    )
    assert key == f"SwiftShader | onnxruntime-web 1.30.0 | gemma-3-270m v1 {'b' * 16}"


def test_the_tiny_export_reads(tiny_model_dir):
    text = (tiny_model_dir / "conteur.json").read_text()
    raw = json.loads(text)
    got = read(text)
    for kind in ("webgpu", "wasm"):
        assert got["graphs"][kind]["model"] == raw["graphs"][kind]["model"]
        assert got["graphs"][kind]["head"] == raw["graphs"][kind]["head"]
    assert got["graphs"]["wasm"]["session"]["graphOptimizationLevel"] == "disabled"
    assert (got["graphs"]["webgpu"]["kvCache"], got["graphs"]["wasm"]["kvCache"]) == (
        "float32",
        "float16",
    )
    assert got["layers"] == raw["architecture"]["num_layers"]
    assert len(got["selfCheck"]["steps"]) == len(raw["self_check"]["steps"])
