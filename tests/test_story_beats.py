"""Story beats (pyshell/story_beats.py): when a beat is due, when the story took it itself."""

from __future__ import annotations

from pyshell.story_beats import MIN_ROOM, Beat, beat_text, next_beat

# Two beats, as the product's own (pyshell.story_beats.BEATS) may change.
EN = (
    Beat(0.3, "One day,", ("one day", "one morning")),
    Beat(0.75, "In the end,", ("in the end", "finally")),
)
FR = (Beat(0.3, "Un jour,", ("un jour",)), Beat(0.75, "À la fin,", ("à la fin", "enfin")))


def test_a_beat_is_due_once_the_story_used_its_share_of_the_budget():
    assert next_beat(EN, 0, 29, 100, "The fox ran.") == (0, None)
    assert next_beat(EN, 0, 30, 100, "The fox ran.") == (1, EN[0])
    assert next_beat(EN, 1, 74, 100, "The fox ran.") == (1, None)
    assert next_beat(EN, 1, 75, 100, "The fox ran.") == (2, EN[1])
    assert next_beat(EN, 2, 99, 100, "The fox ran.") == (2, None)  # all written


def test_a_beat_the_story_wrote_in_its_own_words_is_skipped():
    assert next_beat(EN, 0, 40, 100, "One morning the fox ran.") == (1, None)
    assert next_beat(FR, 1, 75, 100, "Le renard courut. Enfin, il dormit.") == (2, None)
    assert next_beat(EN, 1, 75, 100, 'It ran.\n\n"Finally home!" it said.') == (2, None)
    # Only a sentence that opens with the turn counts: this story has not taken it.
    fr_late = next_beat(FR, 1, 75, 100, "Le renard dormit enfin.")
    assert fr_late == (2, FR[1])
    # A later beat still comes when its share is reached.
    assert next_beat(EN, 0, 76, 100, "One day the fox ran.") == (2, EN[1])


def test_a_beat_needs_room_left_to_complete_its_sentence():
    budget = 100
    late = budget - MIN_ROOM + 1
    assert next_beat(EN, 1, late, budget, "The fox ran.") == (2, None)
    assert next_beat(EN, 1, late - 1, budget, "The fox ran.") == (2, EN[1])


def test_a_beat_opens_a_new_paragraph():
    assert beat_text(EN[0], "The fox ran.") == "\n\nOne day,"
    assert beat_text(EN[0], "The fox ran.\n") == "\nOne day,"
    assert beat_text(EN[0], "The fox ran.\n\n") == "One day,"


def test_a_beat_can_name_the_character_after_its_words():
    assert beat_text(EN[0], "The fox ran.", "the fox") == "\n\nOne day, the fox"
    assert beat_text(FR[1], "Il courut.\n\n", "l'horloger") == "À la fin, l'horloger"
