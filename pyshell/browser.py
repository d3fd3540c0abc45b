"""The page's Python entry points, called from the module worker (web/static/js/worker.js).

The worker holds Pyodide and the onnxruntime-web session; this module runs
the story side: it turns the form into a prompt (pyshell.prompts), checks the
settings, and drives `pyshell.generate.generate` with a `JsRunner`, the
adapter that makes the worker's JavaScript runner look like the `Runner`
protocol. Everything that crosses into JavaScript is a plain string, number
or JSON text, so no Python object outlives a call on the JS side.

Entry points (all return JSON text):
- `init(config_json, tokenizer_path)`: load the tokenizer and the model config.
- `surprise_me(language, length)`: a random story idea for the form.
- `generate_story(js_runner, request_json, settings_json, events)`: one story.
- `cancel()`: stop the running story within one model step.

Only `generate_story` touches the FFI (and only through the objects it is
given), so the module imports and its helpers run in CPython too.
"""

from __future__ import annotations

import json
import math
from array import array
from typing import Any

from pyshell.config import ConfigError, ModelConfig
from pyshell.generate import CancelToken, EmptyPromptError, TokenEvent, generate
from pyshell.prompts import LENGTHS, StoryRequest, StoryRequestError, build_prompt, surprise
from pyshell.runner import Candidates, ContextFullError
from pyshell.sampler import MAX_SEED, Sampler, SamplingConfig, SettingError
from pyshell.story_policy import story_policy
from pyshell.story_style import STORY_STYLE
from pyshell.tokenizer import Tokenizer, TokenizerModelError

__all__ = ["JsRunner", "cancel", "generate_story", "init", "parse_settings", "surprise_me"]

# The settings form's fields, and how messages name them.
SETTING_LABELS = {
    "temperature": "temperature",
    "top_p": "top-p",
    "repetition_penalty": "repetition penalty",
    "max_new_tokens": "max length",
    "seed": "seed",
    "top_k": "top-k",
}
SETTING_FIELDS = tuple(SETTING_LABELS)


class _State:
    tokenizer: Tokenizer | None = None
    config: ModelConfig | None = None
    cancel: CancelToken | None = None


_state = _State()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _input_error(field: str, message: str) -> str:
    """A mistake in the form: the page shows `message` next to `field`."""
    return _json({"error": {"kind": "input", "field": field, "message": message}})


# --- the runner adapter -----------------------------------------------------------------


class JsRunner:
    """`pyshell.runner.Runner` over the worker's JavaScript runner.

    The JS object has `contextLength`, `reset()` → Promise and
    `step(Int32Array)` → Promise<{ids: Int32Array, scores: Float32Array}>,
    the graph's `top_ids` / `top_values` (the KV cache stays on the JS side).
    """

    def __init__(self, js_runner: Any) -> None:
        self._js = js_runner
        self.context_length = int(js_runner.contextLength)

    async def reset(self) -> None:
        await self._js.reset()

    async def step(self, ids: list[int]) -> Candidates:
        from pyodide.ffi import to_js  # only exists in Pyodide

        result = await self._js.step(to_js(array("i", ids)))  # an Int32Array, one copy
        return Candidates.from_sequences(result.ids.to_memoryview(), result.scores.to_memoryview())


# --- entry points ---------------------------------------------------------------------


def init(config_json: str, tokenizer_path: str) -> str:
    """Load the model's config and tokenizer (its `.pieces` cache sits beside it).

    Returns {"name", "variant", "context_length", "top_k", "vocab_size"} or
    {"error": {...}} when a file is not what the exporter writes.
    """
    try:
        config = ModelConfig.load(json.loads(config_json))
        tokenizer = Tokenizer.from_file(tokenizer_path)
    except (ConfigError, ValueError, TokenizerModelError, OSError) as exc:
        return _json({"error": {"kind": "model", "message": str(exc)}})
    if tokenizer.vocab_size > config.vocab_size:
        return _json(
            {
                "error": {
                    "kind": "model",
                    "message": f"the tokenizer has {tokenizer.vocab_size:,} pieces but the model "
                    f"only {config.vocab_size:,}: the files come from different exports",
                }
            }
        )
    _state.tokenizer, _state.config = tokenizer, config
    story_policy(tokenizer, config.stop_ids)  # the banned ids, computed once, before any story
    return _json(
        {
            "name": config.name,
            "variant": config.variant,
            "context_length": config.context_length,
            "top_k": config.top_k,
            "vocab_size": config.vocab_size,
            "tokenizer_from_cache": tokenizer.loaded_from_cache,
        }
    )


def surprise_me(language: str = "en", length: str = "medium") -> str:
    """A random character, setting, theme and tone for the form (pyshell.prompts.surprise)."""
    try:
        request = surprise(None, language, length)
    except StoryRequestError as exc:
        return _input_error(exc.field, str(exc))
    return _json(
        {k: getattr(request, k) for k in ("character", "setting", "theme", "tone", "language")}
    )


def cancel() -> None:
    """Ask the running story to stop; the loop checks before and after every step."""
    if _state.cancel is not None:
        _state.cancel.cancel()


def _number(field: str, text: Any, default: float | None) -> float | None:
    """A form value as a number: "" means the default; "0,8" is read as 0.8."""
    label = SETTING_LABELS.get(field, field)
    if text is None or (isinstance(text, str) and not text.strip()):
        return default
    if isinstance(text, bool):
        raise SettingError(field, f"{label} must be a number (got {text!r})")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        try:
            value = float(str(text).strip().replace(",", "."))
        except ValueError:
            raise SettingError(field, f"{label} must be a number (got {str(text)!r})") from None
    if not math.isfinite(value):
        raise SettingError(field, f"{label} must be a finite number (got {text!r})")
    return value


def _whole(field: str, text: Any) -> int | None:
    """A form value as a whole number, exactly (a seed may exceed 2**53); "" is None."""
    label = SETTING_LABELS.get(field, field)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise SettingError(field, f"{label} must be a whole number (got {text!r})")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if text.is_integer():
            return int(text)
        raise SettingError(field, f"{label} must be a whole number (got {text!r})")
    digits = str(text).strip().replace("_", "")
    try:
        return int(digits)
    except ValueError:
        try:
            value = float(digits.replace(",", "."))
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise SettingError(field, f"{label} must be a whole number (got {str(text)!r})") from None


def parse_settings(
    settings: dict, request: StoryRequest, context_length: int, candidates: int
) -> tuple[SamplingConfig, int]:
    """The sampling config and the token budget from the settings form.

    Empty fields take the defaults (per story language, pyshell/story_style.py);
    the story length decides the budget
    unless `max_new_tokens` is given, and the default budget never takes
    more than half of a small model's context. Raises SettingError naming
    the field at fault.
    """
    unknown = sorted(set(settings) - set(SETTING_FIELDS))
    if unknown:
        raise SettingError(unknown[0], f"unknown setting {unknown[0]!r}")
    defaults = STORY_STYLE.sampling(request.language)
    seed = _whole("seed", settings.get("seed"))
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise SettingError(
            "seed", f"seed must be a whole number between 0 and 2**64 - 1 (got {seed})"
        )
    top_k = _whole("top_k", settings.get("top_k"))
    config = SamplingConfig(
        temperature=_number("temperature", settings.get("temperature"), defaults.temperature),
        top_p=_number("top_p", settings.get("top_p"), defaults.top_p),
        repetition_penalty=_number(
            "repetition_penalty", settings.get("repetition_penalty"), defaults.repetition_penalty
        ),
        top_k=min(defaults.top_k, candidates) if top_k is None else top_k,
        seed=seed,
    )
    budget = _whole("max_new_tokens", settings.get("max_new_tokens"))
    if budget is None:
        budget = min(LENGTHS[request.length], max(1, context_length // 2))
    elif not 1 <= budget <= context_length - 2:
        raise SettingError(
            "max_new_tokens",
            f"max length must be between 1 and {context_length - 2:,} tokens for this model "
            f"(got {budget:,})",
        )
    return config, budget


async def generate_story(js_runner: Any, request_json: str, settings_json: str, events: Any) -> str:
    """Write one story, streaming it through `events`; returns the result as JSON.

    `events` is a JS object with `prompt(text, token_count)`, `token(text,
    index, tokens_per_second)` and `notice(text)`. Mistakes in the form come
    back as {"error": {"kind": "input", "field", "message"}}; failures of the
    runner propagate (the worker reports them).
    """
    tokenizer, config = _state.tokenizer, _state.config
    if tokenizer is None or config is None:
        return _json({"error": {"kind": "model", "message": "the model is not loaded yet"}})
    try:
        request = StoryRequest.from_dict(json.loads(request_json))
        runner = JsRunner(js_runner)
        settings = json.loads(settings_json)
        sampling, budget = parse_settings(settings, request, runner.context_length, config.top_k)
        sampler = Sampler(sampling, config.top_k)
    except StoryRequestError as exc:
        return _input_error(exc.field, str(exc))
    except SettingError as exc:
        return _input_error(exc.setting, str(exc))
    # A length the reader typed is a hard limit; the story length's budget is a
    # target the story may pass to finish its sentence (pyshell.story_policy).
    typed = _whole("max_new_tokens", settings.get("max_new_tokens"))
    options = STORY_STYLE.policy_options(request)
    policy = story_policy(tokenizer, config.stop_ids, finish_sentence=typed is None, **options)
    prompt = build_prompt(request, config.variant, STORY_STYLE.frame)
    prefix = STORY_STYLE.prefix(request) if not config.instruction_tuned else ""
    token = CancelToken()
    _state.cancel = token

    def on_token(event: TokenEvent) -> None:
        events.token(event.text, event.index, event.stats.decode_tokens_per_second)

    if not config.instruction_tuned:  # a pretrained model continues the opening: show it
        events.prompt(prompt)
    try:
        result = await generate(
            runner, tokenizer, prompt, prefix=prefix,
            sampler=sampler, max_new_tokens=budget, stop_ids=config.stop_ids, policy=policy,
            on_token=on_token, on_notice=lambda text: events.notice(text), cancel=token,
        )  # fmt: skip
    except EmptyPromptError as exc:
        return _input_error("text", str(exc))
    except SettingError as exc:
        return _input_error(exc.setting, str(exc))
    except ContextFullError as exc:
        return _json({"error": {"kind": "context", "message": str(exc)}})
    finally:
        if _state.cancel is token:
            _state.cancel = None
    return _json(
        {
            "ids": result.ids,
            "text": result.text,
            "prompt": prompt,
            "prompt_ids": result.prompt_ids,
            "prefix_ids": result.prefix_ids,
            "stop_reason": result.stop_reason,
            "stop_token": result.stop_token,
            "seed": str(result.seed),  # may exceed JavaScript's exact integers
            "stats": result.stats.to_dict(),
            "notices": result.notices,
            "sampling": {
                "temperature": sampling.temperature,
                "top_k": sampling.top_k,
                "top_p": sampling.top_p,
                "repetition_penalty": sampling.repetition_penalty,
                "seed": str(result.seed),
                "max_new_tokens": budget,
                "finish_sentence": policy.ending is not None,
                "no_repeat_ngram": policy.no_repeat_ngram,
                "penalize_prompt": policy.penalize_prompt,
                **options,
            },
            "policy": policy.describe(),
            "request": {
                k: getattr(request, k)
                for k in ("character", "setting", "theme", "tone", "length", "language", "text")
            },
        }
    )
