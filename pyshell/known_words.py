"""Known words only: a French story writes words of French, not forms it makes up.

Two rules read the list. The token rule below (`WordGuard` in the story's steering)
was measured and not kept (docs/stories.md, "French: known words only"): it took the
made-up words out of 50 French stories, and blind readers preferred the stories
written without it. It stays an option of the evaluation (`--known-words`). Best-of
(pyshell/best_of.py, `StoryPolicy.prefer_known`, on in French) uses the same guard on
whole sentences instead: of two drawn sentences, it keeps one whose words are all
known over one that makes a word up, and nothing is dropped inside a sentence
(docs/stories.md, "French: known words preferred"). So the page's wheel carries the
French list, and reads it when a French story first needs it.

The pretrained model, steered away from a repeat or a listed word, often answers
with a form that is no word at all ("plassaent", "plivent", "jebonach"): 0.44 % of
the French held-out stories' words under the story style (docs/stories.md).
This rule, applied while sampling like the family-safe filter, drops every
candidate token that would write such a form, whenever another candidate is left:

- a word is a run of letters (combining accents included: the model sometimes
  writes "é" as "e" and U+0301, which must not split "immaturéées" into known
  bits); apostrophes and hyphens split it into parts checked one by one
  ("l'ours": l, ours; "peut-être": peut, être), as the made-up-word measure's
  lexicon does;
- a part the token finishes (a space, a mark or another non-letter comes after it)
  must be a form of the language's word list (pyshell/data/known_words/LANG.txt,
  built by export/tools/build_word_list.py); a part it leaves open must begin one;
- a capitalised word is free: a story may name anyone, and may open a sentence with
  a new name ("Zorbul courut"), which the made-up-word measure would ask its
  lexicon about; so are the words of the reader's request.

Checking is lower case, in Unicode's composed form (NFC), the list's. Everything is
plain Python over a sorted list (bisect), so the page (Pyodide) and CPython drop the
same candidates.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["KnownWords", "WordGuard", "known_words"]

DATA = Path(__file__).resolve().parent / "data" / "known_words"
LANGUAGES = ("fr",)
_SPLIT = re.compile(r"[^\w]|[\d_]")


def is_letter(c: str) -> bool:
    """A letter, or an accent that combines with the letter before it."""
    return c.isalpha() or unicodedata.combining(c) > 0


def form_of(part: str) -> str:
    """How a word part is looked up: lower case, accents composed (NFC)."""
    return unicodedata.normalize("NFC", part.lower())


class SortedForms:
    """Sorted forms held as one UTF-8 buffer, one form a line, and where each line
    starts: about 4 MB for the 304,698 French forms, where a list of Python strings
    would take some 12 MB of the page's Python heap. UTF-8 bytes sort as code points
    do, so `bisect` finds a form's place as in the sorted list of strings."""

    def __init__(self, lines: bytes) -> None:
        self._lines = lines if lines.endswith(b"\n") or not lines else lines + b"\n"
        starts = array("I", [0])
        starts.extend(m.end() for m in re.finditer(b"\n", self._lines))
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> bytes:
        return self._lines[self._starts[i] : self._starts[i + 1] - 1]


class KnownWords:
    """A language's forms, sorted: is a form listed, does a listed form begin so?

    `forms` is a list, or a callable that returns the sorted forms as UTF-8 lines on
    first use (the page then reads the file when a French story first asks, not at
    every start). Answers are remembered (a story asks about the same few thousand
    strings again and again; 64 candidates a step), up to REMEMBERED of them."""

    REMEMBERED = 20_000

    def __init__(self, forms: Iterable[str] | Callable[[], bytes]) -> None:
        self._read = forms if callable(forms) else None
        self._sorted = None
        if not callable(forms):
            self._sorted = SortedForms("".join(f"{w}\n" for w in sorted(set(forms))).encode())
        self._answers: dict[str, bool] = {}  # "=" + form: knows; "<" + start: begins
        self.allowed: dict[tuple, bool] = {}  # WordGuard.allows, for any story

    @property
    def _forms(self) -> SortedForms:
        if self._sorted is None:
            assert self._read is not None
            self._sorted = SortedForms(self._read())
        return self._sorted

    def __len__(self) -> int:
        return len(self._forms)

    def knows(self, form: str) -> bool:
        return self._answer("=", form)

    def begins(self, start: str) -> bool:
        return self._answer("<", start)

    def _answer(self, kind: str, text: str) -> bool:
        key = kind + text
        known = self._answers.get(key)
        if known is None:
            forms, wanted = self._forms, text.encode()
            i = bisect_left(forms, wanted)
            found = i < len(forms) and (
                forms[i] == wanted if kind == "=" else forms[i].startswith(wanted)
            )
            if len(self._answers) >= self.REMEMBERED:
                self._answers.clear()
            known = self._answers[key] = found
        return known


@cache
def known_words(language: str) -> KnownWords:
    """The committed word list of `language`, read once."""
    if language not in LANGUAGES:
        raise ValueError(f"no known-word list for language {language!r}")
    path = DATA / f"{language}.txt"
    # One sorted form a line (export/tools/build_word_list.py; tests check the order).
    return KnownWords(path.read_bytes)


@dataclass
class WordGuard:
    """One story's reading position for the rule.

    `part`: the letters written since the last non-letter; `checked`: whether that
    part is held to the list (not in a name); `joined`: an apostrophe or hyphen just
    followed a part, so a letter now continues the same word; `own`: the words of the
    story's prompt (the reader's request), known whatever the list says."""

    words: KnownWords
    part: str = ""
    checked: bool = True
    joined: bool = False
    own: frozenset[str] = frozenset()

    def read_prompt(self, prompt: str) -> None:
        """Know the prompt's words (a character called "zorbul" is the story's to
        write), then read its end."""
        self.own = self.own | {
            form_of(p) for p in _SPLIT.split(unicodedata.normalize("NFC", prompt)) if p
        }
        self.follow(prompt[-32:])

    def follow(self, text: str) -> None:
        """Read `text` (the prompt's end, then the text each token showed: a character
        written in several byte tokens arrives whole, with its last byte)."""
        self._walk(text, record=True)

    def allows(self, text: str) -> bool:
        """Whether writing `text` next keeps every part it finishes a known form and
        the part it leaves open the start of one.

        Answers are remembered by the open part, its flags, the story's own words and
        `text`: the same part meets the same candidates again and again (up to the
        word list's `REMEMBERED` answers)."""
        key = (self.part, self.checked, self.joined, self.own, text)
        known = self.words.allowed.get(key)
        if known is None:
            if len(self.words.allowed) >= KnownWords.REMEMBERED:
                self.words.allowed.clear()
            known = self.words.allowed[key] = self._walk(text, record=False)
        return known

    def _walk(self, text: str, record: bool) -> bool:
        part, checked, joined = self.part, self.checked, self.joined
        if part and checked and not self._begins(form_of(part)):
            # Lost already (every candidate was unknown, or the prompt ended so):
            # the part may only end, and ending it is then allowed.
            if not record and (not text or is_letter(text[0])):
                return False
            checked = False
        elif not text:
            # No text of its own: a control token, or the first bytes of a character
            # the next token completes; neither may cut or stretch an open part.
            return not (part and checked)
        ok = True
        for c in text:
            if is_letter(c):
                if not part and not joined:  # a new word: a capital makes it a name
                    checked = not c.isupper()
                part += c
            else:
                if part and checked and not self._knows(form_of(part)):
                    if not record:
                        return False
                    ok = False
                joined = bool(part) and c in "'’-"
                if not joined:
                    checked = True
                part = ""
        if part and checked and not self._begins(form_of(part)):
            ok = False
        if record:
            self.part, self.checked, self.joined = part, checked, joined
        return ok

    def _knows(self, form: str) -> bool:
        return form in self.own or self.words.knows(form)

    def _begins(self, start: str) -> bool:
        return self.words.begins(start) or any(n.startswith(start) for n in self.own)
