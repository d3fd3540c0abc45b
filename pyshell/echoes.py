"""Sentences that echo the story: what an earlier sentence said, one word changed.

A small model that runs out of story falls into a chant: "He loved her better. She
loved him better. He loved her more." The phrase guard (pyshell/phrase_guard.py) stops
a four-word phrase the third time, so the chant changes one word and goes on; readers
call it a loop all the same. A sentence echoes the story when an earlier sentence of
at least MIN_WORDS words reads the same with at most one word swapped, added or left
out (case and punctuation aside). A story may echo itself once (a refrain, "It belongs
to me!" said twice); best-of (pyshell/best_of.py, `StoryPolicy.echo_ends`) passes over
a drawn sentence that would echo it again, and ends the story before such a sentence
when every one drawn would. Each sentence is compared with the WINDOW before it, and
best-of reads the story's last TAIL characters: the cost of a drawn sentence stays
bounded however long the story (or a tiny test model's noise) runs.
"""

from __future__ import annotations

import re

__all__ = ["MIN_WORDS", "WINDOW", "echo_count", "holds_echo", "new_echoes"]

MIN_WORDS = 4  # "said the zombie" and "Oui, maman." may come back as often as they like
WINDOW = 24  # a chant is close by: each sentence is compared with the 24 before it
TAIL = 2_000  # characters of the story best-of reads: a bounded cost, however long the story
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A sentence ends at . ! ? … (closing quotes after it stay with it) or a line break.
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")
_FIRST_END = re.compile(r"[.!?…\n]")


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


def _count(sentences: list[tuple[str, ...]]) -> int:
    return sum(
        any(_one_word_apart(s, before) for before in sentences[max(0, k - WINDOW) : k])
        for k, s in enumerate(sentences)
    )


def echo_count(text: str) -> int:
    """How many of the text's sentences echo one of the WINDOW sentences before them."""
    return _count(_sentences(text))


def _tail(story: str) -> str:
    """The story's last TAIL characters, less the sentence the cut may have split."""
    if len(story) <= TAIL:
        return story
    tail = story[-TAIL:]
    cut = _FIRST_END.search(tail)
    return tail[cut.end() :] if cut else tail


def holds_echo(story: str) -> bool:
    """Whether the end of the story echoes itself (best-of asks at every sentence start
    and remembers a yes: an echo made at the end stays in the story)."""
    return echo_count(_tail(story)) > 0


def new_echoes(story: str, added: str) -> int:
    """The echoes the sentence `added` brings the story, read on its last characters."""
    tail = _tail(story)
    return echo_count(tail + added) - echo_count(tail)
