"""The WebGPU graph's weights: a quantization scheme applied to float32 weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from export.model.config import GemmaConfig
from export.model.weights import LAYER_MATRICES, LAYER_NORMS, Weights
from export.quantize.blocks import QuantizedMatrix, dequantize, quantize
from export.quantize.schemes import Precision, Scheme


@dataclass
class QuantizedModel:
    """Everything the WebGPU graph needs: quantized matrices and float32 norms."""

    config: GemmaConfig
    matrices: dict[str, QuantizedMatrix]  # "layers.{i}.{q,k,...}"
    norms: dict[str, np.ndarray]  # "final_norm" and "layers.{i}.{..._norm}"
    embedding: list[tuple[int, QuantizedMatrix]]  # (first row, rows) bands of the tied table


def quantize_weights(weights: Weights, scheme: Scheme, progress=None) -> QuantizedModel:
    """Quantize every matrix as the scheme says; norms stay float32."""
    c = weights.config
    embed = weights.tensors["embed"]
    bands = [
        (start, quantize(embed[start:stop], **_args(precision)))
        for start, stop, precision in scheme.bands(c.vocab_size)
    ]
    matrices = {}
    norms = {"final_norm": weights.tensors["final_norm"]}
    total = c.num_layers
    for layer in range(c.num_layers):
        for kind in LAYER_MATRICES:
            name = f"layers.{layer}.{kind}"
            matrices[name] = quantize(weights.tensors[name], **_args(scheme.layers[kind]))
        for kind in LAYER_NORMS:
            name = f"layers.{layer}.{kind}"
            norms[name] = weights.tensors[name]
        if progress:
            progress(layer + 1, total, f"layer {layer}")
    return QuantizedModel(config=c, matrices=matrices, norms=norms, embedding=bands)


def _args(precision: Precision) -> dict:
    return {"bits": precision.bits, "block": precision.block}


def dequantized_tensors(model: QuantizedModel) -> dict[str, np.ndarray]:
    """The float32 weights the graph actually computes with (for the reference)."""
    tensors = {name: dequantize(m) for name, m in model.matrices.items()}
    tensors["embed"] = np.concatenate([dequantize(m) for _, m in model.embedding])
    tensors.update(model.norms)
    return tensors
