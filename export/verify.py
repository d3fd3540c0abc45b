"""Check an exported model against the numpy float32 reference.

Two questions, kept apart:
- graph correctness: does the ONNX graph compute what the reference computes
  on the *same* (dequantized) weights? (max abs logit difference)
- quantization fidelity: how far is the model from the float32 reference on
  the *source* weights? (perplexity ratio, mean KL divergence, top-1 agreement)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from export import reference
from export.errors import ExportError

DEFAULT_TEXT = Path(__file__).parent / "data" / "eval_story.txt"
MAX_TOKENS = 2048
GRAPH_TOLERANCE = 2e-2  # built-in guard; the tests assert tighter bounds


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def fidelity(ref_logits: np.ndarray, model_logits: np.ndarray, ids: list[int]) -> dict:
    """Perplexities, their ratio, mean KL(ref || model) and top-1 agreement.

    Position t predicts ids[t + 1]; logits are (S, vocab) float32. Rows are
    processed in chunks so a 2,000-token text needs little extra memory.
    """
    targets = np.asarray(ids[1:])
    nll_ref = nll_model = kl = agree = 0.0
    for start in range(0, len(targets), 128):
        stop = min(start + 128, len(targets))
        ref_lp = log_softmax(ref_logits[start:stop].astype(np.float64))
        mod_lp = log_softmax(model_logits[start:stop].astype(np.float64))
        rows, want = np.arange(stop - start), targets[start:stop]
        nll_ref -= ref_lp[rows, want].sum()
        nll_model -= mod_lp[rows, want].sum()
        kl += (np.exp(ref_lp) * (ref_lp - mod_lp)).sum()
        agree += (ref_lp.argmax(-1) == mod_lp.argmax(-1)).sum()
    count = len(targets)
    ppl_ref, ppl_model = float(np.exp(nll_ref / count)), float(np.exp(nll_model / count))
    return {
        "tokens": len(ids),
        "ppl_ref": round(ppl_ref, 4),
        "ppl_model": round(ppl_model, 4),
        "ppl_ratio": round(ppl_model / ppl_ref, 4),
        "top1": round(float(agree) / count, 4),
        "kl": round(float(kl) / count, 5),
    }


def session(folder: Path, model_file: str = "model.onnx"):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(folder / model_file), options, providers=["CPUExecutionProvider"]
    )


def empty_past(config: dict) -> dict[str, np.ndarray]:
    arch = config["architecture"]
    shape = (1, arch["num_kv_heads"], 0, arch["head_dim"])
    return {
        f"past_key_values.{i}.{part}": np.zeros(shape, np.float32)
        for i in range(arch["num_layers"])
        for part in ("key", "value")
    }


def onnx_logits(sess, config: dict, ids: list[int]) -> np.ndarray:
    """(S, vocab) logits for every position, in one prefill pass."""
    feeds = {
        "input_ids": np.asarray([ids], np.int64),
        "num_logits_to_keep": np.array(len(ids), np.int64),
        **empty_past(config),
    }
    (logits,) = sess.run(["logits"], feeds)
    return logits[0]


def tokenize(folder: Path, text: str) -> list[int]:
    from pyshell.tokenizer import Tokenizer

    ids = Tokenizer.from_file(folder / "tokenizer.model").encode(text, add_bos=True)
    if len(ids) < 2:
        raise ExportError("the verification text is empty")
    return ids[:MAX_TOKENS]


def check_ids(folder: Path, text: str | None = None) -> list[int]:
    """The built-in checks' token ids: `text`, or the bundled evaluation story."""
    return tokenize(folder, text if text is not None else DEFAULT_TEXT.read_text())


def source_logits(folder: Path, weights, text: str | None = None) -> np.ndarray:
    """The float32 reference on the source weights (both graphs' checks share it: ~20 s)."""
    return reference.logits(check_ids(folder, text), weights.tensors, weights.config)


def built_in_check(
    folder: Path, weights, quantized, text: str | None = None, source: np.ndarray | None = None
) -> dict:
    """Run after every export, before the folder is put in place."""
    from export.quantized_model import dequantized_tensors

    config = json.loads((folder / "conteur.json").read_text())
    ids = check_ids(folder, text)
    model = onnx_logits(session(folder), config, ids)
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


def source_weights(config: dict):
    """Re-read the export's source weights (the path recorded in conteur.json)."""
    from export.gguf_source import read_gguf, sha256_file
    from export.hf_source import read_hf
    from export.pipeline import default_gguf

    src = config["source"]
    path = Path(src.get("path", ""))
    if src["kind"] == "hf":
        if not path.is_dir():
            raise ExportError(f"the source checkpoint {path} is gone: cannot verify")
        return read_hf(path)
    if not path.is_file() or (src.get("sha256") and sha256_file(path) != src["sha256"]):
        path = default_gguf(Path("build/cache"))
        if src.get("sha256") and sha256_file(path) != src["sha256"]:
            raise ExportError(f"the source GGUF {src.get('path')} is gone: cannot verify")
    weights, _ = read_gguf(path)
    return weights


def verify_folder(folder: Path, text: str) -> dict:
    """`python -m export --verify TEXT_FILE`: each backend's graph vs the float32 source.

    Returns {"webgpu": {...}, "wasm": {...}}: the graph each backend runs (a
    folder from before the CPU graph has one graph, reported for both).
    """
    from export.cpu_verify import cpu_fidelity

    config_path = folder / "conteur.json"
    if not config_path.is_file():
        raise ExportError(f"{folder}: no exported model here (conteur.json missing)")
    config = json.loads(config_path.read_text())
    ids = tokenize(folder, text)
    weights = source_weights(config)
    source = reference.logits(ids, weights.tensors, weights.config)
    graphs = config.get("graphs") or {b: {"model": "model.onnx"} for b in ("webgpu", "wasm")}
    report = {}
    for backend, graph in graphs.items():
        model = onnx_logits(session(folder, graph["model"]), config, ids)
        trimmed = not np.isfinite(model[0]).all()
        measure = cpu_fidelity if trimmed else fidelity
        report[backend] = {"model": graph["model"], **measure(source, model, ids)}
    return report
