"""The words that name a story's character: its names and its head noun.

The reader types the character as a phrase ("an old lighthouse keeper",
"Mira, a young inventor", "un vieux gardien de phare"). Two parts of Conteur
need the word the story should keep using for it: the prompt builder, which
names the character again to open the story's next sentence, best-of
(pyshell/best_of.py), which prefers a sentence that names it again when the story
has gone a while without, and the evaluation, which checks that the character
comes back in the story. `names_character` is the one rule for "names it".

English puts adjectives first, so the head noun is the last word before a
clause ("an old lighthouse keeper" → keeper, "a robot *who* paints" → robot);
French puts it first after the determiner and any short adjective ("un vieux
gardien de phare" → gardien). Capitalised words are names ("Mira", "Grandma Rose").
"""

from __future__ import annotations

import re

__all__ = ["character_name", "character_words", "head_noun", "names_character", "words"]

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_APOSTROPHE = re.compile("['’]")
# A plural noun ("kingdoms", "châteaux") is named again by its singular.
_PLURAL_ENDINGS = ("s", "x")
# fmt: off
# Words that open a clause after the head noun ("a robot *who* wanted to paint").
_CLAUSE = frozenset({
    "who", "that", "which", "with", "named", "called", "from", "of", "whose", "in", "on",
    "qui", "que", "dont", "nommé", "nommée", "appelé", "appelée", "avec", "de", "du", "des",
    "d", "à", "au", "aux", "sans",
})
_DETERMINERS = frozenset({
    "a", "an", "the", "some", "two", "three", "four", "five", "my", "our", "your", "their",
    "un", "une", "le", "la", "les", "l", "des", "deux", "trois", "quatre", "cinq", "six",
    "sept", "huit", "neuf", "dix", "plusieurs", "quelques", "mon", "ma", "ton", "ta", "son",
    "sa", "mes", "tes", "ses", "notre", "votre", "leur", "nos", "vos", "leurs", "ce", "cet",
    "cette", "ces",
})
# French adjectives that come before the noun ("un *vieux* gardien").
_FR_BEFORE_NOUN = frozenset({
    "petit", "petite", "petits", "petites", "grand", "grande", "grands", "grandes", "vieux",
    "vieil", "vieille", "jeune", "jeunes", "beau", "bel", "belle", "bon", "bonne", "gros",
    "grosse", "joli", "jolie", "nouveau", "nouvelle", "mauvais", "mauvaise", "drôle",
    "pauvre", "brave", "gentil", "gentille",
})
# fmt: on


def words(text: str) -> list[str]:
    """Lower-case words; apostrophes inside a word kept ("don't", "l'amitié")."""
    return _WORD.findall(text.lower())


def character_name(character: str) -> str:
    """The first run of capitalised words ("Grandma Rose", "Mira"), or "" when none."""
    run: list[str] = []
    for word in _WORD.findall(character):
        if word[0].isupper():
            run.append(word)
        elif run:
            break
    return " ".join(run)


def head_noun(character: str, language: str) -> str:
    """The head noun of the phrase before any comma, lower case ("" when there is none)."""
    head: list[str] = []
    for word in words(character.split(",", 1)[0]):
        if word in _CLAUSE and head:
            break
        if word not in _DETERMINERS:
            head.append(word)
    if not head:
        return ""
    if language == "fr":
        nouns = [w for w in head if w not in _FR_BEFORE_NOUN]
        return nouns[0] if nouns else head[-1]
    return head[-1]


def character_words(character: str, language: str) -> frozenset[str]:
    """The words that name the character, lower case: its capitalised names and the
    head noun of each comma-separated part ("Mira, a young inventor" → mira, inventor)."""
    found = {w.lower() for w in _WORD.findall(character) if w[0].isupper()}
    found.update(head_noun(part, language) for part in character.split(","))
    return frozenset(found - {""})


def names_character(text: str, nouns: frozenset[str]) -> bool:
    """Does `text` name the character whose words (`character_words`) are `nouns`?

    A word counts when it is the noun or starts with it and adds at most two
    letters ("dragons" for "dragon"; "renarde" for "renard"), or when it is a plural
    noun's singular ("kingdom" for "two rival kingdoms"); either side of an
    apostrophe counts ("dragon's", French elision "l'ours").
    """
    if not nouns:
        return False
    singulars = {n[:-1] for n in nouns if len(n) > 3 and n.endswith(_PLURAL_ENDINGS)}
    for word in words(text):
        for base in _APOSTROPHE.split(word):
            if base in singulars:
                return True
            for noun in nouns:
                if base == noun or (base.startswith(noun) and len(base) - len(noun) <= 2):
                    return True
    return False
