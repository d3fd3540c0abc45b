"""Rebuild a SentencePiece `tokenizer.model` from a GGUF's tokenizer fields, and back.

A GGUF keeps the vocabulary as three arrays (`tokenizer.ggml.tokens`, `.scores`,
`.token_type`) plus the special ids; the browser tokenizer and `sentencepiece`
both want a `tokenizer.model`. docs/facts/tokenizer.md records the settings that make the
rebuilt model encode Gemma 3 exactly like llama.cpp: BPE with byte fallback,
digits split, an identity normalizer, no dummy prefix, whitespace kept as is;
bos/eos/pad CONTROL, the UNKNOWN id the one UNKNOWN piece, and every other
control or user-defined token USER_DEFINED so that text containing it (e.g.
"<start_of_turn>") matches it as one piece.

This module runs at export time only (CPython with `sentencepiece`).
"""

from __future__ import annotations

from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as pb

from export.errors import SourceError

# GGUF token types (llama.cpp's LLAMA_TOKEN_TYPE_*); SentencePiece's enum uses
# the same numbers for the same meanings.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPACE_SYMBOL = "\u2581"  # "▁", SentencePiece's escaped space


def build_tokenizer_model(
    tokens: list[str],
    scores: list[float],
    token_types: list[int],
    *,
    bos: int,
    eos: int,
    unk: int,
    pad: int | None = None,
) -> bytes:
    """Serialized SentencePiece ModelProto for a GGUF vocabulary (docs/facts/tokenizer.md).

    `token_types` are GGUF types. llama.cpp's converter wrote "▁" as a real space
    in user-defined whitespace tokens (Gemma ids 138–167); SentencePiece matches
    the escaped text, so those spaces are mapped back to "▁".
    """
    count = len(tokens)
    if not (len(scores) == len(token_types) == count) or count == 0:
        raise SourceError(
            f"tokenizer fields disagree: {count} tokens, {len(scores)} scores, "
            f"{len(token_types)} types"
        )
    for name, value in (("bos", bos), ("eos", eos), ("unk", unk), ("pad", pad)):
        if value is not None and not 0 <= value < count:
            raise SourceError(
                f"tokenizer {name} id {value} is outside the {count}-token vocabulary"
            )

    control = {i for i in (bos, eos, pad) if i is not None}
    proto = pb.ModelProto()
    seen: set[tuple[str, bool]] = set()
    for i, (token, score, gguf_type) in enumerate(zip(tokens, scores, token_types)):
        kind = _piece_type(i, int(gguf_type), unk, control)
        if kind == USER_DEFINED:
            token = token.replace(" ", SPACE_SYMBOL)
        # SentencePiece keeps matchable and reserved pieces in two maps and
        # refuses a model that repeats a piece within one of them.
        key = (token, kind in (NORMAL, USER_DEFINED, UNUSED))
        if key in seen:
            raise SourceError(f"tokenizer token {token!r} (id {i}) appears twice")
        seen.add(key)
        if not token:
            raise SourceError(f"tokenizer token {i} is empty")
        piece = proto.pieces.add()
        piece.piece = token
        piece.score = float(score)
        piece.type = kind

    byte_pieces = sum(p.type == BYTE for p in proto.pieces)
    if byte_pieces != 256:
        raise SourceError(
            f"tokenizer has {byte_pieces} byte pieces (<0x00>…<0xFF>), byte fallback needs 256"
        )

    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.BPE
    trainer.vocab_size = count
    trainer.byte_fallback = True
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.unk_id, trainer.unk_piece = unk, tokens[unk]
    trainer.bos_id, trainer.bos_piece = bos, tokens[bos]
    trainer.eos_id, trainer.eos_piece = eos, tokens[eos]
    trainer.pad_id = -1 if pad is None else pad
    if pad is not None:
        trainer.pad_piece = tokens[pad]

    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = False
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    return proto.SerializeToString()


def _piece_type(index: int, gguf_type: int, unk: int, control: set[int]) -> int:
    """SentencePiece type of one token (see the module docstring for the rule)."""
    if index == unk:
        return UNKNOWN
    if index in control:
        return CONTROL
    if gguf_type in (CONTROL, USER_DEFINED):
        return USER_DEFINED
    if gguf_type == UNKNOWN:
        raise SourceError(f"tokenizer token {index} is a second UNKNOWN token (unk id is {unk})")
    if gguf_type in (NORMAL, UNUSED, BYTE):
        return gguf_type
    raise SourceError(f"tokenizer token {index} has unknown GGUF token type {gguf_type}")


def tokenizer_fields_from_model(model: str | Path | bytes) -> dict:
    """GGUF-style tokenizer fields of a `tokenizer.model` (the inverse of the builder).

    Returns {tokens, scores, token_types (GGUF numbering), bos, eos, unk, pad};
    a special id the model lacks is None. Writing these into a GGUF and
    rebuilding gives a model that encodes like the original, as long as the
    original follows docs/facts/tokenizer.md's settings.
    """
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    proto = pb.ModelProto()
    proto.ParseFromString(data)
    pieces = proto.pieces

    def special(kind: int, trainer_id: int) -> int | None:
        if 0 <= trainer_id < len(pieces) and pieces[trainer_id].type == kind:
            return trainer_id
        return None

    trainer = proto.trainer_spec
    unk = next((i for i, p in enumerate(pieces) if p.type == UNKNOWN), None)
    return {
        "tokens": [p.piece for p in pieces],
        "scores": [p.score for p in pieces],
        # Unset enum fields read as NORMAL, which is SentencePiece's default.
        "token_types": [p.type for p in pieces],
        "bos": special(CONTROL, trainer.bos_id),
        "eos": special(CONTROL, trainer.eos_id),
        "unk": unk,
        "pad": special(CONTROL, trainer.pad_id),
    }
