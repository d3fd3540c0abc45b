"""Where a story breaks out of itself: a new story, an author's note, an advert, a date, a link.

A pretrained model has read more web pages than storybooks, so after a few
paragraphs it often leaves the story it was writing: it starts another one
("Once upon a time" again), writes "The end" and goes on, adds an author's
note, a copyright line, a "posted on" date or a link. Two readers of one rule,
as with pyshell/sentences.py: the evaluation (pyshell/story_measures.py)
counts break-outs in finished stories, and the story policy
(pyshell/story_policy.py) steers away from those it can see coming, or ends the story where
they would start, while it is written.

Token by token the policy can only judge what the next piece would start, so
this module also says which piece texts open a break line at the start of a
paragraph (`opens_break_line`) and which words close a story (`CLOSINGS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pyshell.sentences import ends_sentence

__all__ = [
    "BREAK_KINDS",
    "CLOSINGS",
    "NEW_STORY",
    "BreakGuard",
    "break_outs",
    "closes_story",
    "opens_break_line",
]

BREAK_KINDS = ("new story", "after the end", "note", "link", "date", "about the story")

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
# The text talks about itself as a book or a story for readers: a blurb, a review, an essay.
_ABOUT_THE_STORY = re.compile(
    r"\b(?:this|these|our|my) (?:story|stories|tale|tales)\b|\bbedtime stor(?:y|ies)\b"
    r"|\b(?:this|my|our) book (?:is|was|will|has|makes|would)\b"
    r"|\b(?:love|loved|enjoy|enjoyed|read) this book\b"
    r"|\b(?:young|our|my) readers\b|\bread(?:ing)?[ -]aloud\b|\bfor kids\b"
    r"|\b(?:cette|ces) histoires?\b|\b(?:ce|mon|notre) (?:livre|conte) (?:est|était|sera|a)\b"
    r"|\b(?:jeunes|nos|mes|les) lecteurs\b|\bhistoires? du soir\b",
    re.IGNORECASE,
)


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
    if _ABOUT_THE_STORY.search(text):
        found.append("about the story")
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


# A paragraph that leaves the story: another story's heading, thanks, the author speaking.
_LEAVING_PARAGRAPH = re.compile(
    r"^\W*(?:(?:(?:this|it) is |it's |c'est |voici )?(?:an?|the|une?|la|le|l')\b"
    r"[^\n.!?]{0,60}\b(?:story|stories|tale|book"
    r"|histoire|conte|livre)\b"
    r"|(?:thanks|thank you|merci)\b|i (?:hope|chose|wrote|loved)\b|j'(?:espère|ai écrit)\b)",
    re.IGNORECASE,
)


def breaks_paragraph(text: str) -> bool:
    """Does a paragraph that starts with `text` (its first sentence) leave the story?
    A break-out of any kind, another story's heading ("A gentle story about …",
    "The story ended here."), thanks, or the author speaking ("I hope …")."""
    return bool(break_outs(text)) or _LEAVING_PARAGRAPH.search(text.lstrip()) is not None


# --- while the story is written ------------------------------------------------------------

# What the story should do with the text just written (Steering.push → generate):
HOLD = "hold"  # keep it back from the reader until the paragraph's first sentence is judged
RELEASE = "release"  # show it, with everything held back
CUT = "cut"  # the held-back paragraph leaves the story: end the story before it
HOLD_TOKENS = 32  # a paragraph's first sentence is judged after at most this many tokens

TAIL_CHARS = 32  # text kept to recognise a formula's first words at a sentence start
_SENTENCE_START = r"(?:^|[.!?…»”\"]\s+|\n\s*)"
# (words just written at a sentence start, the next word that would complete the formula)
_NEW_STORY_LEADS = [
    (re.compile(_SENTENCE_START + re.escape(lead) + "$"), nxt) for lead, nxt in NEW_STORY.values()
]
_CLOSING_LEADS = [
    (re.compile(_SENTENCE_START + "The$"), "end"),
    (re.compile(_SENTENCE_START + "THE$"), "end"),
]
_ANYWHERE = ("http", "www", "©")  # a link or a copyright sign never belongs in a story


class BreakGuard:
    """One story's break-out rule, token by token (pyshell/story_policy.py asks it).

    - "Once upon" / "Il était une fois" inside the story would start a new one:
      once its first words are written at a sentence start, the word that
      completes the formula is dropped ("Once" goes on as "Once the sun rose").
    - A link or a copyright sign is dropped anywhere.
    - At the start of a paragraph, a token that opens a note, credit, link or
      date line (`opens_break_line`) ends the story there, after its last
      finished sentence; before `min_length` it is dropped instead, so the story
      goes on.
    - A closing line ("The end.", "Fin.") ends the story once written; before
      `min_length` its words are dropped at a sentence start.
    - Past `min_length`, with `hold` on, the first sentence of every new paragraph
      is held back from the reader (`push` answers HOLD) until it ends; if it
      leaves the story (`breaks_paragraph`: a blurb, another story's heading,
      a note) the story ends before it (CUT), else it is shown (RELEASE). The
      model has read the held tokens, but nothing follows them, so nothing is
      trimmed from what the reader saw.
    """

    def __init__(self, language: str, token_text: Callable[[int], str], hold: bool = False) -> None:
        self.language = language
        self._text = token_text
        self._tail = ""
        self._started = False
        self._hold = hold
        self._held: str | None = None  # the paragraph start held back, if any
        self._held_tokens = 0
        # token -> (its word, a link or ©); copies (copy.copy) share it: it never changes
        self._words: dict[int, tuple[str, bool]] = {}

    def _paragraph_start(self, quote_open: bool) -> bool:
        body = self._tail.rstrip(" ")
        return (
            not quote_open
            and self._started
            and body.endswith("\n")
            and ends_sentence(body.rstrip())
        )

    def drop(self, ids: list[int], before_min: bool, quote_open: bool) -> set[int]:
        """The candidates this step may not take."""
        words = {}
        dropped = set()
        for i in ids:
            word, anywhere = self._word(i)
            words[i] = word
            if anywhere:
                dropped.add(i)
        for lead, nxt in _NEW_STORY_LEADS:
            if lead.search(self._tail):
                dropped.update(i for i in ids if words[i] == nxt)
        if before_min:
            for lead, nxt in _CLOSING_LEADS:
                if lead.search(self._tail):
                    dropped.update(i for i in ids if words[i] == nxt)
            at_start = not self._started or ends_sentence(self._tail.rstrip())
            if at_start and not quote_open:
                closings = {c.lower() for c in CLOSINGS.get(self.language, ()) if " " not in c}
                dropped.update(i for i in ids if words[i].rstrip(".!") in closings)
            if self._paragraph_start(quote_open):
                dropped.update(i for i in ids if opens_break_line(self._text(i)))
        return dropped

    def _word(self, i: int) -> tuple[str, bool]:
        """Token `i`'s word (stripped, lower case) and whether it holds a link or ©.

        Kept per token: a story's candidates are mostly the same few hundred tokens,
        and reading 64 of them afresh at every step was half of the story rules' time."""
        known = self._words.get(i)
        if known is None:
            text = self._text(i).lower()
            known = self._words[i] = (text.strip(), any(s in text for s in _ANYWHERE))
        return known

    def ends_before(self, token: int, before_min: bool, quote_open: bool) -> bool:
        """Stop instead of adding `token`: the story has closed, or `token` would open a
        break line at a paragraph start (never before `min_length`)."""
        if before_min:
            return False
        text = self._text(token)
        if closes_story(self._tail, self.language):
            return text[:1].isspace() or self._tail.rstrip()[-1:] in ".!…"
        return self._paragraph_start(quote_open) and opens_break_line(text)

    def push(self, text: str, before_min: bool = False, quote_open: bool = False) -> str | None:
        """Record the text the story just wrote; HOLD, RELEASE, CUT, or None (show it)."""
        at_paragraph = self._hold and not before_min and self._paragraph_start(quote_open)
        self._tail = (self._tail + text)[-TAIL_CHARS:]
        self._started = self._started or bool(text.strip())
        if self._held is None:
            if not at_paragraph or not text.strip():  # blank lines are no paragraph yet
                return None
            self._held, self._held_tokens = "", 0
        self._held += text
        self._held_tokens += 1
        body = self._held.lstrip(" \n")
        if ends_sentence(body.rstrip()) or "\n" in body or self._held_tokens >= HOLD_TOKENS:
            return self.judge()
        return HOLD

    def judge(self) -> str:
        """The verdict on the paragraph start held back now (RELEASE when none is)."""
        held, self._held = self._held, None
        return CUT if held is not None and breaks_paragraph(held) else RELEASE
