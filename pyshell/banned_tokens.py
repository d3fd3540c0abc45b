"""Token ids a story may never contain: control tokens and markup.

Gemma's vocabulary holds pieces no reader should see: `<pad>`, `<mask>`,
`<start_of_image>`, 6,242 `<unusedN>` and other special pieces (control or
user-defined in the tokenizer, so their text would reach the screen as is),
and web markup learnt from crawled pages: `<h2>`, `</strong>`, `<br>`,
`&nbsp;`. Before this ban, 8 of 28 sampled stories showed one of them.

Dropping them from the candidates before sampling removes them at the root,
the same way in CPython and in the page, and leaves the visible text
untouched (nothing to clean up after streaming). The rule bans:
- every CONTROL, UNKNOWN and UNUSED piece, and every USER_DEFINED piece that
  is not plain whitespace (Gemma's runs of spaces and newlines stay allowed);
- every piece whose text contains `<`, `>` or `&`, the characters markup
  cannot be written without (a tag cannot be assembled from smaller pieces
  either, since `<` itself is banned), including the byte-fallback pieces of
  those three characters;
- byte-fallback pieces of ASCII control characters other than tab and newline.

The stop ids (EOS, and `<end_of_turn>` where the model has it) stay allowed:
they end the story, they are never shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from pyshell.spm_model import BYTE, CONTROL, NORMAL, UNKNOWN, UNUSED, USER_DEFINED

__all__ = ["MARKUP_CHARACTERS", "banned_ids", "digit_ids"]

MARKUP_CHARACTERS = "<>&"
SPACE_SYMBOL = "\u2581"
_ALLOWED_CONTROL_BYTES = frozenset(b"\t\n\r")
_MARKUP = re.compile(f"[{re.escape(MARKUP_CHARACTERS)}]")


class PieceTable(Protocol):
    """The part of `pyshell.tokenizer.Tokenizer` this module reads."""

    def pieces(self) -> Iterable[str]: ...

    def piece_type(self, i: int) -> int: ...


def _banned_byte(piece: str) -> bool:
    """A `<0xHH>` piece standing for a markup character or an ASCII control character."""
    value = int(piece[3:5], 16)
    if value >= 0x80:
        return False  # part of a multi-byte character: letters, accents, emoji
    return chr(value) in MARKUP_CHARACTERS or (
        (value < 0x20 or value == 0x7F) and value not in _ALLOWED_CONTROL_BYTES
    )


def is_banned_piece(piece: str, kind: int) -> bool:
    """The rule of the module docstring for one piece of type `kind`."""
    if kind == BYTE:
        return _banned_byte(piece)
    if kind in (CONTROL, UNKNOWN, UNUSED):
        return True
    if kind == USER_DEFINED and piece.replace(SPACE_SYMBOL, " ").strip(" \n\t"):
        return True
    return _MARKUP.search(piece) is not None


def banned_ids(tokenizer: PieceTable, allowed: Iterable[int] = ()) -> frozenset[int]:
    """Every id of the vocabulary the rule bans, less `allowed` (the stop ids).

    One pass over the vocabulary (262,144 pieces for Gemma: 0.04 s in CPython,
    with the common NORMAL pieces checked inline); callers compute it once per
    tokenizer. For Gemma 3 it bans 6,952 ids: 6,317 user-defined special pieces
    (6,242 `<unusedN>`, 70 HTML tags such as `<h2>`, `<mask>`, `[multimodal]`,
    `<start_of_turn>`, `<start_of_image>`, `<end_of_image>`),
    599 text pieces holding < > or &, 33 byte pieces, `<pad>`, `<bos>`, `<unk>`.
    """
    search = _MARKUP.search
    banned = set()
    for i, piece in enumerate(tokenizer.pieces()):
        kind = tokenizer.piece_type(i)
        if (search(piece) is not None) if kind == NORMAL else is_banned_piece(piece, kind):
            banned.add(i)
    return frozenset(banned.difference(allowed))


def digit_ids(tokenizer: PieceTable) -> frozenset[int]:
    """Every id whose text holds a digit (any script's), byte pieces of 0-9 included.

    A story without them writes its numbers in words ("three", "trente"). Stories
    that wrote digits were often those that drifted into dates, prices and news
    ("Nous sommes en 1984", "7000 euros"); read blind, banning digits did not make
    them better, so `story_policy` leaves it off (docs/stories.md, "Numbers in words").
    """
    found = set()
    for i, piece in enumerate(tokenizer.pieces()):
        kind = tokenizer.piece_type(i)
        if kind == BYTE:
            if 0x30 <= int(piece[3:5], 16) <= 0x39:
                found.add(i)
        elif kind == NORMAL and any(c.isdigit() for c in piece):
            found.add(i)
    return frozenset(found)
