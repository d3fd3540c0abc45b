"""A source, loaded: float32 weights, the tokenizer model's bytes and the special token ids.

`load_gguf` and `load_hf` read either kind of source into one `LoadedSource`;
`source_weights` reads an export's source again from what conteur.json recorded
(the `--verify` command and the shortlist tools compare against it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from export.errors import ExportError, SourceError
from export.model.weights import Weights
from export.sources.checksum import sha256_file
from export.sources.default_package import default_gguf
from export.sources.gguf_file import field_value, read_gguf
from export.sources.hf_checkpoint import read_hf
from export.sources.tokenizer_model import build_tokenizer_model

Progress = Callable[[int, int, str], None]  # (done, total, name) after each tensor or file


@dataclass
class LoadedSource:
    weights: Weights
    tokenizer_model: bytes  # a serialized SentencePiece ModelProto
    special: dict[str, int]  # "bos", "eos", "unk", "pad" and the turn markers it has

    def encoder(self) -> Callable[[str], list[int]]:
        """`encode(text) -> ids` with BOS, from the source's SentencePiece model."""
        sp = spm.SentencePieceProcessor(model_proto=self.tokenizer_model)
        bos = self.special["bos"]
        return lambda text: [bos, *sp.encode(text)]


def load_gguf(path: Path, progress: Progress | None = None) -> LoadedSource:
    """A GGUF's weights, and its tokenizer rebuilt as a SentencePiece model."""
    weights, reader = read_gguf(path, progress=progress)
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


def load_hf(folder: Path, progress: Progress | None = None) -> LoadedSource:
    """A Hugging Face folder's weights and its own tokenizer.model, unchanged."""
    weights = read_hf(folder, progress=progress)
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
    """The tokenizer and the embedding must agree on the vocabulary size."""
    pieces = spm.SentencePieceProcessor(model_proto=loaded.tokenizer_model).get_piece_size()
    if pieces != loaded.weights.config.vocab_size:
        raise SourceError(
            f"tokenizer has {pieces} pieces but the embedding has "
            f"{loaded.weights.config.vocab_size} rows"
        )


def source_weights(config: dict) -> Weights:
    """Re-read an export's source weights (the path recorded in conteur.json `source`)."""
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
