"""The phrase guard (pyshell/phrase_guard.py): no phrase a third time, read as a reader reads it."""

from __future__ import annotations

import pytest

from pyshell.phrase_guard import PhraseGuard, fold
from pyshell.runner import Candidates
from pyshell.story_measures import has_loop
from pyshell.story_policy import StoryPolicy, story_policy

EOS = 1
TEXT = {
    10: " she", 11: " would", 12: " never", 13: " forget", 14: ".", 15: " She", 16: "\n\n",
    17: " remember", 18: "She", 19: ",", 20: " paint", 21: "ed", 22: " painted",
}  # fmt: skip


class Texts:
    vocab_size = 30

    def token_text(self, i: int) -> str:
        return TEXT.get(i, "")

    def id_to_piece(self, i: int) -> str:
        return TEXT.get(i, "x").replace(" ", "\u2581")

    def pieces(self):
        return (self.id_to_piece(i) for i in range(self.vocab_size))

    def piece_type(self, i: int) -> int:
        return 3 if i < 3 else 1

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        return [1, 2]


def written(ids: list[int], words: int = 4, repeats: int = 2) -> PhraseGuard:
    guard = PhraseGuard(words, repeats, Texts().token_text)
    for i in ids:
        guard.push(i)
    return guard


def test_fold_reads_a_token_as_a_word_of_a_phrase():
    assert fold(" She") == fold("She") == fold("\nshe ") == "she"
    assert fold(".") is None and fold("\n\n") is None and fold(" ”") is None
    assert fold("ed") == "ed"  # a word's second piece counts as a word of its own


def test_the_third_time_is_dropped_whatever_the_case_spaces_and_punctuation():
    # "she would never forget." then "\n\nShe would never forget," : twice, case and
    # punctuation aside; a third "forget" after "she would never" would loop.
    guard = written([10, 11, 12, 13, 14, 16, 18, 11, 12, 13, 19, 15, 11, 12])
    assert guard.repeating([13, 17, 14]) == {13}
    # Twice is allowed: after the first phrase, the second "forget" is still fine.
    assert written([10, 11, 12, 13, 14, 15, 11, 12]).repeating([13, 17]) == set()


def test_only_a_word_s_start_is_dropped_never_its_later_pieces():
    # "she paint|ed." twice: after a third "she", a word starting " paint" is dropped...
    guard = written([10, 20, 21, 14, 10, 20, 21, 14, 10], words=2)
    assert guard.repeating([20, 17]) == {20}
    # ...but once a word has started, its next piece is never dropped: cut off inside
    # a word, the model finishes it as a word that does not exist.
    guard.push(20)
    assert guard.repeating([21]) == set()


def test_repeats_and_words_set_what_counts_as_a_loop():
    twice = [10, 11, 12, 13, 14, 15, 11, 12]  # the phrase once, then its start again
    assert written(twice, repeats=1).repeating([13]) == {13}  # never a second time
    assert written([10, 11, 12, 13, 15, 11, 12, 13, 10, 11, 12], words=3).repeating([13]) == {13}
    with pytest.raises(ValueError):
        PhraseGuard(1, 2, Texts().token_text)


def test_copies_count_apart():
    guard = written([10, 11, 12, 13, 15, 11, 12])
    twin = guard.copy()
    twin.push(13)
    twin.push(10)
    twin.push(11)
    twin.push(12)
    assert twin.repeating([13]) == {13} and guard.repeating([13]) == set()


def test_the_story_policy_drops_a_phrase_s_third_time_and_never_everything():
    steering = StoryPolicy(phrase_words=4, phrase_repeats=2).start(Texts(), 100, EOS)
    story = [10, 11, 12, 13, 14, 15, 11, 12, 13, 14, 15, 11, 12]
    for i in story:
        steering.push(i, TEXT[i])
    got = steering.candidates(Candidates([13, 17], [5.0, 1.0]))
    assert got.ids == [17]
    assert steering.candidates(Candidates([13], [5.0])).ids == [13]  # the only candidate stays
    # What the guard lets through never holds a loop as pyshell/story_measures.py counts one.
    text = "".join(TEXT[i] for i in [*story, *got.ids[:1]])
    assert not has_loop(text) and has_loop(text.replace("remember", "forget"))
    # A fork (best-of-n) counts on its own.
    fork = steering.fork()
    fork.push(17, TEXT[17])
    assert steering.candidates(Candidates([13, 17], [5.0, 1.0])).ids == [17]


def test_english_stories_get_the_phrase_guard_and_french_ones_do_not():
    """docs/stories.md, "The phrase guard": read blind, it won in English and lost in French."""
    english = story_policy(Texts(), {EOS}, family_safe=False, language="en").describe()
    french = story_policy(Texts(), {EOS}, family_safe=False, language="fr").describe()
    assert (english["phrase_words"], english["phrase_repeats"]) == (4, 2)
    assert french["phrase_words"] == 0
    asked = story_policy(Texts(), {EOS}, family_safe=False, language="fr", phrase_words=3)
    assert (asked.phrase_words, asked.phrase_repeats) == (3, 2)  # asked for wins
