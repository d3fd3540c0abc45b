"""A short children's story the model reads before the reader's: what a story here looks like.

A pretrained model continues whatever it has just read. After a web page it
writes a web page; after one short, simple bedtime story that keeps its hero,
stays on its plot and ends with "The end.", it is more likely to write another
such story. The exemplar is the same for every request of a language, so the
runner computes its KV cache once per page session and resets to it before
each story (`reset_to_prefix`, docs/architecture.md): after the first story it
costs no prefill. Its length is bounded by that first prefill: about 120 tokens
cost about 1 s on the page's WASM backend (about 125 tokens/s, bench/RESULTS.md).

The exemplar's heading and opening follow the reader's template
(pyshell/prompts.py: heading, blank line, "Once upon a time, in …, there lived …
The bear …"), and it ends with the closing line the story policy stops at
(pyshell/story_breaks.py: "The end.", "Fin."), then a blank line before the
reader's heading. docs/stories.md measures it against no exemplar.
"""

from __future__ import annotations

from pyshell.prompts import FRAMES

__all__ = ["EXEMPLARS", "EXEMPLAR_WORDS", "exemplar_prefix", "words_to_avoid"]

# One story per language: the same hero (a little bear, "he"), named the same way
# throughout, one small problem, one kind act, a quiet ending. Plain words only.
_STORIES = {
    "en": (
        "Once upon a time, in a quiet forest, there lived a little bear. The bear loved to "
        "look at the stars. One night, he saw a small star fall behind the hill. The bear "
        "walked up the hill and found the star in the grass. It was cold and scared. The bear "
        "held it gently and climbed the tallest tree. He lifted the star up high, and it flew "
        "back into the sky. The little bear went home, yawned and fell asleep."
    ),
    "fr": (
        "Il était une fois, dans une forêt tranquille, un petit ours. L'ours aimait regarder "
        "les étoiles. Un soir, il vit une petite étoile tomber derrière la colline. L'ours "
        "monta la colline et trouva l'étoile dans l'herbe. Elle avait froid et peur. L'ours "
        "la prit doucement et grimpa dans le grand arbre. Il la leva très haut, et elle "
        "remonta au ciel. Le petit ours rentra chez lui, bâilla et s'endormit."
    ),
}
_HEADINGS = {
    ("en", "plain"): "A gentle story about a little bear and a lost star.",
    ("en", "bedtime"): "A gentle bedtime story for children about a little bear and a lost star.",
    ("fr", "plain"): "Une histoire douce sur un petit ours et une étoile perdue.",
    ("fr", "bedtime"): (
        "Une histoire douce pour enfants, à lire le soir, sur un petit ours et une étoile perdue."
    ),
}
_CLOSINGS = {"en": "The end.", "fr": "Fin."}
EXEMPLARS = {
    (language, frame): f"{_HEADINGS[language, frame]}\n\n{story}\n\n{_CLOSINGS[language]}\n\n"
    for language, story in _STORIES.items()
    for frame in FRAMES
}


def exemplar_prefix(language: str, frame: str) -> str:
    """The exemplar story the reader's story follows, in the reader's language and the
    prompt's frame, ending with a blank line."""
    return EXEMPLARS[language, frame]


# The exemplar's own characters and things. A small model copies what it has just
# read: without a rule, the little bear and the star walk into the reader's story
# (docs/stories.md). The story policy drops them (StoryPolicy.avoid) unless the
# reader's request names them.
EXEMPLAR_WORDS = {
    "en": ("bear", "bears", "star", "stars", "lantern"),
    "fr": ("ours", "étoile", "étoiles", "lanterne"),
}


def words_to_avoid(language: str, request_text: str) -> tuple[str, ...]:
    """The exemplar's words the story should not use: those the request does not name
    (in the singular or the plural: "a bear" keeps "bear" and "bears")."""
    asked = request_text.lower()
    return tuple(w for w in EXEMPLAR_WORDS.get(language, ()) if w.rstrip("s") not in asked)
