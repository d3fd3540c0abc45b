"""pyshell/asides.py: the narrator's "I" and "we" found, the characters' words left alone."""

from __future__ import annotations

import pytest

from pyshell.asides import is_aside, narrator_words


@pytest.mark.parametrize(
    ("sentence", "language"),
    [
        (" Through her story we learn about perseverance.", "en"),
        (" It teaches us that mistakes help.", "en"),
        (" I think this is the best part.", "en"),
        (" Pour l'histoire, nous avons choisi de dessiner les personnages.", "fr"),
        (" Alors ma fille et moi avons réfléchi.", "fr"),
        (" J’ai vu le loup.", "fr"),  # elision, curly apostrophe
    ],
)
def test_the_narrator_saying_i_or_we_is_an_aside(sentence, language):
    assert is_aside(sentence, quoted=False, language=language)


@pytest.mark.parametrize(
    ("sentence", "quoted", "language"),
    [
        (' She said, "I am happy."', False, "en"),
        (" I am happy,” she said.", True, "en"),  # the quotation opened in an earlier sentence
        (" The king said: My lord, I am happy.", False, "en"),  # speech after a colon
        (" He bowed and said ‘My lord, we are here.", False, "en"),
        (" Il lui dit « Je t'aime » et partit.", False, "fr"),
        (" The robot wanted to paint the sea.", False, "en"),
        (" La jument aimait sa maman.", False, "fr"),  # "ma" only inside words
        (" Mimi, the brave mouse, smiled.", False, "en"),
    ],
)
def test_what_characters_say_and_third_person_telling_are_not(sentence, quoted, language):
    assert not is_aside(sentence, quoted=quoted, language=language)


def test_narrator_words_skip_quotations_and_what_follows_a_colon():
    assert narrator_words(' He said "we go" and we went.', quoted=False) == " He said  and we went."
    assert narrator_words(" go now,” she said.", quoted=True) == " she said."
    assert narrator_words(" She called: come!", quoted=False) == " She called"
