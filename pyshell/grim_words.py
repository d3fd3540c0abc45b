"""Grim words: dying, killing, blood, grown-up life, threats. Not banned, but a gentle story
avoids them where it can.

Readers of the blind readings flag a story with a flat killing or a dead friend as
unsuitable for a child ("the thief was killed", "après avoir été tué"), yet the
family-safe lists (pyshell/family_safe.py) leave such words alone on purpose: a
fairy-tale death is part of many good stories. Banning them while sampling was
measured and lost (docs/stories.md, "No killing"): taking the tokens out of every
step's candidates moved every later draw, and the stories it only moved, with no
killing to catch, read worse.

So this list does not ban anything. Best-of (pyshell/best_of.py) draws two sentences
at each sentence start; with `StoryPolicy.grim` set, a drawn sentence that holds a
grim word is passed over for one that does not, and the likelier one is kept as
before when both or neither do. A story changes only where the model drew such a
sentence, and it still speaks of death when every sentence drawn there does.

The lists, pyshell/data/grim_words/en.txt and fr.txt, use the family-safe format and
matcher (whole words, case-folded, every inflection written out). Pregnancies, lovers
and threats came in later, for the same reason (docs/stories.md, "Grown-up words and
threats").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyshell.family_safe import WordMatcher, read_word_list

__all__ = ["grim_matcher", "grim_words"]

DATA = Path(__file__).resolve().parent / "data" / "grim_words"


@cache
def grim_matcher(language: str) -> WordMatcher:
    """The matcher of `language`'s grim words ("en" or "fr"), read once."""
    return WordMatcher(read_word_list(DATA, language, "grim word"))


def grim_words(text: str, matcher: WordMatcher) -> list[str]:
    """The grim words `text` holds as whole words, in order of their end (with repeats)."""
    return matcher.words_in(text)
