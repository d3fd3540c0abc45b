"""The ids of personal pronouns and possessives, which the repetition penalty may leave alone.

The repetition penalty (pyshell/sampler.py) lowers every token the story has
already used. A story says "he" or "elle" about its hero again and again, so
the penalty keeps pushing the model towards the other pronoun: one way the
robot becomes "she" halfway through. `pronoun_ids` lists the pieces that are a
pronoun or possessive of English or French (with or without the leading space,
any case), so the story policy can keep them out of the penalty
(`StoryPolicy.unpenalized`); docs/stories.md measures whether that helps.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["PRONOUNS", "pronoun_ids"]

# fmt: off
PRONOUNS = frozenset({
    "he", "she", "it", "they", "him", "her", "his", "hers", "its", "them", "their", "theirs",
    "himself", "herself", "itself", "themselves",
    "il", "elle", "ils", "elles", "lui", "leur", "leurs", "son", "sa", "ses", "se", "eux",
})
# fmt: on


class Encoder(Protocol):
    def encode(self, text: str, add_bos: bool = False) -> list[int]: ...


def pronoun_ids(tokenizer: Encoder) -> frozenset[int]:
    """Ids of the single pieces that spell a pronoun of PRONOUNS, with or without a
    leading space, in lower case, capitalised or upper case ("▁he", "He", "▁Elle").

    Encoding the ~170 spellings is far cheaper than a pass over 262,144 pieces,
    which matters in the page (Pyodide)."""
    found = set()
    for word in PRONOUNS:
        for form in (word, word.capitalize(), word.upper()):
            for text in (form, " " + form):
                ids = tokenizer.encode(text)
                if len(ids) == 1:
                    found.add(ids[0])
    return frozenset(found)
