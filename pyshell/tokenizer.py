"""SentencePiece BPE tokenizer in pure Python, equal to `sentencepiece` token for token.

The page runs in Pyodide, which has no `sentencepiece` (docs/facts/tokenizer.md), so this
module re-implements the parts of it that Gemma's `tokenizer.model` uses,
following sentencepiece's normalizer.cc, bpe_model.cc and
sentencepiece_processor.cc step by step:

1. normalize: " " becomes "▁" (U+2581); nothing else changes (identity rules,
   no dummy prefix). Malformed UTF-8 becomes U+FFFD per byte: in a Python str
   that can only be a lone surrogate, which counts as its three bytes.
2. split into symbols: user-defined pieces (Gemma's "<start_of_turn>", runs of
   "\\n", "▁" and "\\t", "<unusedN>" …) by longest match, frozen; every other
   character alone.
3. merge: repeatedly join the adjacent pair whose concatenation is a piece with
   the highest score (leftmost on ties), with a heap and a linked list.
4. map pieces to ids; an UNUSED piece is split back into the pair it was made
   from; an unknown piece becomes its UTF-8 bytes (`<0xE2>` …) under byte
   fallback, otherwise one `<unk>` per run.

Digits need no rule of their own: `split_digits` only shapes training, and
Gemma's vocabulary has no piece with an ASCII digit next to anything else.

Speed: BPE never merges across a position where no piece contains the two
characters on either side. Before a "▁", "\\n" or "\\t" that is nearly always
so, which cuts text into short, often repeated segments that are encoded once
and cached. Models with UNUSED pieces skip this: their step 4 depends on merge
history across the whole text.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from heapq import heapify, heappop, heappush
from pathlib import Path

from pyshell.compact_pieces import CompactPieces, DuplicatePieceError
from pyshell.spm_model import (
    BYTE,
    CACHE_SEPARATOR,
    CONTROL,
    NORMAL,
    UNKNOWN,
    UNUSED,
    USER_DEFINED,
    SpmModel,
    TokenizerModelError,
    load_pieces_file,
    load_spm_model,
    write_pieces_cache,
)

__all__ = ["StreamDecoder", "Tokenizer", "TokenizerModelError", "write_pieces_cache"]

SPACE_SYMBOL = "\u2581"
# Characters before which text is cut into segments, when the model allows it.
SEGMENT_BEFORE = (SPACE_SYMBOL, "\n", "\t")
SEGMENT_CACHE_SIZE = 50_000  # segments; cleared when full (a few MB at most)
_RESERVED = (UNKNOWN, CONTROL, BYTE)  # pieces BPE never produces (spm's `reserved_id_map_`)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_each_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    """One U+FFFD per malformed byte, then resynchronise: what sentencepiece's
    decoder does (Python's own "replace" may swallow several bytes at once)."""
    return "\ufffd", error.start + 1


codecs.register_error("conteur.spm", _replace_each_byte)


def _indices(types: bytes, kinds: tuple[int, ...]) -> list[int]:
    """Ids whose type is one of `kinds` (a regex scan: C speed on 262k types)."""
    pattern = re.compile(b"[" + bytes(kinds) + b"]")
    return [m.start() for m in pattern.finditer(types)]


def _chars_before(pieces_utf8: bytes, c: str) -> set[str]:
    """The characters that come right before `c` inside a piece (`c` itself for "cc").

    `pieces_utf8` holds the pieces in UTF-8, NUL between them. It is searched as
    bytes: Gemma's pieces as one str would take 14 MB (a few are beyond U+FFFF, so
    4 bytes a character), and Pyodide's heap keeps the high-water mark of loading.
    The many occurrences of c that start a piece become a placeholder first, so only
    a few are left to look at.
    """
    mark = c.encode("utf-8")
    text = pieces_utf8.replace(CACHE_SEPARATOR.encode() + mark, b"\x00\x01")
    before = set()
    for found in re.finditer(re.escape(mark), text):
        if found.start() > 0:  # at 0, c starts the first piece
            before.add(_char_before(text, found.start()))
    if "\x01" in before:  # the placeholder stood for a c: "cc" starts a piece
        before.add(c)
    return before


def _char_before(utf8: bytes, end: int) -> str:
    """The character of UTF-8 text that ends at byte `end` (continuation bytes are 0x80-0xBF)."""
    start = end - 1
    while start > 0 and 0x80 <= utf8[start] < 0xC0:
        start -= 1
    return utf8[start:end].decode("utf-8")


def _byte_value(piece: str) -> int:
    """The byte of a `<0xHH>` piece, spelled exactly as sentencepiece writes it."""
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        digits = piece[3:5]
        if digits == digits.upper():
            try:
                return int(digits, 16)
            except ValueError:
                pass
    raise TokenizerModelError(f"byte piece {piece!r} is invalid")


class Tokenizer:
    """Encode text to ids and back with a SentencePiece BPE model.

    `encode` never adds BOS unless asked (like sentencepiece's Python
    `encode`); `decode` drops control tokens (BOS, EOS, PAD).
    """

    def __init__(self, model: SpmModel) -> None:
        model.check_supported()
        self.model = model
        types = model.types
        self.vocab_size = len(model.pieces)
        self._types = types
        self._build_maps(model)
        self._build_bytes()
        self._build_user_defined()
        self.unk_id = self._special(model.unk_piece, UNKNOWN)
        self.bos_id = self._special(model.bos_piece, CONTROL)
        self.eos_id = self._special(model.eos_piece, CONTROL)
        self.pad_id = self._special(model.pad_piece, CONTROL)
        self._escape = model.escape_whitespaces
        self._unk_surface = model.unk_surface
        self._exact_order = UNUSED in types
        self._segmenter = None if self._exact_order else self._build_segmenter()
        self._cache: dict[str, tuple[int, ...]] = {}
        self.loaded_from_cache = False

    # --- loading ------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        """Load `tokenizer.model`, from its sibling `tokenizer.pieces` when that
        cache exists and was made from this very file (sha256)."""
        model, used_cache = load_spm_model(path)
        tokenizer = cls(model)
        tokenizer.loaded_from_cache = used_cache
        return tokenizer

    @classmethod
    def from_pieces_file(cls, path: str | Path) -> Tokenizer:
        """Load from `tokenizer.pieces` alone (saves fetching the 5 MB model in the page)."""
        tokenizer = cls(load_pieces_file(path))
        tokenizer.loaded_from_cache = True
        return tokenizer

    def _build_maps(self, model: SpmModel) -> None:
        """sentencepiece's two piece maps: `matchable` (NORMAL, USER_DEFINED and
        UNUSED: what BPE may produce) and `reserved` (UNKNOWN, CONTROL, BYTE).

        sentencepiece refuses a model whose pieces repeat, even across the two maps,
        so one CompactPieces (pyshell/compact_pieces.py) serves both: the type of the
        id found says which map a piece belongs to.
        """
        types = model.types
        unknown_types = set(types) - {NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE}
        if unknown_types:
            raise TokenizerModelError(f"unknown piece types {sorted(unknown_types)}")
        self._scores = model.scores
        pieces = model.pieces
        if not isinstance(pieces, CompactPieces):
            try:
                pieces = CompactPieces.from_list(list(pieces))
            except DuplicatePieceError as exc:
                raise TokenizerModelError(str(exc)) from exc
        self._pieces = pieces
        self._unused = {pieces[i] for i in _indices(types, (UNUSED,))}
        self._reserved_ids = frozenset(_indices(types, _RESERVED))

    def _matchable_id(self, piece: str) -> int | None:
        """The id of a piece BPE may produce, or None (bpe_model.cc's `pieces_` lookup)."""
        i = self._pieces.find(piece)
        return None if i is None or i in self._reserved_ids else i

    def _build_user_defined(self) -> None:
        """Index of user-defined pieces for longest-prefix matching: by their
        first two characters, the lengths to try (longest first)."""
        user = [self._pieces[i] for i in _indices(self._types, (USER_DEFINED,))]
        self._user_defined = set(user)
        self._user_first = {p[0] for p in user}
        lengths: dict[str, set[int]] = {}
        for piece in user:
            if len(piece) > 1:
                lengths.setdefault(piece[:2], set()).add(len(piece))
        self._user_lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}

    def _build_bytes(self) -> None:
        """Byte-fallback ids (`<0x00>` … `<0xFF>`) and, for decoding, each byte piece's value."""
        self._byte_of: dict[int, int] = {}
        for i in _indices(self._types, (BYTE,)):
            if not self.model.byte_fallback:
                raise TokenizerModelError(
                    f"byte piece {self._pieces[i]} is found although byte_fallback is off"
                )
            self._byte_of[i] = _byte_value(self._pieces[i])
        unknown = _indices(self._types, (UNKNOWN,))
        if len(unknown) != 1:
            raise TokenizerModelError(f"the model needs one unknown piece, it has {len(unknown)}")
        self._unk = unknown[0]
        self._byte_ids: list[int] | None = None
        if self.model.byte_fallback:
            ids = {b: i for i, b in self._byte_of.items()}
            if len(ids) != 256:
                raise TokenizerModelError("byte_fallback is on but there are not 256 byte pieces")
            self._byte_ids = [self.piece_to_id(f"<0x{b:02X}>") for b in range(256)]

    def _special(self, piece: str, kind: int) -> int:
        """sentencepiece's bos_id() & co.: the id of the named piece, -1 unless of `kind`."""
        i = self.piece_to_id(piece)
        return i if self._types[i] == kind else -1

    def _build_segmenter(self) -> re.Pattern:
        """A regex matching the empty string where text can be cut safely.

        A cut before character c is safe when the character before it never
        precedes c inside a piece: then no piece, hence no merge and no
        user-defined match, can span the cut. Reserved pieces are counted too,
        which can only make cuts rarer (none of Gemma's holds a c).
        """
        utf8 = self._pieces.utf8
        alternatives = []
        for c in SEGMENT_BEFORE:
            before = _chars_before(utf8, c)
            before.add("\x00")  # never cut after NUL
            excluded = "".join(sorted(re.escape(x) for x in before))
            alternatives.append(f"(?<=[^{excluded}])(?={re.escape(c)})")
        return re.compile("|".join(alternatives))

    # --- public lookups -----------------------------------------------------

    def id_to_piece(self, i: int) -> str:
        return self._pieces[i]

    def pieces(self) -> Iterator[str]:
        """Every piece in id order: for rules that look at the whole vocabulary once
        (decoded in large slices, far faster than id_to_piece for each id)."""
        return iter(self._pieces)

    def piece_to_id(self, piece: str) -> int:
        """The piece's id, or the unknown id (as sentencepiece)."""
        i = self._pieces.find(piece)
        return self._unk if i is None else i

    def is_control(self, i: int) -> bool:
        return self._types[i] == CONTROL

    def piece_type(self, i: int) -> int:
        """The piece's SentencePiece type (pyshell.spm_model: NORMAL … BYTE)."""
        return self._types[i]

    def token_text(self, i: int) -> str:
        """The text token `i` adds on its own: "" for control pieces; a byte piece
        gives its character when the byte is ASCII, else "" (it is part of a
        longer character). For rules that look at candidates one by one."""
        byte = self._byte_of.get(i)
        if byte is not None:
            return chr(byte) if byte < 0x80 else ""
        return self._piece_text(i)

    # --- encoding -----------------------------------------------------------

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        """Token ids of `text`, exactly as `sentencepiece` encodes it."""
        ids: list[int] = []
        if add_bos:
            if self.bos_id < 0:
                raise ValueError("this tokenizer has no BOS piece")
            ids.append(self.bos_id)
        if not text:
            return ids
        if _SURROGATE.search(text):
            # What sentencepiece makes of the bytes: U+FFFD for each of the three.
            text = _SURROGATE.sub("\ufffd\ufffd\ufffd", text)
        if self._escape:
            text = text.replace(" ", SPACE_SYMBOL)
        if self._segmenter is None:
            ids.extend(self._encode_segment(text))
        else:
            cache = self._cache
            if len(cache) > SEGMENT_CACHE_SIZE:
                cache.clear()
            for segment in self._segmenter.split(text):
                found = cache.get(segment)
                if found is None:
                    found = cache[segment] = tuple(self._encode_segment(segment))
                ids.extend(found)
        if self._byte_ids is None:
            ids = self._merge_unknown_runs(ids)
        return ids

    def _symbols(self, text: str) -> tuple[list[str], list[bool]]:
        """Initial symbols: user-defined pieces (longest match, frozen) or single characters."""
        first = self._user_first
        if not first or first.isdisjoint(text):
            return list(text), [False] * len(text)
        lengths, user = self._user_lengths, self._user_defined
        symbols: list[str] = []
        frozen: list[bool] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c in first:
                match = c if c in user else None
                for size in lengths.get(text[i : i + 2], ()):
                    if i + size <= n and text[i : i + size] in user:
                        match = text[i : i + size]
                        break
                if match is not None:
                    symbols.append(match)
                    frozen.append(True)
                    i += len(match)
                    continue
            symbols.append(c)
            frozen.append(False)
            i += 1
        return symbols, frozen

    def _encode_segment(self, text: str) -> list[int]:
        symbols, frozen = self._symbols(text)
        rev_merge: dict[str, tuple[str, str]] | None = {} if self._exact_order else None
        if len(symbols) > 1:
            self._merge(symbols, frozen, rev_merge)
        pieces = [piece for piece in symbols if piece]  # "" = merged into its left neighbour
        if rev_merge is not None:
            pieces = self._resegment(pieces, rev_merge)
        ids: list[int] = []
        for piece in pieces:
            i = self.piece_to_id(piece)
            if i != self._unk:
                ids.append(i)
            elif self._byte_ids is not None:
                ids.extend([self._byte_ids[b] for b in piece.encode("utf-8")])
            else:
                ids.append(self._unk)
        return ids

    def _merge(
        self,
        symbols: list[str],
        frozen: list[bool],
        rev_merge: dict[str, tuple[str, str]] | None,
    ) -> None:
        """BPE in place: merged symbols become "" (bpe_model.cc's main loop).

        Heap entries are (-score, left, right, merged length); an entry is
        stale once either side was merged away or grew since it was pushed.
        """
        id_of, scores = self._matchable_id, self._scores
        unused = self._unused if rev_merge is not None else None
        n = len(symbols)
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        heap = []
        for left in range(n - 1):
            if frozen[left] or frozen[left + 1]:
                continue
            piece = symbols[left] + symbols[left + 1]
            i = id_of(piece)
            if i is not None:
                heap.append((-scores[i], left, left + 1, len(piece)))
                if unused is not None:
                    self._note_unused(piece, symbols[left], symbols[left + 1], rev_merge)
        heapify(heap)
        while heap:
            _, left, right, size = heappop(heap)
            a, b = symbols[left], symbols[right]
            if not a or not b or len(a) + len(b) != size:
                continue
            merged = symbols[left] = a + b
            symbols[right] = ""
            after = nxt[left] = nxt[right]
            if after >= 0:
                prv[after] = left
            before = prv[left]
            if before >= 0 and not frozen[before]:
                piece = symbols[before] + merged
                i = id_of(piece)
                if i is not None:
                    heappush(heap, (-scores[i], before, left, len(piece)))
                    if unused is not None:
                        self._note_unused(piece, symbols[before], merged, rev_merge)
            if after >= 0 and not frozen[after]:
                piece = merged + symbols[after]
                i = id_of(piece)
                if i is not None:
                    heappush(heap, (-scores[i], left, after, len(piece)))
                    if unused is not None:
                        self._note_unused(piece, merged, symbols[after], rev_merge)

    def _note_unused(self, piece: str, left: str, right: str, rev_merge: dict) -> None:
        """Remember how an UNUSED piece was last proposed, to split it back later."""
        if piece in self._unused:
            rev_merge[piece] = (left, right)

    def _resegment(self, pieces: list[str], rev_merge: dict[str, tuple[str, str]]) -> list[str]:
        """Split each UNUSED piece recursively into the pair that formed it."""
        out: list[str] = []
        for piece in reversed(pieces):
            stack = [piece]
            while stack:
                w = stack.pop()
                i = self.piece_to_id(w)
                if self._types[i] == UNUSED and w in rev_merge:
                    left, right = rev_merge[w]
                    stack.append(left)
                    stack.append(right)
                else:
                    out.append(w)
        out.reverse()
        return out

    def _merge_unknown_runs(self, ids: list[int]) -> list[int]:
        """Without byte fallback sentencepiece emits one `<unk>` per run of unknown pieces."""
        unk = self._unk
        return [i for k, i in enumerate(ids) if i != unk or k == 0 or ids[k - 1] != unk]

    # --- decoding -----------------------------------------------------------

    def decode(self, ids) -> str:
        """Text of `ids` as sentencepiece decodes it: "▁" becomes " ", control
        pieces vanish, byte pieces join into UTF-8 (U+FFFD per bad byte)."""
        stream = self.stream_decoder()
        return "".join([stream.push(i) for i in ids]) + stream.flush()

    def stream_decoder(self) -> StreamDecoder:
        return StreamDecoder(self)

    def _piece_text(self, i: int) -> str:
        """Surface text of one non-byte piece."""
        kind = self._types[i]
        if kind == CONTROL:
            return ""
        if kind == UNKNOWN:
            return self._unk_surface
        return self._pieces[i].replace(SPACE_SYMBOL, " ")


class StreamDecoder:
    """Decode ids one at a time without ever emitting half a character.

    A character that byte fallback split into `<0xE2>` `<0x80>` `<0x94>` may
    arrive over several steps; `push` holds the bytes back until the character
    is complete (or certainly malformed). The pushes' outputs plus `flush()`
    always equal `Tokenizer.decode` of the same ids.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._bytes = codecs.getincrementaldecoder("utf-8")("conteur.spm")

    def push(self, i: int) -> str:
        """Add one id; return the text it completes (often "", never half a character)."""
        tokenizer = self._tokenizer
        if not 0 <= i < tokenizer.vocab_size:
            raise IndexError(f"token id {i} is outside the {tokenizer.vocab_size}-piece vocabulary")
        byte = tokenizer._byte_of.get(i)
        if byte is not None:
            return self._bytes.decode(bytes((byte,)))
        # A byte run ends here: whatever is left of it is malformed.
        return self._bytes.decode(b"", final=True) + tokenizer._piece_text(i)

    def flush(self) -> str:
        """End of the stream: the text of any incomplete byte sequence (U+FFFD per byte)."""
        return self._bytes.decode(b"", final=True)
