"""Asides: a sentence in which the narrator speaks as "I" or "we" instead of telling the story.

A pretrained model has read as many reviews, lessons and blog posts as stories, and it
slides into them from inside a story: "Through her story we learn about
perseverance", "It teaches us that we can learn from our mistakes", "Pour l'histoire,
nous avons choisi de dessiner les personnages". Readers score these as the story
leaving itself, like an author's note (pyshell/story_breaks.py catches the notes that
open a paragraph with a formula; these come mid-paragraph, in any words).

Conteur's openings are told in the third person ("Once upon a time … there lived a
robot. The robot"), so a first-person word the narrator says is an aside. What the
characters say is not: words inside quotation marks (pyshell.sentences.QuoteTracker)
are skipped, and so is everything after a colon or an opening ‘ in the sentence,
where a character's words often follow without double quotes ("The king said: My
lord, I am happy"). Best-of (pyshell/best_of.py) keeps a drawn sentence that is not an
aside over one that is; nothing is banned, so a story the model tells in the first
person throughout stays as it is (every sentence drawn is then an "aside").

Off by default (`StoryPolicy.pass_asides`, `python -m pyshell.evaluate --pass-asides`):
read blind, the sentences it chose instead were no better, often another blurb
(docs/stories.md, "Asides: measured, not kept").
"""

from __future__ import annotations

import re

from pyshell.sentences import QuoteTracker

__all__ = ["is_aside", "narrator_words"]

# First-person words, matched as whole words on lower-case text (French elision: j', m').
_FIRST_PERSON = {
    "en": re.compile(
        r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|we've|we'll|we'd|us|our|ours|"
        r"ourselves)\b"
    ),
    "fr": re.compile(r"(?<!\w)(?:(?:je|me|moi|mon|ma|mes|nous|notre|nos)(?!\w)|[jm]')"),
}
_APOSTROPHES = str.maketrans("’ʼ", "''")
_SPEECH_FOLLOWS = ":‘"  # after these, a character's words may follow without quotes


def narrator_words(sentence: str, quoted: bool) -> str:
    """The part of `sentence` the narrator says: outside quotation marks (`quoted`: a
    quotation is open where the sentence starts) and before any colon or opening ‘."""
    tracker = QuoteTracker()
    if quoted:
        tracker.push("“")
    said = []
    for c in sentence:
        if c in _SPEECH_FOLLOWS and not tracker.open:
            break
        was_open = tracker.open
        tracker.push(c)
        if not was_open and not tracker.open:
            said.append(c)
    return "".join(said)


def is_aside(sentence: str, quoted: bool, language: str) -> bool:
    """Does the narrator speak as "I" or "we" in `sentence` (a quotation open at its
    start when `quoted`)?"""
    told = narrator_words(sentence, quoted).lower().translate(_APOSTROPHES)
    return bool(_FIRST_PERSON[language].search(told))
