"""Read a SentencePiece `tokenizer.model` in pure Python, and its fast-load cache.

The browser has neither `protobuf` nor `sentencepiece` (docs/facts/tokenizer.md), so this
module decodes the protobuf wire format itself, keeping only what a BPE
encoder needs: the piece table (text, score, type) and the few spec fields
that change encoding or decoding.

Parsing Gemma's 262,144 pieces field by field takes ~0.7 s in Pyodide, so
the exporter also writes `tokenizer.pieces` next to the model: the same table
in a layout that loads with a handful of C-speed calls (`array.frombytes` and a
few splits; ~0.05 s in Pyodide), with the piece → id table precomputed
(pyshell/compact_pieces.py). It records the sha256 of the model it came from
and is used only while that still matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

from pyshell.compact_pieces import CompactPieces, DuplicatePieceError, piece_starts, slot_table

# SentencePiece piece types (ModelProto.SentencePiece.Type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "UNIGRAM", 2: "BPE", 3: "WORD", 4: "CHAR"}
BPE = 2

_FLOAT = struct.Struct("<f")
# 2: the piece -> id table follows the types (1 had none, and is read as stale).
CACHE_MAGIC = b"conteur-pieces 2\n"
# SentencePiece refuses pieces that contain NUL, so it can separate them.
CACHE_SEPARATOR = "\x00"


class TokenizerModelError(ValueError):
    """The tokenizer model is unreadable or uses a feature this encoder lacks."""


@dataclass
class SpmModel:
    """The parts of a ModelProto that encoding and decoding depend on.

    Field defaults are the proto2 defaults of sentencepiece_model.proto, which
    apply when a field is absent from the file.
    """

    # (vocab,) piece text, "▁" for an escaped space: a list from the protobuf, a
    # CompactPieces from the cache (one byte string instead of 262k str objects)
    pieces: Sequence[str]
    # (vocab,) float32 merge scores, larger merges first: a list from the protobuf, an
    # array("f") from the cache (4 bytes a piece instead of a Python float each)
    scores: Sequence[float]
    types: bytes  # (vocab,) piece types, NORMAL … BYTE
    model_type: int = 1
    byte_fallback: bool = False
    unk_piece: str = "<unk>"
    bos_piece: str = "<s>"
    eos_piece: str = "</s>"
    pad_piece: str = "<pad>"
    unk_surface: str = " \u2047 "
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    has_charsmap: bool = False
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    has_denormalizer: bool = False

    def spec(self) -> dict:
        """The scalar fields (everything but the piece table), JSON-ready."""
        table = {"pieces", "scores", "types"}
        return {k: v for k, v in asdict_shallow(self).items() if k not in table}

    def check_supported(self) -> None:
        """Refuse models whose encoding this module's encoder would get wrong.

        Supported: BPE with no normalization rules, no dummy prefix and no
        whitespace collapsing, which is what Gemma uses (docs/facts/tokenizer.md).
        """
        problems = []
        if self.model_type != BPE:
            name = MODEL_TYPES.get(self.model_type, str(self.model_type))
            problems.append(f"model type is {name}, only BPE is supported")
        if self.has_charsmap or self.has_denormalizer:
            problems.append(
                f"normalizer {self.normalizer_name or '(unnamed)'!r} rewrites text; "
                "only the identity normalizer is supported"
            )
        if self.add_dummy_prefix:
            problems.append("add_dummy_prefix is on; only models without it are supported")
        if self.remove_extra_whitespaces:
            problems.append("remove_extra_whitespaces is on; only models without it are supported")
        if self.treat_whitespace_as_suffix:
            problems.append("treat_whitespace_as_suffix is on; it is not supported")
        if problems:
            raise TokenizerModelError("unsupported tokenizer model: " + "; ".join(problems))


def asdict_shallow(model: SpmModel) -> dict:
    """Like dataclasses.asdict without deep-copying the 262k-entry table."""
    return {f.name: getattr(model, f.name) for f in fields(model)}


# --- protobuf wire format -------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _int32(value: int) -> int:
    """A varint-encoded int32 field: negative values arrive as 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _skip(buf: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = _varint(buf, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise TokenizerModelError(f"unsupported protobuf wire type {wire}")


def _fields(buf: bytes, pos: int, end: int):
    """Yield (field number, wire type, value) of one message; length-delimited
    values are (start, end) offsets into `buf`."""
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = (pos, pos + length)
            pos += length
        elif wire == 5:
            value = buf[pos : pos + 4]
            pos += 4
        else:
            start = pos
            pos = _skip(buf, pos, wire)
            value = buf[start:pos]
        yield number, wire, value
    if pos != end:
        raise TokenizerModelError("truncated protobuf message")


def _text(buf: bytes, span: tuple[int, int]) -> str:
    return buf[span[0] : span[1]].decode("utf-8")


def _parse_piece(buf: bytes, start: int, end: int) -> tuple[str, float, int]:
    """One SentencePiece message: (piece, score, type)."""
    # Fast path for the layout every writer produces: piece (< 128 bytes),
    # then score, then type when it is not NORMAL.
    if buf[start] == 0x0A and buf[start + 1] < 0x80:
        pos = start + 2 + buf[start + 1]
        piece = buf[start + 2 : pos].decode("utf-8")
        if pos + 5 <= end and buf[pos] == 0x15:
            score = _FLOAT.unpack_from(buf, pos + 1)[0]
            pos += 5
            if pos == end:
                return piece, score, NORMAL
            if pos + 2 == end and buf[pos] == 0x18 and buf[pos + 1] < 0x80:
                return piece, score, buf[pos + 1]
    piece, score, kind = "", 0.0, NORMAL
    for number, wire, value in _fields(buf, start, end):
        if number == 1 and wire == 2:
            piece = _text(buf, value)
        elif number == 2 and wire == 5:
            score = _FLOAT.unpack(value)[0]
        elif number == 3 and wire == 0:
            kind = value
    return piece, score, kind


_TRAINER_FIELDS = {  # field number -> (attribute, kind)
    3: ("model_type", "int"),
    24: ("treat_whitespace_as_suffix", "bool"),
    35: ("byte_fallback", "bool"),
    44: ("unk_surface", "str"),
    45: ("unk_piece", "str"),
    46: ("bos_piece", "str"),
    47: ("eos_piece", "str"),
    48: ("pad_piece", "str"),
}
_NORMALIZER_FIELDS = {
    1: ("normalizer_name", "str"),
    2: ("has_charsmap", "nonempty"),
    3: ("add_dummy_prefix", "bool"),
    4: ("remove_extra_whitespaces", "bool"),
    5: ("escape_whitespaces", "bool"),
}


def _parse_spec(buf: bytes, span: tuple[int, int], table: dict, out: dict) -> None:
    for number, wire, value in _fields(buf, *span):
        if number not in table:
            continue
        name, kind = table[number]
        if kind == "str" and wire == 2:
            out[name] = _text(buf, value)
        elif kind == "nonempty" and wire == 2:
            out[name] = value[1] > value[0]
        elif kind == "int" and wire == 0:
            out[name] = _int32(value)
        elif kind == "bool" and wire == 0:
            out[name] = value != 0


def parse_model_proto(data: bytes) -> SpmModel:
    """Decode a serialized ModelProto (the `tokenizer.model` file)."""
    pieces: list[str] = []
    scores: list[float] = []
    types = bytearray()
    spec: dict = {}
    try:
        for number, wire, value in _fields(data, 0, len(data)):
            if number == 1 and wire == 2:
                piece, score, kind = _parse_piece(data, value[0], value[1])
                pieces.append(piece)
                scores.append(score)
                types.append(kind)
            elif number == 2 and wire == 2:
                _parse_spec(data, value, _TRAINER_FIELDS, spec)
            elif number == 3 and wire == 2:
                _parse_spec(data, value, _NORMALIZER_FIELDS, spec)
            elif number == 5 and wire == 2:
                denormalizer: dict = {}
                _parse_spec(data, value, _NORMALIZER_FIELDS, denormalizer)
                spec["has_denormalizer"] = denormalizer.get("has_charsmap", False)
    except (IndexError, UnicodeDecodeError, struct.error, ValueError) as exc:
        raise TokenizerModelError(f"not a SentencePiece model: {exc}") from exc
    if not pieces:
        raise TokenizerModelError("not a SentencePiece model: it has no pieces")
    return SpmModel(pieces=pieces, scores=scores, types=bytes(types), **spec)


# --- the fast-load cache ----------------------------------------------------


def pieces_cache_path(model_path: str | Path) -> Path:
    """Where the cache of `model_path` lives: `tokenizer.model` -> `tokenizer.pieces`."""
    return Path(model_path).with_suffix(".pieces")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_pieces_cache(model_path: str | Path, cache_path: str | Path | None = None) -> Path:
    """Write the fast-load cache of a `tokenizer.model` (the exporter calls this).

    Layout: CACHE_MAGIC, one JSON header line {model_sha256, count,
    pieces_bytes, slots, spec}, then the pieces as UTF-8 joined by NUL, the scores
    as little-endian float32, the types as one byte each and the piece -> id table
    as `slots` little-endian int32 (pyshell/compact_pieces.py).
    """
    data = Path(model_path).read_bytes()
    model = parse_model_proto(data)
    model.check_supported()
    if any(CACHE_SEPARATOR in piece for piece in model.pieces):
        raise TokenizerModelError("a piece contains NUL, which SentencePiece does not allow")
    blob = CACHE_SEPARATOR.join(model.pieces).encode("utf-8")
    try:
        slots = slot_table(blob, piece_starts(blob))
    except DuplicatePieceError as exc:
        raise TokenizerModelError(f"the model cannot be cached: {exc}") from exc
    scores = array("f", model.scores)
    if sys.byteorder == "big":
        scores.byteswap()
        slots.byteswap()
    header = {
        "model_sha256": sha256_hex(data),
        "count": len(model.pieces),
        "pieces_bytes": len(blob),
        "slots": len(slots),
        "spec": model.spec(),
    }
    out = Path(cache_path) if cache_path is not None else pieces_cache_path(model_path)
    out.write_bytes(
        b"".join(
            [
                CACHE_MAGIC,
                json.dumps(header).encode("utf-8"),
                b"\n",
                blob,
                scores.tobytes(),
                model.types,
                slots.tobytes(),
            ]
        )
    )
    return out


def read_pieces_cache(cache: bytes | BinaryIO, model_sha256: str | None) -> SpmModel | None:
    """The model stored in a cache file, or None when it is unreadable or belongs
    to another model (`model_sha256` None: trust it, whatever model it names).

    `cache` may be an open file: each section is then read on its own, so the
    whole file never sits in memory beside the arrays made from it (Pyodide's
    heap keeps its largest size).
    """
    f = io.BytesIO(cache) if isinstance(cache, bytes) else cache
    if f.read(len(CACHE_MAGIC)) != CACHE_MAGIC:
        return None
    try:
        header = json.loads(f.readline())
        if model_sha256 is not None and header["model_sha256"] != model_sha256:
            return None
        count, size, slot_count = header["count"], header["pieces_bytes"], header["slots"]
        pieces_utf8 = f.read(size)
        scores, slots = array("f"), array("i")
        scores.frombytes(f.read(4 * count))
        types = f.read(count)
        slots.frombytes(f.read(4 * slot_count))
        if len(pieces_utf8) != size or len(types) != count or len(slots) != slot_count:
            return None
        if f.read(1) or len(scores) != count:
            return None
        if sys.byteorder == "big":
            scores.byteswap()
            slots.byteswap()
        spec = {k: v for k, v in header["spec"].items() if k in _SPEC_NAMES}
        pieces = CompactPieces(pieces_utf8, slots)
    except (ValueError, KeyError, TypeError):
        return None
    if len(pieces) != count:
        return None
    return SpmModel(pieces=pieces, scores=scores, types=types, **spec)


_SPEC_NAMES = {f.name for f in fields(SpmModel)} - {"pieces", "scores", "types"}


def load_spm_model(path: str | Path) -> tuple[SpmModel, bool]:
    """The model at `path`, read from its cache when a matching one exists.

    Returns (model, used_cache). A missing or stale cache is not an error: the
    protobuf is then parsed (correct, only slower).
    """
    path = Path(path)
    data = path.read_bytes()
    cache_path = pieces_cache_path(path)
    model = None
    if cache_path.is_file():
        with cache_path.open("rb") as cache:
            model = read_pieces_cache(cache, sha256_hex(data))
    used_cache = model is not None
    if model is None:
        model = parse_model_proto(data)
    model.check_supported()
    return model, used_cache


def load_pieces_file(path: str | Path) -> SpmModel:
    """The model in a `tokenizer.pieces` file alone, without its `tokenizer.model`.

    For a page that ships only the cache: no sha256 check is possible, so the
    file is trusted to belong to the model it is served with.
    """
    with Path(path).open("rb") as cache:
        model = read_pieces_cache(cache, None)
    if model is None:
        raise TokenizerModelError(f"{path} is not a tokenizer.pieces file")
    model.check_supported()
    return model
