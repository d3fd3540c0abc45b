"""Best-of-n sentences (pyshell/best_of.py), on a runner whose candidates depend on the
whole sequence it holds, so a cache restored to the wrong place shows in the story."""

from __future__ import annotations

import asyncio
import random

from pyshell.best_of import _log_prob, _strays, generate_best_of
from pyshell.family_safe import WordMatcher
from pyshell.generate import generate
from pyshell.grim_words import grim_matcher
from pyshell.known_words import KnownWords
from pyshell.runner import Candidates
from pyshell.sampler import SamplingConfig
from pyshell.story_beats import BEATS, Beat
from pyshell.story_measures import has_loop, looping_phrases
from pyshell.story_policy import StoryPolicy
from pyshell.warm_words import warm_matcher
from tests.test_generate import BYTE0, ByteTokenizer

LETTERS = [BYTE0 + ord(c) for c in "abcdefg ."]


class SequenceRunner:
    """Candidates drawn from a hash of every id fed so far; snapshot/restore the sequence."""

    context_length = 512

    def __init__(self) -> None:
        self.sequence: list[int] = []
        self.fed = 0  # ids fed in all, trials included
        self.forgotten = 0  # snapshots let go

    async def reset(self) -> None:
        self.sequence = []

    async def step(self, ids: list[int]) -> Candidates:
        self.sequence += ids
        self.fed += len(ids)
        rng = random.Random(hash(tuple(self.sequence)))
        scores = sorted((rng.uniform(0, 4) for _ in LETTERS), reverse=True)
        ids = rng.sample(LETTERS, len(LETTERS))
        return Candidates(ids, scores)

    def snapshot(self) -> list[int]:
        return list(self.sequence)

    def restore(self, state: list[int]) -> None:
        self.sequence = list(state)

    def forget(self, state: list[int]) -> None:
        self.forgotten += 1


def write(write_fn, runner, **kw):
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=11)
    return asyncio.run(
        write_fn(runner, ByteTokenizer(), "Hi", sampler=config, max_new_tokens=60,
                 policy=StoryPolicy(), **kw)
    )  # fmt: skip


def test_best_of_one_is_the_plain_loop():
    plain = write(generate, SequenceRunner())
    one = write(generate_best_of, SequenceRunner(), n=1)
    assert one.ids == plain.ids and one.text == plain.text and len(plain.ids) == 60


def test_best_of_three_decodes_three_times_and_keeps_a_true_cache():
    runner = SequenceRunner()
    three = write(generate_best_of, runner, n=3)
    assert three.ids == write(generate_best_of, SequenceRunner(), n=3).ids  # same seed
    assert three.ids != write(generate, SequenceRunner()).ids
    assert len(three.ids) == 60
    # The cache holds the prompt and the kept story, whatever the trials fed.
    assert runner.sequence == three.prompt_ids + three.ids[:-1]
    assert runner.fed > 2.5 * len(three.ids)
    # Every snapshot is let go (the page's runner frees GPU buffers then): per sentence,
    # where it started and where each of the three trials ended.
    sentences = three.text.count(".") + (not three.text.endswith("."))
    assert runner.forgotten >= 4 * sentences > 0


def test_best_of_refuses_a_runner_that_cannot_go_back():
    class Forward:
        context_length = 512

        async def reset(self) -> None: ...

        async def step(self, ids: list[int]) -> Candidates:
            return Candidates([LETTERS[0]], [0.0])

    try:
        write(generate_best_of, Forward(), n=2)
    except TypeError as exc:
        assert "snapshot/restore/forget" in str(exc)
    else:
        raise AssertionError("a runner without snapshot was accepted")


def test_log_prob_is_a_temperature_one_softmax_over_the_candidates():
    c = Candidates([5, 6], [2.0, 0.0])
    assert abs(_log_prob(c, 5) - (-0.126928)) < 1e-6
    assert _log_prob(c, 7) == -30.0


PHRASE = [BYTE0 + ord(c) for c in " ab cd ef gh."]


class LoopingRunner(SequenceRunner):
    """Likes to write "ab cd ef gh." again and again, as a small model loops; other
    letters stay possible."""

    async def step(self, ids: list[int]) -> Candidates:
        self.sequence += ids
        self.fed += len(ids)
        dot = PHRASE[-1]
        since = self.sequence[::-1].index(dot) if dot in self.sequence else len(self.sequence) - 1
        nxt = PHRASE[since % len(PHRASE)]  # the phrase again from each sentence's start
        others = [i for i in LETTERS if i != nxt]
        return Candidates([nxt, *others], [4.0] + [0.0] * len(others))


def write_looping(runner: LoopingRunner, loop_draws: int):
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=11)
    policy = StoryPolicy(loop_draws=loop_draws)
    return asyncio.run(
        generate_best_of(runner, ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=120, policy=policy)
    )  # fmt: skip


def test_a_sentence_that_would_loop_is_passed_over_for_one_the_model_also_wrote():
    loose = write_looping(LoopingRunner(), loop_draws=0)
    assert has_loop(loose.text)  # the likeliest sentence, loop or not
    runner = LoopingRunner()
    guarded = write_looping(runner, loop_draws=6)
    assert not has_loop(guarded.text), looping_phrases(guarded.text)
    assert guarded.text.count(" ab cd ef gh.") == 2  # twice is no loop
    assert len(guarded.ids) == 120
    assert runner.sequence == guarded.prompt_ids + guarded.ids[:-1]  # a true cache
    assert write_looping(LoopingRunner(), loop_draws=6).ids == guarded.ids  # same seed


def test_loop_draws_zero_keeps_the_likeliest_sentence_as_before():
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=11)
    before = asyncio.run(
        generate_best_of(LoopingRunner(), ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=120, policy=StoryPolicy())
    )  # fmt: skip
    assert write_looping(LoopingRunner(), loop_draws=0).ids == before.ids


def test_loop_ends_stops_the_story_before_the_sentence_that_would_loop():
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=11)
    loose = write_looping(LoopingRunner(), loop_draws=0)
    ended = asyncio.run(
        generate_best_of(LoopingRunner(), ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=120, policy=StoryPolicy(loop_ends=True))
    )  # fmt: skip
    assert has_loop(loose.text) and not has_loop(ended.text)
    assert ended.stop_reason == "sentence_end" and ended.text.endswith(".")
    # The same draws up to there: the story is the loose one, cut before its loop.
    assert 0 < len(ended.ids) < len(loose.ids) and loose.ids[: len(ended.ids)] == ended.ids
    # May not end inside a quotation or before `min_length`: then the loop stays.
    late = asyncio.run(
        generate_best_of(LoopingRunner(), ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=120, policy=StoryPolicy(loop_ends=True, min_length=0.99))
    )  # fmt: skip
    assert late.ids == loose.ids


class ScriptRunner(SequenceRunner):
    """Writes `script` one character a step, whatever is sampled (every other
    candidate is far less likely)."""

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = [BYTE0 + b for b in script.encode()]
        self.prompt = 0

    async def step(self, ids: list[int]) -> Candidates:
        if not self.sequence:
            self.prompt = len(ids)
        self.sequence += ids
        at = len(self.sequence) - self.prompt
        nxt = self.script[at] if at < len(self.script) else BYTE0 + ord(".")
        return Candidates([nxt, LETTERS[0]], [30.0, 0.0])


def test_a_kept_sentence_that_opens_a_paragraph_leaving_the_story_ends_it_before():
    script = "A fox ran far. It slept.\n\nThe story of the fox is told in a poem. Read it."
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=3)
    rules = StoryPolicy(breaks=True, hold_paragraphs=True, min_length=0.1)
    story = asyncio.run(
        generate_best_of(ScriptRunner(script), ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=200, policy=rules)
    )  # fmt: skip
    assert story.text == "A fox ran far. It slept." and story.stop_reason == "sentence_end"
    # Before min_length the story goes on (the rule never ends a story early).
    early = asyncio.run(
        generate_best_of(ScriptRunner(script), ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=200, policy=StoryPolicy(breaks=True, hold_paragraphs=True,
                                                                min_length=0.9))
    )  # fmt: skip
    assert early.text.startswith(script)


class ForkRunner(ScriptRunner):
    """Follows whichever of `scripts` the story matches; where they part, both next
    characters are equally likely."""

    def __init__(self, scripts: list[str]) -> None:
        super().__init__("")
        self.scripts = [[BYTE0 + b for b in s.encode()] for s in scripts]

    async def step(self, ids: list[int]) -> Candidates:
        if not self.sequence:
            self.prompt = len(ids)
        self.sequence += ids
        done = self.sequence[self.prompt :]
        nexts: list[int] = []
        for script in self.scripts:
            if done[: len(script)] == script[: len(done)]:
                nxt = script[len(done)] if len(done) < len(script) else BYTE0 + ord(".")
                if nxt not in nexts:
                    nexts.append(nxt)
        if len(nexts) > 1:
            return Candidates(nexts, [5.0] * len(nexts))
        return Candidates([nexts[0], LETTERS[0]], [30.0, 0.0])


def write_forked(
    scripts: list[str],
    seed: int,
    policy: StoryPolicy,
    prompt: str = "A fox",
    max_new_tokens: int = 60,
):
    """Best-of-2 on a ForkRunner of `scripts`, temperature 1, no penalty."""
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=seed)
    return asyncio.run(
        generate_best_of(ForkRunner(scripts), ByteTokenizer(), prompt, n=2, sampler=config,
                         max_new_tokens=max_new_tokens, policy=policy)
    )  # fmt: skip


LEAVING = "A fox ran far. It slept.\n\nThe story of the fox is told in a poem."
STAYING = "A fox ran far. It slept.\n\nHe woke up and ran home."


def write_fork(seed: int, hold: bool, min_length: float = 0.1, pass_break_outs: bool = False):
    rules = StoryPolicy(breaks=True, hold_paragraphs=hold, min_length=min_length,
                        pass_break_outs=pass_break_outs)  # fmt: skip
    return write_forked([LEAVING, STAYING], seed, rules, prompt="Hi", max_new_tokens=120)


def test_a_sentence_that_leaves_the_story_is_passed_over_for_one_that_stays():
    # Seed 2 draws both paragraphs and, unjudged, keeps the one that leaves.
    assert write_fork(2, hold=False).text.startswith(LEAVING)
    assert write_fork(2, hold=True).text.startswith(STAYING)
    # Seed 1 draws the leaving paragraph twice: the story ends before it.
    ended = write_fork(1, hold=True)
    assert ended.text == "A fox ran far. It slept." and ended.stop_reason == "sentence_end"


NAMING = "It ran. It slept. It ate. The fox sang."
NOT_NAMING = "It ran. It slept. It ate. A little bird sang."


def write_named(seed: int, after: int, character: frozenset[str] = frozenset({"fox"})):
    rules = StoryPolicy(name_character=after, character=character)
    return write_forked([NAMING, NOT_NAMING], seed, rules, prompt="The fox", max_new_tokens=46)


def test_after_sentences_without_the_character_a_sentence_naming_it_is_kept():
    # Seed 3 draws both fourth sentences; the longer one, which does not name the
    # fox, is likelier per token (the one even choice is spread over more tokens).
    assert write_named(3, after=0).text.startswith(NOT_NAMING)
    assert write_named(3, after=3).text.startswith(NAMING)  # three sentences without it
    assert write_named(3, after=4).text.startswith(NOT_NAMING)  # not yet four
    assert write_named(3, after=3, character=frozenset()).text.startswith(NOT_NAMING)


GRIM = "The fox ran. Then the old hunter killed the fox."
GENTLE = "The fox ran. It slept well."


def write_gentle(seed: int, grim: WordMatcher | None):
    return write_forked([GRIM, GENTLE], seed, StoryPolicy(grim=grim))


def test_a_sentence_with_a_grim_word_is_passed_over_for_one_without():
    # Seed 0 draws both second sentences; the longer, grim one is likelier per token.
    assert write_gentle(0, grim=None).text.startswith(GRIM)
    assert write_gentle(0, grim=grim_matcher("en")).text.startswith(GENTLE)


def test_a_grim_sentence_stays_when_every_sentence_drawn_is_grim():
    story = write_forked([GRIM], 0, StoryPolicy(grim=grim_matcher("en")))
    assert story.text.startswith(GRIM)


ASIDE = "The fox ran. We can all learn from the brave fox."
TOLD = "The fox ran. It slept well."


def write_told(seed: int, pass_asides: bool, scripts: list[str]):
    return write_forked(scripts, seed, StoryPolicy(pass_asides=pass_asides))


def test_a_sentence_where_the_narrator_says_we_is_passed_over_for_one_told():
    # Seed 0 draws both second sentences; the longer aside is likelier per token.
    assert write_told(0, pass_asides=False, scripts=[ASIDE, TOLD]).text.startswith(ASIDE)
    assert write_told(0, pass_asides=True, scripts=[ASIDE, TOLD]).text.startswith(TOLD)
    # When every sentence drawn is one, it stays.
    assert write_told(0, pass_asides=True, scripts=[ASIDE]).text.startswith(ASIDE)


MADE_UP = "Le renard courut. Il vit un jebonach dans les bois."
KNOWN = "Le renard courut. Il dormit bien."
FRENCH = KnownWords(["le", "renard", "courut", "il", "vit", "un", "dans", "les", "bois", "dormit",
                     "bien", "a", "fox"])  # fmt: skip


def write_known(seed: int, prefer_known: KnownWords | None):
    return write_forked(
        [MADE_UP, KNOWN], seed, StoryPolicy(prefer_known=prefer_known, language="fr")
    )


def test_a_sentence_that_makes_a_word_up_is_passed_over_for_one_of_known_words():
    # Seed 2 draws both second sentences; the longer, made-up one is likelier per token.
    assert write_known(2, prefer_known=None).text.startswith(MADE_UP)
    assert write_known(2, prefer_known=FRENCH).text.startswith(KNOWN)


def test_beats_are_written_into_the_story_and_the_cache_at_sentence_starts():
    config = SamplingConfig(temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=11)
    runner = SequenceRunner()
    story = asyncio.run(
        generate_best_of(runner, ByteTokenizer(), "Hi", n=2, sampler=config,
                         max_new_tokens=160, policy=StoryPolicy(beats=BEATS["en"]))
    )  # fmt: skip
    plain = write(generate_best_of, SequenceRunner(), n=2)
    assert "One day," not in plain.text
    first, second = story.text.find("\n\nOne day,"), story.text.find("\n\nIn the end,")
    assert 0 < first < second
    # Each is written at a sentence start, once the story used its share of the budget.
    assert story.text[first - 1] == "." and story.text[second - 1] == "."
    assert len(ByteTokenizer().encode(story.text[:first])) >= 0.3 * 160
    assert len(ByteTokenizer().encode(story.text[:second])) >= 0.75 * 160
    # The runner read the beats as story: its cache is the prompt and the kept story.
    assert runner.sequence == story.prompt_ids + story.ids[:-1]


def write_early(seed: int, pass_break_outs: bool):
    """min_length 0.9: the leaving paragraph comes before the story may end."""
    return write_fork(seed, hold=True, min_length=0.9, pass_break_outs=pass_break_outs)


def test_before_the_story_may_end_a_sentence_that_leaves_it_is_passed_over_when_asked():
    # Seed 2 draws both paragraphs; before min_length the break-out rule cannot end the
    # story, so without pass_break_outs the likelier, leaving one is kept.
    assert write_early(2, pass_break_outs=False).text.startswith(LEAVING)
    assert write_early(2, pass_break_outs=True).text.startswith(STAYING)
    # Seed 1 draws the leaving paragraph twice: it stays, as nothing else was drawn.
    assert write_early(1, pass_break_outs=True).text.startswith(LEAVING)


def test_a_sentence_breaks_out_anywhere_or_by_the_paragraph_it_opens():
    assert _strays("It slept.", " It was June 3, 1985.")  # a date, mid-paragraph
    assert _strays("It slept.\n\n", "This is a story about a fox.")
    assert _strays("It slept.", "\n\nThe story of the fox is told in a poem.")
    assert not _strays("It slept.", " The story of the fox was long.")  # not a paragraph
    assert not _strays("It slept.\n\n", "He woke up and ran home.")


# An end beat early in a short story, so the ending is the story's second sentence.
END_BEAT = (Beat(0.1, "In the end,", ("in the end",)),)
WARM_END = "It ran far.\n\nIn the end, it was safe at home. It slept."
COLD_END = "It ran far.\n\nIn the end, the night was so long and dark. It slept."


def write_ending(seed: int, warm: bool, end_draws: int = 0):
    rules = StoryPolicy(beats=END_BEAT, warm=warm_matcher("en") if warm else None,
                        end_draws=end_draws)  # fmt: skip
    return write_forked([WARM_END, COLD_END], seed, rules, max_new_tokens=80)


def test_after_the_end_beat_a_sentence_with_a_warm_word_is_kept_over_one_without():
    # Seed 1 draws both endings; the longer, cold one is likelier per token.
    assert write_ending(1, warm=False).text.startswith(COLD_END)
    assert write_ending(1, warm=True).text.startswith(WARM_END)


def test_end_draws_give_the_warm_rule_more_endings_to_choose_from():
    # Seed 17 draws the cold ending twice in two draws; four draws find the warm one.
    assert write_ending(17, warm=True).text.startswith(COLD_END)
    assert write_ending(17, warm=True, end_draws=4).text.startswith(WARM_END)
