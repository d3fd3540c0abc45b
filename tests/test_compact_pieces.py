"""pyshell/compact_pieces.py: pieces by id and ids by piece, from one byte string."""

from __future__ import annotations

import binascii

import pytest

from pyshell import compact_pieces
from pyshell.compact_pieces import (
    EMPTY,
    CompactPieces,
    DuplicatePieceError,
    piece_starts,
    slot_table,
)
from pyshell.spm_model import parse_model_proto
from pyshell.tokenizer import Tokenizer, TokenizerModelError
from tests.tokenizer_fixtures import train_tiny_tokenizer

# ASCII, the escaped space, accents, a character beyond U+FFFF, markup, a long run.
PIECES = ["<pad>", "▁the", "é", "▁été", "\U0001f600", "<0x41>", "▁▁▁▁", "a" * 40, "\n", "Ω▁x"]


def test_every_piece_by_id_and_every_id_by_piece():
    table = CompactPieces.from_list(PIECES)
    assert len(table) == len(PIECES)
    assert [table[i] for i in range(len(PIECES))] == PIECES
    assert list(table) == PIECES
    assert [table.find(p) for p in PIECES] == list(range(len(PIECES)))
    assert table.find("▁th") is None and table.find("▁thex") is None and table.find("") is None


def test_starts_hold_each_piece_and_one_past_the_end():
    table = CompactPieces.from_list(["ab", "é", "c"])  # UTF-8: 2, 2 and 1 bytes
    assert list(table.starts) == [0, 3, 6, 8]
    assert table.utf8 == b"ab\x00\xc3\xa9\x00c"


def test_the_id_table_holds_each_id_once_where_its_crc32_points_or_just_after():
    utf8 = "\x00".join(PIECES).encode()
    slots = slot_table(utf8, piece_starts(utf8))
    assert len(slots) == 32  # the smallest power of two >= 2 x 10 is 32 (16 at least)
    assert sorted(i for i in slots if i != EMPTY) == list(range(len(PIECES)))
    mask = len(slots) - 1
    for i, piece in enumerate(PIECES):
        home = binascii.crc32(piece.encode()) & mask
        at = list(slots).index(i)
        # linear probing: nothing empty between the home slot and the piece's slot
        between = [slots[(home + k) & mask] for k in range((at - home) & mask)]
        assert EMPTY not in between


def test_pieces_split_across_chunks_keep_their_order(monkeypatch):
    monkeypatch.setattr(compact_pieces, "CHUNK_BYTES", 7)  # cut inside many pieces' runs
    pieces = [f"▁w{i}é" for i in range(200)]
    table = CompactPieces.from_list(pieces)
    assert list(table) == pieces
    assert [table[i] for i in (0, 57, 199)] == [pieces[0], pieces[57], pieces[199]]
    assert table.find(pieces[123]) == 123


def test_a_repeated_or_empty_piece_is_refused():
    with pytest.raises(DuplicatePieceError, match="'▁the' is already defined"):
        CompactPieces.from_list(["a", "▁the", "b", "▁the"])
    with pytest.raises(DuplicatePieceError, match="piece 1 is empty"):
        CompactPieces.from_list(["a", "", "b"])


def test_an_id_table_too_small_or_not_a_power_of_two_is_refused():
    utf8 = "\x00".join(PIECES).encode()
    with pytest.raises(ValueError, match="cannot hold"):
        CompactPieces(utf8, slot_table(utf8, piece_starts(utf8))[:24])


def test_the_tokenizer_refuses_a_model_whose_pieces_repeat():
    """sentencepiece refuses it too ("<bos> is already defined"), even when one of the
    two is a control piece and the other a text piece."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(train_tiny_tokenizer())
    proto.pieces[300].piece = "<bos>"
    with pytest.raises(TokenizerModelError, match="'<bos>' is already defined"):
        Tokenizer(parse_model_proto(proto.SerializeToString()))
