"""What CPython computes for a story the page wrote: pyshell + onnxruntime on the same model.

The page reports (window.conteur.last) the request, the prompt and the exact
sampling settings and story policy it used; this replays them through
`pyshell.generate` (or `pyshell.best_of` when the policy writes the best of several
sentences) with `pyshell.onnx_runner.OnnxRunner`, the CPython twin of the page's runner, on the
graph the page's backend ran ("webgpu": model.onnx, "wasm": the CPU graph).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from pathlib import Path

from pyshell.best_of import generate_best_of
from pyshell.config import ModelConfig
from pyshell.generate import GenerationResult, generate
from pyshell.onnx_runner import OnnxRunner
from pyshell.prompts import StoryRequest, build_prompt
from pyshell.runner import Candidates
from pyshell.sampler import Sampler, SamplingConfig
from pyshell.story_policy import story_policy
from pyshell.tokenizer import Tokenizer


@lru_cache(maxsize=4)
def _model(model_dir: Path, backend: str) -> tuple[ModelConfig, Tokenizer, OnnxRunner]:
    config = ModelConfig.from_file(model_dir)
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.model")
    return config, tokenizer, OnnxRunner(model_dir, backend=backend)


def prompt_for(model_dir: Path, last: dict) -> str:
    """The prompt pyshell builds from the request the page sent."""
    config = ModelConfig.from_file(model_dir)
    return build_prompt(StoryRequest(**last["request"]), config.variant)


def runner(model_dir: Path, backend: str) -> OnnxRunner:
    """The CPython runner on the graph `backend` runs (shared, so reset it first)."""
    return _model(model_dir, backend)[2]


def first_step(model_dir: Path, prompt_ids: list[int], backend: str) -> Candidates:
    """The candidates after the prompt: the page's first step."""
    _, _, runner = _model(model_dir, backend)
    runner.reset_sync()
    return runner.step_sync(prompt_ids)


def replay(model_dir: Path, last: dict, backend: str) -> GenerationResult:
    """The story CPython writes with the page's prompt, sampling settings and story policy
    as the page reported them (pyshell.story_policy: the same banned ids; the ending
    rule unless the page was given a max length; the family-safe filter of the story's
    language unless the page turned it off; the story style's length, break-out,
    repetition, best-of and known-words rules)."""
    config, tokenizer, runner = _model(model_dir, backend)
    s, p = last["sampling"], last["policy"]
    policy = story_policy(
        tokenizer,
        config.stop_ids,
        finish_sentence=s["finish_sentence"],
        no_repeat_ngram=p["no_repeat_ngram"],
        ngram_repeats=p["ngram_repeats"],
        phrase_words=p["phrase_words"],
        phrase_repeats=p["phrase_repeats"],
        penalize_prompt=p["penalize_prompt"],
        family_safe=s["family_safe"],
        language=last["request"].get("language", "en"),
        min_length=p["min_length"],
        breaks=p["breaks"],
        hold_paragraphs=p["hold_paragraphs"],
        penalize_pronouns=p["unpenalized_ids"] == 0,
        best_of=p["best_of"],
        loop_draws=p["loop_draws"],
        loop_ends=p["loop_ends"],
        name_character=p["name_character"],
        character=p["character"],
        pass_asides=p["pass_asides"],
        prefer_known=p["prefer_known"],
        avoid_grim=p["avoid_grim"],
        beats=bool(p["beats"]),
        warm_end=p["warm_end"],
        end_draws=p["end_draws"],
        name_in_beats=p["name_in_beats"],
        pass_break_outs=p["pass_break_outs"],
        beat_character=p["beat_character"],
        known_words_only=p["known_words"],
    )
    assert policy.describe() == p, "the page's policy is not one story_policy makes"
    sampling = SamplingConfig(
        temperature=s["temperature"],
        top_k=s["top_k"],
        top_p=s["top_p"],
        repetition_penalty=s["repetition_penalty"],
        seed=int(s["seed"]),
    )
    write = generate if policy.best_of == 1 else partial(generate_best_of, n=policy.best_of)
    story = write(
        runner,
        tokenizer,
        prompt_for(model_dir, last),
        sampler=Sampler(sampling, config.top_k),
        max_new_tokens=s["max_new_tokens"],
        stop_ids=config.stop_ids,
        policy=policy,
    )
    # Playwright's sync API owns this thread's event loop: run the loop on another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, story).result()
