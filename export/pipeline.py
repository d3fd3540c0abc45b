"""The export, step by step: read → quantize → build graphs → write → self-check → verify.

Each step is a layer of export/ (docs/architecture.md, "The exporter's layers"):
sources/ reads, quantize/ prepares each graph's weights, graphs/ builds them,
folder/ writes the folder atomically, checks/ verifies it before it is put in place.
"""

from __future__ import annotations

import time
from pathlib import Path

from export.checks.cpu_check import check_cpu_graph
from export.checks.eval_text import source_logits
from export.checks.self_check import compute_self_check
from export.checks.webgpu_check import check_webgpu_graph
from export.folder.atomic import atomic_folder
from export.folder.data_files import GraphFile, RestTable
from export.folder.layout import (
    CPU_DATA_FILE,
    CPU_MODEL_FILE,
    CPU_REST_FILE,
    DATA_FILE,
    DEFAULT_NAME,
    MODEL_FILE,
    check_output_writable,
)
from export.folder.write import head_entry, write_conteur_json, write_folder
from export.graphs import cpu_graph, webgpu_graph
from export.progress import Progress
from export.quantize.cpu_model import prepare_cpu_model
from export.quantize.quantized_model import quantize_weights
from export.quantize.schemes import Scheme
from export.sources.default_package import default_gguf
from export.sources.loader import check_vocab, load_gguf, load_hf


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
    (export/quantize/shortlist.py), "full" every token.
    """
    progress = progress or Progress()
    started = time.perf_counter()
    check_output_writable(out)
    if hf is not None:
        with progress.phase("read checkpoint", total=1) as tick:
            loaded = load_hf(Path(hf), progress=lambda done, total, name: tick(done, total))
    else:
        path = Path(gguf) if gguf else default_gguf(cache_dir)
        with progress.phase("read GGUF", total=1) as tick:
            loaded = load_gguf(path, progress=lambda done, total, name: tick(done, total))
    check_vocab(loaded)
    config = loaded.weights.config
    with progress.phase("quantize", total=config.num_layers) as tick:
        quantized = quantize_weights(loaded.weights, scheme, progress=tick)
    with progress.phase("CPU weights", total=config.num_layers) as tick:
        cpu = prepare_cpu_model(loaded.weights, loaded.encoder(), head=cpu_head, progress=tick)
    with progress.phase("build graphs", total=1) as tick:
        graphs = {
            "webgpu": GraphFile(
                MODEL_FILE, DATA_FILE, webgpu_graph.build_webgpu_graph(quantized),
                head=head_entry(config.vocab_size, config.vocab_size),
                session=webgpu_graph.SESSION, kv_cache=webgpu_graph.KV_CACHE,
            ),
            "wasm": GraphFile(
                CPU_MODEL_FILE, CPU_DATA_FILE, cpu_graph.build_cpu_graph(cpu),
                head=head_entry(len(cpu.head_ids), config.vocab_size),
                session=cpu_graph.SESSION, kv_cache=cpu_graph.KV_CACHE,
                rest=None if cpu.rest is None else RestTable(CPU_REST_FILE, cpu.rest_ids, cpu.rest),
            ),
        }  # fmt: skip
        tick(1, 1)
    summary = {"scheme": scheme.name}
    with atomic_folder(out) as staging:
        with progress.phase("write", total=1) as tick:
            written = write_folder(
                staging, loaded, graphs, scheme, name, variant or loaded.weights.source.variant
            )
            tick(1, 1)
        del graphs
        with progress.phase("self-check", total=1) as tick:
            written["self_check"] = compute_self_check(staging)
            write_conteur_json(staging, written)
            tick(1, 1)
        with progress.phase("verify", total=1) as tick:
            source = source_logits(staging, loaded.weights, verify_text)  # one pass for both
            summary["verification"] = check_webgpu_graph(
                staging, loaded.weights, quantized, verify_text, source
            )
            summary["cpu_verification"] = check_cpu_graph(
                staging, loaded.weights, cpu, verify_text, source
            )
            del source
            tick(1, 1)
    summary["folder_bytes"] = sum(f["bytes"] for f in written["files"].values())
    summary["files"] = {k: v["bytes"] for k, v in written["files"].items()}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["out"] = str(out)
    return summary
