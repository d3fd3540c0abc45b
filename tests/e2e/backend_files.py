"""Which files each backend loads, and the two model-folder layouts the page accepts.

Exports write one graph per backend (conteur.json `graphs`: model.onnx for WebGPU,
model-cpu.onnx for WASM, weights split over shared.onnx.data and each graph's own
data file). Older exports wrote one graph, model.onnx + model.onnx.data, which both
backends run; `write_single_graph_layout` makes such a folder from either layout.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import onnx

# onnxruntime-web files one backend alone loads (web/static/js/backend.js).
ORT_ONLY = {
    "webgpu": [
        "ort.webgpu.min.mjs",
        "ort-wasm-simd-threaded.asyncify.mjs",
        "ort-wasm-simd-threaded.asyncify.wasm",
    ],
    "wasm": ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
}
SINGLE_GRAPH = {"model": "model.onnx", "data": ["model.onnx.data"]}
OTHER_BACKEND = {"webgpu": "wasm", "wasm": "webgpu"}
NOT_GRAPH_FILES = ("tokenizer.model", "tokenizer.pieces", "GEMMA_TERMS.html", "NOTICE")


def graph_names(graph: dict) -> list[str]:
    return [graph["model"], *graph["data"]]


def graph_only_files(config: dict, kind: str) -> list[str]:
    """Model files only `kind`'s graph uses; none in a single-graph folder."""
    graphs = config.get("graphs")
    if not graphs:
        return []
    others = graph_names(graphs[OTHER_BACKEND[kind]])
    return [name for name in graph_names(graphs[kind]) if name not in others]


def backend_only_files(config: dict, kind: str) -> set[str]:
    """Site paths of the files only `kind` loads: its onnxruntime build and graph files."""
    model = {f"model/{name}" for name in graph_only_files(config, kind)}
    return model | {f"vendor/ort/{name}" for name in ORT_ONLY[kind]}


def write_single_graph_layout(model_dir: Path, out: Path) -> None:
    """`model_dir`'s WebGPU graph as an older export wrote it, into `out` (replaced).

    The weights are read by offset rather than with onnx.load: the test sites
    hard-link these files, and onnx refuses external data with several links.
    """
    config = json.loads((model_dir / "conteur.json").read_text())
    graph = (config.get("graphs") or {}).get("webgpu", SINGLE_GRAPH)
    model = onnx.load(str(model_dir / graph["model"]), load_external_data=False)
    _inline_external_data(model, model_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    onnx.save_model(
        model, str(out / "model.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024,
    )  # fmt: skip
    for name in NOT_GRAPH_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, out / name)
    config.pop("graphs", None)
    config["files"] = {
        path.name: {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(out.iterdir())
    }
    (out / "conteur.json").write_text(json.dumps(config, indent=2) + "\n")


def _inline_external_data(model: onnx.ModelProto, folder: Path) -> None:
    for tensor in model.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        with (folder / info["location"]).open("rb") as f:
            f.seek(int(info.get("offset", 0)))
            tensor.raw_data = f.read(int(info["length"]))
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
