"""The page's Python entry points, called from the module worker (web/static/js/worker/main.js).

The worker holds Pyodide and the onnxruntime-web session; this module runs
the story side through `pyshell.story.write_story` (the prompt, the settings,
the story policy and the loop, as in the CLI and the evaluation) with a
`JsRunner`, the adapter that makes the worker's JavaScript runner look like the
`Runner` protocol. Everything that crosses into JavaScript is a plain string,
number or JSON text, so no Python object outlives a call on the JS side.

Entry points (all return JSON text):
- `init(config_json, tokenizer_path)`: load the tokenizer and the model config.
- `prepared(config_json)`: what `init` returns, without loading anything, when this
  interpreter already ran `init` with the same config: the site's build does, before
  it snapshots Python (web/python_start.py); "null" when it did not.
- `surprise_me(language, length)`: a random story idea for the form.
- `generate_story(js_runner, request_json, settings_json, events)`: one story.
- `cancel()`: stop the running story within one model step.

Errors come back as {"error": {"kind", "code", "params", "message"}} (plus
"field" for a mistake in the form, kind "input"): pyshell.errors defines the
codes, and the page shows them in its own language.

Only `generate_story` touches the FFI (and only through the objects it is
given), so the module imports and its helpers run in CPython too.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from typing import Any

from pyshell.config import ConfigError, ModelConfig
from pyshell.errors import (
    ContextFullError,
    EmptyPromptError,
    ErrorCode,
    FieldError,
    Notice,
    PyshellError,
)
from pyshell.generate import CancelToken, TokenEvent
from pyshell.prompts import LANGUAGES, StoryRequest, surprise
from pyshell.runner import Candidates
from pyshell.spm_model import TokenizerModelError
from pyshell.story import write_story
from pyshell.story_policy import story_policy
from pyshell.tokenizer import Tokenizer

__all__ = ["JsRunner", "cancel", "generate_story", "init", "prepared", "surprise_me"]


class _State:
    tokenizer: Tokenizer | None = None
    config: ModelConfig | None = None
    config_sha256: str | None = None  # of the conteur.json text `init` loaded
    cancel: CancelToken | None = None


_state = _State()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _error(kind: str, error: PyshellError) -> str:
    """An error for the page: "input" (a form field, named in `field`), "model" or "context"."""
    return _json({"error": {"kind": kind, **error.to_dict()}})


# --- the runner adapter -----------------------------------------------------------------


class JsRunner:
    """`pyshell.runner.Runner` over the worker's JavaScript runner.

    The JS object has `contextLength`, `reset()` → Promise and
    `step(Int32Array)` → Promise<{ids: Int32Array, scores: Float32Array}>,
    the graph's `top_ids` / `top_values` (the KV cache stays on the JS side), and
    `snapshot()` → number, `restore(number)`, `forget(number)` for best-of-n
    sentences (web/static/js/worker/ort-runner.js).
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

    # pyshell.best_of.Rewindable: the JS runner keeps the tensors a snapshot names.
    def snapshot(self) -> int:
        return int(self._js.snapshot())

    def restore(self, state: int) -> None:
        self._js.restore(state)

    def forget(self, state: int) -> None:
        self._js.forget(state)


# --- entry points ---------------------------------------------------------------------


def init(config_json: str, pieces_path: str) -> str:
    """Load the model's config and the tokenizer from its `tokenizer.pieces` table alone.

    The page never downloads the 5 MB `tokenizer.model`: the pieces file holds the
    same pieces, and the worker checked its sha256 against conteur.json.

    Returns {"name", "variant", "context_length", "top_k", "vocab_size"} or
    {"error": {...}} (code model_config or tokenizer_mismatch) when a file is not
    what the exporter writes.
    """
    try:
        config = ModelConfig.load(json.loads(config_json))
        tokenizer = Tokenizer.from_pieces_file(pieces_path)
    except (ConfigError, ValueError, TokenizerModelError, OSError) as exc:
        return _error("model", PyshellError(ErrorCode.MODEL_CONFIG, detail=str(exc)))
    if tokenizer.vocab_size > config.vocab_size:
        mismatch = PyshellError(
            ErrorCode.TOKENIZER_MISMATCH, tokenizer=tokenizer.vocab_size, model=config.vocab_size
        )
        return _error("model", mismatch)
    _state.tokenizer, _state.config = tokenizer, config
    _state.config_sha256 = _sha256(config_json)
    for language in LANGUAGES:  # the banned ids and word lists, read once, before any story
        story_policy(tokenizer, config.stop_ids, language=language)
    return _model_info(config)


def prepared(config_json: str) -> str:
    """`init`'s answer if this interpreter already loaded the model `config_json` names.

    conteur.json lists the sha256 of every model file, the tokenizer's pieces among
    them, so the same text means the same tokenizer: the page then skips fetching and
    loading it. Anything else ("null") sends the page through `init`.
    """
    if _state.config is None or _state.config_sha256 != _sha256(config_json):
        return "null"
    return _model_info(_state.config)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _model_info(config: ModelConfig) -> str:
    return _json(
        {
            "name": config.name,
            "variant": config.variant,
            "context_length": config.context_length,
            "top_k": config.top_k,
            "vocab_size": config.vocab_size,
        }
    )


def surprise_me(language: str = "en", length: str = "medium") -> str:
    """A random character, setting, theme and tone for the form (pyshell.prompts.surprise)."""
    try:
        request = surprise(None, language, length)
    except FieldError as exc:
        return _error("input", exc)
    return _json(
        {k: getattr(request, k) for k in ("character", "setting", "theme", "tone", "language")}
    )


def cancel() -> None:
    """Ask the running story to stop; the loop checks before and after every step."""
    if _state.cancel is not None:
        _state.cancel.cancel()


async def generate_story(js_runner: Any, request_json: str, settings_json: str, events: Any) -> str:
    """Write one story, streaming it through `events`; returns the result as JSON.

    `events` is a JS object with `prompt(text)`, `token(text, index,
    tokens_per_second)` and `notice(message, code, params_json)`. The result is
    `pyshell.story.StoryResult.to_dict()`; mistakes in the form come back as
    {"error": {"kind": "input", "field", "code", "params", "message"}}; failures of
    the runner propagate (the worker reports them).
    """
    tokenizer, config = _state.tokenizer, _state.config
    if tokenizer is None or config is None:
        return _error("model", PyshellError(ErrorCode.NOT_LOADED))
    token = CancelToken()
    _state.cancel = token

    def on_token(event: TokenEvent) -> None:
        events.token(event.text, event.index, event.stats.decode_tokens_per_second)

    def on_notice(notice: Notice) -> None:
        events.notice(notice.message, str(notice.code), _json(notice.params))

    try:
        request = StoryRequest.from_dict(json.loads(request_json))
        story = await write_story(
            JsRunner(js_runner), tokenizer, config, request, json.loads(settings_json),
            on_prompt=lambda text: events.prompt(text), on_token=on_token,
            on_notice=on_notice, cancel=token,
        )  # fmt: skip
    except FieldError as exc:
        return _error("input", exc)
    except EmptyPromptError as exc:  # the reader's text is all there is: point at it
        return _json({"error": {"kind": "input", "field": "text", **exc.to_dict()}})
    except ContextFullError as exc:
        return _error("context", exc)
    finally:
        if _state.cancel is token:
            _state.cancel = None
    return _json(story.to_dict())
