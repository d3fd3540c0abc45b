"""The story style (pyshell/story_style.py) and the exemplar it may put first (pyshell/exemplars.py)."""

from __future__ import annotations

import pytest

from pyshell.exemplars import EXEMPLARS, exemplar_prefix
from pyshell.prompts import FRAMES, StoryRequest
from pyshell.sampler import SettingError
from pyshell.story_breaks import break_outs, closes_story
from pyshell.story_style import STORY_STYLE, StoryStyle


def test_sampling_per_language_and_overrides():
    style = StoryStyle(temperature_en=0.7, temperature_fr=0.6, top_p_fr=0.9)
    assert style.sampling("en").temperature == 0.7 and style.sampling("en").top_p == 0.95
    assert style.sampling("fr").temperature == 0.6 and style.sampling("fr").top_p == 0.9
    assert style.sampling("fr", temperature=1.0, seed=4).temperature == 1.0
    assert style.sampling("fr").repetition_penalty == style.repetition_penalty


def test_settings_from_text():
    style = STORY_STYLE.with_settings(["temperature-fr=0.5", "breaks=yes", "frame=bedtime"])
    assert style.temperature_fr == 0.5 and style.breaks is True and style.frame == "bedtime"
    assert style.with_settings(["breaks=0"]).breaks is False
    with pytest.raises(ValueError, match="unknown style setting 'warmth=2'"):
        STORY_STYLE.with_settings(["warmth=2"])
    with pytest.raises(ValueError, match="unknown frame"):
        StoryStyle(frame="epic")
    with pytest.raises(SettingError):
        StoryStyle(temperature_fr=3.0)


def test_the_exemplar_only_with_the_style_that_asks_for_it_and_for_framed_requests():
    fox = StoryRequest(character="un renard", language="fr")
    assert StoryStyle(exemplar=False).prefix(fox) == ""
    assert StoryStyle(exemplar=True, frame="bedtime").prefix(fox) == EXEMPLARS["fr", "bedtime"]
    assert StoryStyle(exemplar=True).prefix(StoryRequest(text="Il pleuvait.")) == ""


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("frame", FRAMES)
def test_exemplars_end_with_their_closing_line_and_break_nothing(language, frame):
    text = exemplar_prefix(language, frame)
    assert text.endswith("\n\n") and closes_story(text, language)
    story = text.split("\n\n")[1]
    opening = "Once upon a time" if language == "en" else "Il était une fois"
    assert story.startswith(opening)
    assert break_outs(story[len(opening) :]) == []


def test_the_exemplar_words_are_avoided_unless_the_request_names_them():
    style = StoryStyle(exemplar=True)
    fox = style.policy_options(StoryRequest(character="a fox", setting="a hill"))
    assert fox["avoid_words"] == ["bear", "bears", "star", "stars", "lantern"]
    bear = style.policy_options(StoryRequest(character="a little bear"))
    assert bear["avoid_words"] == ["star", "stars", "lantern"]
    assert StoryStyle().policy_options(StoryRequest(character="a fox"))["avoid_words"] == []
    free = style.policy_options(StoryRequest(text="The bear woke."))  # no exemplar: no rule
    assert free["avoid_words"] == []


def test_pronouns_per_language():
    style = StoryStyle(penalize_pronouns_en=False)
    assert style.policy_options(StoryRequest(tone="x"))["penalize_pronouns"] is False
    assert style.policy_options(StoryRequest(tone="x", language="fr"))["penalize_pronouns"] is True


def test_the_character_words_may_stay_out_of_the_penalty():
    fox = StoryRequest(character="Mira, a young inventor")
    assert StoryStyle(penalize_character=False).policy_options(fox)["unpenalized_words"] == [
        "inventor",
        "mira",
    ]
    assert StoryStyle().policy_options(fox)["unpenalized_words"] == []
