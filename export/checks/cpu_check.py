"""Check the CPU graph: against the reference on its own weights, and against the source.

Graph correctness: the numpy reference on the CPU graph's weights (smoothed,
int8 per column, the embedding's two tables) with every matrix input rounded the
way the graph rounds it (one scale per token) and the keys and values rounded to
its KV cache's type, on the kept head columns.

Fidelity: like the WebGPU graph's, plus what a trimmed head loses
(export/checks/metrics.py `head_fidelity`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.checks.eval_text import graph_logits, source_logits
from export.checks.metrics import head_fidelity, log_softmax
from export.checks.webgpu_check import GRAPH_TOLERANCE
from export.errors import ExportError
from export.folder.layout import CPU_MODEL_FILE
from export.graphs.cpu_graph import KV_CACHE
from export.model import reference
from export.model.weights import Weights
from export.quantize.blocks import dequantize
from export.quantize.cpu_model import CpuModel
from export.quantize.int8_columns import dequantize_columns

# Rounding makes the CPU graph chaotic at the level of float32 noise: an
# activation within ~1e-7 of a rounding tie goes one way in numpy and the other
# in onnxruntime (another float operation order), moves one int8 step, and every
# later rounding moves with it: the quantization noise is drawn anew. Measured on
# Gemma 3 270M: a 2e-7 relative nudge of every matrix input changes the top-5
# logits by 0.3 (median) and the top-1 token at 12 % of positions. So the graph is
# checked against the rounded reference the way two draws of the same noise
# compare: the same distribution (mean KL), mostly the same top-1, and exact
# logits on the first position (BOS alone: nothing to disagree on yet).
GRAPH_KL = 0.05  # measured 0.01-0.02 between two draws; a wrong scale or layout gives > 1
GRAPH_TOP1 = 0.8


def round_rows(x: np.ndarray, site: str) -> np.ndarray:
    """What the CPU graph does to a matrix input: int8 per row (one scale per token)."""
    x = x.astype(np.float32)
    amax = np.abs(x).max(axis=-1, keepdims=True)
    scale = np.maximum(amax * np.float32(1 / 127), np.float32(1e-30))  # as the graph: Mul, Max
    return (np.clip(np.round(x / scale), -128, 127) * scale).astype(np.float32)


def round_cache(x: np.ndarray, site: str) -> np.ndarray:
    """What the CPU graph's KV cache does to keys and values: rounds them to its type."""
    return x.astype(np.dtype(KV_CACHE)).astype(np.float32)  # "float16": numpy's name too


def graph_tensors(cpu: CpuModel) -> dict[str, np.ndarray]:
    """The float32 weights the CPU graph computes with."""
    tensors = {name: dequantize_columns(m) for name, m in cpu.matrices.items()}
    embed = np.zeros((cpu.config.vocab_size, cpu.config.hidden_size), np.float32)
    embed[cpu.head_ids] = dequantize_columns(cpu.head) / cpu.head_scale[None, :]
    if cpu.rest is not None:
        embed[cpu.rest_ids] = dequantize(cpu.rest)
    tensors["embed"] = embed
    tensors.update(cpu.norms)
    return tensors


def check_cpu_graph(
    folder: Path,
    weights: Weights,
    cpu: CpuModel,
    text: str | None = None,
    source: np.ndarray | None = None,
) -> dict:
    """The CPU graph against the rounded reference (GRAPH_KL), then its fidelity with
    the trimmed head's lost mass; `source` as for check_webgpu_graph."""
    ids, model = graph_logits(folder, CPU_MODEL_FILE, text)
    head = dequantize_columns(cpu.head)  # (L, D)
    same = reference.logits(
        ids, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows, cache=round_cache
    )
    agreement = draw_agreement(same, model[:, cpu.head_ids])
    del same
    if not (
        agreement["first_max_abs_diff"] <= GRAPH_TOLERANCE
        and agreement["kl"] <= GRAPH_KL
        and agreement["top1"] >= GRAPH_TOP1
    ):
        raise ExportError(
            f"verification failed: the CPU graph disagrees with the reference: {agreement}"
        )
    if source is None:
        source = source_logits(folder, weights, text)
    return {
        "graph_max_abs_diff": agreement["first_max_abs_diff"],
        "graph_kl": agreement["kl"],
        "graph_top1": agreement["top1"],
        **head_fidelity(source, model, ids),
    }


def draw_agreement(want: np.ndarray, got: np.ndarray) -> dict:
    """How two (S, L) logit arrays of the rounded model compare (see GRAPH_KL)."""
    want_lp = log_softmax(want.astype(np.float64))
    got_lp = log_softmax(got.astype(np.float64))
    kl = float((np.exp(want_lp) * (want_lp - got_lp)).sum(axis=1).mean())
    return {
        "first_max_abs_diff": round(float(np.abs(want[0] - got[0]).max()), 6),
        "kl": round(kl, 5),
        "top1": round(float((want.argmax(1) == got.argmax(1)).mean()), 4),
    }
