"""The story measures (pyshell/story_measures.py) on fixed texts, with their numbers."""

from __future__ import annotations

import pytest

from pyshell.story_measures import (
    character_back,
    character_nouns,
    distinct_n,
    has_loop,
    is_clean,
    language_of,
    lexicon_words,
    made_up_words,
    score_story,
    words,
)


def test_words_keep_apostrophes_inside_and_lower_case():
    assert words("L'amitié, don't STOP!") == ["l'amitié", "don't", "stop"]


def test_loop_is_a_4_gram_three_times():
    # "des moutons des moutons" starts at words 0, 2 and 4: three times.
    assert has_loop("des moutons, des moutons, des moutons, des moutons.")
    assert not has_loop("des moutons, des moutons, des moutons.")  # twice
    # Three words said four times: "i'm a clockmaker i'm" starts at words 0, 3 and 6.
    assert has_loop("I'm a clockmaker. " * 4)
    assert not has_loop("I'm a clockmaker. " * 3)
    twice = "He went to the sea. Then he went to the sea again."
    assert not has_loop(twice)  # "he went to the" twice only
    assert has_loop(twice + " And he went to the sea.")


def test_distinct_3():
    assert distinct_n("a b c d e") == 1.0  # 3 trigrams, all different
    assert distinct_n("a b a b a b") == pytest.approx(2 / 4)  # (a b a) (b a b) ×2 each
    assert distinct_n("too short") == 1.0


@pytest.mark.parametrize(
    ("character", "language", "nouns"),
    [
        ("a curious fox", "en", {"fox"}),
        ("an old lighthouse keeper", "en", {"keeper"}),
        ("a little robot who wanted to paint", "en", {"robot"}),
        ("Mira, a young inventor", "en", {"mira", "inventor"}),
        ("a girl named Lila", "en", {"girl", "lila"}),
        ("twin brothers who never agreed", "en", {"brothers"}),
        ("un renard curieux", "fr", {"renard"}),
        ("un vieux gardien de phare", "fr", {"gardien"}),
        ("une fille nommée Lila", "fr", {"fille", "lila"}),
        ("des jumeaux qui n'étaient jamais d'accord", "fr", {"jumeaux"}),
        ("Mamie Rose", "fr", {"mamie", "rose"}),
    ],
)
def test_character_nouns(character, language, nouns):
    assert character_nouns(character, language) == nouns


def test_character_back_matches_the_noun_and_close_forms():
    assert character_back(" The dragon flew away.", "a shy dragon", "en") is True
    assert character_back(" Two dragons flew away.", "a shy dragon", "en") is True
    assert character_back(" The dragonfly flew away.", "a shy dragon", "en") is False  # +3 letters
    assert character_back(" The villagers danced.", "a shy dragon", "en") is False
    assert character_back(" The dragon's cave.", "a shy dragon", "en") is True
    assert character_back(" Il vit l'ours.", "un ours endormi", "fr") is True
    assert character_back(" Il vit l’Astronaute.", "une astronaute", "fr") is True
    assert character_back(" anything", "", "en") is None


def test_a_plural_character_comes_back_in_the_singular():
    assert character_back(" One kingdom was strong.", "two rival kingdoms", "en") is True
    assert character_back(" Le château brillait.", "deux châteaux", "fr") is True
    # only the singular itself: "souris" (a mouse) is not named by "sourire" (a smile)
    assert character_back(" Un grand sourire.", "une souris", "fr") is False


def test_language_by_stop_words():
    assert language_of("The fox and the hen were friends.") == "en"
    assert language_of("Le renard et la poule étaient amis.") == "fr"
    assert language_of("Mira!") is None


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("for hours on end.<start_of_image>At first", False),
        ("<strong>La vieille horloge</strong>", False),
        ("<h2>Le chien</h2>", False),
        ("a <pad> b", False),
        ("<unused12>", False),
        ("Tom&nbsp;Sawyer", False),
        ("Tom & Jerry said 3 < 4 and 5 > 2.", True),
        ("A plain story.", True),
    ],
)
def test_clean_means_no_control_token_tag_or_entity(text, clean):
    assert is_clean(text) is clean


def test_score_story_combines_the_measures():
    s = score_story(" The dragon sang. She was happy.", 12, 160, "a shy dragon", "en")
    assert s.loop is False and s.clean and s.sentence_end and s.language_ok
    assert s.character is True
    assert s.distinct_3 == 1.0
    assert s.length_ratio == pytest.approx(12 / 160)
    speech = score_story(" She said: “I am old.", 8, 160, "", "en")
    assert speech.sentence_end is False  # the quotation is still open
    cut = score_story(" Le dragon chantait et", 5, 10, "un dragon", "en")
    assert cut.sentence_end is False and cut.language_ok is False and cut.length_ratio == 0.5
    assert s.listed == [] and s.to_dict()["listed"] == []


def test_listed_words_are_those_of_the_story_s_language():
    text = " The drunk dragon murdered the wine merchant. Il était ivre."
    assert score_story(text, 12, 160, "", "en").listed == ["drunk", "murdered", "wine"]
    assert score_story(text, 12, 160, "", "fr").listed == ["ivre"]
    assert score_story(" Un violon dans le Sussex.", 6, 160, "", "fr").listed == []


def test_lexicon_words_leave_out_names_and_numbers_but_not_sentence_starts():
    # "Mr." is capitalised mid-sentence (a name's title, left out); "Green" follows a full stop.
    text = "Mira met Théo in 2015. Trévrit said: “Hello, Mr. Green!” Then l'ours ran, l’ami too."
    assert lexicon_words(text) == [
        "mira", "met", "in", "trévrit", "said", "hello", "green", "then", "l'ours", "ran",
        "l'ami", "too",
    ]  # fmt: skip


def test_made_up_words_with_a_fixed_lexicon():
    known = {"le", "renard", "dort"}.__contains__
    made_up, asked = made_up_words("Le renard dort. Le useur dort.", "fr", lambda w, _: known(w))
    assert (made_up, asked) == (["useur"], 6)


def test_made_up_words_against_wordfreq():
    pytest.importorskip("wordfreq")
    # Made-up words from Conteur's French stories, among real ones.
    text = (
        "Il s'enfitait dans la forêt, et trévrit la porte. L'useur des soiètes est resté "
        "au château. Elle est restée avec l'ours et le hérisson."
    )
    made_up, asked = made_up_words(text, "fr")
    assert made_up == ["s'enfitait", "trévrit", "l'useur", "soiètes"]
    assert asked == 24
    made_up, asked = made_up_words("The dragon grumbled and fazzled off.", "en")
    assert (made_up, asked) == (["fazzled"], 6)


def test_score_story_reports_made_up_words_breaks_and_listed():
    s = score_story(
        " Le useur dort.\n\nCopyright 2015.", 8, 160, "", "fr", known=lambda w, _: w != "useur"
    )
    assert s.made_up == ["useur"] and s.words_asked == 4
    assert s.breaks == ["note", "date"]
    without = score_story(" Le useur dort.", 4, 160, "", "fr", known=None)
    assert without.made_up is None and without.words_asked == 0


def test_an_english_possessive_is_looked_up_as_its_noun():
    pytest.importorskip("wordfreq")
    assert made_up_words("The clockmaker's shop and the fazzle's den.", "en") == (["fazzle's"], 7)
