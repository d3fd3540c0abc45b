"""No phrase of the story a third time, whatever its case or spacing: the loop guard by words.

The n-gram guard (StoryPolicy.no_repeat_ngram) compares token ids, so "Il y aura
encore" at a sentence start and " il y aura encore" inside one are different
sequences to it, and a four-word phrase slips under a five-token guard. Stories
looped that way ("when she painted her" five times, "she would never forget" four):
a loop, as pyshell/story_measures.py counts one, is a four-word phrase written a
third time.

This guard reads the story as the reader does: words in lower case, whatever the
spaces and punctuation between them. It steps in only where a word starts: a
candidate that would start the last word of a phrase the story already wrote
`repeats` times is dropped (never all of them: StoryPolicy's other repeat rules
share that rule, pyshell/story_policy.py). A word's later pieces are never dropped:
cut off inside a word, the model finishes it as a word that does not exist
("ramassar", "ramassemant" instead of a third "ramasser"; docs/stories.md).
The last word is known by its first piece, so a phrase is stopped before any word
starting that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_WORDLIKE = re.compile(r"\w")


def fold(text: str) -> str | None:
    """How a token reads in a phrase: lower case, without its spaces; None when it
    holds no letter or digit (it separates words)."""
    key = text.strip().lower()
    return key if _WORDLIKE.search(key) else None


class PhraseGuard:
    """The phrases one story wrote, counted, and the candidates that would repeat one."""

    def __init__(self, words: int, repeats: int, token_text: Callable[[int], str]) -> None:
        if words < 2 or repeats < 1:
            raise ValueError(
                f"a phrase has at least 2 words and may occur at least once ({words}, {repeats})"
            )
        self.words, self.repeats = words, repeats
        self._text = token_text
        self._finished: list[str] = []  # the story's words so far, folded
        self._current = ""  # the word being written
        self._current_first = ""  # its first piece
        # the phrase's first words → {first piece of its last word: times written}
        self._seen: dict[tuple[str, ...], dict[str, int]] = {}
        # token → (its text, folded): the candidates are mostly the same tokens at every
        # step, so each is read once a story (shared with copies: it never changes)
        self._folded: dict[int, tuple[str, str | None]] = {}

    def copy(self) -> PhraseGuard:
        twin = PhraseGuard(self.words, self.repeats, self._text)
        twin._finished = list(self._finished)
        twin._current, twin._current_first = self._current, self._current_first
        twin._seen = {start: dict(ends) for start, ends in self._seen.items()}
        twin._folded = self._folded
        return twin

    def push(self, token: int) -> None:
        """Follow the token just added to the story."""
        text = self._text(token)
        key = fold(text)
        if key is None or (self._current and text[:1].isspace()):
            self._finish_word()
        if key is not None:
            if not self._current:
                self._current_first = key
            self._current += key

    def repeating(self, ids: list[int]) -> set[int]:
        """The candidates that would start the last word of a phrase the story holds
        `repeats` times."""
        ends = self._seen.get(self._last_words(self.words - 1))
        if not ends:
            return set()
        dropped = set()
        for i in ids:
            text, key = self._read(i)
            starts_word = key is not None and (not self._current or text[:1].isspace())
            if starts_word and ends.get(key, 0) >= self.repeats:
                dropped.add(i)
        return dropped

    def _read(self, token: int) -> tuple[str, str | None]:
        """Token `token`'s text and how it reads in a phrase (`fold`)."""
        known = self._folded.get(token)
        if known is None:
            text = self._text(token)
            known = self._folded[token] = (text, fold(text))
        return known

    def _last_words(self, n: int) -> tuple[str, ...]:
        """The story's last `n` words, the one being written counted as finished
        (fewer when the story holds fewer)."""
        if not self._current:
            return tuple(self._finished[max(0, len(self._finished) - n) :])
        return (*self._finished[max(0, len(self._finished) - n + 1) :], self._current)

    def _finish_word(self) -> None:
        if not self._current:
            return
        first = self._current_first
        self._finished.append(self._current)
        self._current = self._current_first = ""
        if len(self._finished) >= self.words:
            start = tuple(self._finished[-self.words : -1])
            ends = self._seen.setdefault(start, {})
            ends[first] = ends.get(first, 0) + 1
