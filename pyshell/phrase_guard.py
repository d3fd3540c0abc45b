"""No phrase of the story a third time, whatever its case or spacing: the loop guard by words.

The n-gram guard (StoryPolicy.no_repeat_ngram) compares token ids, so "Il y aura
encore" at a sentence start and " il y aura encore" inside one are different
sequences to it, and a four-word phrase slips under a five-token guard. Stories
looped that way ("when she painted her" five times, "she would never forget" four):
a loop, as pyshell/story_measures.py counts one, is a four-word phrase written a
third time.

This guard reads each token as the reader does: its text without the spaces around
it and in lower case, and tokens without a letter or digit (punctuation, line
breaks) left out. A token that would make the last `words` of those a phrase the
story already wrote `repeats` times is dropped from the candidates (never all of
them: StoryPolicy's other repeat rules share that rule, pyshell/story_policy.py).
A word the tokenizer splits counts each of its pieces, so for such words the guard
sees a phrase of fewer words: stricter, never looser, than the measure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_WORDLIKE = re.compile(r"\w")


def fold(text: str) -> str | None:
    """How a token reads in a phrase: lower case, without its spaces; None when it
    holds no letter or digit (it is not part of a phrase)."""
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
        self._keys: list[str] = []  # the story's tokens as fold() reads them, phrase tokens only
        self._seen: dict[tuple[str, ...], dict[str, int]] = {}  # phrase start → {last word: times}

    def copy(self) -> PhraseGuard:
        twin = PhraseGuard(self.words, self.repeats, self._text)
        twin._keys = list(self._keys)
        twin._seen = {start: dict(ends) for start, ends in self._seen.items()}
        return twin

    def push(self, token: int) -> None:
        """Count the token just added to the story."""
        key = fold(self._text(token))
        if key is None:
            return
        self._keys.append(key)
        if len(self._keys) >= self.words:
            *start, last = self._keys[-self.words :]
            ends = self._seen.setdefault(tuple(start), {})
            ends[last] = ends.get(last, 0) + 1

    def repeating(self, ids: list[int]) -> set[int]:
        """The candidates that would write a phrase the story holds `repeats` times."""
        if len(self._keys) < self.words - 1:
            return set()
        ends = self._seen.get(tuple(self._keys[len(self._keys) - (self.words - 1) :]))
        if not ends:
            return set()
        return {i for i in ids if ends.get(fold(self._text(i)) or "", 0) >= self.repeats}
