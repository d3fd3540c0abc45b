"""The generation loop (pyshell/generate.py) against a scripted runner and a byte tokenizer."""

from __future__ import annotations

import asyncio
import codecs

import pytest

from pyshell.errors import ErrorCode, Notice, SettingError
from pyshell.generate import (
    CancelToken,
    EmptyPromptError,
    StopReason,
    TokenEvent,
    generate,
    prepare_prompt,
)
from pyshell.runner import Candidates, Runner
from pyshell.sampler import Sampler, SamplingConfig
from pyshell.story_policy import Ending, StoryPolicy

PAD, EOS, BOS, END_OF_TURN = 0, 1, 2, 106
BYTE0 = 300  # id of byte 0; ids 300 … 555 are the 256 bytes
WORDS = {200: " once", 201: " upon", 202: " a", 203: " time"}


class ByteTokenizer:
    """Every character is its UTF-8 bytes, one id each; a few whole-word ids.

    Multi-byte characters span several ids, so a stream decoder has to hold
    partial characters back, as the real one does with byte fallback.
    """

    bos_id, eos_id = BOS, EOS

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        return ([BOS] if add_bos else []) + [BYTE0 + b for b in text.encode("utf-8")]

    def decode(self, ids) -> str:
        stream = self.stream_decoder()
        return "".join(stream.push(i) for i in ids) + stream.flush()

    def stream_decoder(self):
        return ByteStream()

    def token_text(self, i: int) -> str:
        return chr(i - BYTE0) if BYTE0 <= i < BYTE0 + 128 else WORDS.get(i, "")


class ByteStream:
    def __init__(self) -> None:
        self._bytes = codecs.getincrementaldecoder("utf-8")("replace")

    def push(self, i: int) -> str:
        if i >= BYTE0:
            return self._bytes.decode(bytes([i - BYTE0]))
        pending = self._bytes.decode(b"", final=True)
        if i in WORDS:
            return pending + WORDS[i]
        if i == END_OF_TURN:
            return pending + "<end_of_turn>"
        return pending  # control tokens have no text

    def flush(self) -> str:
        return self._bytes.decode(b"", final=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedRunner:
    """Returns candidates whose best id follows `script`, one per step, then EOS.

    A prefill costs `prefill_cost` seconds of the fake clock, a decode step
    `step_cost`; `on_step(n)` runs during step n (1-based), e.g. to cancel.
    """

    def __init__(self, script, context_length=1024, clock=None, on_step=None, k=8):
        self.script = list(script)
        self.context_length = context_length
        self.clock = clock or FakeClock()
        self.on_step = on_step
        self.k = k
        self.calls: list[list[int]] = []
        self.resets = 0
        self.prefill_cost, self.step_cost = 0.5, 0.1

    async def reset(self) -> None:
        self.resets += 1
        self.calls.clear()

    async def step(self, ids: list[int]) -> Candidates:
        self.calls.append(list(ids))
        n = len(self.calls)
        self.clock.now += self.prefill_cost if n == 1 else self.step_cost
        if self.on_step:
            self.on_step(n)
        assert sum(map(len, self.calls)) <= self.context_length, "context overflow"
        best = self.script[n - 1] if n <= len(self.script) else EOS
        others = [i for i in range(BYTE0 + 97, BYTE0 + 97 + self.k) if i != best][: self.k - 1]
        return Candidates([best, *others], [10.0 - j for j in range(self.k)])


GREEDY = SamplingConfig(temperature=0, repetition_penalty=1.0, seed=0)


def run(coro):
    return asyncio.run(coro)


def test_scripted_runner_is_a_runner():
    assert isinstance(ScriptedRunner([]), Runner)


def test_greedy_follows_the_model_and_stops_at_eos():
    runner = ScriptedRunner([200, 201, 202, 203, EOS, 200])
    result = run(generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=20))
    assert result.ids == [200, 201, 202, 203]
    assert result.text == " once upon a time"
    assert result.stop_reason == StopReason.EOS
    assert result.stop_token == EOS
    assert runner.resets == 1
    # Prefill with BOS + "Hi", then one step per kept token; EOS is never fed back.
    assert runner.calls == [[BOS, BYTE0 + 72, BYTE0 + 105], [200], [201], [202], [203]]


def test_end_of_turn_stops_and_is_not_shown():
    runner = ScriptedRunner([200, END_OF_TURN, 201])
    result = run(
        generate(
            runner, ByteTokenizer(), "Hi", sampler=GREEDY, stop_ids={EOS, END_OF_TURN},
            max_new_tokens=20,
        )
    )  # fmt: skip
    assert result.ids == [200]
    assert result.text == " once"
    assert result.stop_reason == StopReason.END_OF_TURN
    assert result.stop_token == END_OF_TURN


def test_max_new_tokens_stops_without_an_extra_step():
    runner = ScriptedRunner([200] * 10)
    result = run(generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=3))
    assert result.ids == [200, 200, 200]
    assert result.stop_reason == StopReason.MAX_TOKENS
    assert len(runner.calls) == 3  # prefill + 2 steps: the 3rd token is not fed back


@pytest.mark.parametrize("cancel_during_step", [1, 2, 5])
def test_cancel_stops_within_one_step(cancel_during_step):
    token = CancelToken()
    events: list[TokenEvent] = []

    def on_step(n: int) -> None:
        if n == cancel_during_step:
            token.cancel()

    runner = ScriptedRunner([200] * 20, on_step=on_step)
    result = run(
        generate(
            runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=20, cancel=token,
            on_token=events.append,
        )
    )  # fmt: skip
    assert result.stop_reason == StopReason.CANCELLED
    # The step in flight when cancel came is the last one, and its result is not used.
    assert len(runner.calls) == cancel_during_step
    assert len(result.ids) == cancel_during_step - 1
    assert len(events) == cancel_during_step - 1


def test_cancel_before_start_runs_nothing():
    token = CancelToken()
    token.cancel()
    runner = ScriptedRunner([200])
    result = run(generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, cancel=token))
    assert result.stop_reason == StopReason.CANCELLED
    assert result.ids == [] and runner.calls == []


def test_cancel_accepts_any_callable():
    steps = []
    runner = ScriptedRunner([200] * 20, on_step=steps.append)
    result = run(
        generate(
            runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=20,
            cancel=lambda: len(steps) >= 4,
        )
    )  # fmt: skip
    assert result.stop_reason == StopReason.CANCELLED
    assert len(runner.calls) == 4


def test_long_prompt_is_cut_to_bos_and_its_last_tokens_with_a_notice():
    notices: list[Notice] = []
    prompt = "abcdefghijklmnopqrstuvwxyz0123"  # 30 tokens + BOS
    runner = ScriptedRunner([200] * 10, context_length=16)
    result = run(
        generate(
            runner, ByteTokenizer(), prompt, sampler=GREEDY, max_new_tokens=6,
            on_notice=notices.append,
        )
    )  # fmt: skip
    # 16 - 6 = 10 prompt tokens fit: BOS and the last 9 characters.
    expected = [BOS] + [BYTE0 + ord(c) for c in "vwxyz0123"]
    assert runner.calls[0] == expected
    assert result.prompt_ids == expected
    assert result.ids == [200] * 6
    assert len(notices) == 1 and result.notices == notices
    assert notices[0].code == ErrorCode.PROMPT_CUT
    assert notices[0].params == {"length": 31, "room": 10, "budget": 6, "context": 16, "kept": 9}
    assert "31 tokens" in notices[0].message and "last 9 tokens" in notices[0].message
    assert sum(map(len, runner.calls)) + 1 <= 16  # the last token was never fed


def test_prompt_that_fits_exactly_is_kept_whole():
    ids, notice = prepare_prompt(ByteTokenizer(), "abcdefghi", context_length=16, max_new_tokens=6)
    assert notice is None
    assert len(ids) == 10 and ids[0] == BOS


@pytest.mark.parametrize("prompt", ["", "   \n\t", [], [BOS], [BOS, BOS]])
def test_empty_prompts_are_refused(prompt):
    runner = ScriptedRunner([200])
    with pytest.raises(EmptyPromptError, match="prompt is empty") as info:
        run(generate(runner, ByteTokenizer(), prompt, sampler=GREEDY))
    assert info.value.code == ErrorCode.EMPTY_PROMPT and info.value.params == {}
    assert runner.calls == []


def test_id_prompts_start_with_exactly_one_bos():
    tok = ByteTokenizer()
    assert prepare_prompt(tok, [BOS, BOS, 400], 64, 8)[0] == [BOS, 400]
    assert prepare_prompt(tok, [400, 401], 64, 8)[0] == [BOS, 400, 401]


@pytest.mark.parametrize(
    ("bad", "code", "params"),
    [
        (0, ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 62, "got": "0"}),
        (-1, ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 62, "got": "-1"}),
        (63, ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 62, "got": "63"}),
        (1.5, ErrorCode.NOT_WHOLE, {"got": "1.5"}),
        (True, ErrorCode.NOT_WHOLE, {"got": "True"}),
    ],
)
def test_bad_max_new_tokens_is_refused(bad, code, params):
    with pytest.raises(SettingError, match="max length must be") as info:
        prepare_prompt(ByteTokenizer(), "Hi", context_length=64, max_new_tokens=bad)
    assert info.value.setting == "max_new_tokens"
    assert (info.value.code, info.value.params) == (code, params)


def test_streamed_text_equals_decoding_all_ids_across_split_characters():
    tok = ByteTokenizer()
    story = "Élan — naïve 🙂 fin"
    script = tok.encode(story) + [EOS]
    events: list[TokenEvent] = []
    runner = ScriptedRunner(script)
    result = run(
        generate(runner, tok, "Hi", sampler=GREEDY, max_new_tokens=60, on_token=events.append)
    )
    assert result.ids == tok.encode(story)
    assert "".join(e.text for e in events) == result.text == tok.decode(result.ids) == story
    assert [e.token_id for e in events] == result.ids
    assert [e.index for e in events] == list(range(1, len(result.ids) + 1))
    # The 4 bytes of 🙂 arrive as "", "", "", "🙂": never half a character.
    smile = [e.text for e in events if e.token_id in tok.encode("🙂")]
    assert smile == ["", "", "", "🙂"]


def test_a_character_cut_by_the_length_limit_is_flushed_as_a_final_event():
    tok = ByteTokenizer()
    events: list[TokenEvent] = []
    runner = ScriptedRunner(tok.encode("a🙂"))
    result = run(
        generate(runner, tok, "Hi", sampler=GREEDY, max_new_tokens=3, on_token=events.append)
    )
    assert result.text == "a\ufffd" == tok.decode(result.ids)
    assert events[-1].token_id is None and events[-1].text == "\ufffd"
    assert "".join(e.text for e in events) == result.text


def test_stats_report_prefill_and_decode_rates():
    clock = FakeClock()
    runner = ScriptedRunner([200] * 5 + [EOS], clock=clock)  # prefill 0.5 s, steps 0.1 s
    events: list[TokenEvent] = []
    result = run(
        generate(
            runner, ByteTokenizer(), "abcd", sampler=GREEDY, max_new_tokens=20, clock=clock,
            on_token=events.append,
        )
    )  # fmt: skip
    s = result.stats
    assert s.prompt_tokens == 5 and s.generated_tokens == 5
    assert s.prefill_seconds == pytest.approx(0.5)
    assert s.prefill_tokens_per_second == pytest.approx(10.0)
    assert s.time_to_first_token == pytest.approx(0.5)
    assert s.decode_seconds == pytest.approx(0.5)  # 4 steps after the first token + the EOS step
    assert s.total_seconds == pytest.approx(1.0)
    # Live stats: after token n, n - 1 decode steps of 0.1 s.
    assert events[2].stats.generated_tokens == 3
    assert events[2].stats.decode_tokens_per_second == pytest.approx(10.0)
    assert set(s.to_dict()) >= {"prefill_tokens_per_second", "decode_tokens_per_second"}


def test_async_callbacks_are_awaited():
    seen: list[str] = []

    async def on_token(event: TokenEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.text)

    runner = ScriptedRunner([200, 201, EOS])
    result = run(generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, on_token=on_token))
    assert "".join(seen) == result.text == " once upon"


def test_repetition_penalty_counts_prompt_tokens():
    # Candidates: "a" (10.0) then 200 (9.0). "a" is in the prompt: 10 / 1.2 = 8.33 < 9.
    class Runner2(ScriptedRunner):
        async def step(self, ids):
            self.calls.append(list(ids))
            return Candidates([BYTE0 + 97, 200], [10.0, 9.0])

    config = SamplingConfig(temperature=0, repetition_penalty=1.2, seed=0)
    result = run(generate(Runner2([]), ByteTokenizer(), "a", sampler=config, max_new_tokens=1))
    assert result.ids == [200]
    result = run(generate(Runner2([]), ByteTokenizer(), "b", sampler=config, max_new_tokens=1))
    assert result.ids == [BYTE0 + 97]


def test_seeded_sampling_through_the_loop_is_reproducible():
    def story(seed: int) -> list[int]:
        runner = ScriptedRunner([200] * 30)
        config = SamplingConfig(temperature=1.0, top_k=8, top_p=1.0, seed=seed)
        result = run(generate(runner, ByteTokenizer(), "Hi", sampler=config, max_new_tokens=30))
        assert result.seed == seed
        return result.ids

    assert story(7) == story(7)
    assert story(7) != story(8)


def test_result_reports_a_fresh_seed_that_reproduces_the_story():
    config = SamplingConfig(temperature=1.0, top_k=8, top_p=1.0)
    first = run(generate(ScriptedRunner([200] * 20), ByteTokenizer(), "Hi", sampler=config))
    again = Sampler(SamplingConfig(temperature=1.0, top_k=8, top_p=1.0, seed=first.seed))
    second = run(generate(ScriptedRunner([200] * 20), ByteTokenizer(), "Hi", sampler=again))
    assert first.ids == second.ids


# --- the story policy in the loop -------------------------------------------------------

DOT = BYTE0 + ord(".")


def test_policy_drops_banned_ids_before_sampling():
    runner = ScriptedRunner([200, 201, 202])
    policy = StoryPolicy(banned=frozenset({201}))
    result = run(
        generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=3, policy=policy)
    )
    # 201 was the best candidate at step 2: the next best (byte "a") was taken instead.
    assert result.ids == [200, BYTE0 + 97, 202]


def test_ending_rule_finishes_the_sentence_past_the_budget():
    runner = ScriptedRunner([200, 201, 202, 203, DOT, 200, 201])
    policy = StoryPolicy(ending=Ending(before=0.0, after=0.5, boost=0.0))
    events: list[TokenEvent] = []
    result = run(
        generate(
            runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=4, policy=policy,
            on_token=events.append,
        )
    )  # fmt: skip
    assert result.text == " once upon a time."
    assert result.ids == [200, 201, 202, 203, DOT]
    assert result.stop_reason == StopReason.SENTENCE_END
    assert "".join(e.text for e in events) == result.text  # nothing streamed is taken back


def test_ending_rule_stops_at_its_limit_when_no_sentence_ends():
    runner = ScriptedRunner([200] * 20)
    policy = StoryPolicy(ending=Ending(before=0.0, after=0.5, boost=0.0))
    result = run(
        generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=4, policy=policy)
    )
    # At the last allowed token the scripted candidates hold no sentence end: 6 tokens.
    assert result.ids == [200] * 6
    assert result.stop_reason == StopReason.MAX_TOKENS


def test_ending_rule_stops_early_at_a_sentence_end_inside_the_window():
    runner = ScriptedRunner([200, 201, DOT, 202, 203, 200])
    policy = StoryPolicy(ending=Ending(before=0.5, after=0.5))
    result = run(
        generate(runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=4, policy=policy)
    )
    assert result.text == " once upon."  # 3 tokens: inside the window that opens at 2
    assert result.stop_reason == StopReason.SENTENCE_END


def test_story_only_penalty_lets_the_prompt_words_come_back():
    # The prompt holds byte "H"; its candidate score 10 beats 9.5 unless penalized (10 / 2 = 5).
    H = BYTE0 + ord("H")

    class Runner(ScriptedRunner):
        async def step(self, ids):
            await super().step(ids)
            return Candidates([H, 200], [10.0, 9.5])

    penalty = SamplingConfig(temperature=0, repetition_penalty=2.0, seed=0)
    story = StoryPolicy(penalize_prompt=False)
    first = run(generate(Runner([]), ByteTokenizer(), "Hi", sampler=penalty, max_new_tokens=2))
    assert first.ids == [200, H]  # prompt penalized (H: 5): " once" first (9.5, then 4.75)
    again = run(
        generate(Runner([]), ByteTokenizer(), "Hi", sampler=penalty, max_new_tokens=2, policy=story)
    )
    assert again.ids == [H, 200]  # story-only: H first (10), then penalized as the story's own


def story_of(text: str, policy: StoryPolicy) -> tuple:
    """Write `text` (one byte id per character, greedily) under `policy`."""
    runner = ScriptedRunner([BYTE0 + b for b in text.encode()] + [EOS])
    shown: list[str] = []
    result = run(
        generate(
            runner, ByteTokenizer(), "Hi", sampler=GREEDY, max_new_tokens=200, policy=policy,
            on_token=lambda e: shown.append(e.text),
        )
    )  # fmt: skip
    return result, "".join(shown)


def test_a_paragraph_that_leaves_the_story_is_held_back_and_cut():
    policy = StoryPolicy(breaks=True, hold_paragraphs=True)
    result, shown = story_of(" Go home.\n\nThe story of a frog.\n\nMore.", policy)
    assert result.text == shown == " Go home.\n\n"
    assert result.stop_reason == StopReason.SENTENCE_END
    assert result.ids == [BYTE0 + b for b in b" Go home.\n\n"]


def test_a_paragraph_that_stays_in_the_story_is_shown_once_judged():
    policy = StoryPolicy(breaks=True, hold_paragraphs=True)
    result, shown = story_of(" Go home.\n\nThey ran.\n\nThanks for reading!", policy)
    assert result.text == shown == " Go home.\n\nThey ran.\n\n"
    without, _ = story_of(" Go home.\n\nThey ran.\n\nThanks for reading!", StoryPolicy())
    assert without.text == " Go home.\n\nThey ran.\n\nThanks for reading!"
    assert without.stop_reason == StopReason.EOS
