"""Best-of-n sentences: sample n candidate next sentences, keep the one the model finds likeliest.

A small model sampled at a useful temperature sometimes takes an unlikely turn
(the robot becomes "the girl", a note to the reader appears); the sentence
that turn starts is usually one the model itself finds unlikely given the story
so far. So at every sentence start this loop samples `n` continuations up to
the next sentence end (at most MAX_SENTENCE tokens), scores each by the mean
log-probability the model gave its tokens (temperature 1, over the graph's
candidates, before any penalty: length-normalised, so a long sentence is not
punished for being long), keeps the best and goes on from it.

The cost is n times the tokens decoded: the reader sees n times fewer tokens per
second, a sentence at a time. The runner must be able to go back to where a
sentence started (`snapshot()` / `restore(state)` / `forget(state)`: the
`Rewindable` protocol; pyshell.onnx_runner.OnnxRunner and the page's runner,
web/static/js/worker/ort-runner.js through pyshell.browser.JsRunner, have them).
Two rules watch for a story that starts to loop (a four-word phrase a third
time, as pyshell/story_measures.py counts a loop), both choosing among sentences
the model wrote whole, so nothing is forced inside one:
- `StoryPolicy.loop_draws` > 0: a sentence that would loop is passed over for
  one that does not; when all n would, up to `loop_draws` more are drawn (off by
  default: the sentences it chose strayed further, docs/stories.md);
- `StoryPolicy.loop_ends`: when the sentence kept would loop, the story ends
  before it, where it may end (on in French, where a guard inside the phrase
  made stories drift).
`StoryPolicy.echo_ends` watches for the loop that changes a word each time
(pyshell/echoes.py): a sentence that would echo the story a second time is passed
over for one that does not, and the story ends before it where it may end when
every one drawn would.
More rules prefer one drawn sentence over another the same way, each only while
another sentence drawn is left (applied in this order, with `loop_draws` before the
character's):
- `StoryPolicy.pass_break_outs`: a sentence that breaks out of the story (a date, a
  note, a blurb: pyshell.story_breaks.break_outs) or opens a paragraph that leaves it
  is passed over at any length, also before `min_length`, where it cannot end the
  story;
- `StoryPolicy.grim` (pyshell/grim_words.py: dying, killing, blood, none of them
  banned): a sentence without a grim word is kept over one with, so a story speaks
  of death only where every sentence drawn there does;
- `StoryPolicy.warm` (pyshell/warm_words.py: friends, a smile, home), once the last
  beat is done: `StoryPolicy.end_draws` sentences are drawn instead of n, and one
  with a warm word is kept over one without, so a story ends warmly where the model
  offers such an ending;
- `StoryPolicy.pass_asides` (pyshell/asides.py, off by default): a sentence told in
  the third person is kept over one in which the narrator says "I" or "we";
- `StoryPolicy.prefer_known` (pyshell/known_words.py, French): a sentence whose words
  are all known is kept over one that makes a word up;
- `StoryPolicy.name_character` = k > 0: once k sentences in a row have gone without
  naming the character (pyshell.characters.names_character: "the robot" after
  "she… she… she…"), a sentence that names it is kept over the others.
One rule writes instead of choosing: `StoryPolicy.beats` (pyshell/story_beats.py). At a
sentence start outside quotation marks, once the story has used a beat's share of its
budget, the beat's words ("One day,", "In the end,") are written as a new paragraph,
read by the runner and the steering like any kept token, and the sentences drawn next
complete them.
Everything else is the story policy and sampler of pyshell/generate.py: each
candidate is sampled under the same steering (the family-safe filter included,
from a `Steering.fork()`), and the loop's result is a `GenerationResult` like
its. Paragraph starts need no holding back here (StoryPolicy.hold_paragraphs):
no sentence is shown before it is kept, so a sentence that opens a paragraph
leaving the story (a blurb, another story's heading: pyshell/story_breaks.py
answers CUT, past `min_length`) is passed over for one that stays, and when
every one drawn leaves, the story ends before them, as the one-token loop ends
it before a held-back paragraph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from pyshell.asides import is_aside
from pyshell.characters import names_character
from pyshell.echoes import holds_echo, new_echoes
from pyshell.generate import (
    Callback,
    GenerationResult,
    GenerationStats,
    StopReason,
    TokenEvent,
    TokenizerLike,
    _call,
    prepare_prompt,
)
from pyshell.grim_words import grim_words
from pyshell.known_words import WordGuard
from pyshell.runner import Candidates, Runner
from pyshell.sampler import Sampler
from pyshell.sentences import ends_sentence, is_sentence_end_token
from pyshell.settings import SamplingConfig
from pyshell.story_beats import beat_text, next_beat
from pyshell.story_breaks import CUT, break_outs, breaks_paragraph
from pyshell.story_measures import looping_phrases
from pyshell.story_policy import Steering, StoryPolicy

__all__ = ["MAX_SENTENCE", "Rewindable", "generate_best_of"]

MAX_SENTENCE = 48  # tokens a candidate sentence may take before it is cut and judged


@runtime_checkable
class Rewindable(Protocol):
    """A Runner that can go back: `snapshot()` names the KV cache as it is now,
    `restore(state)` goes back to it, `forget(state)` lets it go (the page's
    runner frees its GPU buffers then)."""

    context_length: int

    async def reset(self) -> None: ...

    async def step(self, ids: list[int]) -> Candidates: ...

    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...

    def forget(self, state: Any) -> None: ...


def _log_prob(candidates: Candidates, token: int) -> float:
    """log p(token) under a temperature-1 softmax of the graph's candidates."""
    top = candidates.scores[0]
    total = sum(math.exp(s - top) for s in candidates.scores)
    for i, s in zip(candidates.ids, candidates.scores):
        if i == token:
            return s - top - math.log(total)
    return -30.0  # not among the candidates (a forced stop): very unlikely


@dataclass
class _Branch:
    """One candidate sentence: its tokens, score and where it left everything."""

    tokens: list[int]
    log_prob: float
    steering: Steering
    seen: set[int]
    candidates: Candidates | None  # for the token after it (None when the story stopped)
    state: Any  # the runner's snapshot after it
    stop: str | None  # a StopReason when the story ends inside or right after it
    stop_token: int | None
    leaves: bool = False  # it opens a paragraph that leaves the story (story_breaks: CUT)
    loops: bool = False  # it would make the story loop (set by the caller)
    echoes: bool = False  # it would echo the story a second time (set by the caller)
    names: bool = False  # it names the story's character (set by the caller)
    grim: bool = False  # it holds a grim word (set by the caller)
    aside: bool = False  # the narrator says "I" or "we" in it (set by the caller)
    made_up: bool = False  # it writes a word no list of its language holds (set by the caller)
    strays: bool = False  # it breaks out of the story, early or not (set by the caller)
    warm: bool = False  # it holds a warm word, after the last beat (set by the caller)

    @property
    def score(self) -> float:
        return self.log_prob / max(1, len(self.tokens) + (self.stop_token is not None))


async def _sentence(
    runner: Rewindable,
    tokenizer: TokenizerLike,
    sampler: Sampler,
    steering: Steering,
    seen: set[int],
    candidates: Candidates,
    stop: frozenset[int],
    cancelled: Callable[[], bool],
) -> _Branch:
    """Sample one sentence from the current state (which the caller restores before)."""
    tokens: list[int] = []
    log_prob = 0.0
    leaves = False
    while True:
        if cancelled():  # the reader pressed stop: what was written so far is the story
            return _Branch(
                tokens, log_prob, steering, seen, None, runner.snapshot(),
                StopReason.CANCELLED, None,
            )  # fmt: skip
        token = sampler.sample(steering.candidates(candidates), seen)
        log_prob += _log_prob(candidates, token)
        if token in stop:
            reason = StopReason.EOS if token == tokenizer.eos_id else StopReason.END_OF_TURN
            return _Branch(tokens, log_prob, steering, seen, None, runner.snapshot(), reason, token)
        if steering.ends_before(token):
            log_prob -= _log_prob(candidates, token)
            return _Branch(
                tokens, log_prob, steering, seen, None, runner.snapshot(),
                StopReason.SENTENCE_END, None,
            )  # fmt: skip
        tokens.append(token)
        seen.add(token)
        text = tokenizer.token_text(token)
        leaves = steering.push(token, text) == CUT or leaves
        if steering.written >= steering.limit:
            return _Branch(
                tokens, log_prob, steering, seen, None, runner.snapshot(),
                StopReason.MAX_TOKENS, None, leaves,
            )  # fmt: skip
        candidates = await runner.step([token])
        if is_sentence_end_token(text) or len(tokens) >= MAX_SENTENCE:
            return _Branch(
                tokens, log_prob, steering, seen, candidates, runner.snapshot(), None, None, leaves
            )


def _strays(tail: str, added: str) -> bool:
    """Whether the sentence `added` after the story's `tail` leaves the story: a break-out
    anywhere in it (a date, a note, the story talking about itself), or a paragraph it
    opens that leaves (pyshell.story_breaks.breaks_paragraph)."""
    if break_outs(added):
        return True
    opens = tail.endswith("\n") or added.lstrip(" ").startswith("\n")
    return opens and breaks_paragraph(added.strip())


def _loops(story: str, looping: set[tuple[str, ...]], added: str) -> bool:
    """Whether the story would hold a loop it does not hold yet after the sentence `added`."""
    return bool(added) and bool(looping_phrases(story + added) - looping)


async def generate_best_of(
    runner: Runner,
    tokenizer: TokenizerLike,
    prompt: str | list[int],
    *,
    n: int = 2,
    sampler: Sampler | SamplingConfig | None = None,
    max_new_tokens: int = 256,
    stop_ids: set[int] | frozenset[int] | None = None,
    policy: StoryPolicy | None = None,
    on_token: Callback | None = None,
    on_notice: Callback | None = None,
    cancel: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> GenerationResult:
    """`pyshell.generate.generate`, a sentence at a time: the best of `n` each time.

    `runner` must be `Rewindable` (snapshot, restore, forget) besides a Runner.
    """
    if not isinstance(runner, Rewindable):
        raise TypeError(f"best-of-{n} sentences need a runner with snapshot/restore/forget")
    started = clock()
    room = runner.context_length - 2
    policy = policy or StoryPolicy()
    steering = policy.start(tokenizer, max_new_tokens, tokenizer.eos_id, room)
    prompt_ids, notice = prepare_prompt(tokenizer, prompt, runner.context_length, steering.limit)
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
    reason, stop_token, first_at = StopReason.MAX_TOKENS, None, 0.0
    unnamed = 0  # sentences kept in a row without the character (the prompt just named it)
    name_after = policy.name_character if policy.character else 0
    words = None  # the story's reading position for prefer_known
    if policy.prefer_known is not None:
        words = WordGuard(policy.prefer_known)
        words.read_prompt("".join(tokenizer.token_text(t) for t in prompt_ids))

    beats_done = 0  # of policy.beats, written or taken by the story itself
    told = ""  # the story's text so far, token by token (what the rules below read)
    echoed = False  # whether the story has echoed itself once (pyshell/echoes.py)

    async def emit(token: int) -> None:
        """Add a kept token to the story and show it."""
        nonlocal stats, first_at, told
        generated.append(token)
        told += tokenizer.token_text(token)
        if words is not None:
            words.follow(tokenizer.token_text(token))
        text = decoder.push(token)
        pieces.append(text)
        now = clock()
        if len(generated) == 1:
            first_at = now
            stats = replace(stats, time_to_first_token=now - started)
        stats = replace(
            stats, generated_tokens=len(generated), decode_seconds=now - first_at,
            total_seconds=now - started,
        )  # fmt: skip
        await _call(on_token, TokenEvent(token, text, len(generated), stats))

    candidates: Candidates | None = None
    if cancelled():
        reason = StopReason.CANCELLED
    else:
        await runner.reset()
        prefill_start = clock()
        candidates = await runner.step(prompt_ids)
        stats = replace(stats, prefill_seconds=clock() - prefill_start)
    while candidates is not None:
        if cancelled():
            reason = StopReason.CANCELLED
            break
        beats_left = beats_done < len(policy.beats)
        if beats_left and generated and not steering.in_quotation and ends_sentence(told):
            beats_done, beat = next_beat(
                policy.beats, beats_done, steering.written, steering.budget, told
            )
            if beat is not None:
                beat_ids = tokenizer.encode(beat_text(beat, told, policy.beat_character))
                for token in beat_ids:
                    steering.push(token, tokenizer.token_text(token))
                    seen.add(token)
                    await emit(token)
                candidates = await runner.step(beat_ids)
        # Once the last beat is done, the warm ending's words (pyshell/warm_words.py).
        warm = policy.warm if policy.beats and beats_done == len(policy.beats) else None
        draws = n if warm is None else max(n, policy.end_draws)
        start = runner.snapshot()
        watch = bool(policy.loop_draws or policy.loop_ends)
        story = told if watch else ""
        looping = looping_phrases(story)  # the loops the story already holds
        echoed = echoed or (policy.echo_ends and holds_echo(told))  # an echo stays
        branches: list[_Branch] = []
        while len(branches) < draws or (
            all(b.loops for b in branches)
            and len(branches) < draws + policy.loop_draws
            and not cancelled()
        ):
            if branches:
                runner.restore(start)
            branch = await _sentence(
                runner,
                tokenizer,
                sampler,
                steering.fork(),
                seen.copy(),
                candidates,
                stop,
                cancelled,
            )
            added = "".join(tokenizer.token_text(t) for t in branch.tokens)
            branch.loops = watch and _loops(story, looping, added)
            branch.echoes = echoed and new_echoes(told, added) > 0
            branch.names = bool(name_after) and names_character(added, policy.character)
            branch.grim = policy.grim is not None and bool(grim_words(added, policy.grim))
            branch.aside = policy.pass_asides and is_aside(
                added, steering.in_quotation, policy.language
            )
            branch.made_up = words is not None and not words.allows(added)
            branch.strays = policy.pass_break_outs and _strays(told, added)
            branch.warm = warm is not None and bool(warm.words_in(added))
            branches.append(branch)
        kept = [b for b in branches if not b.leaves] or branches
        kept = [b for b in kept if not b.strays] or kept
        kept = [b for b in kept if not b.grim] or kept
        if warm is not None:
            kept = [b for b in kept if b.warm] or kept
        kept = [b for b in kept if not b.aside] or kept
        kept = [b for b in kept if not b.made_up] or kept
        if policy.loop_draws:
            kept = [b for b in kept if not b.loops] or kept
        kept = [b for b in kept if not b.echoes] or kept
        if name_after and unnamed >= name_after:
            kept = [b for b in kept if b.names] or kept
        best = max(kept, key=lambda b: b.score)  # the first of equals: deterministic
        # `best` leaves the story only when every sentence drawn does (BreakGuard
        # judged it where the story may end).
        repeats = (policy.loop_ends and best.loops) or best.echoes
        ends = best.leaves or (repeats and steering.may_end_here())
        if ends and generated:
            for state in (start, *(b.state for b in branches)):
                runner.forget(state)
            reason = StopReason.SENTENCE_END  # the sentence kept would leave, loop or echo
            break
        runner.restore(best.state)
        for state in (start, *(b.state for b in branches)):
            runner.forget(state)
        steering, seen, candidates = best.steering, best.seen, best.candidates
        unnamed = 0 if best.names else unnamed + 1
        for token in best.tokens:
            await emit(token)
        if best.stop is not None:
            reason, stop_token = best.stop, best.stop_token
            break
    tail = decoder.flush()
    now = clock()
    stats = replace(
        stats, generated_tokens=len(generated),
        decode_seconds=now - first_at if len(generated) > 1 else 0.0, total_seconds=now - started,
    )  # fmt: skip
    if tail:
        pieces.append(tail)
        await _call(on_token, TokenEvent(None, tail, len(generated), stats))
    return GenerationResult(
        ids=generated, text="".join(pieces), stop_reason=reason, stats=stats,
        prompt_ids=prompt_ids, seed=sampler.seed, stop_token=stop_token, notices=notices,
    )  # fmt: skip
