"""Where a sentence ends, in English and French story text.

Two readers of one rule: the story policy (pyshell/story_policy.py) stops a
story only once a sentence is over, and the evaluation (pyshell/story_measures.py)
checks that the text on the screen ends that way. Keeping the rule here means
the generator and its judge can never disagree about what "the end of a
sentence" is.

A sentence ends with . ! ? or …, optionally followed by closing quotes or
brackets (", ”, », ’, ), ]) and spaces, as in `He left.`, `"Go!"` or the
French `« Viens ! »`. A full stop after a common abbreviation (Mr., Mme) is not
an end. A sentence inside a quotation that is still open (`She said: “I am
old.`) ends the sentence but not the speech: a story should not stop there.
"""

from __future__ import annotations

import re

__all__ = ["QuoteTracker", "ends_sentence", "is_sentence_end_token", "quote_open"]

TERMINALS = ".!?…"
CLOSERS = "\"”’'»)]"
# Terminal punctuation, then closers and spaces (a no-break space before » in French).
_END = re.compile(f"[{re.escape(TERMINALS)}][{re.escape(CLOSERS)}\\s]*$")
# A token that is nothing but a sentence end: ".", "!\n", '."', "?»", "…".
_END_TOKEN = re.compile(f"\\s*[{re.escape(TERMINALS)}]+[{re.escape(CLOSERS)}\\s]*")
_LAST_WORD = re.compile(r"(\w+)\.[\s" + re.escape(CLOSERS) + r"]*$")
ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "mt", "m", "mme", "mlle", "mgr", "vs"})


def ends_sentence(text: str) -> bool:
    """True when `text` stops right after a finished sentence (trailing spaces allowed)."""
    if not _END.search(text):
        return False
    word = _LAST_WORD.search(text)
    return not (word and word.group(1).lower() in ABBREVIATIONS)


class QuoteTracker:
    """Follows quotation marks through streamed text: is a quotation open now?

    Curly quotes and guillemets nest (“ ” « »); straight double quotes toggle.
    Single quotes are left out: ' and ’ are apostrophes far more often.
    """

    def __init__(self) -> None:
        self.depth = 0  # open “ or « not closed yet
        self.straight = False  # an odd number of " so far

    def push(self, text: str) -> None:
        for c in text:
            if c in "“«":
                self.depth += 1
            elif c in "”»":
                self.depth = max(0, self.depth - 1)
            elif c == '"':
                self.straight = not self.straight

    @property
    def open(self) -> bool:
        return self.depth > 0 or self.straight


def quote_open(text: str) -> bool:
    """True when `text` ends inside a quotation (see QuoteTracker)."""
    tracker = QuoteTracker()
    tracker.push(text)
    return tracker.open


def is_sentence_end_token(text: str) -> bool:
    """True for a token whose whole text closes a sentence ("." "?»" '!"\\n')."""
    return _END_TOKEN.fullmatch(text) is not None
