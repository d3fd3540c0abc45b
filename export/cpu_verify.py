"""Check the CPU graph: against the reference on its own weights, and against the source.

Graph correctness: the numpy reference on the CPU graph's weights (smoothed,
int8 per column, the shared embedding bands) with every matrix input rounded the
way the graph rounds it (one scale per token), on the kept head columns.

Fidelity: like export/verify.py, plus what a trimmed head loses. At each position
the float32 reference puts mass m outside the kept set. The reported `kl` is

    KL(p_kept || q) + (-log(1 - m))

where p_kept is the reference renormalized over the kept tokens: the first term
is the CPU graph's error on what it can write, the second exactly the
divergence the trimming adds (KL(p_kept || p)). Perplexity counts the positions
whose next token is kept; `targets_outside` says how many were not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from export import reference
from export.cpu_graph import CpuModel, dequantize_columns
from export.errors import ExportError
from export.quantize import dequantize
from export.verify import (
    GRAPH_TOLERANCE,
    check_ids,
    log_softmax,
    onnx_logits,
    source_logits,
)

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


def session(folder: Path, model_file: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(folder / model_file), options, providers=["CPUExecutionProvider"]
    )


def cpu_fidelity(ref_logits: np.ndarray, model_logits: np.ndarray, ids: list[int]) -> dict:
    """Fidelity with the lost mass counted (module docstring). Logits (S, vocab)."""
    kept = np.isfinite(model_logits[0])
    targets = np.asarray(ids[1:])
    in_kept = kept[targets]
    kl_kept = trim = lost = nll_ref = nll_model = agree = 0.0
    lost_max = 0.0
    column = np.cumsum(kept) - 1  # token id -> its column among the kept
    for start in range(0, len(targets), 128):
        stop = min(start + 128, len(targets))
        ref_lp = log_softmax(ref_logits[start:stop].astype(np.float64))
        mod_lp = log_softmax(model_logits[start:stop, kept].astype(np.float64))  # (n, L)
        mass = np.exp(ref_lp[:, ~kept]).sum(axis=1)
        ref_kept = ref_lp[:, kept] - np.log1p(-mass)[:, None]  # renormalized over kept
        kl_kept += (np.exp(ref_kept) * (ref_kept - mod_lp)).sum()
        trim -= np.log1p(-mass).sum()
        lost += mass.sum()
        lost_max = max(lost_max, float(mass.max()))
        rows = np.arange(stop - start)
        want = targets[start:stop]
        inside = in_kept[start:stop]
        nll_ref -= ref_lp[rows[inside], want[inside]].sum()
        nll_model -= mod_lp[rows[inside], column[want[inside]]].sum()
        agree += (ref_lp.argmax(-1) == np.flatnonzero(kept)[mod_lp.argmax(-1)]).sum()
    count, counted = len(targets), int(in_kept.sum())
    ppl_ref, ppl_model = np.exp(nll_ref / counted), np.exp(nll_model / counted)
    return {
        "tokens": len(ids),
        "head_kept": int(kept.sum()),
        "ppl_ref": round(float(ppl_ref), 4),
        "ppl_model": round(float(ppl_model), 4),
        "ppl_ratio": round(float(ppl_model / ppl_ref), 4),
        "top1": round(float(agree) / count, 4),
        "kl": round(float(kl_kept + trim) / count, 5),
        "kl_kept": round(float(kl_kept) / count, 5),
        "lost_mass": round(float(lost) / count, 5),
        "lost_mass_max": round(lost_max, 4),
        "targets_outside": count - counted,
    }


def cpu_check(
    folder: Path, weights, cpu: CpuModel, text: str | None = None, source: np.ndarray | None = None
) -> dict:
    """Run after every export, on the CPU graph, before the folder is put in place.

    `source`: export/verify.py's source_logits for the same text, when already computed.
    """
    from export.pipeline import CPU_MODEL_FILE

    config = json.loads((folder / "conteur.json").read_text())
    ids = check_ids(folder, text)
    model = onnx_logits(session(folder, CPU_MODEL_FILE), config, ids)
    head = dequantize_columns(cpu.head)  # (L, D)
    same = reference.logits(ids, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows)
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
        **cpu_fidelity(source, model, ids),
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
