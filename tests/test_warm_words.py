"""pyshell/warm_words.py: the lists read, whole words only, and none of them grim or banned."""

from __future__ import annotations

import pytest

from pyshell.family_safe import word_list
from pyshell.grim_words import grim_matcher
from pyshell.warm_words import warm_matcher


def test_warm_words_are_found_as_whole_words_in_any_case():
    english = warm_matcher("en")
    text = "In the end, they lived Happily ever after with their friends, safe at home."
    assert english.words_in(text) == ["happily", "friends", "safe", "home"]
    # "homework" and "unsafe" only hold a warm word.
    assert english.words_in("The homework was unsafe and they could not escape.") == []


def test_french_warm_words():
    french = warm_matcher("fr")
    assert french.words_in("À la fin, ils étaient heureux à la maison.") == ["heureux", "maison"]
    # "amiraux" only starts like "ami".
    assert french.words_in("Les amiraux riaient ensemble.") == ["riaient", "ensemble"]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_warm_word_is_also_grim_or_banned(language):
    """A warm word that is also passed over or banned would pull best-of both ways."""
    warm = set(warm_matcher(language).words.categories)
    assert warm and not warm & set(word_list(language).categories)
    assert not warm & set(grim_matcher(language).words.categories)


def test_an_unknown_language_has_no_list():
    with pytest.raises(ValueError, match="no warm word list"):
        warm_matcher("de")
