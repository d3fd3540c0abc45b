"""Scores for one generated story that need no other model: what a reader would notice first.

Each measure is a small pure function of the story text (and of the request it
answers), so it can be tested on fixed texts and computed the same way for
every story of the evaluation (pyshell/evaluate.py):
- loops: some word 4-gram occurs 3 or more times ("des moutons, des moutons, …");
- distinct-3: distinct word trigrams / all word trigrams (1.0: no trigram repeats);
- character back: a noun (or name) of the requested character appears in the
  story after the opening the prompt wrote;
- language: the requested language's stop words outnumber the other's;
- sentence end: the text stops after a finished sentence, with no quotation
  left open (pyshell/sentences.py);
- clean: no control token, no HTML tag, no HTML entity anywhere;
- listed: the words of the family-safe list of the story's language it holds
  (pyshell/family_safe.py, the rule the filter enforces while sampling);
- length: generated tokens over the requested budget.

Words are runs of letters and digits (apostrophes inside a word kept: "don't",
"l'amitié" stays one word), lower-cased.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

from pyshell.characters import head_noun, words
from pyshell.family_safe import listed_words
from pyshell.sentences import ends_sentence, quote_open

__all__ = [
    "StoryScore",
    "character_back",
    "character_nouns",
    "distinct_n",
    "has_loop",
    "is_clean",
    "language_of",
    "score_story",
    "words",
]

_WORD = re.compile(r"\w+(?:['’-]\w+)*")  # as pyshell.characters.words, keeping case
_APOSTROPHE = re.compile("['’]")
# A control token (<pad>, <start_of_image>, <unused12>), an HTML tag or an HTML entity.
_MARKUP = re.compile(r"</?[A-Za-z_][^<>\n]{0,80}>|<!--|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")

# Frequent function words that belong to one language only ("a", "on", "est" are in both).
# fmt: off
STOP_WORDS = {
    "en": frozenset({
        "the", "and", "of", "to", "was", "he", "she", "it", "his", "her", "they", "with",
        "that", "had", "were", "is", "for", "but", "not", "what", "this", "there", "from",
        "him", "them", "their", "be", "have", "would", "could", "said", "when", "one",
        "all", "so", "my", "you", "we", "at", "into", "out", "up", "very", "then",
    }),
    "fr": frozenset({
        "le", "la", "les", "et", "des", "du", "un", "une", "il", "elle", "ils", "elles",
        "était", "est", "dans", "pour", "qui", "que", "pas", "avec", "sur", "au", "aux",
        "son", "sa", "ses", "leur", "mais", "ce", "cette", "je", "tu", "nous", "vous",
        "lui", "avait", "fait", "comme", "très", "puis", "alors", "dit", "tout",
    }),
}
# fmt: on


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[k : k + n]) for k in range(len(tokens) - n + 1)]


def has_loop(text: str, n: int = 4, times: int = 3) -> bool:
    """True when some word n-gram occurs `times` times or more."""
    counts = Counter(_ngrams(words(text), n))
    return bool(counts) and max(counts.values()) >= times


def distinct_n(text: str, n: int = 3) -> float:
    """Distinct word n-grams / all word n-grams; 1.0 for a text too short to have any."""
    grams = _ngrams(words(text), n)
    return len(set(grams)) / len(grams) if grams else 1.0


def character_nouns(character: str, language: str) -> frozenset[str]:
    """The words that name the character (pyshell/characters.py): its capitalised
    names and the head noun of each comma-separated part, lower case.
    "Mira, a young inventor" gives {"mira", "inventor"}."""
    found = {w.lower() for w in _WORD.findall(character) if w[0].isupper()}
    found.update(head_noun(part, language) for part in character.split(","))
    return frozenset(found - {""})


def character_back(story: str, character: str, language: str) -> bool | None:
    """Does the character's noun or name come back in the story? None when no character was asked.

    A word counts when it is the noun or starts with it and adds at most two
    letters ("dragons" for "dragon"; "renarde" for "renard"); either side of an
    apostrophe counts ("dragon's", French elision "l'ours").
    """
    nouns = character_nouns(character, language) if character else frozenset()
    if not nouns:
        return None
    for word in words(story):
        for base in _APOSTROPHE.split(word):
            for noun in nouns:
                if base == noun or (base.startswith(noun) and len(base) - len(noun) <= 2):
                    return True
    return False


def language_of(text: str) -> str | None:
    """ "en" or "fr", whichever has more stop words in `text`; None on a tie."""
    counts = Counter(w for w in words(text) for lang in STOP_WORDS if w in STOP_WORDS[lang])
    en = sum(counts[w] for w in STOP_WORDS["en"])
    fr = sum(counts[w] for w in STOP_WORDS["fr"])
    if en == fr:
        return None
    return "en" if en > fr else "fr"


def is_clean(text: str) -> bool:
    """No control token, HTML tag or HTML entity anywhere in `text`."""
    return _MARKUP.search(text) is None


@dataclass(frozen=True)
class StoryScore:
    """Every measure for one story; `character` is None when none was asked."""

    loop: bool
    distinct_3: float
    character: bool | None
    language_ok: bool
    sentence_end: bool
    clean: bool
    listed: list[str]  # family-safe listed words found, in order, with repeats
    tokens: int
    length_ratio: float  # generated tokens / requested budget

    def to_dict(self) -> dict:
        return asdict(self)


def score_story(
    story: str, tokens: int, budget: int, character: str = "", language: str = "en"
) -> StoryScore:
    """Score the generated `story` (without the prompt) of `tokens` tokens for a request."""
    return StoryScore(
        loop=has_loop(story),
        distinct_3=distinct_n(story, 3),
        character=character_back(story, character, language),
        language_ok=language_of(story) == language,
        sentence_end=ends_sentence(story.rstrip()) and not quote_open(story),
        clean=is_clean(story),
        listed=listed_words(story, language),
        tokens=tokens,
        length_ratio=tokens / budget if budget else 0.0,
    )
