"""The model folder's layout and version: file names, EXPORT_VERSION, whether a folder is current.

model.onnx      + model.onnx.data      the WebGPU graph (export/graphs/webgpu_graph.py)
model-cpu.onnx  + model-cpu.onnx.data  the CPU graph (export/graphs/cpu_graph.py)
model-cpu.rest                         its embedding rows outside its head (pyshell/rest_rows.py)
tokenizer.model, tokenizer.pieces      the tokenizer and its fast-load cache
conteur.json                           the folder's description (export/folder/write.py)
GEMMA_TERMS.html, NOTICE               the terms (clean text, folder/terms.py) and the notice
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from export.errors import OutputError

FORMAT_VERSION = 1
# Bump when the graph, the scheme or the folder layout changes: caches re-export.
# -10: tokenizer.pieces carries its piece -> id table (pyshell/compact_pieces.py; same graphs as -9,
# whose CPU graph hands out each step's own KV rows).
# -11: the CPU graph's attention takes its products the way round that never transposes
# or copies the cache (export/graphs/exact_ops.py `scores`).
# -12: the CPU graph never joins the past and the step's rows: it scores each and hands
# out only the step's rows (new_key_values.*), no present.*; its runners keep the cache.
# -13: the CPU graph stores its int8 weights as uint8 + 128 (export/graphs/cpu_graph.py
# WEIGHT_ZERO_POINT): the same products, exact on x86 CPUs with AVX2 but no VNNI too; and
# every x86 CPU writes the same bytes (RoPE frequencies in float64, the smoothing's powers
# by the C library's pow), which moved model.onnx and the CPU graph's weights.
EXPORT_VERSION = "2026.12-13"
DEFAULT_NAME = "gemma-3-270m"
MODEL_FILE, DATA_FILE = "model.onnx", "model.onnx.data"  # the WebGPU graph
CPU_MODEL_FILE, CPU_DATA_FILE = "model-cpu.onnx", "model-cpu.onnx.data"  # the CPU (WASM) graph
CPU_REST_FILE = "model-cpu.rest"  # the CPU graph's embedding rows outside its head
CONFIG_FILE = "conteur.json"


def check_output_writable(out: Path) -> None:
    """Fail before the slow work if the output folder's parent cannot be written."""
    parent = Path(out).absolute().parent
    probe_dir = parent
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not os.access(probe_dir, os.W_OK):
        raise OutputError(f"cannot write the output folder {out}: {probe_dir} is not writable")
    if Path(out).exists() and not Path(out).is_dir():
        raise OutputError(f"cannot write the output folder {out}: a file has that name")


def is_current(folder: Path) -> bool:
    """True when `folder` holds a complete export made by this exporter version."""
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False
    if config.get("export_version") != EXPORT_VERSION:
        return False
    return all(
        (folder / name).is_file() and (folder / name).stat().st_size == info["bytes"]
        for name, info in config.get("files", {}).items()
    )
