"""Story beats: the words that open the middle and the end of a story, written by the story itself.

A pretrained model keeps a story going but rarely gives it a shape: nothing happens
past the opening, or the story drifts and stops where the budget runs out. A
children's story has a known shape (an opening, "One day," something happens, "In
the end," it is resolved), and a model that reads such words goes on in that shape.
So at a sentence start outside quotation marks, once the story has used a beat's
share of its budget, best-of (pyshell/best_of.py) writes the beat's words as a new
paragraph and draws the sentence that completes it.

A beat the story already took in its own words, a sentence that opens with "One
morning" or "Finally", is skipped: the story has that turn already. Nothing here bans
a token; the story's steering (family-safe filter, guards) reads a beat's tokens as
the story's own. Which beats, and why these: docs/stories.md, "Story beats".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BEATS", "Beat", "beat_text", "next_beat"]


@dataclass(frozen=True)
class Beat:
    """A paragraph opening written once the story has used `share` of its budget."""

    share: float  # of the story's budget, 0 < share < 1
    words: str  # what the story writes ("One day,")
    already: tuple[str, ...]  # lower-case sentence openings: the story took this turn itself

    def taken(self, story: str) -> bool:
        """Whether a sentence of the story opens with this turn in its own words."""
        text = story.lower()
        return any(re.search(_OPENS + re.escape(phrase) + r"\b", text) for phrase in self.already)


BEATS: dict[str, tuple[Beat, ...]] = {
    "en": (
        Beat(0.3, "One day,", ("one day", "one morning", "one night", "one evening")),
        Beat(0.75, "In the end,", ("in the end", "finally", "at last", "from that day")),
    ),
    "fr": (
        Beat(0.3, "Un jour,", ("un jour", "un matin", "un soir", "une nuit")),
        Beat(0.75, "À la fin,", ("à la fin", "finalement", "enfin", "depuis ce jour")),
    ),
}

# Where a sentence opens: the story's start, a line break, or a sentence's end, then
# perhaps an opening quotation mark.
_OPENS = r"(?:^|\n|[.!?…][\"”»]?\s+)[\"“«]?\s*"
MIN_ROOM = 24  # tokens the story must have left after a beat's words to complete it


def next_beat(
    beats: tuple[Beat, ...], done: int, written: int, budget: int, story: str
) -> tuple[int, Beat | None]:
    """After `done` beats, with `written` of `budget` tokens: (beats now done, the beat to
    write now or None). Beats the story took in its own words count as done."""
    while done < len(beats) and written >= beats[done].share * budget:
        beat = beats[done]
        done += 1
        if not beat.taken(story) and written + MIN_ROOM <= budget:
            return done, beat
    return done, None


def beat_text(beat: Beat, story: str, character: str = "") -> str:
    """The beat's words as a new paragraph after `story`, followed by the story's
    `character` as the request names it inside a sentence ("One day, the dragon")."""
    words = f"{beat.words} {character}" if character else beat.words
    if story.endswith("\n\n"):
        return words
    return ("\n" if story.endswith("\n") else "\n\n") + words
