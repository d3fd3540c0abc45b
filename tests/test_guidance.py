"""Classifier-free guidance (pyshell/guidance.py): the formula, the heading cut, the two runners."""

from __future__ import annotations

import asyncio

import pytest

from pyshell.guidance import GuidedRunner, guide, without_heading
from pyshell.runner import Candidates
from tests.test_best_of import SequenceRunner

BLANK_LINE = 108  # a token that holds "\n\n"
BOS = 2


class Pieces:
    """Just what GuidedRunner reads of a tokenizer."""

    vocab_size = 200
    bos_id = BOS

    def id_to_piece(self, i: int) -> str:
        return "\n\n" if i == BLANK_LINE else f"p{i}"


def test_strength_one_is_the_plain_model():
    with_heading = Candidates([5, 6, 7], [3.0, 2.0, 1.0])
    without = Candidates([6, 5, 9], [4.0, 1.0, 0.5])
    assert guide(with_heading, without, 1.0) == with_heading


def test_guidance_moves_each_score_away_from_the_run_without_heading():
    with_heading = Candidates([5, 6], [3.0, 2.5])
    without = Candidates([5, 6], [3.0, 0.5])  # the heading made token 6 likelier by 2
    got = guide(with_heading, without, 1.5)
    # 6: 2.5 + 0.5 * (2.5 - 0.5) = 3.5 passes 5: 3.0 + 0.5 * 0 = 3.0
    assert got.ids == [6, 5]
    assert got.scores == pytest.approx([3.5, 3.0])


def test_a_candidate_the_run_without_heading_did_not_list_counts_at_its_lowest_score():
    got = guide(Candidates([5, 8], [3.0, 2.0]), Candidates([5, 6], [3.0, 1.0]), 2.0)
    assert dict(zip(got.ids, got.scores, strict=True)) == {5: 3.0, 8: 3.0}
    assert got.ids == [5, 8]  # ties keep the order of the run with the heading


def test_the_heading_is_cut_after_the_first_blank_line():
    ids = [BOS, 40, 41, BLANK_LINE, 50, 51, BLANK_LINE, 52]
    assert without_heading(ids, {BLANK_LINE}, BOS) == [BOS, 50, 51, BLANK_LINE, 52]
    assert without_heading([BOS, 50, 51], {BLANK_LINE}, BOS) == [BOS, 50, 51]  # no heading


def test_guided_runner_feeds_the_prompt_without_its_heading_then_the_same_ids():
    with_heading, without = SequenceRunner(), SequenceRunner()
    runner = GuidedRunner(with_heading, without, 1.5, Pieces())

    async def story():
        await runner.reset()
        await runner.step([BOS, 40, BLANK_LINE, 50])
        state = runner.snapshot()
        await runner.step([60])
        await runner.step([61])
        runner.restore(state)
        return await runner.step([62])

    got = asyncio.run(story())
    assert with_heading.sequence == [BOS, 40, BLANK_LINE, 50, 62]
    assert without.sequence == [BOS, 50, 62]
    expected = guide(
        asyncio.run(SequenceRunner().step([BOS, 40, BLANK_LINE, 50, 62])),
        asyncio.run(SequenceRunner().step([BOS, 50, 62])),
        1.5,
    )
    assert got == expected


def test_a_reset_cuts_the_next_prompt_again():
    with_heading, without = SequenceRunner(), SequenceRunner()
    runner = GuidedRunner(with_heading, without, 2.0, Pieces())
    for _ in range(2):
        asyncio.run(runner.reset())
        asyncio.run(runner.step([BOS, 40, BLANK_LINE, 50]))
    assert without.sequence == [BOS, 50]


def test_cutting_the_prompt_leaves_the_run_without_it_only_the_story():
    with_heading, without = SequenceRunner(), SequenceRunner()
    runner = GuidedRunner(with_heading, without, 1.5, Pieces(), cut="prompt")
    asyncio.run(runner.reset())
    asyncio.run(runner.step([BOS, 40, BLANK_LINE, 50]))
    asyncio.run(runner.step([60]))
    assert with_heading.sequence == [BOS, 40, BLANK_LINE, 50, 60]
    assert without.sequence == [BOS, 60]


def test_strength_below_one_or_an_unknown_cut_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        GuidedRunner(SequenceRunner(), SequenceRunner(), 0.5, Pieces())
    with pytest.raises(ValueError, match="heading or the prompt"):
        GuidedRunner(SequenceRunner(), SequenceRunner(), 1.5, Pieces(), cut="title")
