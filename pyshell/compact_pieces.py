"""The tokenizer's pieces as one UTF-8 byte string and two int arrays, not 262,144 str.

Why: Pyodide's heap never shrinks, and it is part of the page's peak memory. As
Python objects, Gemma's 262,144 pieces took about 20 MB of it: a str of ~38 bytes
for each piece, an int for each id and a 262,144-entry piece → id dict. Here they
are the pieces file's own bytes (3.9 MB), where each piece starts (1 MB) and an
id table (2 MB) that the exporter writes, so loading them is a few C-speed calls.

Layout:
- `utf8`: the pieces in UTF-8, NUL between them (SentencePiece refuses NUL in a
  piece, so it can separate them);
- `starts`: (count + 1,) uint32, where piece i starts in `utf8`; the last entry is
  len(utf8) + 1, as if a NUL ended the last piece too;
- `slots`: (2^k,) int32 open-addressing table, k the smallest power of two with
  2^k ≥ 2 × count: piece i sits at `crc32(piece) mod 2^k` or the first free slot
  after it (wrapping), -1 where no piece is. crc32 (`binascii`, in every Python
  and in Pyodide's core) is the hash because the table is written at export and
  read in another interpreter: Python's own `hash` of a str changes per process.
"""

from __future__ import annotations

import binascii
from array import array
from collections.abc import Iterator
from itertools import accumulate, islice, repeat
from operator import add

__all__ = ["CompactPieces", "DuplicatePieceError", "piece_starts", "slot_table"]

SEPARATOR = b"\x00"
EMPTY = -1
CHUNK_BYTES = 1 << 18  # how much of `utf8` is split or decoded at a time (below)


class DuplicatePieceError(ValueError):
    """Two pieces have the same text, or a piece is empty: no id table can be built."""


def slot_table(utf8: bytes, starts: array) -> array:
    """The id table of the module docstring for the pieces in `utf8` (`starts`: theirs,
    from `piece_starts`).

    A Python loop over every piece (0.08 s for Gemma in CPython, 0.19 s in Pyodide):
    the exporter runs it once and writes the result, so the page never pays it.
    """
    count = len(starts) - 1
    size = 1 << max(4, (2 * count - 1).bit_length())
    mask = size - 1
    slots = array("i", [EMPTY]) * size
    for i, piece in enumerate(utf8.split(SEPARATOR)):
        if not piece:
            raise DuplicatePieceError(f"piece {i} is empty")
        h = binascii.crc32(piece) & mask
        while (j := slots[h]) != EMPTY:
            if utf8[starts[j] : starts[j + 1] - 1] == piece:
                raise DuplicatePieceError(f"piece {piece.decode('utf-8')!r} is already defined")
            h = (h + 1) & mask
        slots[h] = i
    return slots


def piece_starts(utf8: bytes) -> array:
    """(count + 1,) uint32: where each piece starts, then len(utf8) + 1.

    Split a quarter MB at a time, so the pieces never all exist as bytes objects at
    once (the heap would keep that moment's size); the sums are C-speed.
    """
    starts = array("I", [0])
    at = 0
    while at <= len(utf8):
        end = utf8.find(SEPARATOR, at + CHUNK_BYTES)
        end = len(utf8) if end < 0 else end
        lengths = map(len, utf8[at:end].split(SEPARATOR))
        starts.extend(islice(accumulate(map(add, lengths, repeat(1)), initial=at), 1, None))
        at = end + 1
    return starts


class CompactPieces:
    """Piece text by id and id by piece text, over the layout of the module docstring."""

    def __init__(self, utf8: bytes, slots: array | None = None) -> None:
        """`slots`: the exporter's id table for these pieces; None builds it (slow,
        for a model read from its protobuf). Raises DuplicatePieceError."""
        self.utf8 = utf8
        self.starts = piece_starts(utf8)
        count = len(self.starts) - 1
        self.slots = slot_table(utf8, self.starts) if slots is None else slots
        if len(self.slots) < count or len(self.slots) & (len(self.slots) - 1):
            raise ValueError(f"an id table of {len(self.slots)} slots cannot hold {count} pieces")
        self._mask = len(self.slots) - 1

    @classmethod
    def from_list(cls, pieces: list[str]) -> CompactPieces:
        return cls(SEPARATOR.decode().join(pieces).encode("utf-8"))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> str:
        starts = self.starts
        return self.utf8[starts[i] : starts[i + 1] - 1].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        """Every piece in id order, decoded a quarter MB at a time (C-speed)."""
        utf8, at = self.utf8, 0
        while at <= len(utf8):
            end = utf8.find(SEPARATOR, at + CHUNK_BYTES)
            end = len(utf8) if end < 0 else end
            yield from utf8[at:end].decode("utf-8").split(SEPARATOR.decode())
            at = end + 1

    def find(self, piece: str) -> int | None:
        """The id of the piece with this text, or None."""
        key = piece.encode("utf-8")
        utf8, starts, slots, mask = self.utf8, self.starts, self.slots, self._mask
        h = binascii.crc32(key) & mask
        while (i := slots[h]) != EMPTY:
            if utf8[starts[i] : starts[i + 1] - 1] == key:
                return i
            h = (h + 1) & mask
        return None
