"""Known words only (pyshell/known_words.py): the rule, its word list, and the story policy's use of it."""

from __future__ import annotations

import pytest

from export.tools.build_word_list import word_list
from pyshell.known_words import DATA, KnownWords, WordGuard, known_words
from pyshell.runner import Candidates
from pyshell.story_measures import known_word, lexicon_words
from pyshell.story_policy import StoryPolicy, story_policy
from tests.test_story_policy import Texts as PolicyTexts

FORMS = ["il", "était", "une", "fois", "dragon", "ours", "l", "peut", "être", "petit"]
WORDS = KnownWords(FORMS)


def guard(prompt: str = "") -> WordGuard:
    g = WordGuard(WORDS)
    g.read_prompt(prompt)
    return g


def test_a_finished_part_must_be_listed_and_an_open_one_must_begin_a_listed_form():
    g = guard("Il était une fois un")
    assert g.allows(" dragon.") and g.allows(" drag") and g.allows(" dragon")
    assert not g.allows(" dragonul ")  # finished, not listed
    assert not g.allows(" dragonul")  # open, and no listed form begins so
    assert not g.allows(" xq")


def test_apostrophes_and_hyphens_split_a_word_into_parts_checked_one_by_one():
    g = guard("Il était une fois")
    assert g.allows(" l'ours") and g.allows(" peut-être")
    assert not g.allows(" l'oursin ")
    assert not g.allows(" peut-êtra ")


def test_a_capitalised_word_is_a_name_and_free_even_where_it_opens_a_sentence():
    g = guard("Il était une fois un petit")
    assert g.allows(" Zorbul-Ka ")  # a name, all its parts
    g.follow(" Zorbul.")
    assert g.allows(" Jebonach petit")  # a new name may open a sentence
    assert not g.allows(" jebonach ")
    g.follow(" Zorbul-")
    assert g.allows("ka ")  # the name's next part is free too


def test_the_prompt_words_are_the_story_own():
    g = guard("Il était une fois une licorne.")
    assert g.allows(" licorne ") and not g.allows(" licornette ")


def test_allows_reads_nothing_and_follow_reads_across_tokens():
    g = guard("Il était une fois un")
    assert g.allows(" drag")
    assert g.part == "un"
    g.follow(" drag")
    assert g.allows("on ") and not g.allows("ul ")


def test_the_policy_drops_made_up_forms_while_another_candidate_is_left():
    texts = {10: " dragon", 11: " dragonul", 12: " xq", 13: " ours"}

    class Texts:
        def token_text(self, i: int) -> str:
            return texts.get(i, "")

        def encode(self, text: str, add_bos: bool = False) -> list[int]:
            return []

    steering = StoryPolicy(known=WORDS).start(Texts(), 20, 1)
    steering.follow_prompt([])
    got = steering.candidates(Candidates([11, 10, 12, 13], [4.0, 3.0, 2.0, 1.0]))
    assert got.ids == [10, 13] and got.scores == [3.0, 1.0]
    # nothing known left: the candidates stay as they are (the rule never ends a story)
    assert steering.candidates(Candidates([11, 12], [2.0, 1.0])).ids == [11, 12]
    steering.push(10, " dragon")
    twin = steering.fork()
    twin.push(11, " dragonul")
    assert steering._known.part == "dragon" and twin._known.part == "dragonul"


def test_the_rule_is_off_unless_asked_for_and_only_french_has_a_list():
    tokenizer = PolicyTexts()
    assert story_policy(tokenizer, [1], language="fr").known is None  # lost its blind reading
    assert story_policy(tokenizer, [1], language="en").known is None
    asked = story_policy(tokenizer, [1], language="fr", known_words_only=True)
    assert asked.known is known_words("fr") and asked.describe()["known_words"] is True
    with pytest.raises(ValueError, match="no known-word list"):
        story_policy(tokenizer, [1], language="en", known_words_only=True)


def test_the_committed_list_is_the_tool_s_and_the_measure_knows_its_forms():
    committed = (DATA / "fr.txt").read_text(encoding="utf-8").split()
    assert committed == word_list("fr")
    assert committed == sorted(set(committed)) and all(
        w.isalpha() and w == w.lower() for w in committed
    )
    assert 300_000 < len(committed) < 310_000
    assert len(known_words("fr")) == len(committed)
    tale = {
        "il",
        "était",
        "une",
        "fois",
        "dragonne",
        "aujourd",
        "hui",
        "qu",
        "envolèrent",
        "chuchota",
    }
    assert tale <= set(committed)
    assert all(known_words("fr").knows(w) for w in tale) and known_words("fr").begins("envol")
    assert not {"plassaent", "plivent", "jebonach", "trévrit", "useur"} & set(committed)
    sample = committed[::50]
    unknown = [w for w in sample if not known_word(w, "fr")]
    # A part of a split form ("preum" of "preum's") is not always a word of its own.
    assert len(unknown) <= len(sample) // 200, unknown


def test_a_token_without_text_may_not_cut_or_stretch_an_open_part():
    """A control token or the first byte of a character shows no text: inside a word
    it would end the story mid-word or write a letter the rule never saw."""
    g = guard("Il était une fois un ")
    assert g.allows("")  # between words: an end of text is fine
    g.follow("drag")
    assert not g.allows("")
    g.follow("on")
    assert not g.allows("")  # "dragon" may still go on: a part is open until a non-letter


def test_a_lost_part_may_only_end():
    """When every candidate was unknown the story wrote one anyway; then ending the
    word is the way back, and going on with it is not."""
    g = guard("Il était une fois un")
    g.follow(" dragonul")
    assert not g.allows("ette") and not g.allows("")
    assert g.allows(" petit") and g.allows(".")
    g.follow(" petit")
    assert g.part == "petit" and g.checked


def test_a_combining_accent_is_part_of_the_word_for_the_rule_and_the_measure():
    """The model once wrote "l'immaturééeśéées" with U+0301 accents: split there, every
    bit ("immatur", "e", "es") was a known word to both."""
    decomposed = "immature\u0301e\u0301es"
    g = guard("Il était une fois l'")
    assert not g.allows(decomposed + " ")
    assert g.allows("e\u0301tait ")  # "était", written decomposed, is a word
    assert lexicon_words(f"la {decomposed} et l'e\u0301te\u0301") == [
        "la",
        "immatur\u00e9\u00e9es",
        "et",
        "l'\u00e9t\u00e9",
    ]


def test_remembered_answers_are_the_rule_s_answers():
    """allows() remembers answers by the open part and its flags; replayed over a
    story, every remembered answer equals a fresh walk."""
    import random

    rng = random.Random(5)
    pieces = [
        " dragon",
        "s",
        " l",
        "'",
        "ours",
        " Il",
        " Zorbul",
        ".",
        " peut",
        "-",
        "être",
        " xq",
        "ul",
        "\n",
        "",
    ]
    g = WordGuard(KnownWords(FORMS))
    g.read_prompt("Il était une fois")
    for _ in range(3_000):
        for text in rng.sample(pieces, 6):
            assert g.allows(text) == g._walk(text, record=False), (g, text)
        g.follow(rng.choice([p for p in pieces if g.allows(p)] or [" "]))
