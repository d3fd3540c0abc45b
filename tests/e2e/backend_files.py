"""Which files each backend loads.

Exports write one graph per backend (conteur.json `graphs`: model.onnx + its data
file for WebGPU, model-cpu.onnx + its data file for WASM); the two share no file.
"""

from __future__ import annotations

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
    graph = config["graphs"][kind]
    return [graph["model"], *graph["data"]]


def backend_only_files(config: dict, kind: str) -> set[str]:
    """Site paths of the files only `kind` loads: its onnxruntime build and graph files."""
    model = {f"model/{name}" for name in graph_files(config, kind)}
    return model | {f"vendor/ort/{name}" for name in ORT_ONLY[kind]}
