"""pyshell/grim_words.py: the lists read, and whole words only, in both languages."""

from __future__ import annotations

import pytest

from pyshell.family_safe import word_list
from pyshell.grim_words import grim_matcher, grim_words


def test_grim_words_are_found_as_whole_words_in_any_case():
    english = grim_matcher("en")
    text = "The thief was Killed. A skilled bloodhound died; the dead king's blood."
    assert grim_words(text, english) == ["killed", "died", "dead", "blood"]
    assert grim_words("They slept well and dreamt of stars.", english) == []


def test_french_grim_words_keep_falling_and_calm_words_free():
    french = grim_matcher("fr")
    assert grim_words("Après avoir été tué, le voleur était mort.", french) == ["tué", "mort"]
    # "tombe" is also "falls", "mortier" and "tuile" only start like a grim word.
    assert grim_words("La neige tombe sur le mortier et la tuile.", french) == []
    assert grim_words("L'ogre se tue à la tâche.", french) == ["tue"]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_grim_word_is_also_banned(language):
    """A banned word never reaches best-of, so listing it here too would mislead."""
    grim = set(grim_matcher(language).words.categories)
    assert grim and not grim & set(word_list(language).categories)


def test_an_unknown_language_has_no_list():
    with pytest.raises(ValueError, match="no grim word list"):
        grim_matcher("de")
