"""pyshell/config.py: the one Python reader of conteur.json, its `graphs` above all."""

from __future__ import annotations

import copy
import json

import pytest

from pyshell.config import BACKENDS, ConfigError, ModelConfig, read_graphs


@pytest.fixture(scope="module")
def exported(tiny_model_dir) -> dict:
    return json.loads((tiny_model_dir / "conteur.json").read_text())


def test_each_backend_runs_its_own_graph_as_exported(exported, tiny_model_dir):
    config = ModelConfig.from_dict(exported)
    webgpu, wasm = config.graph("webgpu"), config.graph("wasm")
    assert webgpu.files == ("model.onnx", "model.onnx.data")
    assert wasm.files == ("model-cpu.onnx", "model-cpu.onnx.data")
    size = (tiny_model_dir / "model-cpu.onnx.data").stat().st_size
    assert wasm.data_chunks["model-cpu.onnx.data"][0] == 0
    assert max(wasm.data_chunks["model-cpu.onnx.data"]) < size
    assert (wasm.head.kept, wasm.head.of, wasm.head.rule) == (400, 400, "full")
    # The session options the exporter decided (export/graphs/*_graph.py SESSION).
    assert (webgpu.session.graph_optimization, webgpu.session.execution_mode) == (
        "all",
        "sequential",
    )
    assert webgpu.session.inter_op_threads is None
    assert (wasm.session.graph_optimization, wasm.session.execution_mode) == (
        "disabled",
        "parallel",
    )
    assert wasm.session.inter_op_threads == 1
    # The KV cache: float16 on the CPU graph (half the bytes copied per step), float32 on WebGPU.
    assert (webgpu.kv_cache, wasm.kv_cache) == ("float32", "float16")
    assert set(read_graphs(exported)) == set(BACKENDS)
    with pytest.raises(ConfigError, match="unknown backend 'webgl'"):
        config.graph("webgl")


def broken(exported: dict, change) -> dict:
    data = copy.deepcopy(exported)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("graphs"), '"graphs" section is missing.*re-export the model'),
        (lambda d: d["graphs"].pop("wasm"), '"graphs" has no usable "wasm" entry'),
        (lambda d: d["graphs"]["wasm"].pop("session"), "graphs.wasm.session must be an object"),
        (
            lambda d: d["graphs"]["webgpu"]["session"].update(graph_optimization="some"),
            "graphs.webgpu.session.graph_optimization must be one of all, disabled",
        ),
        (
            lambda d: d["graphs"]["wasm"]["session"].update(execution_mode="async"),
            "graphs.wasm.session.execution_mode must be one of sequential, parallel",
        ),
        (
            lambda d: d["graphs"]["wasm"]["session"].update(inter_op_threads=0),
            "inter_op_threads must be a positive integer or null",
        ),
        (
            lambda d: d["graphs"]["wasm"].update(kv_cache="int8"),
            "graphs.wasm.kv_cache must be one of float32, float16",
        ),
        (
            lambda d: d["graphs"]["wasm"]["data_chunks"].update({"model-cpu.onnx.data": [5]}),
            "data_chunks.model-cpu.onnx.data must be ascending byte offsets from 0",
        ),
        (
            lambda d: d["graphs"]["wasm"]["head"].update(kept=401),
            "graphs.wasm.head must keep at most its 400 tokens",
        ),
        (lambda d: d["graphs"]["webgpu"].update(data="x"), "graphs.webgpu.data must be a list"),
    ],
)
def test_a_graphs_entry_the_exporter_would_not_write_is_refused(exported, change, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict(broken(exported, change))
