"""One story from form to result (pyshell/story.py), on the tiny exported model.

`write_story` is what the page, the CLI and the evaluation call. Its story must
be the one the page wrote before the three shared it: the prompt builder, the
settings form's budget, the default story policy, the sampler and `generate`,
composed by hand below exactly as pyshell.browser.generate_story did.
"""

from __future__ import annotations

import asyncio

import pytest

from pyshell.best_of import generate_best_of
from pyshell.characters import character_words
from pyshell.config import ModelConfig
from pyshell.errors import EmptyPromptError, ErrorCode, SettingError, StoryRequestError
from pyshell.generate import generate
from pyshell.onnx_runner import OnnxRunner
from pyshell.prompts import LENGTHS, StoryRequest, build_prompt, character_in_sentence
from pyshell.sampler import Sampler, SamplingConfig
from pyshell.story import plan_story, write_story
from pyshell.story_policy import StoryPolicy, story_policy
from pyshell.tokenizer import Tokenizer

REQUEST = StoryRequest(character="a curious fox", setting="a small village", language="en")
# The page's form sends strings; these are the e2e parity test's sampled settings.
SAMPLED = {"temperature": "1.5", "top_p": "1", "repetition_penalty": "1.3", "seed": "20261123"}


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    config = ModelConfig.from_file(tiny_model_dir)
    tokenizer = Tokenizer.from_file(tiny_model_dir / "tokenizer.model")
    return config, tokenizer, OnnxRunner(tiny_model_dir)


def by_hand(config, tokenizer, runner, request, *, seed, budget, typed, **sampling):
    """The page's path before write_story: prompt, budget, policy, sampler, then generate,
    or generate_best_of for the default policy's best-of-2 sentences."""
    prompt = build_prompt(request, config.variant)
    if budget is None:
        budget = min(LENGTHS[request.length], max(1, runner.context_length // 2))
    policy = story_policy(
        tokenizer, config.stop_ids, finish_sentence=not typed,
        character=character_words(request.character, request.language),
        beat_character=character_in_sentence(request),
    )  # fmt: skip
    sampler = Sampler(SamplingConfig(seed=seed, **sampling), config.top_k)
    assert policy.best_of == 2
    return asyncio.run(
        generate_best_of(
            runner, tokenizer, prompt, n=2, sampler=sampler, max_new_tokens=budget,
            stop_ids=config.stop_ids, policy=policy,
        )
    )  # fmt: skip


def one_token_loop(tiny, policy, **sampling):
    """REQUEST written by hand with `generate` under `policy` and SAMPLED's settings."""
    config, tokenizer, runner = tiny
    settings = SamplingConfig(
        temperature=1.5, top_p=1.0, repetition_penalty=1.3, seed=20261123, **sampling
    )
    return asyncio.run(
        generate(
            runner, tokenizer, build_prompt(REQUEST, config.variant),
            sampler=Sampler(settings, config.top_k), max_new_tokens=128,
            stop_ids=config.stop_ids, policy=policy,
        )
    )  # fmt: skip


def test_a_seeded_story_is_the_one_the_page_wrote_before(tiny):
    config, tokenizer, runner = tiny
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, SAMPLED))
    want = by_hand(
        config, tokenizer, runner, REQUEST, seed=20261123, budget=None, typed=False,
        temperature=1.5, top_p=1.0, repetition_penalty=1.3,
    )  # fmt: skip
    assert story.generation.prompt_ids == want.prompt_ids
    assert story.generation.ids == want.ids and len(want.ids) > 20
    assert story.generation.text == want.text
    assert story.plan.settings.max_new_tokens == 128  # medium, half the tiny 256-token context
    assert story.to_dict()["sampling"]["finish_sentence"] is True


def test_a_policy_of_best_of_one_is_the_one_token_loop(tiny):
    config, tokenizer, runner = tiny
    policy = story_policy(tokenizer, config.stop_ids, best_of=1)
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, SAMPLED, policy=policy))
    want = one_token_loop(tiny, policy)
    assert story.generation.ids == want.ids and len(want.ids) > 20
    assert story.to_dict()["policy"]["best_of"] == 1
    best_of_two = asyncio.run(write_story(runner, tokenizer, config, REQUEST, SAMPLED))
    assert best_of_two.generation.ids != want.ids  # the default picks among two sentences


def test_the_policy_s_min_p_reaches_the_sampler(tiny):
    config, tokenizer, runner = tiny
    policy = story_policy(tokenizer, config.stop_ids, best_of=1, min_p=0.3)
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, SAMPLED, policy=policy))
    want = one_token_loop(tiny, policy, min_p=0.3)
    assert story.generation.ids == want.ids and len(want.ids) > 20
    assert story.to_dict()["policy"]["min_p"] == 0.3
    without = story_policy(tokenizer, config.stop_ids, best_of=1)
    plain = asyncio.run(write_story(runner, tokenizer, config, REQUEST, SAMPLED, policy=without))
    assert plain.generation.ids != want.ids  # the tiny model's flat candidates are cut


def test_a_greedy_story_is_written_once_per_sentence(tiny):
    """At temperature 0 both best-of samples would be the same sentence: one is written."""
    config, tokenizer, runner = tiny
    greedy = {"temperature": "0", "seed": "7"}
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, greedy))
    assert story.to_dict()["policy"]["best_of"] == 1
    policy = story_policy(tokenizer, config.stop_ids, best_of=1)
    want = asyncio.run(
        generate(
            runner, tokenizer, build_prompt(REQUEST, config.variant),
            sampler=Sampler(SamplingConfig(temperature=0.0, seed=7), config.top_k),
            max_new_tokens=128, stop_ids=config.stop_ids, policy=policy,
        )
    )  # fmt: skip
    assert story.generation.ids == want.ids and len(want.ids) > 20


def test_a_typed_max_length_is_a_hard_limit(tiny):
    config, tokenizer, runner = tiny
    settings = {"temperature": "0", "repetition_penalty": "1", "max_new_tokens": "24"}
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, settings))
    want = by_hand(
        config, tokenizer, runner, REQUEST, seed=None, budget=24, typed=True,
        temperature=0.0, repetition_penalty=1.0,
    )  # fmt: skip
    assert story.generation.ids == want.ids
    assert len(story.generation.ids) == 24 or story.generation.stop_reason == "eos"
    assert story.to_dict()["sampling"]["finish_sentence"] is False


def test_the_result_has_the_page_shape(tiny):
    config, tokenizer, runner = tiny
    shown: list[str] = []
    story = asyncio.run(
        write_story(
            runner, tokenizer, config, REQUEST, {**SAMPLED, "max_new_tokens": "5"},
            on_prompt=shown.append,
        )
    )  # fmt: skip
    result = story.to_dict()
    assert set(result) == {
        "ids", "text", "prompt", "prompt_ids", "stop_reason", "stop_token", "seed", "stats",
        "notices", "sampling", "policy", "request",
    }  # fmt: skip
    assert set(result["sampling"]) == {
        "temperature", "top_k", "top_p", "repetition_penalty", "seed", "max_new_tokens",
        "finish_sentence", "no_repeat_ngram", "penalize_prompt", "family_safe",
    }  # fmt: skip
    assert result["seed"] == result["sampling"]["seed"] == "20261123"
    assert result["sampling"]["max_new_tokens"] == 5 and len(result["ids"]) <= 5
    assert result["request"]["character"] == "a curious fox"
    assert shown == [result["prompt"]]  # a pretrained model shows its opening
    assert result["notices"] == []


def test_a_text_prompt_takes_the_budget_of_its_length(tiny):
    config, tokenizer, runner = tiny
    plan = plan_story(config, "Once upon a time", {}, length="short", context_length=32768)
    assert plan.prompt == "Once upon a time" and plan.request is None
    assert plan.settings.max_new_tokens == 160
    story = asyncio.run(
        write_story(
            runner, tokenizer, config, "Once", {"max_new_tokens": "3"}, policy=StoryPolicy()
        )
    )
    assert story.to_dict()["request"] is None and story.to_dict()["policy"]["banned_ids"] == 0


def test_a_long_prompt_is_cut_with_a_notice(tiny):
    config, tokenizer, runner = tiny
    notices = []
    story = asyncio.run(
        write_story(
            runner, tokenizer, config, "word " * 400, {"max_new_tokens": "100", "seed": "1"},
            on_notice=notices.append,
        )
    )  # fmt: skip
    assert [n.code for n in notices] == [ErrorCode.PROMPT_CUT]
    assert notices[0].params["context"] == 256 and notices[0].params["budget"] >= 100
    assert story.to_dict()["notices"] == [notices[0].message]


@pytest.mark.parametrize(
    ("story", "settings", "error", "code"),
    [
        ("   ", {}, EmptyPromptError, ErrorCode.EMPTY_PROMPT),
        ("Hi", {"temperature": "5"}, SettingError, ErrorCode.OUT_OF_RANGE),
        ("Hi", {"max_new_tokens": "255"}, SettingError, ErrorCode.OUT_OF_RANGE),
        ("Hi", {"top_k": "65"}, SettingError, ErrorCode.OUT_OF_RANGE),
    ],
)
def test_mistakes_are_found_before_the_model_runs(tiny, story, settings, error, code):
    config, _, _ = tiny
    with pytest.raises(error) as info:
        plan_story(config, story, settings)
    assert info.value.code == code


def test_family_safe_is_on_by_default_and_the_settings_turn_it_off(tiny):
    config, tokenizer, runner = tiny
    greedy = {"temperature": "0", "max_new_tokens": "4"}
    on = asyncio.run(write_story(runner, tokenizer, config, REQUEST, greedy))
    off = asyncio.run(
        write_story(runner, tokenizer, config, REQUEST, {**greedy, "family_safe": False})
    )
    assert on.policy.family is not None and on.to_dict()["sampling"]["family_safe"] is True
    assert off.policy.family is None and off.to_dict()["sampling"]["family_safe"] is False


def test_a_listed_word_in_a_field_is_refused_while_family_safe(tiny):
    config, _, _ = tiny
    drunk = StoryRequest(character="a drunk pirate", language="en")
    with pytest.raises(StoryRequestError) as info:
        plan_story(config, drunk, {})
    assert info.value.field == "character" and info.value.code == ErrorCode.UNSUITABLE_WORDS
    assert info.value.params == {"words": "“drunk”"}
    assert "family-safe" in str(info.value)
    assert plan_story(config, drunk, {"family_safe": False}).request == drunk  # the reader's call
    with pytest.raises(StoryRequestError) as info:  # a text prompt is read with its language
        plan_story(config, "Il était une fois un pirate ivre", {}, language="fr")
    assert info.value.field == "prompt" and info.value.params == {"words": "“ivre”"}


@pytest.mark.parametrize("value", ["yes", 1, 0.5])
def test_the_family_safe_switch_takes_only_booleans(tiny, value):
    config, _, _ = tiny
    with pytest.raises(SettingError) as info:
        plan_story(config, REQUEST, {"family_safe": value})
    assert info.value.field == "family_safe" and info.value.code == ErrorCode.NOT_ONE_OF


def test_the_story_s_policy_knows_the_words_that_name_its_character(tiny):
    """Best-of's character rule reads them; the page's result carries them for replay."""
    config, tokenizer, runner = tiny
    greedy = {"temperature": "0", "max_new_tokens": "4"}
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, greedy))
    words = character_words(REQUEST.character, REQUEST.language)
    assert words and story.policy.character == words
    assert story.to_dict()["policy"]["character"] == sorted(words)
    free = asyncio.run(write_story(runner, tokenizer, config, "Once upon a time", greedy))
    assert free.policy.character == frozenset()  # free text names no character


def test_a_story_names_its_character_after_a_beat_when_its_policy_asks(tiny):
    """The story beats' "One day, the fox" (pyshell/story_beats.py), off by default."""
    config, tokenizer, runner = tiny
    greedy = {"temperature": "0", "max_new_tokens": "4"}
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, greedy))
    assert story.policy.beats and story.policy.beat_character == ""
    asked = story_policy(tokenizer, config.stop_ids, name_in_beats=True)
    story = asyncio.run(write_story(runner, tokenizer, config, REQUEST, greedy, policy=asked))
    assert story.policy.beat_character == "the fox"
    assert story.to_dict()["policy"]["beat_character"] == "the fox"
