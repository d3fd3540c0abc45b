"""The generation loop: prompt → prefill → sample → stream text → step … → stop.

It is async because in the page every `runner.step` is a JavaScript promise
(onnxruntime-web); awaiting it also lets the worker's event loop deliver a
"stop" message between steps. In CPython the runner simply runs
synchronously inside its coroutine.

One loop serves the page and the CLI: both pass callbacks that receive each
text delta with its token id and live timing, and both get the same
`GenerationResult` at the end.

Under a break-out rule that holds paragraph starts back (pyshell/story_breaks.py)
the loop keeps a new paragraph's first sentence from the reader until it is
judged; one that leaves the story is dropped, and the story ends before it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pyshell.errors import EmptyPromptError, ErrorCode, Notice
from pyshell.runner import Runner
from pyshell.sampler import Sampler
from pyshell.settings import SamplingConfig, check_budget
from pyshell.story_breaks import CUT, HOLD
from pyshell.story_policy import StoryPolicy

__all__ = [
    "CancelToken",
    "EmptyPromptError",
    "GenerationResult",
    "GenerationStats",
    "StopReason",
    "TokenEvent",
    "generate",
    "prepare_prompt",
    "require_text",
]


class StopReason:
    """Why generation ended (plain strings, so they cross into JavaScript as is)."""

    EOS = "eos"  # the model ended the text
    END_OF_TURN = "end_of_turn"  # an instruction-tuned model ended its turn
    MAX_TOKENS = "max_tokens"  # the length limit was reached
    SENTENCE_END = "sentence_end"  # a sentence ended near the length budget (StoryPolicy)
    CANCELLED = "cancelled"  # the caller asked to stop


class TokenizerLike(Protocol):
    """The part of `pyshell.tokenizer.Tokenizer` the loop uses."""

    bos_id: int
    eos_id: int

    def encode(self, text: str, add_bos: bool = False) -> list[int]: ...

    def stream_decoder(self) -> Any: ...

    def token_text(self, i: int) -> str: ...


class CancelToken:
    """A stop flag the caller sets from elsewhere (a UI button, a signal handler).

    The loop checks it before every model step and right after each step
    returns, so generation stops within one step of `cancel()`.
    """

    def __init__(self) -> None:
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def __call__(self) -> bool:
        return self._cancelled


@dataclass(frozen=True)
class GenerationStats:
    """Timing of one generation, in seconds and tokens per second.

    Prefill covers the prompt's single step; decode runs from the first new
    token to the last (each of those tokens after the first cost one step,
    plus sampling and the caller's callbacks: the rate a reader sees).
    """

    prompt_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    time_to_first_token: float = 0.0  # from the start of the call to the first new token
    decode_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def prefill_tokens_per_second(self) -> float:
        return self.prompt_tokens / self.prefill_seconds if self.prefill_seconds > 0 else 0.0

    @property
    def decode_tokens_per_second(self) -> float:
        decoded = self.generated_tokens - 1
        return decoded / self.decode_seconds if decoded > 0 and self.decode_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        """Plain numbers for JSON and for the page."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "prefill_seconds": self.prefill_seconds,
            "prefill_tokens_per_second": self.prefill_tokens_per_second,
            "time_to_first_token": self.time_to_first_token,
            "decode_seconds": self.decode_seconds,
            "decode_tokens_per_second": self.decode_tokens_per_second,
            "total_seconds": self.total_seconds,
        }


@dataclass(frozen=True)
class TokenEvent:
    """One step of the stream.

    `text` is what this token adds (may be "" while a multi-byte character
    is incomplete). `token_id` is None for the final event that carries the
    text of bytes still pending when the stream ended.
    """

    token_id: int | None
    text: str
    index: int  # number of tokens generated so far, this one included
    stats: GenerationStats


@dataclass
class GenerationResult:
    ids: list[int]  # generated ids, without the stop token
    text: str  # their decoded text (the concatenation of all event texts)
    stop_reason: str  # a StopReason value
    stats: GenerationStats
    prompt_ids: list[int]  # what the model was fed, after any truncation
    seed: int  # the sampler's seed: rerun with it to get the same story
    stop_token: int | None = None  # the id that ended the story, if one did
    notices: list[Notice] = field(default_factory=list)  # e.g. the prompt was cut


Callback = Callable[..., Any]


async def _call(callback: Callback | None, *args: Any) -> None:
    """Call a sync or async callback (the page's may return a promise)."""
    if callback is not None:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result


def require_text(prompt: str) -> None:
    """A text prompt must say something to continue."""
    if not prompt.strip():
        raise EmptyPromptError()


def prepare_prompt(
    tokenizer: TokenizerLike,
    prompt: str | list[int],
    context_length: int,
    max_new_tokens: int,
) -> tuple[list[int], Notice | None]:
    """Prompt ids starting with exactly one BOS, cut to leave room for the story.

    Text is encoded with BOS (the prompt builder never writes one). When
    prompt + max_new_tokens exceeds the context, the oldest tokens after BOS
    are dropped; the second value is then a notice saying so, else None.
    """
    check_budget(max_new_tokens, context_length)
    bos = tokenizer.bos_id
    if isinstance(prompt, str):
        require_text(prompt)
        ids = tokenizer.encode(prompt, add_bos=True)
    else:
        ids = [int(i) for i in prompt]
        while ids and ids[0] == bos:
            ids.pop(0)
        if not ids:
            raise EmptyPromptError()
        ids.insert(0, bos)
    room = context_length - max_new_tokens  # prompt tokens that fit, BOS included
    if len(ids) <= room:
        return ids, None
    kept = [bos] + ids[len(ids) - (room - 1) :]
    notice = Notice(
        ErrorCode.PROMPT_CUT,
        {
            "length": len(ids), "room": room, "budget": max_new_tokens,
            "context": context_length, "kept": room - 1,
        },
    )  # fmt: skip
    return kept, notice


async def generate(
    runner: Runner,
    tokenizer: TokenizerLike,
    prompt: str | list[int],
    *,
    sampler: Sampler | SamplingConfig | None = None,
    max_new_tokens: int = 256,
    stop_ids: set[int] | frozenset[int] | None = None,
    policy: StoryPolicy | None = None,
    on_token: Callback | None = None,
    on_notice: Callback | None = None,
    cancel: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> GenerationResult:
    """Generate a continuation of `prompt` (text, or ids) and stream it.

    - `sampler`: a Sampler, a SamplingConfig, or None for the defaults.
    - `stop_ids`: ids that end the story (ModelConfig.stop_ids); defaults
      to the tokenizer's EOS.
    - `policy`: banned ids, the family-safe filter, the ending rule and repetition
      rules (pyshell.story_policy); None is a plain continuation that stops at
      exactly `max_new_tokens`. With an ending rule the story may run past
      `max_new_tokens` (the budget) up to the rule's limit.
    - `on_token(TokenEvent)`: each new token's text delta and live stats.
    - `on_notice(Notice)`: warnings worth showing, e.g. the prompt was cut
      (pyshell.errors: a code, its params and the English text).
    - `cancel()`: returns True to stop; checked before and after every step.
    - `clock`: seconds, monotonic (injectable for tests).

    Callbacks may be plain functions or return awaitables.
    """
    started = clock()
    room = runner.context_length - 2  # new tokens that fit after BOS and one prompt token
    steering = (policy or StoryPolicy()).start(tokenizer, max_new_tokens, tokenizer.eos_id, room)
    limit = steering.limit
    prompt_ids, notice = prepare_prompt(tokenizer, prompt, runner.context_length, limit)
    if sampler is None:
        sampler = SamplingConfig()
    if isinstance(sampler, SamplingConfig):
        sampler = Sampler(sampler)
    stop = frozenset(stop_ids) if stop_ids is not None else frozenset({tokenizer.eos_id})
    cancelled = cancel or (lambda: False)
    notices = [notice] if notice else []
    if notice:
        await _call(on_notice, notice)

    stats = GenerationStats(prompt_tokens=len(prompt_ids))
    generated: list[int] = []
    pieces: list[str] = []
    seen = steering.penalized(prompt_ids)
    steering.follow_prompt(prompt_ids)
    decoder = tokenizer.stream_decoder()
    reason = StopReason.MAX_TOKENS
    stop_token = None
    first_token_at = 0.0
    held: list[TokenEvent] = []  # tokens written but held back from the reader (story_breaks)
    cut = 0  # how many of the last tokens the break-out rule took back

    def finish(now: float) -> GenerationStats:
        decode = now - first_token_at if len(generated) > 1 else 0.0
        return replace(
            stats, generated_tokens=len(generated), decode_seconds=decode,
            total_seconds=now - started,
        )  # fmt: skip

    if cancelled():
        reason = StopReason.CANCELLED
    else:
        await runner.reset()
        prefill_start = clock()
        candidates = await runner.step(prompt_ids)
        stats = replace(stats, prefill_seconds=clock() - prefill_start)
        while True:
            if cancelled():
                reason = StopReason.CANCELLED
                break
            token = sampler.sample(steering.candidates(candidates), seen)
            if token in stop:
                # EOS ends a text; any other stop id (`<end_of_turn>`) ends a chat turn.
                reason = StopReason.EOS if token == tokenizer.eos_id else StopReason.END_OF_TURN
                stop_token = token
                break
            if steering.ends_before(token):
                reason = StopReason.SENTENCE_END
                break
            generated.append(token)
            seen.add(token)
            text = decoder.push(token)
            pieces.append(text)
            verdict = steering.push(token, text)
            now = clock()
            if len(generated) == 1:
                first_token_at = now
                stats = replace(stats, time_to_first_token=now - started)
            stats = finish(now)
            held.append(TokenEvent(token, text, len(generated), stats))
            if verdict == CUT:  # the held-back paragraph leaves the story: it never shows
                cut = len(held)
                reason = StopReason.SENTENCE_END
                break
            if verdict != HOLD:
                for event in held:
                    await _call(on_token, event)
                held.clear()
            if len(generated) >= limit:
                reason = StopReason.MAX_TOKENS
                break
            if cancelled():
                reason = StopReason.CANCELLED
                break
            candidates = await runner.step([token])

    if held and not cut and steering.judge_held() == CUT:
        cut, reason, stop_token = len(held), StopReason.SENTENCE_END, None
    if cut:
        # The paragraph started after a sentence and a line break: no byte is pending
        # in the decoder from before it, so dropping its tokens drops all of its text.
        del generated[-cut:], pieces[-cut:]
        held.clear()
    for event in held:
        await _call(on_token, event)
    tail = "" if cut else decoder.flush()
    stats = finish(clock())
    if tail:
        pieces.append(tail)
        await _call(on_token, TokenEvent(None, tail, len(generated), stats))
    return GenerationResult(
        ids=generated,
        text="".join(pieces),
        stop_reason=reason,
        stats=stats,
        prompt_ids=prompt_ids,
        seed=sampler.seed,
        stop_token=stop_token,
        notices=notices,
    )
