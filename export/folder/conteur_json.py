"""conteur.json: the folder's description, the one file every reader starts from.

docs/architecture.md lists its fields; pyshell/config.py is the Python reader. Each
backend's entry under `graphs` says which graph it runs, its data files and their
chunk offsets, which output tokens its head keeps and how onnxruntime opens it.
"""

from __future__ import annotations

import json
from pathlib import Path

from export.folder.data_files import GraphFile, data_chunks
from export.folder.layout import CONFIG_FILE, EXPORT_VERSION, FORMAT_VERSION
from export.graphs.interface import TOP_K
from export.quantize.schemes import Scheme
from export.quantize.shortlist import RULE
from export.sources.checksum import sha256_file
from export.sources.loader import LoadedSource


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
