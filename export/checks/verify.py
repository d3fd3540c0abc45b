"""`python -m export --verify TEXT_FILE`: each backend's graph against the float32 source.

Reads the folder as any reader does (pyshell's ModelConfig: the graph each backend
runs, and which tokens its head keeps), re-reads the source weights conteur.json
names, and reports each graph's fidelity on the text as one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path

from export.checks.eval_text import tokenize
from export.checks.metrics import fidelity, head_fidelity
from export.checks.onnx_io import onnx_logits, session
from export.errors import ExportError
from export.folder.layout import CONFIG_FILE
from export.model import reference
from export.sources.loader import source_weights
from pyshell.config import BACKENDS, ConfigError, ModelConfig


def verify_folder(folder: Path, text: str) -> dict:
    """{"webgpu": {...}, "wasm": {...}}: the graph each backend runs, measured on `text`.

    A graph whose head keeps only some tokens gets the trimmed head's measures
    (export/checks/metrics.py `head_fidelity`).
    """
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ExportError(f"{folder}: no exported model here (conteur.json missing)")
    config = json.loads(config_path.read_text())
    try:
        model_config = ModelConfig.from_dict(config)
        graphs = {backend: model_config.graph(backend) for backend in BACKENDS}
    except ConfigError as exc:
        raise ExportError(f"{config_path}: {exc}") from exc
    ids = tokenize(folder, text)
    weights = source_weights(config)
    source = reference.logits(ids, weights.tensors, weights.config)
    report = {}
    for backend, graph in graphs.items():
        model = onnx_logits(session(folder, graph.model), config, ids, folder)
        measure = head_fidelity if graph.head.kept < graph.head.of else fidelity
        report[backend] = {"model": graph.model, **measure(source, model, ids)}
    return report
