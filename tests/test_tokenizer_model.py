"""export/sources/tokenizer_model.py: rebuilding Gemma's tokenizer.model from the GGUF, and back."""

from __future__ import annotations

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

from export.errors import SourceError
from export.sources.tokenizer_model import build_tokenizer_model, tokenizer_fields_from_model
from tests.tokenizer_corpus import EDGE_CASES, debian_corpus
from tests.tokenizer_fixtures import real_tokenizer_model, spm_encode, train_tiny_tokenizer

# docs/facts/model.md: the reference prompt, with BOS, as llama.cpp tokenizes it.
REFERENCE_TEXT = "Once upon a time, in a small village,"
REFERENCE_IDS = [2, 14946, 3324, 496, 990, 236764, 528, 496, 1944, 9744, 236764]


@pytest.fixture(scope="module")
def real_model() -> bytes:
    return real_tokenizer_model().read_bytes()


@pytest.fixture(scope="module")
def real_proto(real_model) -> pb.ModelProto:
    proto = pb.ModelProto()
    proto.ParseFromString(real_model)
    return proto


def test_rebuilt_model_gives_the_reference_ids(real_model):
    processor = spm.SentencePieceProcessor(model_proto=real_model)
    assert processor.encode(REFERENCE_TEXT, add_bos=True) == REFERENCE_IDS
    assert processor.get_piece_size() == 262_144


def test_rebuilt_model_has_the_design_settings(real_proto):
    trainer, normalizer = real_proto.trainer_spec, real_proto.normalizer_spec
    assert trainer.model_type == pb.TrainerSpec.BPE
    assert trainer.byte_fallback and trainer.split_digits and trainer.allow_whitespace_only_pieces
    assert (trainer.pad_id, trainer.eos_id, trainer.bos_id, trainer.unk_id) == (0, 1, 2, 3)
    assert (trainer.bos_piece, trainer.eos_piece) == ("<bos>", "<eos>")
    assert normalizer.name == "identity" and not normalizer.precompiled_charsmap
    assert not normalizer.add_dummy_prefix and not normalizer.remove_extra_whitespaces
    assert normalizer.escape_whitespaces


def test_rebuilt_model_piece_types(real_proto):
    pieces = real_proto.pieces
    sp = pb.ModelProto.SentencePiece
    assert [pieces[i].type for i in range(4)] == [sp.CONTROL] * 3 + [sp.UNKNOWN]
    assert sum(p.type == sp.UNKNOWN for p in pieces) == 1
    assert sum(p.type == sp.CONTROL for p in pieces) == 3
    assert sum(p.type == sp.BYTE for p in pieces) == 256
    assert (pieces[238].piece, pieces[493].piece) == ("<0x00>", "<0xFF>")
    # Gemma's other control tokens match as one piece when written in text.
    for i, piece in (
        (4, "<mask>"),
        (11, "<unused5>"),
        (105, "<start_of_turn>"),
        (106, "<end_of_turn>"),
    ):
        assert (pieces[i].piece, pieces[i].type) == (piece, sp.USER_DEFINED)
    assert sum(p.type == sp.USER_DEFINED for p in pieces) == 165 + 6249 - 4


def test_user_defined_whitespace_gets_its_escaped_spaces_back(real_proto):
    """The GGUF stores ids 138-167 with real spaces; SentencePiece needs "▁"."""
    pieces = real_proto.pieces
    assert [pieces[i].piece for i in range(138, 168)] == ["▁" * n for n in range(2, 32)]
    assert not any(" " in p.piece for p in pieces)
    processor = spm.SentencePieceProcessor(model_proto=real_proto.SerializeToString())
    assert processor.encode("a" + " " * 5 + "b") == [236746, 141, 236763]


def test_fields_round_trip_the_real_model_exactly(real_model):
    fields = tokenizer_fields_from_model(real_model)
    assert (fields["bos"], fields["eos"], fields["unk"], fields["pad"]) == (2, 1, 3, 0)
    assert build_tokenizer_model(**fields) == real_model


def test_tiny_model_survives_fields_and_rebuild(tmp_path):
    """What the tiny GGUF tests rely on: fields_from → GGUF → build encodes as before."""
    original = train_tiny_tokenizer(tmp_path / "tiny.model")
    fields = tokenizer_fields_from_model(tmp_path / "tiny.model")
    assert fields["token_types"][:4] == [3, 3, 3, 2]
    assert fields["tokens"][4:6] == ["<start_of_turn>", "<end_of_turn>"]
    rebuilt = build_tokenizer_model(**fields)
    before = spm.SentencePieceProcessor(model_proto=original)
    after = spm.SentencePieceProcessor(model_proto=rebuilt)
    texts = EDGE_CASES + [text for _, text in debian_corpus()[:30]]
    assert [spm_encode(after, t) for t in texts] == [spm_encode(before, t) for t in texts]
    assert after.decode(list(range(after.get_piece_size()))) == before.decode(
        list(range(before.get_piece_size()))
    )


def test_gguf_control_tokens_become_user_defined_but_specials_stay_control():
    tokens = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "<ctl>",
        " x ",
        "a",
        *(f"<0x{b:02X}>" for b in range(256)),
    ]
    types = [3, 3, 3, 3, 3, 4, 1, *([6] * 256)]
    proto = pb.ModelProto()
    proto.ParseFromString(
        build_tokenizer_model(tokens, [0.0] * len(tokens), types, bos=2, eos=1, unk=3, pad=0)
    )
    assert [p.type for p in proto.pieces[:7]] == [3, 3, 3, 2, 4, 4, 1]
    assert proto.pieces[5].piece == "▁x▁"
    assert proto.trainer_spec.unk_piece == "<unk>"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": [0.0]}, "disagree"),
        ({"token_types": [3, 3, 3, 2, 1, 1, 1] + [6] * 255 + [1]}, "255 byte pieces"),
        ({"bos": 99_999}, "outside"),
        ({"token_types": [3, 3, 3, 2, 2, 1, 1] + [6] * 256}, "second UNKNOWN"),
        ({"token_types": [3, 3, 3, 2, 9, 1, 1] + [6] * 256}, "token type 9"),
        (
            {
                "tokens": [
                    "<pad>",
                    "<eos>",
                    "<bos>",
                    "<unk>",
                    "a",
                    "b",
                    "a",
                    *(f"<0x{b:02X}>" for b in range(256)),
                ]
            },
            "appears twice",
        ),
    ],
)
def test_bad_fields_are_refused_with_a_clear_error(change, message):
    tokens = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "a",
        "b",
        "ab",
        *(f"<0x{b:02X}>" for b in range(256)),
    ]
    fields = {
        "tokens": tokens,
        "scores": [0.0] * len(tokens),
        "token_types": [3, 3, 3, 2, 1, 1, 1] + [6] * 256,
        "bos": 2,
        "eos": 1,
        "unk": 3,
        "pad": 0,
    } | change
    with pytest.raises(SourceError, match=message):
        build_tokenizer_model(**fields)
