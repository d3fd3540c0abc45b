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
- length: generated tokens over the requested budget;
- made-up words: words that a frequency lexicon of the story's language does
  not know ("s'enfitait", "trévrit", "useur"), rule in `lexicon_words`;
- break-outs: a new story, text after "The end", notes, links, dates
  (pyshell/story_breaks.py).

Words are runs of letters and digits (apostrophes inside a word kept: "don't",
"l'amitié" stays one word), lower-cased.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

from pyshell.characters import character_words, names_character, words
from pyshell.family_safe import listed_words
from pyshell.sentences import ends_sentence, quote_open
from pyshell.story_breaks import break_outs

__all__ = [
    "LexiconMissingError",
    "StoryScore",
    "character_back",
    "character_nouns",
    "distinct_n",
    "has_loop",
    "is_clean",
    "known_word",
    "language_of",
    "lexicon_words",
    "looping_phrases",
    "made_up_words",
    "score_story",
    "words",
]

_WORD = re.compile(r"\w+(?:['’-]\w+)*")  # as pyshell.characters.words, keeping case
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


def looping_phrases(text: str, n: int = 4, times: int = 3) -> set[tuple[str, ...]]:
    """The word n-grams that occur `times` times or more: the loops `has_loop` counts."""
    counts = Counter(_ngrams(words(text), n))
    return {gram for gram, count in counts.items() if count >= times}


def has_loop(text: str, n: int = 4, times: int = 3) -> bool:
    """True when some word n-gram occurs `times` times or more."""
    return bool(looping_phrases(text, n, times))


def distinct_n(text: str, n: int = 3) -> float:
    """Distinct word n-grams / all word n-grams; 1.0 for a text too short to have any."""
    grams = _ngrams(words(text), n)
    return len(set(grams)) / len(grams) if grams else 1.0


def character_nouns(character: str, language: str) -> frozenset[str]:
    """The words that name the character (pyshell/characters.py `character_words`):
    "Mira, a young inventor" gives {"mira", "inventor"}."""
    return character_words(character, language)


def character_back(story: str, character: str, language: str) -> bool | None:
    """Does the character's noun or name come back in the story? None when no character
    was asked. The rule is pyshell.characters.names_character, which best-of uses too."""
    nouns = character_nouns(character, language) if character else frozenset()
    if not nouns:
        return None
    return names_character(story, nouns)


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


# --- made-up words ---------------------------------------------------------------------

# A word, as in `words`, with the text before it (to tell a sentence start from a name).
_LEXICON_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:\n])[\s\"“”«»()\[\]*_—–-]*$")


def lexicon_words(text: str) -> list[str]:
    """The words of `text` a lexicon is asked about, lower case, ’ written '.

    The rule: runs of letters (apostrophes and hyphens inside kept: "l'ours",
    "grand-mère"); anything with a digit is not a word; a capitalised word that
    does not open a sentence is a name ("Mira", "Zoé") and is left out, since
    a story may name anyone; a capitalised word that opens one is asked about.
    Accents are composed first (NFC): "e" followed by a combining acute is "é",
    not a word end.
    """
    text = unicodedata.normalize("NFC", text)
    found = []
    for m in _LEXICON_WORD.finditer(text):
        word = m.group()
        end = m.end()
        if end < len(text) and (text[end].isdigit() or text[end] == "_"):
            continue
        if word[0].isupper() and not _SENTENCE_START.search(
            text[max(0, m.start() - 8) : m.start()]
        ):
            continue
        found.append(word.lower().replace("’", "'"))
    return found


class LexiconMissingError(ImportError):
    """The made-up-word measure needs the `wordfreq` package (the `dev` extra)."""


@lru_cache(maxsize=200_000)
def known_word(word: str, language: str) -> bool:
    """Does the frequency lexicon of `language` know `word` (lower case)?

    The lexicon is wordfreq's "best" list for the language (about 400,000 English
    and 300,000 French forms, with frequencies down to one in 10⁸ words); a word
    is known when its frequency there is above zero. wordfreq splits elisions
    and hyphens itself ("s'enfitait" → s, enfitait) and then every part must be
    known. wordfreq is imported here, in the evaluation's measure only: it is a
    development dependency (pyproject's `dev` extra, 30 MB of word lists) that
    pyshell never needs at run time and the page never loads.
    """
    try:
        import wordfreq  # a dev dependency: only this measure needs it, never the page
    except ImportError as exc:
        raise LexiconMissingError(
            "the made-up-word measure needs wordfreq: pip install -e '.[dev]'"
        ) from exc
    return wordfreq.word_frequency(word, language, wordlist="best") > 0


def made_up_words(
    text: str, language: str, known: Callable[[str, str], bool] = known_word
) -> tuple[list[str], int]:
    """(the words of `text` the lexicon does not know, how many words were asked about)."""
    asked = lexicon_words(text)
    # An English possessive is its noun ("clockmaker's"): wordfreq lists few of them.
    bare = [w[:-2] if language == "en" and w.endswith("'s") else w for w in asked]
    return [w for w, b in zip(asked, bare) if not known(b, language)], len(asked)


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
    words_asked: int = 0  # words asked of the lexicon (lexicon_words)
    made_up: list[str] | None = None  # those it does not know; None without a lexicon
    breaks: list[str] | None = None  # break-out kinds (pyshell/story_breaks.py)

    def to_dict(self) -> dict:
        return asdict(self)


def score_story(
    story: str,
    tokens: int,
    budget: int,
    character: str = "",
    language: str = "en",
    known: Callable[[str, str], bool] | None = known_word,
) -> StoryScore:
    """Score the generated `story` (without the prompt) of `tokens` tokens for a request.

    `known` is the lexicon of the made-up-word measure (None leaves it out).
    """
    made_up, asked = made_up_words(story, language, known) if known else (None, 0)
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
        words_asked=asked,
        made_up=made_up,
        breaks=break_outs(story),
    )
