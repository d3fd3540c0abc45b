"""Sentences that echo the story (pyshell/echoes.py) and best-of's rule for them."""

from __future__ import annotations

import asyncio

from pyshell.best_of import generate_best_of
from pyshell.echoes import TAIL, WINDOW, echo_count, holds_echo, new_echoes
from pyshell.sampler import SamplingConfig
from pyshell.story_policy import StoryPolicy
from tests.test_best_of import ByteTokenizer, ScriptRunner, write_forked

CHANT = "He loved her so much. He loved her so much more. He loved her so very much."


def test_a_sentence_one_word_apart_from_an_earlier_one_echoes_it():
    assert echo_count("He loved her better. He loved her more.") == 1  # one word swapped
    assert echo_count("It belongs to me! It all belongs to me!") == 1  # one word added
    assert echo_count("Le petit renard veut dormir. Le renard veut dormir.") == 1  # one left out
    assert echo_count(CHANT) == 2
    assert echo_count("He loved her better. She loved him better.") == 0  # two words apart
    assert echo_count("Said the fox. Said the fox. Said the fox.") == 0  # under four words
    assert echo_count("HE LOVED HER, BETTER!\nhe loved her better") == 1  # case and marks aside


def test_what_a_sentence_brings_is_counted_on_the_story_s_end():
    story = "He loved her so much. He loved her so much more."
    assert holds_echo(story) and not holds_echo("He loved her so much. Then he left.")
    assert new_echoes(story, " He loved her so very much.") == 1
    assert new_echoes(story, " Then they sailed home.") == 0
    # Only the WINDOW sentences before a sentence count, and best-of reads the last TAIL
    # characters: a long story costs no more than a short one.
    filler = " ".join(f"Day {n} came with rain and wind." for n in range(WINDOW))
    assert new_echoes("He loved her so much. " + filler, " He loved her so much more.") == 0
    long = "Once upon a time. " + "The fox walked on. " * 5_000
    assert len(long) > 40 * TAIL and new_echoes(long, " The fox walked on home.") == 1


def test_best_of_ends_the_story_before_its_second_echo():
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=3)

    def write(echo_ends: bool) -> str:
        policy = StoryPolicy(min_length=0.1, echo_ends=echo_ends)
        return asyncio.run(
            generate_best_of(ScriptRunner(CHANT + " He went home."), ByteTokenizer(), "Hi",
                             n=2, sampler=config, max_new_tokens=200, policy=policy)
        ).text  # fmt: skip

    assert write(False).startswith(CHANT)
    assert write(True) == "He loved her so much. He loved her so much more."


ECHOING = "He loved her so much. He loved her so much more. He loved her so very much."
MOVING_ON = "He loved her so much. He loved her so much more. Then they sailed."


def test_best_of_passes_over_a_sentence_that_echoes_for_one_that_does_not():
    def write(seed: int, echo_ends: bool) -> str:
        policy = StoryPolicy(min_length=0.9, echo_ends=echo_ends)  # the story may not end
        return write_forked([ECHOING, MOVING_ON], seed, policy, prompt="Hi", max_new_tokens=90).text

    # Seed 2 draws both third sentences; unjudged, the longer echo is likelier per token.
    assert write(2, echo_ends=False).startswith(ECHOING)
    assert write(2, echo_ends=True).startswith(MOVING_ON)
    # Seed 0 draws the echo twice: with nothing else drawn, and no end allowed, it stays.
    assert write(0, echo_ends=True).startswith(ECHOING)
