"""The story policy (pyshell/story_policy.py): banned ids, the ending rule, no-repeat n-grams."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pyshell.grim_words import grim_matcher
from pyshell.known_words import known_words
from pyshell.runner import Candidates
from pyshell.story_beats import BEATS
from pyshell.story_policy import Ending, StoryPolicy, story_policy, with_free_character
from pyshell.warm_words import warm_matcher

EOS = 1
TEXT = {
    10: " once", 11: " upon", 12: " a", 13: " time", 20: ".", 21: '."', 22: "\n\n",
    23: " “", 24: ".”", 25: "”", 30: "<h2>",
}  # fmt: skip


class Texts:
    vocab_size = 40

    def token_text(self, i: int) -> str:
        return TEXT.get(i, "")

    def id_to_piece(self, i: int) -> str:
        return TEXT.get(i, "x").replace(" ", "\u2581")

    def pieces(self):
        return (self.id_to_piece(i) for i in range(self.vocab_size))

    def piece_type(self, i: int) -> int:
        return 3 if i < 3 else 1  # CONTROL, else NORMAL

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        return [1, 2]  # no word is one piece here: no pronoun to leave out of the penalty


def write(steering, ids):
    for i in ids:
        steering.push(i, TEXT[i])


def test_banned_ids_are_dropped_and_order_kept():
    steering = StoryPolicy(banned=frozenset({11, 30})).start(Texts(), 10, EOS)
    got = steering.candidates(Candidates([30, 10, 11, 12], [9.0, 8.0, 7.0, 6.0]))
    assert got == Candidates([10, 12], [8.0, 6.0])


def test_when_everything_is_banned_the_story_ends():
    steering = StoryPolicy(banned=frozenset({30})).start(Texts(), 10, EOS)
    assert steering.candidates(Candidates([30], [1.0])) == Candidates([EOS], [0.0])


def test_story_policy_bans_markup_and_control_but_not_the_stop_ids():
    policy = story_policy(Texts(), {EOS})
    assert policy.banned == frozenset({0, 2, 30})
    assert policy.ending == Ending() and policy.describe()["banned_ids"] == 3
    assert story_policy(Texts(), {EOS}, finish_sentence=False).ending is None
    # Family-safe by default, with the story language's word list (pyshell/family_safe.py).
    assert policy.describe()["family_safe"] is True and policy.family.language == "en"
    assert story_policy(Texts(), {EOS}, language="fr").family.language == "fr"
    assert story_policy(Texts(), {EOS}, family_safe=False).describe()["family_safe"] is False


def test_grim_words_are_avoided_in_family_safe_stories_only():
    """pyshell/grim_words.py: part of family-safe stories, in the story's language."""
    assert story_policy(Texts(), {EOS}).grim is grim_matcher("en")
    assert story_policy(Texts(), {EOS}, language="fr").grim is grim_matcher("fr")
    adults = story_policy(Texts(), {EOS}, family_safe=False)
    assert adults.grim is None and adults.describe()["avoid_grim"] is False
    assert story_policy(Texts(), {EOS}, avoid_grim=False).describe()["avoid_grim"] is False


def test_a_warm_ending_is_part_of_family_safe_stories_in_english():
    """pyshell/warm_words.py: four endings drawn after the end beat, one with a warm
    word kept; English only, and only where there are beats to end on."""
    english = story_policy(Texts(), {EOS})
    assert english.warm is warm_matcher("en") and english.end_draws == 4
    assert story_policy(Texts(), {EOS}, language="fr").describe()["warm_end"] is False
    adults = story_policy(Texts(), {EOS}, family_safe=False).describe()
    assert adults["warm_end"] is False and adults["end_draws"] == 0
    unshaped = story_policy(Texts(), {EOS}, beats=False)
    assert unshaped.warm is None and unshaped.end_draws == 0
    asked = story_policy(Texts(), {EOS}, language="fr", warm_end=True, end_draws=3)
    assert asked.warm is warm_matcher("fr") and asked.end_draws == 3


def test_asides_are_passed_over_only_when_asked():
    """pyshell/asides.py lost its blind reading (docs/stories.md, "Asides")."""
    for language in ("en", "fr"):
        assert story_policy(Texts(), {EOS}, language=language).describe()["pass_asides"] is False
    assert story_policy(Texts(), {EOS}, pass_asides=True).pass_asides is True
    assert StoryPolicy().pass_asides is False  # the plain policy changes nothing


def test_known_words_are_preferred_in_french_only():
    """docs/stories.md, "French: known words preferred"; English has no word list."""
    french = story_policy(Texts(), {EOS}, language="fr")
    assert french.prefer_known is known_words("fr") and french.describe()["prefer_known"]
    assert french.known is None  # the token rule stays off
    assert story_policy(Texts(), {EOS}, language="en").prefer_known is None
    assert story_policy(Texts(), {EOS}, language="fr", prefer_known=False).prefer_known is None


def test_ending_window():
    assert Ending(before=0.1, after=0.25).window(160) == (144, 200)
    assert Ending(before=0.0, after=0.0).window(10) == (10, 11)  # at least one extra token


def test_without_an_ending_the_budget_is_a_hard_limit():
    steering = StoryPolicy().start(Texts(), 4, EOS)
    assert steering.limit == 4
    write(steering, [10, 11, 12, 20])
    assert not steering.ends_before(10)


def test_a_finished_sentence_ends_the_story_only_inside_the_window():
    policy = StoryPolicy(ending=Ending(before=0.5, after=0.5, boost=4.0))
    steering = policy.start(Texts(), 4, EOS)  # may stop from 2 tokens on, at most 6
    assert steering.limit == 6
    write(steering, [20])  # "." after 1 token: too early
    assert not steering.ends_before(10)
    write(steering, [10, 20])  # ". once." : 3 tokens, a sentence just ended
    assert steering.ends_before(11)  # " upon" opens the next sentence: stop before it
    assert steering.ends_before(22)  # so does a new paragraph
    assert not steering.ends_before(21)  # '."' could still close a quote: go on


def test_past_the_budget_sentence_ends_gain_a_growing_bonus_then_are_required():
    policy = StoryPolicy(ending=Ending(before=0.0, after=0.5, boost=4.0))
    steering = policy.start(Texts(), 20, EOS)  # budget 20, limit 30, final stretch from 22
    candidates = Candidates([10, 20, 21], [5.0, 1.0, 0.5])
    write(steering, [10] * 19)
    assert steering.candidates(candidates) == candidates  # before the budget: untouched
    write(steering, [10])
    assert steering.candidates(candidates).scores == [5.0, 1.4, 0.9]  # 1 of 10 extra: +0.4
    write(steering, [10])
    assert steering.candidates(candidates).scores == [5.0, 1.8, 1.3]  # 2 of 10: +0.8
    write(steering, [10])
    # The final stretch: only sentence ends remain, whenever there are some.
    assert steering.candidates(candidates) == Candidates([20, 21], [1.0, 0.5])
    assert steering.candidates(Candidates([10, 11], [1.0, 0.5])) == Candidates([10, 11], [1.0, 0.5])


def test_the_final_stretch_closes_an_open_quotation_first():
    steering = StoryPolicy(ending=Ending(before=0.0, after=0.5)).start(Texts(), 2, EOS)
    write(steering, [23, 10, 20])  # ' “ once.': a sentence ended inside the quotation
    got = steering.candidates(Candidates([11, 25, 20], [3.0, 1.0, 2.0]))
    assert got == Candidates([25], [1.0])  # '”' closes it


def test_the_room_left_in_the_context_caps_the_extra_tokens():
    policy = StoryPolicy(ending=Ending(after=0.5))
    assert policy.start(Texts(), 10, EOS, room=12).limit == 12
    assert policy.start(Texts(), 10, EOS, room=8).limit == 10  # never below the budget


@pytest.mark.parametrize(("n", "dropped"), [(2, {11}), (3, set()), (0, set())])
def test_no_repeat_ngram_drops_what_would_repeat_the_story(n, dropped):
    steering = StoryPolicy(no_repeat_ngram=n).start(Texts(), 10, EOS)
    write(steering, [10, 11, 12, 10])  # "once upon a once": next "upon" repeats "once upon"
    got = steering.candidates(Candidates([11, 13], [2.0, 1.0]))
    assert set(got.ids) == {11, 13} - dropped


def test_no_repeat_ngram_never_leaves_nothing():
    steering = StoryPolicy(no_repeat_ngram=2).start(Texts(), 10, EOS)
    write(steering, [10, 11, 10])
    assert steering.candidates(Candidates([11], [1.0])).ids == [11]


def test_the_story_policy_leaves_the_prompt_out_of_the_repetition_penalty():
    assert story_policy(Texts(), {EOS}).start(Texts(), 10, EOS).penalized([10, 11]) == set()
    plain = StoryPolicy().start(Texts(), 10, EOS)  # Hugging Face's rule: the prompt counts
    assert plain.penalized([10, 11]) == {10, 11}


def test_an_open_quotation_is_no_place_to_stop():
    steering = StoryPolicy(ending=Ending(before=0.5, after=0.5)).start(Texts(), 4, EOS)
    write(steering, [10, 23, 11, 20])  # ' once “ upon.': the speech goes on
    assert not steering.ends_before(12)
    write(steering, [13, 24])  # ' time.”' closes it
    assert steering.ends_before(12)


def test_the_last_token_closes_an_open_quotation_when_it_can():
    steering = StoryPolicy(ending=Ending(before=0.0, after=0.5)).start(Texts(), 2, EOS)
    assert steering.limit == 3
    write(steering, [23, 10])  # ' “ once': the third token is the last one allowed
    got = steering.candidates(Candidates([20, 24, 10], [3.0, 1.0, 2.0]))
    assert got == Candidates([24], [1.0])  # '.”' rather than '.'


# --- story length and break-outs ----------------------------------------------------------

BREAK_TEXT = {
    40: "Once", 41: " upon", 42: "\n\n", 43: "The", 44: " end", 45: ".", 46: "Note",
    47: " The", 48: " fox", 49: "Il", 50: " était", 51: " une", 52: " fois", 53: "http",
    54: "Fin", 55: " slept", 56: "2",
}  # fmt: skip


class BreakTexts:
    def token_text(self, i: int) -> str:
        return BREAK_TEXT.get(i, "")


def story(policy, budget, ids):
    steering = policy.start(BreakTexts(), budget, EOS)
    for i in ids:
        steering.push(i, BREAK_TEXT[i])
    return steering


def ids_of(c: Candidates) -> list[int]:
    return c.ids


def test_before_min_length_the_story_may_not_end():
    policy = StoryPolicy(min_length=0.5, stops=frozenset({EOS}))
    early = story(policy, 10, [48, 55, 45])  # 3 of 10 tokens
    assert ids_of(early.candidates(Candidates([EOS, 48], [9.0, 1.0]))) == [48]
    assert ids_of(early.candidates(Candidates([EOS], [9.0]))) == [EOS]  # nothing else: keep it
    late = story(policy, 10, [48, 55, 45] * 2)  # 6 of 10
    assert ids_of(late.candidates(Candidates([EOS, 48], [9.0, 1.0]))) == [EOS, 48]


def test_no_new_once_upon_a_time_inside_the_story():
    policy = StoryPolicy(breaks=True, language="en")
    after = story(policy, 100, [48, 55, 45, 42, 40])  # " fox slept.\n\nOnce"
    assert ids_of(after.candidates(Candidates([41, 47], [9.0, 1.0]))) == [47]
    mid = story(policy, 100, [48, 40])  # " foxOnce": not a sentence start
    assert ids_of(mid.candidates(Candidates([41, 47], [9.0, 1.0]))) == [41, 47]
    fr = story(StoryPolicy(breaks=True, language="fr"), 100, [48, 45, 42, 49, 50, 51])
    assert ids_of(fr.candidates(Candidates([52, 48], [9.0, 1.0]))) == [48]


def test_links_are_dropped_anywhere():
    steering = story(StoryPolicy(breaks=True), 100, [48])
    assert ids_of(steering.candidates(Candidates([53, 55], [9.0, 1.0]))) == [55]


def test_a_note_line_ends_the_story_at_its_paragraph_unless_too_early():
    policy = StoryPolicy(breaks=True, min_length=0.5)
    late = story(policy, 8, [48, 55, 45, 48, 55, 45, 42])  # 7 of 8 tokens, new paragraph
    assert late.ends_before(46) and late.ends_before(56)  # "Note", a digit
    assert not late.ends_before(47)
    early = story(policy, 100, [48, 55, 45, 42])
    assert not early.ends_before(46)
    assert ids_of(early.candidates(Candidates([46, 56, 43], [9.0, 8.0, 1.0]))) == [43]


def test_the_end_closes_the_story_but_not_too_early():
    policy = StoryPolicy(breaks=True, min_length=0.5, language="en")
    late = story(policy, 8, [48, 55, 45, 48, 55, 45, 42, 43, 44])  # "… slept.\n\nThe end"
    assert not late.ends_before(45)  # the full stop is still written
    late.push(45, ".")
    assert late.ends_before(42)
    early = story(policy, 100, [48, 55, 45, 42, 43])  # "\n\nThe" at 5 of 100 tokens
    assert ids_of(early.candidates(Candidates([44, 48], [9.0, 1.0]))) == [48]
    fr = story(StoryPolicy(breaks=True, min_length=0.5, language="fr"), 100, [48, 45, 42])
    assert ids_of(fr.candidates(Candidates([54, 48], [9.0, 1.0]))) == [48]


def test_unpenalized_ids_never_enter_the_repetition_penalty():
    policy = StoryPolicy(unpenalized=frozenset({47}), penalize_prompt=True)
    steering = policy.start(BreakTexts(), 10, EOS)
    seen = steering.penalized([47, 48])
    assert seen == {48}
    seen.add(47)
    seen.add(55)
    assert seen == {48, 55}
    copied = seen.copy()
    copied.add(47)
    assert copied == {48, 55} and isinstance(copied, type(seen))


class Encoder(Texts):
    """Texts whose " he", "He" and " she" are single pieces."""

    def encode(self, text, add_bos=False):
        return {" he": [7], "He": [8], " she": [9]}.get(text, [1, 2])


def test_story_policy_can_leave_pronouns_out_of_the_penalty():
    assert story_policy(Encoder(), {EOS}).unpenalized == {7, 8, 9}  # the story style's
    assert story_policy(Encoder(), {EOS}, penalize_pronouns=True).unpenalized == frozenset()


def test_french_stories_get_the_stricter_loop_guard():
    """docs/stories.md: in French pronouns count for the penalty and no 5-gram comes back."""
    english = story_policy(Encoder(), {EOS}, family_safe=False, language="en")
    french = story_policy(Encoder(), {EOS}, family_safe=False, language="fr")
    assert (english.ngram_repeats, french.ngram_repeats) == (2, 1)
    assert english.unpenalized and french.unpenalized == frozenset()
    # A value asked for still wins over the language's default.
    asked = story_policy(Texts(), {EOS}, family_safe=False, language="fr", ngram_repeats=2)
    assert asked.ngram_repeats == 2


def test_a_story_may_end_here_past_min_length_after_a_sentence():
    policy = StoryPolicy(min_length=0.3)
    assert not story(policy, 10, [48, 55]).may_end_here()  # " fox slept": no sentence end
    assert not story(policy, 20, [48, 55, 45]).may_end_here()  # 3 of 20: before min_length
    assert story(policy, 10, [48, 55, 45]).may_end_here()  # " fox slept." 3 of 10


def test_french_stories_end_where_they_would_loop_and_none_passes_a_loop_over():
    """docs/stories.md, "French: the story ends where it would loop"."""
    english = story_policy(Texts(), {EOS}, family_safe=False, language="en").describe()
    french = story_policy(Texts(), {EOS}, family_safe=False, language="fr").describe()
    assert (english["loop_ends"], french["loop_ends"]) == (False, True)
    assert english["loop_draws"] == french["loop_draws"] == 0
    asked = story_policy(Texts(), {EOS}, family_safe=False, language="en", loop_ends=True)
    assert asked.loop_ends and story_policy(Texts(), {EOS}, loop_draws=2).loop_draws == 2
    try:
        StoryPolicy(loop_draws=-1)
    except ValueError:
        pass
    else:
        raise AssertionError("loop_draws -1 was accepted")


def test_the_story_style_is_the_default_policy():
    """docs/stories.md: length and break-out rules, best-of-2, the loop guard."""
    described = story_policy(Texts(), {EOS}).describe()  # English
    assert described["min_length"] == 0.5 and described["breaks"] is True
    assert described["hold_paragraphs"] is True and described["best_of"] == 2
    assert described["no_repeat_ngram"] == 5 and described["ngram_repeats"] == 2
    # A hard limit (a typed max length) also lifts the minimum length.
    assert story_policy(Texts(), {EOS}, finish_sentence=False).min_length == 0.0
    assert story_policy(Texts(), {EOS}, best_of=1).best_of == 1
    for wrong in ({"best_of": 0}, {"min_length": 1.0}):
        try:
            StoryPolicy(**wrong)
        except ValueError:
            continue
        raise AssertionError(f"{wrong} was accepted")


class TextsWithAYear(Texts):
    """Texts, with id 31 a piece that writes digits."""

    def id_to_piece(self, i: int) -> str:
        return "\u25811984" if i == 31 else super().id_to_piece(i)


def test_no_digits_adds_the_digit_pieces_to_the_banned_ids():
    """docs/stories.md, "Numbers in words"."""
    plain = story_policy(TextsWithAYear(), {EOS}, family_safe=False)
    words = story_policy(TextsWithAYear(), {EOS}, family_safe=False, no_digits=True)
    assert words.banned == plain.banned | {31} and 31 not in plain.banned
    assert (plain.describe()["no_digits"], words.describe()["no_digits"]) == (False, True)


def test_an_ngram_may_come_back_once_but_not_a_third_time():
    policy = StoryPolicy(no_repeat_ngram=2, ngram_repeats=2)
    steering = story(policy, 100, [48, 55, 48, 55, 48])  # " fox slept fox slept fox"
    assert ids_of(steering.candidates(Candidates([55, 45], [9.0, 1.0]))) == [45]
    once = story(policy, 100, [48, 55, 48])  # " fox slept fox": a second time is fine
    assert ids_of(once.candidates(Candidates([55, 45], [9.0, 1.0]))) == [55, 45]


def test_the_words_naming_the_character_stay_out_of_the_penalty():
    class Encoder(Texts):
        def encode(self, text, add_bos=False):
            return {" fox": [48], " Fox": [49]}.get(text, [1, 2])

    policy = story_policy(Encoder(), {EOS}, unpenalized_words=["fox"])
    assert policy.unpenalized == {48, 49}


def test_the_character_s_own_words_leave_the_penalty_only_when_asked():
    """docs/stories.md, "The character's words out of the repetition penalty": read
    blind, not kept; `write_story` applies it to the request's character."""

    class Encoder(Texts):
        def encode(self, text, add_bos=False):
            return {" fox": [48], " Fox": [49]}.get(text, [1, 2])

    for language in ("en", "fr"):
        policy = replace(
            story_policy(Encoder(), {EOS}, language=language), character=frozenset({"fox"})
        )
        assert with_free_character(policy, Encoder()).unpenalized == policy.unpenalized
    asked = replace(
        story_policy(Encoder(), {EOS}, free_character=True), character=frozenset({"fox"})
    )
    assert with_free_character(asked, Encoder()).unpenalized == {48, 49}
    assert asked.describe()["free_character"] is True


def test_story_beats_are_on_in_both_languages_and_off_in_the_plain_policy():
    """pyshell/story_beats.py won its blind reading (docs/stories.md, "Story beats")."""
    assert story_policy(Texts(), {EOS}).beats == BEATS["en"]
    assert story_policy(Texts(), {EOS}, language="fr").describe()["beats"] == [
        "Un jour,",
        "À la fin,",
    ]
    assert story_policy(Texts(), {EOS}, beats=False).beats == ()
    assert StoryPolicy().beats == ()  # the plain policy changes nothing


def test_beats_name_the_character_only_when_asked():
    """docs/stories.md, "The character named after a beat": read blind, not kept."""
    for language in ("en", "fr"):
        policy = story_policy(Texts(), {EOS}, language=language, beat_character="the fox")
        assert policy.name_in_beats is False and policy.beat_character == ""
    asked = story_policy(Texts(), {EOS}, name_in_beats=True, beat_character="the fox")
    assert asked.beat_character == "the fox"


def test_break_outs_are_passed_over_early_in_both_languages():
    """docs/stories.md, "Break-outs passed over, early too"."""
    for language in ("en", "fr"):
        assert story_policy(Texts(), {EOS}, language=language).pass_break_outs is True
    assert (
        story_policy(Texts(), {EOS}, pass_break_outs=False).describe()["pass_break_outs"] is False
    )
    assert StoryPolicy().pass_break_outs is False  # the plain policy changes nothing
