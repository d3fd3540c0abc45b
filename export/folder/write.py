"""Write every file of the model folder into a staging folder (export/folder/atomic.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from export.folder.conteur_json import conteur_json, write_conteur_json
from export.folder.data_files import GraphFile, save_graphs
from export.folder.notice import notice_text
from export.quantize.schemes import Scheme
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
    if terms is not None:
        shutil.copyfile(terms, staging / "GEMMA_TERMS.html")
    notice = notice_text(
        loaded.weights.source, variant, scheme, loaded.weights.config.vocab_size,
        graphs["wasm"].head,
    )  # fmt: skip
    (staging / "NOTICE").write_text(notice)
    config = conteur_json(staging, loaded, graphs, scheme, name, variant)
    write_conteur_json(staging, config)
    return config
