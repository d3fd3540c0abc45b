"""The WebGPU graph: every matrix and the tied head on 4-bit MatMulNBits kernels.

One step of the decoder, batch 1, float32 activations:
  input_ids (1, S) + past KV (1, Hkv, P, Hd) per layer
  -> top-k candidates and logits for the last `num_logits_to_keep` positions
  -> present KV (1, Hkv, P + S, Hd) per layer.
Ops: GatherBlockQuantized (embedding lookup, one per vocabulary band), MatMulNBits
(every matrix and the tied head, reading the same bands' bytes; an 8-bit matrix as
two 4-bit planes), and the fused float parts of export/graphs/fused_ops.py.
docs/architecture.md lists the inputs and outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from export.graphs.builder import GraphBuilder
from export.graphs.decoder import decoder_stack, norm_constants, step_inputs
from export.graphs.interface import TOP_K, finish_model, kept_positions
from export.graphs.stored_matrix import StoredMatrix, gather, matmul, store_matrix
from export.model.config import GemmaConfig
from export.model.weights import LAYER_MATRICES
from export.quantize.blocks import QuantizedMatrix
from export.quantize.quantized_model import QuantizedModel

# How onnxruntime opens this graph (conteur.json graphs.webgpu.session; the page and
# pyshell's OnnxRunner both follow it): every optimization, the default executor.
KV_CACHE = "float32"  # conteur.json graphs.webgpu.kv_cache: the cache stays on the GPU
SESSION = {"graph_optimization": "all", "execution_mode": "sequential", "inter_op_threads": None}


def build_webgpu_graph(model: QuantizedModel) -> onnx.ModelProto:
    """The decoder as an ONNX ModelProto (weights still in memory): the WebGPU graph.

    Every matrix and the tied head run MatMulNBits on the embedding bands' bytes.
    export/graphs/cpu_graph.py builds the CPU (WASM) graph from the same skeleton.
    """
    c = model.config
    g = GraphBuilder()
    step = step_inputs(g, c)
    bands = [add_band(g, f"embed.{i}", start, m) for i, (start, m) in enumerate(model.embedding)]
    norm = norm_constants(g, model.norms)

    def layer_matmul(layer: int):
        p = f"layers.{layer}."
        w = {kind: store_matrix(g, p + kind, model.matrices[p + kind]) for kind in LAYER_MATRICES}
        return lambda x, kind: matmul(g, x, w[kind], p + kind)

    hidden, presents = decoder_stack(g, c, embed(g, c, bands), layer_matmul, norm, step)
    last_hidden = kept_positions(g, hidden)  # (1, keep, D)
    parts = [matmul(g, last_hidden, band.stored, f"head.{band.start}") for band in bands]
    if len(parts) == 1:
        g.nodes.append(helper.make_node("Identity", parts, ["logits"], name="logits"))
    else:
        g.nodes.append(helper.make_node("Concat", parts, ["logits"], name="logits", axis=-1))
    vocab = sum(band.rows for band in bands)
    last_logits = g.op("Gather", ["logits", g.int64("minus_one", -1)], "last_logits", axis=1)
    top_k = min(TOP_K, vocab)
    g.nodes.append(
        helper.make_node(
            "TopK",
            [last_logits, g.int64("top_k", [top_k])],
            ["top_values", "top_ids"],
            name="top_k",
            axis=-1,
            largest=1,
            sorted=1,
        )
    )
    return finish_model(g, c, vocab, top_k, presents, kv_cache=KV_CACHE)


@dataclass
class StoredBand:
    """One stored band of the tied embedding: rows [start, start + rows)."""

    start: int
    stored: StoredMatrix

    @property
    def rows(self) -> int:
        return self.stored.matrix.shape[0]


def add_band(g: GraphBuilder, name: str, start: int, m: QuantizedMatrix) -> StoredBand:
    return StoredBand(start, store_matrix(g, name, m))


def embedding_lookup(g: GraphBuilder, bands: list[StoredBand]) -> str:
    """(1, S, D) rows for input_ids, each id looked up in the band that holds it."""
    if len(bands) == 1:
        return gather(g, bands[0].stored, "input_ids", "embedded")
    result = None
    for band in reversed(bands):  # later bands first, earlier ones override
        rows = band.rows
        start = g.const(f"embed.start_{band.start}", np.array(band.start, np.int64))
        last = g.const(f"embed.last_{band.start}", np.array(rows - 1, np.int64))
        zero = g.const(f"embed.zero_{band.start}", np.array(0, np.int64))
        local = g.op("Sub", ["input_ids", start], "band_ids")
        clamped = g.op("Min", [g.op("Max", [local, zero], "band_lo"), last], "band_ids_clamped")
        rows_out = gather(g, band.stored, clamped, "embedded")
        if result is None:
            result = rows_out
            continue
        inside = g.op(
            "Less",
            [
                "input_ids",
                g.const(f"embed.stop_{band.start}", np.array(band.start + rows, np.int64)),
            ],
            "in_band",
        )
        inside = g.op(
            "Unsqueeze",
            [inside, g.const(f"embed.axis_{band.start}", np.array([-1], np.int64))],
            "in_band_col",
        )
        result = g.op("Where", [inside, rows_out, result], "embedded_sel")
    return result


def embed(g: GraphBuilder, c: GemmaConfig, bands: list[StoredBand]) -> str:
    """(1, S, D) the residual stream's start: band lookup scaled by sqrt(hidden)."""
    lookup = embedding_lookup(g, bands)
    normalizer = g.const("embed.normalizer", np.array(math.sqrt(c.hidden_size), np.float32))
    return g.op("Mul", [lookup, normalizer], "embedded_scaled")
