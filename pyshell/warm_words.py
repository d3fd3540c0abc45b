"""Warm words: friends, a smile, a safe home. What a bedtime story's ending holds.

Readers of the blind readings flag a story whose ending leaves the child afraid ("In
the end, they tried their best to escape but they couldn't"), and many endings the
model draws are flat or sad ("they had not managed to find any fish"). So once a
story has written its end beat ("In the end,": pyshell/story_beats.py), best-of
(pyshell/best_of.py) draws more sentences at each sentence start and, with
`StoryPolicy.warm` set, keeps one that holds a warm word over one that does not; the
likelier one among those is kept as before. Nothing is banned: an ending stays what
the model drew where no sentence drawn holds a warm word.

The lists, pyshell/data/warm_words/en.txt and fr.txt, use the family-safe format and
matcher (whole words, case-folded, every inflection written out).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyshell.family_safe import WordMatcher, read_word_list

__all__ = ["warm_matcher"]

DATA = Path(__file__).resolve().parent / "data" / "warm_words"


@cache
def warm_matcher(language: str) -> WordMatcher:
    """The matcher of `language`'s warm words ("en" or "fr"), read once."""
    return WordMatcher(read_word_list(DATA, language, "warm word"))
