"""Which ids a story may never contain (pyshell/banned_tokens.py), on a made-up piece table."""

from __future__ import annotations

from pyshell.banned_tokens import banned_ids, digit_ids, is_banned_piece
from pyshell.spm_model import BYTE, CONTROL, NORMAL, UNKNOWN, UNUSED, USER_DEFINED

PIECES = [
    ("<pad>", CONTROL),  # 0
    ("<eos>", CONTROL),  # 1: a stop id, stays allowed
    ("<bos>", CONTROL),  # 2
    ("<unk>", UNKNOWN),  # 3
    ("<mask>", USER_DEFINED),  # 4
    ("<start_of_image>", USER_DEFINED),  # 5
    ("<unused7>", USER_DEFINED),  # 6
    ("\n\n", USER_DEFINED),  # 7: whitespace run, allowed
    ("▁▁", USER_DEFINED),  # 8: whitespace run, allowed
    ("<h2>", USER_DEFINED),  # 9
    ("</", NORMAL),  # 10
    ("▁&", NORMAL),  # 11
    ("=>", NORMAL),  # 12
    ("▁dragon", NORMAL),  # 13
    (".", NORMAL),  # 14
    ("<0x3C>", BYTE),  # 15: "<"
    ("<0x0A>", BYTE),  # 16: newline, allowed
    ("<0x07>", BYTE),  # 17: bell
    ("<0xE2>", BYTE),  # 18: start of a multi-byte character, allowed
    ("<0x41>", BYTE),  # 19: "A", allowed
    ("[multimodal]", USER_DEFINED),  # 20
    ("weird", UNUSED),  # 21
    ("▁1", NORMAL),  # 22: digits, written in words in a story without them
    ("9", NORMAL),  # 23
    ("<0x37>", BYTE),  # 24: "7"
    ("▁১৯", NORMAL),  # 25: Bengali digits
    ("▁two", NORMAL),  # 26: a number in words stays
]


class Table:
    def pieces(self):
        return (piece for piece, _ in PIECES)

    def piece_type(self, i: int) -> int:
        return PIECES[i][1]


def test_banned_ids_on_a_made_up_vocabulary():
    banned = banned_ids(Table(), allowed={1})
    assert sorted(banned) == [0, 2, 3, 4, 5, 6, 9, 10, 11, 12, 15, 17, 20, 21]


def test_digit_ids_are_the_pieces_that_write_a_digit():
    # <unused7> holds a digit in its name only, and is banned anyway.
    assert sorted(digit_ids(Table())) == [22, 23, 24, 25]


def test_text_pieces_are_allowed_unless_they_hold_markup_characters():
    assert not is_banned_piece("▁once", NORMAL)
    assert not is_banned_piece("!\n", NORMAL)
    assert is_banned_piece("▁<", NORMAL)
    assert is_banned_piece("&nbsp;", NORMAL)
    assert is_banned_piece("/>", NORMAL)
