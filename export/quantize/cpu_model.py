"""The CPU graph's weights: smooth, round to int8 per column, pick the head.

Source weights (float32) -> export/quantize/smoothing.py (calibrated on the model's
own stories) -> int8 (K, N) per output column (export/quantize/int8_columns.py) ->
the head's kept rows (export/quantize/shortlist.py, or every row with head="full"),
and the other rows of the tied table in int4 for the input embedding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from export.model.config import GemmaConfig
from export.model.weights import LAYER_MATRICES, LAYER_NORMS, Weights
from export.quantize.blocks import QuantizedMatrix, quantize
from export.quantize.int8_columns import Int8Columns, quantize_columns
from export.quantize.shortlist import load_shortlist
from export.quantize.smoothing import calibration_ids, measure_maxima, smooth

REST_BITS, REST_BLOCK = 4, 32  # the long tail, as in the WebGPU graph's last band


@dataclass
class CpuModel:
    """What the CPU graph needs."""

    config: GemmaConfig
    matrices: dict[str, Int8Columns]  # "layers.{i}.{q,k,...}" (smoothed)
    norms: dict[str, np.ndarray]  # float32, smoothing folded in
    head: Int8Columns  # (D, L): the kept rows of the tied table, columns smoothed
    head_ids: np.ndarray  # int64 (L,): the token id of each head column, ascending
    head_scale: np.ndarray  # float32 (D,): the smoothing folded into the head's rows
    rest: QuantizedMatrix | None  # int4 (V - L, D): every other token's embedding row
    rest_ids: np.ndarray  # int64 (V - L,): their token ids, ascending


def head_ids_for(vocab_size: int, head: str) -> np.ndarray:
    """Kept token ids, ascending: the story shortlist when it fits, else every id."""
    kept = load_shortlist(vocab_size) if head == "shortlist" else None
    return kept if kept is not None else np.arange(vocab_size, dtype=np.int64)


def prepare_cpu_model(
    weights: Weights, encode: Callable[[str], list[int]], head: str = "shortlist", progress=None
) -> CpuModel:
    """`encode(text) -> ids` tokenizes the calibration stories; `head`: "shortlist" or "full"."""
    c = weights.config
    tensors = weights.tensors
    head_ids = head_ids_for(c.vocab_size, head)
    head_rows = tensors["embed"][head_ids]  # (L, D)
    maxima = measure_maxima(tensors, c, calibration_ids(encode))
    smoothed = smooth(tensors, c, maxima, head_rows)
    matrices = {}
    for layer in range(c.num_layers):
        for kind in LAYER_MATRICES:
            name = f"layers.{layer}.{kind}"
            matrices[name] = quantize_columns(smoothed[name])
        if progress:
            progress(layer + 1, c.num_layers, f"layer {layer}")
    norms = {"final_norm": smoothed["final_norm"]}
    for layer in range(c.num_layers):
        for kind in LAYER_NORMS:
            norms[f"layers.{layer}.{kind}"] = smoothed[f"layers.{layer}.{kind}"]
    rest_ids = np.setdiff1d(np.arange(c.vocab_size), head_ids)
    rest = None
    if len(rest_ids):
        rest = quantize(tensors["embed"][rest_ids], bits=REST_BITS, block=REST_BLOCK)
    return CpuModel(
        config=c,
        matrices=matrices,
        norms=norms,
        head=quantize_columns(head_rows * smoothed["head_scale"][None, :]),
        head_ids=head_ids,
        head_scale=smoothed["head_scale"],
        rest=rest,
        rest_ids=rest_ids,
    )
