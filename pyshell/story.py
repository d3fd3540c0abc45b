"""One story, from the form to the result: the one path of the page, the CLI and the evaluation.

`write_story` builds the prompt (pyshell.prompts), reads the settings
(pyshell.settings: sampling and budget), chooses the story policy
(pyshell.story_policy) and the sampler, and runs `pyshell.generate.generate`, or
`pyshell.best_of.generate_best_of` when the policy writes each sentence as the
best of several (the default: best of 2).
pyshell.browser (the page), pyshell.cli (`python -m pyshell`) and
pyshell.evaluate all call it, so the same request, settings and seed give the
same story wherever it is written. `StoryResult.to_dict()` is the JSON the page
posts as `done` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from pyshell.best_of import generate_best_of
from pyshell.characters import character_words
from pyshell.config import ModelConfig
from pyshell.family_safe import UnsuitableRequestError, check_request, listed_words
from pyshell.generate import Callback, GenerationResult, TokenizerLike, generate, require_text
from pyshell.prompts import StoryRequest, build_prompt, character_in_sentence
from pyshell.runner import Runner
from pyshell.sampler import Sampler
from pyshell.settings import StorySettings, parse_settings
from pyshell.story_policy import StoryPolicy, story_policy, with_free_character

__all__ = ["REQUEST_FIELDS", "StoryPlan", "StoryResult", "plan_story", "write_story"]

REQUEST_FIELDS = ("character", "setting", "theme", "tone", "length", "language", "text")


@dataclass(frozen=True)
class StoryPlan:
    """What is decided before the model runs: the prompt and the settings, checked."""

    prompt: str
    request: StoryRequest | None  # None for a prompt given as text (the CLI's PROMPT)
    settings: StorySettings
    language: str  # the request's, or the one given with a text prompt


def plan_story(
    config: ModelConfig,
    story: StoryRequest | str,
    settings: Mapping[str, Any],
    *,
    length: str = "medium",
    language: str = "en",
    context_length: int | None = None,
) -> StoryPlan:
    """The prompt for `story` (a request, or the prompt itself) and its settings.

    `settings` are the settings form's values (pyshell.settings.parse_settings);
    `length` and `language` are a text prompt's (a request has its own): its
    default budget and its family-safe word list. Cheap: the CLI calls it to
    refuse mistakes before the model loads. Raises SettingError, EmptyPromptError
    or, when family-safe stories are on and a field holds a listed word,
    UnsuitableRequestError (a StoryRequestError naming the field).
    """
    request = story if isinstance(story, StoryRequest) else None
    prompt = build_prompt(request, config.variant) if request is not None else story
    require_text(prompt)
    parsed = parse_settings(
        settings,
        request.length if request is not None else length,
        config.context_length if context_length is None else context_length,
        config.top_k,
    )
    if request is not None:
        language = request.language
    if parsed.family_safe:
        if request is not None:
            check_request(request)
        elif words := listed_words(prompt, language):
            raise UnsuitableRequestError("prompt", list(dict.fromkeys(words)))
    return StoryPlan(prompt, request, parsed, language)


@dataclass(frozen=True)
class StoryResult:
    """A finished (or stopped) story with everything needed to write it again."""

    plan: StoryPlan
    policy: StoryPolicy
    generation: GenerationResult

    def to_dict(self) -> dict[str, Any]:
        """The result as the page posts it (`done`) and the e2e tests replay it."""
        result, settings = self.generation, self.plan.settings
        sampling, request = settings.sampling, self.plan.request
        return {
            "ids": result.ids,
            "text": result.text,
            "prompt": self.plan.prompt,
            "prompt_ids": result.prompt_ids,
            "stop_reason": result.stop_reason,
            "stop_token": result.stop_token,
            "seed": str(result.seed),  # may exceed JavaScript's exact integers
            "stats": result.stats.to_dict(),
            "notices": [notice.message for notice in result.notices],
            "sampling": {
                "temperature": sampling.temperature,
                "top_k": sampling.top_k,
                "top_p": sampling.top_p,
                "repetition_penalty": sampling.repetition_penalty,
                "seed": str(result.seed),
                "max_new_tokens": settings.max_new_tokens,
                "finish_sentence": self.policy.ending is not None,
                "no_repeat_ngram": self.policy.no_repeat_ngram,
                "penalize_prompt": self.policy.penalize_prompt,
                "family_safe": self.policy.family is not None,
            },
            "policy": self.policy.describe(),
            "request": (
                None if request is None else {k: getattr(request, k) for k in REQUEST_FIELDS}
            ),
        }


async def write_story(
    runner: Runner,
    tokenizer: TokenizerLike,
    config: ModelConfig,
    story: StoryRequest | str,
    settings: Mapping[str, Any],
    *,
    length: str = "medium",
    language: str = "en",
    policy: StoryPolicy | None = None,
    on_prompt: Callable[[str], Any] | None = None,
    on_token: Callback | None = None,
    on_notice: Callback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> StoryResult:
    """Write one story and stream it.

    - `story`: a StoryRequest (the form), or the prompt as text with its
      `length` and `language`.
    - `settings`: the settings form's values, as typed ("" or missing: defaults).
    - `policy`: the story policy; None takes the default one, whose ending rule
      lets the story finish its sentence unless the reader typed a max length,
      family-safe unless the settings turn it off, the story style of
      docs/stories.md. Its `best_of` > 1 needs a runner that can go back
      (pyshell.best_of.Rewindable).
    - `on_prompt(text)`: the prompt, before the first token, when the model is a
      pretrained one (it continues the opening, so the opening is part of the story).
    - `on_token`, `on_notice`, `cancel`: as in `pyshell.generate.generate`.
    """
    plan = plan_story(
        config, story, settings,
        length=length, language=language, context_length=runner.context_length,
    )  # fmt: skip
    if policy is None:
        policy = story_policy(
            tokenizer, config.stop_ids, finish_sentence=not plan.settings.hard_limit,
            family_safe=plan.settings.family_safe, language=plan.language,
        )  # fmt: skip
    if plan.request is not None and not policy.character:  # for best-of's character rule
        policy = replace(policy, character=character_words(plan.request.character, plan.language))
    policy = with_free_character(policy, tokenizer)
    if plan.request is not None and policy.name_in_beats and not policy.beat_character:
        policy = replace(policy, beat_character=character_in_sentence(plan.request))
    sampler = Sampler(replace(plan.settings.sampling, min_p=policy.min_p), config.top_k)
    if plan.settings.sampling.temperature == 0 and policy.best_of > 1:
        policy = replace(policy, best_of=1)  # greedy samples the same sentence every time
    if on_prompt is not None and not config.instruction_tuned:
        on_prompt(plan.prompt)
    write = generate if policy.best_of == 1 else partial(generate_best_of, n=policy.best_of)
    generation = await write(
        runner, tokenizer, plan.prompt,
        sampler=sampler, max_new_tokens=plan.settings.max_new_tokens, stop_ids=config.stop_ids,
        policy=policy, on_token=on_token, on_notice=on_notice, cancel=cancel,
    )  # fmt: skip
    return StoryResult(plan, policy, generation)
