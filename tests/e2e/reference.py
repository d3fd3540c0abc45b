"""What CPython computes for a story the page wrote: pyshell + onnxruntime on the same model.

The page reports (window.conteur.last) the request, the prompt and the exact
sampling settings it used; this replays them through `pyshell.generate` with
`pyshell.onnx_runner.OnnxRunner`, the CPython twin of the page's runner, on the
graph the page's backend ran ("webgpu": model.onnx, "wasm": the CPU graph).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from pyshell.config import ModelConfig
from pyshell.generate import GenerationResult, generate
from pyshell.onnx_runner import OnnxRunner
from pyshell.prompts import StoryRequest, build_prompt
from pyshell.runner import Candidates
from pyshell.sampler import Sampler, SamplingConfig
from pyshell.story_policy import DEFAULT_PENALIZE_PROMPT, story_policy
from pyshell.story_style import STORY_STYLE
from pyshell.tokenizer import Tokenizer

# The story style's policy options the page reports under "sampling" (pyshell/story_style.py).
OPTIONS = (
    "min_length",
    "breaks",
    "hold_paragraphs",
    "language",
    "penalize_pronouns",
    "avoid_words",
)


@lru_cache(maxsize=4)
def _model(model_dir: Path, backend: str) -> tuple[ModelConfig, Tokenizer, OnnxRunner]:
    config = ModelConfig.from_file(model_dir)
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.model")
    return config, tokenizer, OnnxRunner(model_dir, backend=backend)


def prompt_for(model_dir: Path, last: dict) -> str:
    """The prompt pyshell builds from the request the page sent."""
    config = ModelConfig.from_file(model_dir)
    return build_prompt(StoryRequest(**last["request"]), config.variant, STORY_STYLE.frame)


def runner(model_dir: Path, backend: str) -> OnnxRunner:
    """The CPython runner on the graph `backend` runs (shared, so reset it first)."""
    return _model(model_dir, backend)[2]


def first_step(model_dir: Path, prompt_ids: list[int], backend: str) -> Candidates:
    """The candidates after `prompt_ids` (the page's first step: its prefix, if it
    read one, else its prompt)."""
    _, _, runner = _model(model_dir, backend)
    runner.reset_sync()
    return runner.step_sync(prompt_ids)


def replay(model_dir: Path, last: dict, backend: str) -> GenerationResult:
    """The story CPython writes with the page's prompt, prefix, sampling settings and
    story policy (pyshell.story_policy: the same banned ids; the ending rule unless the
    page was given a max length; the style's length and break-out rules). The runner
    keeps the prefix's KV cache between replays (OnnxRunner.reset_to_prefix), as the
    page may."""
    config, tokenizer, runner = _model(model_dir, backend)
    s = last["sampling"]
    policy = story_policy(
        tokenizer,
        config.stop_ids,
        finish_sentence=s.get("finish_sentence", False),
        penalize_prompt=s.get("penalize_prompt", DEFAULT_PENALIZE_PROMPT),
        **{k: s[k] for k in OPTIONS if k in s},
    )
    sampling = SamplingConfig(
        temperature=s["temperature"],
        top_k=s["top_k"],
        top_p=s["top_p"],
        repetition_penalty=s["repetition_penalty"],
        seed=int(s["seed"]),
    )
    story = generate(
        runner,
        tokenizer,
        prompt_for(model_dir, last),
        prefix=last.get("prefix_ids") or None,
        sampler=Sampler(sampling, config.top_k),
        max_new_tokens=s["max_new_tokens"],
        stop_ids=config.stop_ids,
        policy=policy,
    )
    # Playwright's sync API owns this thread's event loop: run the loop on another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, story).result()
