"""Sentences that echo the story: what an earlier sentence said, one word changed.

A small model that runs out of story falls into a chant: "He loved her better. She
loved him better. He loved her more." The phrase guard (pyshell/phrase_guard.py) stops
a four-word phrase the third time, so the chant changes one word and goes on; readers
call it a loop all the same. A sentence echoes the story when an earlier sentence of
at least MIN_WORDS words reads the same with at most one word swapped, added or left
out (case and punctuation aside). A story may echo itself once (a refrain, "It belongs
to me!" said twice); best-of (pyshell/best_of.py, `StoryPolicy.echo_ends`) passes over
a drawn sentence that would echo it again, and ends the story before such a sentence
when every one drawn would.
"""

from __future__ import annotations

import re

__all__ = ["MIN_WORDS", "echo_count", "echoes_again"]

MIN_WORDS = 4  # "said the zombie" and "Oui, maman." may come back as often as they like
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A sentence ends at . ! ? … (closing quotes after it stay with it) or a line break.
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")


def _sentences(text: str) -> list[tuple[str, ...]]:
    """The text's sentences as lower-case words, those of MIN_WORDS words or more."""
    found = []
    for part in _SENTENCE.findall(text):
        words = tuple(w.lower() for w in _WORD.findall(part))
        if len(words) >= MIN_WORDS:
            found.append(words)
    return found


def _one_word_apart(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """At most one word swapped, added or left out."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    return any(a == b[:k] + b[k + 1 :] for k in range(len(b)))


def echo_count(text: str) -> int:
    """How many of the text's sentences echo an earlier one."""
    earlier: list[tuple[str, ...]] = []
    count = 0
    for sentence in _sentences(text):
        if any(_one_word_apart(sentence, before) for before in earlier):
            count += 1
        earlier.append(sentence)
    return count


def echoes_again(story: str, added: str, before: int | None = None) -> bool:
    """Whether `added` brings the story a new echo when it already holds one or more;
    `before`: the story's own `echo_count`, when the caller has it (best-of asks for
    every sentence it draws from the same story)."""
    if before is None:
        before = echo_count(story)
    return before >= 1 and echo_count(story + added) > before
