"""The words that name a character (pyshell/characters.py)."""

from __future__ import annotations

import pytest

from pyshell.characters import character_name, head_noun, words


def test_words_keep_apostrophes_and_hyphens_inside_a_word():
    assert words("Le cerf-volant d'or, don't STOP!") == [
        "le",
        "cerf-volant",
        "d'or",
        "don't",
        "stop",
    ]


@pytest.mark.parametrize(
    ("character", "name"),
    [("Grandma Rose", "Grandma Rose"), ("a girl named Lila", "Lila"), ("a shy dragon", "")],
)
def test_character_name(character, name):
    assert character_name(character) == name


@pytest.mark.parametrize(
    ("character", "language", "noun"),
    [
        ("a curious fox", "en", "fox"),
        ("an old lighthouse keeper", "en", "keeper"),
        ("a little robot who wanted to paint", "en", "robot"),
        ("twin brothers who never agreed", "en", "brothers"),
        ("Mira, a young inventor", "en", "mira"),
        ("un vieux gardien de phare", "fr", "gardien"),
        ("une souris courageuse", "fr", "souris"),
        ("un cerf-volant", "fr", "cerf-volant"),
        ("des jumeaux qui n'étaient jamais d'accord", "fr", "jumeaux"),
        ("the", "en", ""),
    ],
)
def test_head_noun(character, language, noun):
    assert head_noun(character, language) == noun
