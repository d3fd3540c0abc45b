"""Check the WebGPU graph against the numpy float32 reference, before the folder is put in place.

Two questions, kept apart:
- graph correctness: does the ONNX graph compute what the reference computes
  on the *same* (dequantized) weights? (max abs logit difference)
- quantization fidelity: how far is the model from the float32 reference on
  the *source* weights? (perplexity ratio, mean KL divergence, top-1 agreement)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.checks.eval_text import graph_logits, source_logits
from export.checks.metrics import fidelity
from export.errors import ExportError
from export.folder.layout import MODEL_FILE
from export.model import reference
from export.model.weights import Weights
from export.quantize.quantized_model import QuantizedModel, dequantized_tensors

GRAPH_TOLERANCE = 2e-2  # built-in guard; the tests assert tighter bounds


def check_webgpu_graph(
    folder: Path,
    weights: Weights,
    quantized: QuantizedModel,
    text: str | None = None,
    source: np.ndarray | None = None,
) -> dict:
    """Raises unless the graph computes the reference on its own weights; returns the
    graph's fidelity against `source` (the reference on the source weights, computed
    here when not given)."""
    ids, model = graph_logits(folder, MODEL_FILE, text)
    same_weights = reference.logits(ids, dequantized_tensors(quantized), weights.config)
    max_diff = float(np.abs(model - same_weights).max())
    del same_weights
    if not max_diff <= GRAPH_TOLERANCE:
        raise ExportError(
            f"verification failed: ONNX logits differ from the reference by {max_diff:.4g}"
        )
    if source is None:
        source = source_logits(folder, weights, text)
    return {"graph_max_abs_diff": round(max_diff, 6), **fidelity(source, model, ids)}
