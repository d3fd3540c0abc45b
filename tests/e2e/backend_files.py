"""Which files each backend loads: its onnxruntime-web build and its own graph's files.

Exports write one graph per backend (conteur.json `graphs`, read by pyshell/config.py):
model.onnx + model.onnx.data for WebGPU, model-cpu.onnx + model-cpu.onnx.data for WASM;
the two share no file.
"""

from __future__ import annotations

from pyshell.config import read_graphs

# onnxruntime-web files one backend alone loads (web/static/js/worker/ort-session.js).
ORT_ONLY = {
    "webgpu": [
        "ort.webgpu.min.mjs",
        "ort-wasm-simd-threaded.asyncify.mjs",
        "ort-wasm-simd-threaded.asyncify.wasm",
    ],
    "wasm": ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
}


def graph_files(config: dict, kind: str) -> list[str]:
    """The files of `kind`'s graph: the graph, then its data files."""
    return list(read_graphs(config)[kind].files)


def backend_only_files(config: dict, kind: str) -> set[str]:
    """Site paths of the files only `kind` loads: its onnxruntime build and graph files."""
    model = {f"model/{name}" for name in graph_files(config, kind)}
    return model | {f"vendor/ort/{name}" for name in ORT_ONLY[kind]}
