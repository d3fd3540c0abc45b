"""Family-safe stories: listed words are never sampled (EN and FR word lists, a token matcher).

The lists (pyshell/data/family_safe/en.txt and fr.txt, plain text, one form per
line) hold words no bedtime story needs: sexual content, profanity and slurs,
drugs and alcohol, graphic violence and gore. A form is a whole word or a short
phrase ("made love", "little black men"); every inflection is written out.

The rule, on case-folded text (pyshell.family_safe.fold):
- a form counts only where it starts a word (the character before it is not a
  letter): "sex" is listed, "Sussex" and "Essex" are not touched;
- it counts where the word ends after it (a non-letter or the end of the text
  follows): "murder" does not touch "murderous" (listed on its own line);
- a form that also starts common harmless words is written with a leading `=`
  ("=viol": violon, violet; "=hell": hello; "=ass": assez; "=con": conte) and
  is banned only once the word is seen to end there. Other forms are banned as
  soon as a token would write them up to their last letter, even if that
  token ends the piece there ("▁Murder" is banned: the word could only go on
  into another listed form or a made-up one).

While sampling (never by cleaning streamed text), `FamilyFilter` bans:
- directly, every token whose text writes a listed form at a word start: " murdered",
  " Murder", "murder" when the text so far ends with a non-letter. That depends on
  the token alone (and on whether a letter precedes it), so it is decided the first
  time a token is a candidate (one regex search says "no listed form here" for most)
  and remembered: the page only reads the word list at load time (deciding all of
  Gemma's 262,144 pieces up front took 1.2-1.4 s per language in Pyodide), and a
  step costs a dictionary look-up per candidate;
- in sequence, a token that completes a listed word the story has begun: after
  "▁me" "ur" (a word start of "meurtre"), the token "tre" is banned. A story
  keeps the words in progress (`FamilyFilterState`: the nodes of a trie of the
  forms reached so far from each recent word start) and walks each of the 64
  candidates from them: most leave the trie at their first character, and there
  is nothing to walk while no listed word is in progress (the usual case).
The word in progress when the text ends counts too: at the story's last token
and for the stop ids, a candidate that would leave "hell" as the last word is
banned. French elision and hyphens need nothing special: an apostrophe or a
hyphen is not a letter, so "l'assassin" starts the word "assassin". Byte-fallback
pieces are read through the UTF-8 character they complete.

The same rule runs on finished text in `listed_words` (the evaluation's measure)
and `listed_request_fields` (a request whose character or theme is listed gets
a field error). Plain Python, deterministic: the page and CPython ban the same
ids at every step, so the same seed still writes the same story.
"""

from __future__ import annotations

import codecs
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from pyshell.errors import ErrorCode, StoryRequestError
from pyshell.prompts import LANGUAGES, StoryRequest
from pyshell.spm_model import BYTE

__all__ = [
    "FamilyFilter",
    "FamilyFilterState",
    "UnsuitableRequestError",
    "WordList",
    "WordMatcher",
    "check_request",
    "family_filter",
    "fold",
    "listed_request_fields",
    "listed_words",
    "parse_word_list",
    "read_word_list",
    "word_list",
]

DATA = Path(__file__).resolve().parent / "data" / "family_safe"
EAGER, PATIENT = 1, 2  # how a trie node ends a form (0: it does not)
SEEN_TOKENS = 20_000  # tokens whose decision is remembered; forgotten all at once when full
# Apostrophes, hyphens and spaces are matched as one of each, whatever their code point.
_FOLD = str.maketrans(
    {
        **dict.fromkeys(map(ord, "’‘ʼ`´"), "'"),
        **dict.fromkeys(map(ord, "\u2010\u2011"), "-"),
        **dict.fromkeys(map(ord, "\t\n\r\x0b\x0c\xa0\u2007\u202f\u3000"), " "),
    }
)
_REQUEST_FIELDS = ("character", "setting", "theme", "tone", "text")


def fold(text: str) -> str:
    """The text the rule reads: lower case, one apostrophe, one hyphen, one space."""
    return text.lower().translate(_FOLD)


def _is_letter(c: str) -> bool:
    return c.isalnum() and not c.isdecimal()


# --- the word lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class WordList:
    """One language's listed forms (folded), each with its category."""

    language: str
    categories: dict[str, str]  # form → category ("sexual", "profanity", …)
    patient: frozenset[str]  # forms banned only once the word ends ("=" in the file)

    @property
    def forms(self) -> list[str]:
        return list(self.categories)


def parse_word_list(text: str, language: str, source: str = "") -> WordList:
    """Read the list format: `# category: NAME` opens a category, other `#` text is a
    comment, and each other line is one form, `=` first for a patient one."""
    categories: dict[str, str] = {}
    patient: set[str] = set()
    category = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("# category:"):
            category = stripped.split(":", 1)[1].strip()
            continue
        entry = stripped.split("#", 1)[0].strip()
        if not entry:
            continue
        where = f"{source or language}:{number}"
        is_patient = entry.startswith("=")
        form = fold(entry.lstrip("="))
        if not category:
            raise ValueError(f"{where}: {form!r} comes before any '# category:' line")
        if not _is_letter(form[0]) or not _is_letter(form[-1]) or "  " in form:
            raise ValueError(f"{where}: {form!r} must start and end with a letter")
        if form in categories:
            raise ValueError(f"{where}: {form!r} is listed twice")
        categories[form] = category
        if is_patient:
            patient.add(form)
    return WordList(language, categories, frozenset(patient))


@cache
def word_list(language: str) -> WordList:
    """The committed list of `language` ("en" or "fr"), read once."""
    return read_word_list(DATA, language, "family-safe word")


def read_word_list(folder: Path, language: str, what: str) -> WordList:
    """`folder`/`language`.txt in this list format: the family-safe lists, and the
    grim and warm words best-of weighs (pyshell/grim_words.py, pyshell/warm_words.py)."""
    if language not in LANGUAGES:
        raise ValueError(f"no {what} list for language {language!r}")
    path = folder / f"{language}.txt"
    return parse_word_list(path.read_text(encoding="utf-8"), language, path.name)


# --- the matcher: a trie of the forms, walked one character at a time -------------------

# A walk's state: the trie nodes reached from each recent word start, and whether
# the last character was a letter (the next letter then does not start a word).
State = tuple[tuple[int, ...], bool]
START: State = ((), False)


class WordMatcher:
    """A trie of one list's forms; `scan` walks text through it (the rule of the module doc)."""

    def __init__(self, words: WordList) -> None:
        self.words = words
        self.children: list[dict[str, int]] = [{}]
        self.end: list[int] = [0]  # EAGER, PATIENT or 0, per node
        self.form: list[str] = [""]
        for form in words.categories:
            node = 0
            for c in form:
                nxt = self.children[node].get(c)
                if nxt is None:
                    nxt = self.children[node][c] = len(self.children)
                    self.children.append({})
                    self.end.append(0)
                    self.form.append("")
                node = nxt
            self.end[node] = PATIENT if form in words.patient else EAGER
            self.form[node] = form
        # Any form anywhere in folded text, one C-speed search: most tokens hold none.
        self.anywhere = re.compile(self._pattern(0) or "(?!)")

    def _pattern(self, node: int) -> str | None:
        """The forms below `node` as a regex factored like the trie (few branches per
        character for `re` to try); None when no form lies below."""
        alternatives = []
        for c, child in sorted(self.children[node].items()):
            rest = self._pattern(child)
            if rest is not None:
                alternatives.append(re.escape(c) + rest)
        if not alternatives:
            return "" if self.end[node] else None
        body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
        return f"(?:{body})?" if self.end[node] else body

    def scan(self, state: State, text: str) -> tuple[list[str], State]:
        """Walk folded `text` from `state`: the forms it finishes (each followed by a
        non-letter inside `text`), and the state after it."""
        active, letter = state
        children, end = self.children, self.end
        found: list[str] = []
        for c in text:
            is_letter = c.isalnum() and not c.isdecimal()
            reached = []
            for node in active:
                if end[node] and not is_letter:
                    found.append(self.form[node])
                nxt = children[node].get(c)
                if nxt is not None:
                    reached.append(nxt)
            if is_letter and not letter:
                nxt = children[0].get(c)
                if nxt is not None:
                    reached.append(nxt)
            active, letter = tuple(reached), is_letter
        return found, (active, letter)

    def ends_a_form(self, state: State, kinds: tuple[int, ...] = (EAGER, PATIENT)) -> bool:
        """Whether a word in progress sits on a form of one of `kinds` (it would be
        listed if it ended now)."""
        end = self.end
        return any(end[node] in kinds for node in state[0])

    def writes_alone(self, text: str) -> tuple[bool, bool]:
        """Whether folded `text`, written with no listed word in progress, finishes a form
        or stops on an EAGER one (a direct ban): (after a non-letter, after a letter)."""
        if self.anywhere.search(text) is None:
            return False, False
        at_word_start = self._writes(text, letter=False)
        if not _is_letter(text[0]):  # the letter before cannot matter
            return at_word_start, at_word_start
        return at_word_start, self._writes(text, letter=True)

    def _writes(self, text: str, letter: bool) -> bool:
        found, after = self.scan(((), letter), text)
        return bool(found) or self.ends_a_form(after, (EAGER,))

    def finish(self, state: State) -> list[str]:
        """The forms the end of the text finishes."""
        return [self.form[node] for node in state[0] if self.end[node]]

    def words_in(self, text: str) -> list[str]:
        """The forms finished `text` holds as whole words, in order of their end (with repeats)."""
        found, state = self.scan(START, fold(text))
        return found + self.finish(state)


@cache
def matcher(language: str) -> WordMatcher:
    return WordMatcher(word_list(language))


# --- finished text -------------------------------------------------------------------------


def listed_words(text: str, language: str) -> list[str]:
    """The listed forms `text` holds as whole words, in order of their end (with repeats)."""
    return matcher(language).words_in(text)


class UnsuitableRequestError(StoryRequestError):
    """A story field holds a listed word: the page shows the message next to the field."""

    def __init__(self, field: str, words: list[str]) -> None:
        super().__init__(
            field, ErrorCode.UNSUITABLE_WORDS, words=", ".join(f"“{w}”" for w in words)
        )
        self.words = words


def listed_request_fields(request: StoryRequest) -> dict[str, list[str]]:
    """Each field the reader typed (character, setting, theme, tone, text) that holds a
    listed word of the request's language, with the words."""
    found = {}
    for name in _REQUEST_FIELDS:
        words = listed_words(getattr(request, name), request.language)
        if words:
            found[name] = list(dict.fromkeys(words))
    return found


def check_request(request: StoryRequest) -> None:
    """Raise `UnsuitableRequestError` for the first field that holds a listed word."""
    for name, words in listed_request_fields(request).items():
        raise UnsuitableRequestError(name, words)


# --- while sampling ---------------------------------------------------------------------


class TokenTexts(Protocol):
    """The part of `pyshell.tokenizer.Tokenizer` the filter reads."""

    vocab_size: int

    def token_text(self, i: int) -> str: ...

    def id_to_piece(self, i: int) -> str: ...

    def piece_type(self, i: int) -> int: ...


# What the filter remembers of a token (`FamilyFilter.seen`): its folded text, whether it
# writes a listed form by itself after a non-letter (bit AT_WORD_START) and after a letter
# (bit IN_WORD), and the byte of a byte-fallback piece (None for others).
Seen = tuple[str, int, int | None]
AT_WORD_START, IN_WORD = 1, 2


class FamilyFilter:
    """One tokenizer's view of one word list: the direct bans, decided per token.

    Built once per (tokenizer, language, stop ids) by `family_filter` (building it
    reads the word list only); each story takes a `FamilyFilterState` from `start()`.
    """

    def __init__(self, tokenizer: TokenTexts, language: str, stop_ids: Iterable[int] = ()) -> None:
        self.language = language
        self.matcher = matcher(language)
        self.stop_ids = frozenset(stop_ids)
        self._tokenizer = tokenizer
        self._seen: dict[int, Seen] = {}

    def start(self) -> FamilyFilterState:
        """The per-story state, before any text."""
        return FamilyFilterState(self)

    def seen(self, i: int) -> Seen:
        """What the filter knows of token `i`, decided on first sight (a pure function
        of the token, so forgetting it changes nothing but time)."""
        known = self._seen.get(i)
        if known is None:
            if len(self._seen) >= SEEN_TOKENS:
                self._seen.clear()
            tokenizer = self._tokenizer
            byte = None
            if tokenizer.piece_type(i) == BYTE:  # `<0xE2>`: its text is "" past ASCII
                byte = int(tokenizer.id_to_piece(i)[3:5], 16)
            text = fold(tokenizer.token_text(i))
            at_word_start, in_word = self.matcher.writes_alone(text)
            known = self._seen[i] = (text, AT_WORD_START * at_word_start | IN_WORD * in_word, byte)
        return known

    def direct_bans(self, after_letter: bool) -> frozenset[int]:
        """Every id the filter bans by itself, with no listed word in progress, after a
        letter or not: the whole vocabulary decided at once (for tests and docs;
        stories decide only their candidates)."""
        m, tokenizer = self.matcher, self._tokenizer
        return frozenset(
            i
            for i in range(tokenizer.vocab_size)
            if m.writes_alone(fold(tokenizer.token_text(i)))[after_letter]
        )


class FamilyFilterState:
    """One story's words in progress: which candidates would complete a listed word."""

    def __init__(self, family: FamilyFilter) -> None:
        self._family = family
        self._matcher = family.matcher
        self._state: State = START
        self._pending = b""  # bytes of a character that byte-fallback pieces have begun

    def follow(self, text: str) -> None:
        """Take in text that is already written (the prompt's end, before the story)."""
        _, self._state = self._matcher.scan(self._state, fold(text))

    def push(self, token: int, text: str) -> None:
        """Record the token just added and the text it showed (often "" for a byte piece)."""
        byte = self._family.seen(token)[2]
        self._pending = self._pending_after(byte)[1] if byte is not None else b""
        if text:
            self.follow(text)

    def banned(self, ids: list[int], last: bool = False) -> set[int]:
        """The ids among `ids` that would complete a listed word. `last`: the token
        chosen now ends the story, so the word it leaves must not be listed either.

        A candidate completes a listed word that either starts inside it (the direct
        bans, looked up) or was begun before it (walked through the trie from the
        words in progress: most candidates leave the trie at their first character).
        """
        family = self._family
        active, letter = self._state
        if self._pending or last:  # rare: the whole rule for each candidate
            return {i for i in ids if self._completes(i, last)}
        bit = IN_WORD if letter else AT_WORD_START
        seen, decide = family._seen, family.seen
        banned = set()
        for i in ids:
            known = seen.get(i) or decide(i)
            if known[1] & bit or (active and self._continues(i, known)):
                banned.add(i)
        return banned

    # --- helpers ---------------------------------------------------------------------

    def _continues(self, i: int, known: Seen) -> bool:
        """Whether candidate `i` completes a word in progress (no bytes pending)."""
        m = self._matcher
        if i in self._family.stop_ids:
            return m.ends_a_form(self._state)  # the story ends with this word
        if known[2] is not None:
            return self._completes(i, False)
        children, end = m.children, m.end
        nodes = self._state[0]
        for c in known[0]:
            is_letter = c.isalnum() and not c.isdecimal()
            reached = []
            for node in nodes:
                if end[node] and not is_letter:
                    return True
                nxt = children[node].get(c)
                if nxt is not None:
                    reached.append(nxt)
            if not reached:
                return False
            nodes = reached
        return any(end[node] == EAGER for node in nodes)

    def _completes(self, i: int, last: bool) -> bool:
        """The rule for one candidate, from the words in progress and any pending bytes."""
        m, family = self._matcher, self._family
        if i in family.stop_ids:
            return m.ends_a_form(self._state)  # the story ends with this word
        text, _, byte = family.seen(i)
        if byte is None:
            if self._pending:  # a piece after unfinished bytes: they become U+FFFD
                text = "\ufffd" + text
        else:
            text = fold(self._pending_after(byte)[0])
            if not text:  # the character is unfinished: after a listed word, it may be no letter
                return m.ends_a_form(self._state)
        found, after = m.scan(self._state, text)
        if found or m.ends_a_form(after, (EAGER,)):
            return True
        return last and m.ends_a_form(after)

    def _pending_after(self, byte: int) -> tuple[str, bytes]:
        """(text, bytes still pending) after one more byte, as the stream decoder sees it."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        decoder.setstate((self._pending, 0))
        text = decoder.decode(bytes((byte,)))
        return text, decoder.getstate()[0]


# tokenizer → {(language, stop ids) → filter}; weak, so a dropped tokenizer takes its entries.
_FILTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def family_filter(
    tokenizer: TokenTexts, language: str, stop_ids: Iterable[int] = ()
) -> FamilyFilter:
    """The filter for `tokenizer` and `language`, built on first use and kept."""
    key = (language, frozenset(stop_ids))
    known = _FILTERS.setdefault(tokenizer, {})
    if key not in known:
        known[key] = FamilyFilter(tokenizer, language, key[1])
    return known[key]
