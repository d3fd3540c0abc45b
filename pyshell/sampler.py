"""Pick the next token from the graph's candidates: greedy, temperature, top-k, top-p, min-p.

The settings themselves (`SamplingConfig`: ranges, defaults) live in
pyshell/settings.py; this module is the math that applies them.

Sampling only ever sees the candidates the graph returns (`graph.top_k` in
conteur.json, 64 by default): the page fetches those 64 ids and logits
instead of the whole 262,144-wide row. Consequences worth knowing:
- `top_k` can be at most the number of candidates;
- probabilities (and so `top_p`) are those of a softmax over the candidates
  only. For a small model the tokens outside the top 64 hold little mass, so
  this is close to, but not exactly, sampling from the full distribution.

The steps follow Hugging Face transformers' order: repetition penalty, then
temperature, top-k, top-p and min-p (both cut the same sorted probabilities;
the stricter wins), then one draw. Draws come from the sampler's
own `random.Random` (Mersenne Twister), which gives the same sequence in
CPython and in Pyodide for the same seed, so a seeded story is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Container, Sequence

from pyshell.runner import Candidates
from pyshell.settings import SamplingConfig

__all__ = ["DEFAULT_CANDIDATES", "Sampler", "SamplingConfig"]

DEFAULT_CANDIDATES = 64  # conteur.json graph.top_k of the exporter's graphs


# --- the steps, as pure functions ----------------------------------------------------


def apply_repetition_penalty(
    ids: Sequence[int], scores: Sequence[float], seen: Container[int], penalty: float
) -> list[float]:
    """Hugging Face's rule: a seen token's positive logit is divided by `penalty`,
    a negative one multiplied, so either way it becomes less likely."""
    if penalty == 1.0:
        return list(scores)
    return [
        (s / penalty if s > 0 else s * penalty) if i in seen else s for i, s in zip(ids, scores)
    ]


def softmax(scores: Sequence[float], temperature: float = 1.0) -> list[float]:
    """Probabilities of `scores / temperature` (shifted by the maximum for stability)."""
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def top_p_cutoff(probs: Sequence[float], top_p: float) -> int:
    """How many of the (descending) `probs` to keep: the fewest whose sum reaches
    `top_p`; a candidate is kept when the mass before it is still below top_p."""
    mass = 0.0
    for n, p in enumerate(probs):
        if mass >= top_p:
            return n
        mass += p
    return len(probs)


def min_p_cutoff(probs: Sequence[float], min_p: float) -> int:
    """How many of the (descending) `probs` are at least `min_p` times the first."""
    floor = min_p * probs[0]
    for n, p in enumerate(probs):
        if p < floor:
            return n
    return len(probs)


def draw(probs: Sequence[float], rng: random.Random) -> int:
    """Index drawn with probability proportional to `probs` (one `rng.random()` call)."""
    target = rng.random() * sum(probs)
    cumulative = 0.0
    for n, p in enumerate(probs):
        cumulative += p
        if target < cumulative:
            return n
    return len(probs) - 1  # rounding left target at the very top


class Sampler:
    """Chooses next tokens with one `SamplingConfig` and its own random stream."""

    def __init__(self, config: SamplingConfig, candidates: int = DEFAULT_CANDIDATES) -> None:
        config.check_candidates(candidates)
        self.config = config
        self.seed = (
            config.seed if config.seed is not None else random.SystemRandom().getrandbits(63)
        )
        self._rng = random.Random(self.seed)

    def distribution(
        self, candidates: Candidates, seen: Container[int] = ()
    ) -> list[tuple[int, float]]:
        """The (id, probability) pairs the next draw chooses from, best first.

        Greedy gives the single best candidate with probability 1.
        """
        c = self.config
        scores = apply_repetition_penalty(
            candidates.ids, candidates.scores, seen, c.repetition_penalty
        )
        # The penalty can reorder candidates; a stable sort keeps the graph's order on ties.
        order = sorted(range(len(scores)), key=lambda n: -scores[n])
        if c.greedy:
            return [(candidates.ids[order[0]], 1.0)]
        order = order[: c.top_k]
        probs = softmax([scores[n] for n in order], c.temperature)
        keep = min(top_p_cutoff(probs, c.top_p), min_p_cutoff(probs, c.min_p))
        total = sum(probs[:keep])
        return [(candidates.ids[n], p / total) for n, p in zip(order[:keep], probs[:keep])]

    def sample(self, candidates: Candidates, seen: Container[int] = ()) -> int:
        """The next token id; `seen` holds the ids of the prompt and story so far."""
        choices = self.distribution(candidates, seen)
        if len(choices) == 1:
            return choices[0][0]
        return choices[draw([p for _, p in choices], self._rng)][0]
