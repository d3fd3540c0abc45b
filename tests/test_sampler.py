"""Sampling (pyshell/sampler.py): each filter's exact effect, seeded draws; the settings
it takes are checked in tests/test_settings.py."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from pyshell.errors import SettingError
from pyshell.runner import Candidates
from pyshell.sampler import (
    Sampler,
    SamplingConfig,
    apply_repetition_penalty,
    draw,
    min_p_cutoff,
    softmax,
    top_p_cutoff,
)


def candidates_with_probs(probs: list[float], first_id: int = 10) -> Candidates:
    """Candidates whose softmax at temperature 1 is exactly `probs` (logits = log p)."""
    ids = list(range(first_id, first_id + len(probs)))
    return Candidates(ids, [math.log(p) for p in probs])


HALVES = [0.5, 0.25, 0.125, 0.0625, 0.0625]  # ids 10 … 14


# --- the candidates ------------------------------------------------------------------------


def test_top_k_cannot_exceed_the_graph_candidates():
    Sampler(SamplingConfig(top_k=64), candidates=64)
    with pytest.raises(SettingError, match="between 1 and 64") as info:
        Sampler(SamplingConfig(top_k=65), candidates=64)
    assert info.value.setting == "top_k"
    assert info.value.params == {"min": 1, "max": 64, "got": "65"}


def test_candidates_need_matching_ids_and_scores():
    with pytest.raises(ValueError, match="one score per id"):
        Candidates([1, 2], [0.5])
    with pytest.raises(ValueError, match="no candidates"):
        Candidates([], [])


# --- the steps -----------------------------------------------------------------------------


def test_repetition_penalty_divides_positive_and_multiplies_negative_seen_logits():
    scores = apply_repetition_penalty([1, 2, 3, 4], [2.0, -1.0, 0.5, 3.0], {1, 2, 9}, 1.25)
    assert scores == pytest.approx([1.6, -1.25, 0.5, 3.0])
    assert apply_repetition_penalty([1], [2.0], {1}, 1.0) == [2.0]


def test_temperature_sharpens_and_flattens():
    logits = [math.log(0.5), math.log(0.25), math.log(0.25)]
    assert softmax(logits, 1.0) == pytest.approx([0.5, 0.25, 0.25])
    # T = 0.5 squares the probabilities: (0.25, 0.0625, 0.0625) / 0.375.
    assert softmax(logits, 0.5) == pytest.approx([2 / 3, 1 / 6, 1 / 6])
    # T = 2 takes square roots: (0.7071, 0.5, 0.5) / 1.7071.
    root = math.sqrt(0.5)
    assert softmax(logits, 2.0) == pytest.approx(
        [root / (root + 1), 0.5 / (root + 1)] + [0.5 / (root + 1)]
    )


@pytest.mark.parametrize(
    ("top_p", "kept"),
    [
        (0.3, 1),
        (0.49, 1),
        (0.51, 2),
        (0.74, 2),
        (0.76, 3),
        (0.874, 3),
        (0.876, 4),
        (0.99, 5),
        (1.0, 5),
    ],
)
def test_top_p_keeps_the_fewest_candidates_reaching_p(top_p, kept):
    assert top_p_cutoff(HALVES, top_p) == kept


def test_top_p_distribution_is_exactly_the_expected_set_renormalised():
    sampler = Sampler(
        SamplingConfig(temperature=1.0, top_k=64, top_p=0.8, repetition_penalty=1.0, seed=0)
    )
    dist = sampler.distribution(candidates_with_probs(HALVES))
    assert [i for i, _ in dist] == [10, 11, 12]
    assert [p for _, p in dist] == pytest.approx([0.5 / 0.875, 0.25 / 0.875, 0.125 / 0.875])


@pytest.mark.parametrize(
    ("min_p", "kept"),
    [(0.0, 5), (0.125, 5), (0.126, 3), (0.25, 3), (0.26, 2), (0.5, 2), (0.51, 1), (1.0, 1)],
)
def test_min_p_keeps_the_candidates_at_least_m_times_the_best(min_p, kept):
    assert min_p_cutoff(HALVES, min_p) == kept


def test_min_p_and_top_p_together_keep_what_both_allow():
    # top-p 0.99 alone keeps all five; min-p 0.3 keeps 0.5 and 0.25 (0.125 < 0.15).
    config = SamplingConfig(
        temperature=1.0, top_k=64, top_p=0.99, min_p=0.3, repetition_penalty=1.0, seed=0
    )
    dist = Sampler(config).distribution(candidates_with_probs(HALVES))
    assert [i for i, _ in dist] == [10, 11]
    assert [p for _, p in dist] == pytest.approx([2 / 3, 1 / 3])
    # top-p 0.5 is the stricter one: the best alone.
    config = SamplingConfig(
        temperature=1.0, top_k=64, top_p=0.5, min_p=0.3, repetition_penalty=1.0, seed=0
    )
    assert Sampler(config).distribution(candidates_with_probs(HALVES)) == [(10, 1.0)]


def test_min_p_follows_the_temperature():
    # At T = 1 the third is 0.25 times the best; at T = 0.5 the ratios square (0.0625).
    def kept(temperature: float) -> int:
        config = SamplingConfig(
            temperature=temperature, top_k=64, top_p=1.0, min_p=0.2, repetition_penalty=1.0
        )
        return len(Sampler(config).distribution(candidates_with_probs(HALVES)))

    assert (kept(1.0), kept(0.5)) == (3, 2)


def test_top_k_keeps_the_k_best():
    sampler = Sampler(
        SamplingConfig(temperature=1.0, top_k=2, top_p=1.0, repetition_penalty=1.0, seed=0)
    )
    dist = sampler.distribution(candidates_with_probs(HALVES))
    assert [i for i, _ in dist] == [10, 11]
    assert [p for _, p in dist] == pytest.approx([2 / 3, 1 / 3])


def test_top_k_applies_before_top_p():
    # Among the best 3 (0.5, 0.25, 0.125 → 4/7, 2/7, 1/7), p = 0.9 needs all three …
    config = SamplingConfig(temperature=1.0, top_k=3, top_p=0.9, repetition_penalty=1.0, seed=0)
    dist = Sampler(config).distribution(candidates_with_probs(HALVES))
    assert [i for i, _ in dist] == [10, 11, 12]
    assert [p for _, p in dist] == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    # … while over all five candidates p = 0.9 needs four (0.875 < 0.9).
    config = SamplingConfig(temperature=1.0, top_k=5, top_p=0.9, repetition_penalty=1.0, seed=0)
    assert len(Sampler(config).distribution(candidates_with_probs(HALVES))) == 4


def test_repetition_penalty_can_reorder_candidates():
    cands = Candidates([5, 6, 7], [3.0, 2.8, -1.0])
    config = SamplingConfig(temperature=1.0, top_k=3, top_p=1.0, repetition_penalty=1.5, seed=0)
    dist = Sampler(config).distribution(cands, seen={5, 7})
    # 3.0 / 1.5 = 2.0 now ranks below 2.8; -1.0 * 1.5 = -1.5.
    assert [i for i, _ in dist] == [6, 5, 7]
    expected = softmax([2.8, 2.0, -1.5])
    assert [p for _, p in dist] == pytest.approx(expected)


def test_greedy_takes_the_best_after_the_penalty():
    greedy = Sampler(SamplingConfig(temperature=0, repetition_penalty=1.0, seed=0))
    cands = Candidates([5, 6], [5.0, 4.8])
    assert greedy.sample(cands) == 5
    assert greedy.distribution(cands) == [(5, 1.0)]
    penalised = Sampler(SamplingConfig(temperature=0, repetition_penalty=1.1, seed=0))
    assert penalised.sample(cands, seen={5}) == 6  # 5.0 / 1.1 = 4.55 < 4.8
    assert penalised.sample(cands, seen={6}) == 5


def test_greedy_keeps_the_graph_order_on_ties():
    greedy = Sampler(SamplingConfig(temperature=0, seed=0))
    assert greedy.sample(Candidates([9, 3, 4], [1.0, 1.0, 0.0])) == 9


# --- drawing ---------------------------------------------------------------------------------


def test_draw_follows_the_probabilities():
    sampler = Sampler(
        SamplingConfig(temperature=1.0, top_k=3, top_p=1.0, repetition_penalty=1.0, seed=1)
    )
    cands = Candidates([1, 2, 3], [math.log(0.5), math.log(0.3), math.log(0.2)])
    counts = Counter(sampler.sample(cands) for _ in range(20_000))
    assert counts[1] / 20_000 == pytest.approx(0.5, abs=0.015)
    assert counts[2] / 20_000 == pytest.approx(0.3, abs=0.015)
    assert counts[3] / 20_000 == pytest.approx(0.2, abs=0.015)


def test_draw_edges():
    class Fixed:
        def __init__(self, value):
            self.value = value

        def random(self):
            return self.value

    assert draw([0.25, 0.75], Fixed(0.0)) == 0
    assert draw([0.25, 0.75], Fixed(0.2499)) == 0
    assert draw([0.25, 0.75], Fixed(0.25)) == 1
    assert draw([0.25, 0.75], Fixed(0.9999999999)) == 1


def picks(seed: int | None, n: int = 40) -> list[int]:
    sampler = Sampler(
        SamplingConfig(temperature=1.0, top_k=5, top_p=1.0, repetition_penalty=1.0, seed=seed)
    )
    cands = candidates_with_probs([0.3, 0.25, 0.2, 0.15, 0.1])
    return [sampler.sample(cands) for _ in range(n)]


def test_same_seed_same_choices():
    assert picks(1234) == picks(1234)
    assert picks(1234) != picks(1235)


def test_seeded_choices_are_pinned():
    """Python's Mersenne Twister is the same in CPython and Pyodide: these picks
    must come out identically in the page for the same seed."""
    assert picks(1234, 12) == [14, 11, 10, 14, 14, 12, 12, 10, 13, 10, 10, 13]


def test_unseeded_sampler_reports_a_seed_that_replays_it():
    sampler = Sampler(SamplingConfig())
    assert isinstance(sampler.seed, int) and 0 <= sampler.seed < 2**63
    cands = candidates_with_probs([0.3, 0.25, 0.2, 0.15, 0.1])
    first = [sampler.sample(cands) for _ in range(30)]
    replay = Sampler(SamplingConfig(seed=sampler.seed))
    assert [replay.sample(cands) for _ in range(30)] == first
