"""Where a story breaks out of itself: a new story, an author's note, an advert, a date, a link.

A pretrained model has read more web pages than storybooks, so after a few
paragraphs it often leaves the story it was writing: it starts another one
("Once upon a time" again), writes "The end" and goes on, adds an author's
note, a copyright line, a "posted on" date or a link. Two readers of one rule,
as with pyshell/sentences.py: the evaluation (pyshell/story_measures.py)
counts break-outs in finished stories, and the story policy
(pyshell/story_policy.py) steers away from them, or ends the story where
they would start, while it is written.

Token by token the policy can only judge what the next piece would start, so
this module also says which piece texts open a break line at the start of a
paragraph (`opens_break_line`) and which words close a story (`CLOSINGS`).
"""

from __future__ import annotations

import re

__all__ = [
    "BREAK_KINDS",
    "CLOSINGS",
    "NEW_STORY",
    "break_outs",
    "closes_story",
    "opens_break_line",
]

BREAK_KINDS = ("new story", "after the end", "note", "link", "date")

# The formula that opens a story; inside the story it can only start another one.
NEW_STORY = {"en": ("Once", "upon"), "fr": ("Il était une", "fois")}
_NEW_STORY = re.compile(r"\b(?:once upon a time|il était une fois)\b", re.IGNORECASE)

# "The end" or "Fin" as a line or sentence of its own, then more words.
CLOSINGS = {"en": ("The end", "THE END", "The End"), "fr": ("Fin", "FIN")}
_CLOSING = r"(?:the end|fin)"
_AFTER_THE_END = re.compile(
    rf"(?:^|[\n.!?…]\s*)\W*{_CLOSING}\s*[.!…]*\s*(?:\n|$|[.!…]\s)(?=[\s\S]*\w)",
    re.IGNORECASE,
)

# The first word(s) of a line that is not the story: notes, credits, web-page furniture.
# fmt: off
_NOTE_STARTS = (
    "note", "notes", "n.b", "p.s", "ps", "author's note", "editor's note", "about the author",
    "disclaimer", "copyright", "all rights reserved", "advertisement", "sponsored", "posted",
    "published", "subscribe", "click", "read more", "share", "related", "source", "sources",
    "photo", "image", "credits", "tags", "comments", "references", "keywords", "edit",
    "update", "written by", "illustrated by", "translated by",
    "note de l'auteur", "à propos de l'auteur", "droits réservés", "tous droits réservés",
    "publié", "publiée", "abonnez-vous", "cliquez", "lire aussi", "lire la suite",
    "partager", "partagez", "crédit", "crédits", "commentaires", "mots-clés", "auteur",
    "écrit par", "illustré par", "traduit par",
)
# fmt: on
_NOTE_LINE = re.compile(
    r"(?:^|\n)[ \t*#>_\-–—(\[]*(?:"
    + "|".join(re.escape(s) for s in sorted(_NOTE_STARTS, key=len, reverse=True))
    + r")\b|©|\ball rights reserved\b",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?:|\bwww\.|\b\w+\.(?:com|org|net|fr|html?)\b|@\w", re.IGNORECASE)
# fmt: off
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
)
# fmt: on
_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d)\b"  # a year
    rf"|\b(?:{_MONTHS})\s+\d{{1,2}}\b|\b\d{{1,2}}(?:er)?\s+(?:{_MONTHS})\b"  # June 3, 3 juin
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b",  # 12/05/2019
    re.IGNORECASE,
)
# "may" and "march" are verbs too: a month only counts next to a day number (above).


def break_outs(text: str) -> list[str]:
    """The kinds of break-out (BREAK_KINDS) found in a story's generated text, in that order.

    The text is what the model wrote after the prompt, so the story's own
    opening formula is not in it: any "Once upon a time" in it starts a new story.
    """
    found = []
    if _NEW_STORY.search(text):
        found.append("new story")
    if _AFTER_THE_END.search(text):
        found.append("after the end")
    if _NOTE_LINE.search(text):
        found.append("note")
    if _LINK.search(text):
        found.append("link")
    if _DATE.search(text):
        found.append("date")
    return found


_NOTE_WORDS = frozenset(s for s in _NOTE_STARTS if " " not in s and "." not in s)


def opens_break_line(piece: str) -> bool:
    """Would a token with this text, at the start of a paragraph, open a note, a credit,
    a link or a date line? ("Note", "Copyright", "©", "http", "www", a digit)"""
    word = piece.strip()
    if not word:
        return False
    if word[0].isdigit() or word[0] in "©@" or word.lower().startswith(("http", "www")):
        return True
    return word.lower().rstrip(":") in _NOTE_WORDS


def closes_story(text: str, language: str) -> bool:
    """Does `text` end with the language's closing line ("The end.", "Fin.") on a line
    or sentence of its own?"""
    tail = text.rstrip().rstrip(".!…*_").rstrip()
    for closing in CLOSINGS.get(language, ()):
        if tail.endswith(closing):
            before = tail[: -len(closing)].rstrip(" \t*_")
            if not before or before[-1] in '\n.!?…»”"':
                return True
    return False
