"""Write the model folder's files into a staging folder (export/folder/atomic.py), conteur.json last.

conteur.json is the folder's description, the one file every reader starts from:
docs/architecture.md lists its fields and pyshell/config.py is the Python reader. Each
backend's entry under `graphs` says which graph it runs, its data files and their
chunk offsets, which output tokens its head keeps and how onnxruntime opens it.
"""

from __future__ import annotations

import json
from pathlib import Path

from export.folder.data_files import GraphFile, data_chunks, save_graphs
from export.folder.layout import CONFIG_FILE, EXPORT_VERSION, FORMAT_VERSION
from export.folder.notice import notice_text
from export.folder.terms import write_terms
from export.graphs.interface import TOP_K
from export.quantize.schemes import Scheme
from export.quantize.shortlist import RULE
from export.sources.checksum import sha256_file
from export.sources.default_package import terms_file
from export.sources.loader import LoadedSource
from pyshell.tokenizer import write_pieces_cache


def write_folder(
    staging: Path,
    loaded: LoadedSource,
    graphs: dict[str, GraphFile],
    scheme: Scheme,
    name: str,
    variant: str,
) -> dict:
    """Write every file of the model folder into `staging`; returns conteur.json.

    `graphs` maps a backend ("webgpu", "wasm") to its graph; conteur.json comes
    last, since it lists every other file's sha256.
    """
    save_graphs(staging, list(graphs.values()))
    (staging / "tokenizer.model").write_bytes(loaded.tokenizer_model)
    write_pieces_cache(staging / "tokenizer.model", staging / "tokenizer.pieces")
    terms = terms_file()
    if terms is not None:  # as clean text: the saved page loads scripts from other sites
        write_terms(terms, staging / "GEMMA_TERMS.html")
    notice = notice_text(
        loaded.weights.source, variant, scheme, loaded.weights.config.vocab_size,
        graphs["wasm"].head,
    )  # fmt: skip
    (staging / "NOTICE").write_text(notice)
    config = conteur_json(staging, loaded, graphs, scheme, name, variant)
    write_conteur_json(staging, config)
    return config


def head_entry(kept: int, of: int) -> dict:
    """A graph's `head`: every token ("full"), or the story shortlist's `kept` of `of`."""
    return {"kept": kept, "of": of, "rule": "full" if kept == of else RULE}


def conteur_json(
    folder: Path,
    loaded: LoadedSource,
    graphs: dict[str, GraphFile],
    scheme: Scheme,
    name: str,
    variant: str,
) -> dict:
    """The description of `folder`, whose other files are all written (their hashes go in)."""
    source = loaded.weights.source
    c = loaded.weights.config
    return {
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
                "data_chunks": {g.data: data_chunks(folder, g)},
                "head": g.head,
                "session": g.session,
                "kv_cache": g.kv_cache,
                **({"rest": g.rest.entry()} if g.rest else {}),
            }
            for backend, g in graphs.items()
        },
        "files": {
            path.name: {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
            for path in sorted(folder.iterdir())
        },
    }


def write_conteur_json(folder: Path, config: dict) -> None:
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
